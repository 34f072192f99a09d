"""The pure payment rules (payments/state.py): amount rules, attempt rules and cancellation arithmetic.

Hypothesis drives random payments through random sequences of (sync and async) cancellations and checks that
the books always balance.
"""

from __future__ import annotations

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from localportone.kernel.money import vat_of
from localportone.payments import state
from localportone.wire.errors import (
    AlreadyPaidError,
    CancelAmountExceedsCancellableAmountError,
    CancellableAmountConsistencyBrokenError,
    CancelTaxAmountExceedsCancellableTaxAmountError,
    CancelTaxFreeAmountExceedsCancellableTaxFreeAmountError,
    DiscountAmountExceedsTotalAmountError,
    InvalidRequestError,
    MaxCancelCountReachedError,
    MaxTransactionCountReachedError,
    PaymentAlreadyCancelledError,
    PaymentNotPaidError,
    PortOneError,
    SumOfPartsExceedsCancelAmountError,
    SumOfPartsExceedsTotalAmountError,
)

# ------------------------------------------------------------------------------------------------------ amounts


@st.composite
def valid_amounts(draw: st.DrawFn) -> state.Amounts:
    total = draw(st.integers(1, 10_000_000))
    tax_free = draw(st.integers(0, total))
    vat = draw(st.one_of(st.none(), st.integers(0, total - tax_free)))
    return state.payment_amounts(total, tax_free, vat)


@given(total=st.integers(1, 10**12), tax_free=st.one_of(st.none(), st.integers(0, 10**12)),
       vat=st.one_of(st.none(), st.integers(0, 10**12)))
def test_payment_amounts_add_up_or_are_refused(total: int, tax_free: int | None, vat: int | None) -> None:
    try:
        amounts = state.payment_amounts(total, tax_free, vat)
    except SumOfPartsExceedsTotalAmountError:
        assert (tax_free or 0) + (vat if vat is not None else vat_of(total - min(tax_free or 0, total))) > total \
            or (tax_free or 0) > total
        return
    assert amounts.tax_free == (tax_free or 0)
    assert amounts.vat == (vat if vat is not None else vat_of(total - amounts.tax_free))
    assert amounts.tax_free + amounts.vat + amounts.supply == amounts.total
    assert amounts.supply >= 0
    assert amounts.paid == total
    wire = amounts.wire()
    assert all(type(v) is int for v in wire.values())
    assert wire["cancelled"] == wire["cancelledTaxFree"] == 0


def test_payment_amount_rules() -> None:
    assert state.payment_amounts(11000, None, None).vat == 1000  # §16 item 27: round_half_up(taxable / 11)
    assert state.payment_amounts(10000, 4500, None).vat == 500
    assert state.payment_amounts(16, None, None).vat == 1  # 1.45 -> 1
    assert state.payment_amounts(17, None, None).vat == 2  # 1.54 -> 2 (half up)
    for total, tax_free, vat in ((0, None, None), (-5, None, None), (100, -1, None), (100, None, -1)):
        with pytest.raises(InvalidRequestError):
            state.payment_amounts(total, tax_free, vat)
    with pytest.raises(SumOfPartsExceedsTotalAmountError):
        state.payment_amounts(100, 101, None)
    with pytest.raises(SumOfPartsExceedsTotalAmountError):
        state.payment_amounts(100, 60, 50)
    assert state.payment_amounts(100, 60, 40).supply == 0
    with pytest.raises(DiscountAmountExceedsTotalAmountError):
        state.payment_amounts(100, None, None, discount=100)
    assert state.payment_amounts(100, None, None, discount=30).paid == 70


def test_attempt_rules() -> None:
    for status in (None, state.READY, state.FAILED):
        state.check_new_attempt(status, 0, 10)
    for status in sorted(state.HOLDING_STATUSES):
        with pytest.raises(AlreadyPaidError):
            state.check_new_attempt(status, 0, 10)
    with pytest.raises(MaxTransactionCountReachedError):
        state.check_new_attempt(state.FAILED, 10, 10)
    with pytest.raises(InvalidRequestError):
        state.check_channel_choice(None, None)
    with pytest.raises(InvalidRequestError):
        state.check_channel_choice("a", "b")
    state.check_channel_choice("a", None)
    with pytest.raises(InvalidRequestError):
        state.check_card_format("4242 4242", "30", "12")
    with pytest.raises(InvalidRequestError):
        state.check_card_format("4242424242424242", "2030", "12")
    with pytest.raises(InvalidRequestError):
        state.check_card_format("4242424242424242", "30", "13")
    state.check_card_format("4242424242424242", "30", "01")
    with pytest.raises(InvalidRequestError):
        state.check_pre_registration((1000, None, None), 999, 0, "KRW")
    with pytest.raises(InvalidRequestError):
        state.check_pre_registration((None, 10, None), 1000, 0, "KRW")
    with pytest.raises(InvalidRequestError):
        state.check_pre_registration((None, None, "USD"), 1000, 0, "KRW")
    state.check_pre_registration((1000, 0, "KRW"), 1000, 0, "KRW")


@given(members=st.lists(st.tuples(st.text(min_size=1, max_size=3), st.integers(0, 5)), max_size=6),
       seed=st.text(max_size=10))
def test_pick_by_ratio_only_picks_eligible_members(members: list[tuple[str, int]], seed: str) -> None:
    picked = state.pick_by_ratio(members, seed)
    if not members:
        assert picked is None
    elif any(r > 0 for _, r in members):
        assert picked in [m for m, r in members if r > 0]
        assert picked == state.pick_by_ratio(members, seed)  # deterministic
    else:
        assert picked == members[0][0]


def test_pick_by_ratio_follows_the_ratios() -> None:
    counts = {"a": 0, "b": 0}
    for i in range(2000):
        counts[state.pick_by_ratio([("a", 1), ("b", 3)], str(i)) or "a"] += 1
    assert 350 < counts["a"] < 650


# ------------------------------------------------------------------------------------------------------ cancel


cancel_requests = st.builds(
    state.CancelRequest,
    amount=st.one_of(st.none(), st.integers(-5, 12_000)),
    tax_free_amount=st.one_of(st.none(), st.integers(0, 6_000)),
    vat_amount=st.one_of(st.none(), st.integers(0, 1_500)),
)


def _invariants(amounts: state.Amounts, succeeded: list[state.CancelPlan], pending: list[state.CancelPlan]) -> None:
    assert amounts.cancelled == sum(p.amount for p in succeeded)
    assert amounts.cancelled_tax_free == sum(p.tax_free for p in succeeded)
    assert amounts.cancelled_vat == sum(p.vat for p in succeeded)
    assert amounts.reserved == sum(p.amount for p in pending)
    assert 0 <= amounts.cancelled + amounts.reserved <= amounts.paid
    assert 0 <= amounts.cancelled_tax_free + amounts.reserved_tax_free <= amounts.tax_free
    assert 0 <= amounts.cancelled_vat + amounts.reserved_vat <= amounts.vat
    assert amounts.cancellable >= 0 and amounts.cancellable_tax_free >= 0 and amounts.cancellable_taxable >= 0
    for plan in succeeded + pending:
        assert plan.amount > 0
        assert plan.tax_free >= 0 and plan.vat >= 0
        assert plan.tax_free + plan.vat <= plan.amount


@settings(max_examples=300)
@given(amounts=valid_amounts(), steps=st.lists(st.tuples(cancel_requests, st.sampled_from(["sync", "async", "fail"]),
                                                         st.booleans()), max_size=8))
def test_cancellations_always_add_up(amounts: state.Amounts, steps: list[tuple[state.CancelRequest, str, bool]]
                                     ) -> None:
    succeeded: list[state.CancelPlan] = []
    pending: list[state.CancelPlan] = []
    for request, kind, settle_pending in steps:
        try:
            plan = state.plan_cancel(amounts, request)
        except PortOneError:
            _invariants(amounts, succeeded, pending)
            continue
        if kind == "sync":
            amounts = state.apply_cancel(amounts, plan)
            succeeded.append(plan)
        elif kind == "async":
            amounts = state.reserve(amounts, plan)
            pending.append(plan)
        _invariants(amounts, succeeded, pending)
        if settle_pending and pending:  # the oldest pending cancel completes
            plan = pending.pop(0)
            amounts = state.apply_cancel(state.release(amounts, plan), plan)
            succeeded.append(plan)
            _invariants(amounts, succeeded, pending)
    # whatever happened, a cancel without amount takes exactly what is left
    for plan in pending:
        amounts = state.release(amounts, plan)
    pending.clear()
    if amounts.cancellable > 0:
        plan = state.plan_cancel(amounts, state.CancelRequest())
        assert plan.amount == amounts.cancellable
        assert plan.tax_free == amounts.cancellable_tax_free
        amounts = state.apply_cancel(amounts, plan)
        succeeded.append(plan)
    _invariants(amounts, succeeded, pending)
    assert amounts.cancelled == amounts.total
    assert state.status_after_cancel(amounts) == state.CANCELLED
    with pytest.raises(CancelAmountExceedsCancellableAmountError):
        state.plan_cancel(amounts, state.CancelRequest())


@given(amounts=valid_amounts())
def test_full_cancel_of_an_untouched_payment_returns_every_part(amounts: state.Amounts) -> None:
    plan = state.plan_cancel(amounts, state.CancelRequest())
    assert (plan.amount, plan.tax_free, plan.vat, plan.is_partial) == (amounts.total, amounts.tax_free, amounts.vat,
                                                                        False)


@given(amounts=valid_amounts(), amount=st.integers(1, 10_000_000))
def test_partial_cancel_vat_is_a_eleventh_of_the_taxable_part(amounts: state.Amounts, amount: int) -> None:
    assume(amount <= amounts.total - amounts.tax_free)
    plan = state.plan_cancel(amounts, state.CancelRequest(amount=amount))
    assert plan.tax_free == 0  # §16 item 41
    if amount == amounts.total - amounts.tax_free:
        assert plan.vat == min(amounts.vat, amount)  # the whole taxable rest takes the remaining VAT
    else:
        assert plan.vat == min(vat_of(amount), amounts.vat)
    assert plan.is_partial == (amount < amounts.total)


def test_cancel_validation_order_and_error_types() -> None:
    paid = state.payment_amounts(10000, 2000, None)  # vat 727
    with pytest.raises(PaymentAlreadyCancelledError):
        state.check_cancellable(state.CANCELLED, 0, None)
    for status in (state.READY, state.PAY_PENDING, state.VIRTUAL_ACCOUNT_ISSUED, state.FAILED):
        with pytest.raises(PaymentNotPaidError):
            state.check_cancellable(status, 0, None)
    state.check_cancellable(state.PARTIAL_CANCELLED, 99, None)  # no count limit by default (§16 item 4)
    with pytest.raises(MaxCancelCountReachedError):
        state.check_cancellable(state.PAID, 2, 2)
    cases: list[tuple[state.CancelRequest, type[PortOneError]]] = [
        (state.CancelRequest(amount=0), InvalidRequestError),
        (state.CancelRequest(amount=-1, current_cancellable_amount=1), InvalidRequestError),
        (state.CancelRequest(amount=100, current_cancellable_amount=9999), CancellableAmountConsistencyBrokenError),
        (state.CancelRequest(amount=10001, current_cancellable_amount=10000),
         CancelAmountExceedsCancellableAmountError),
        (state.CancelRequest(amount=10001, tax_free_amount=9000, vat_amount=9000),
         CancelAmountExceedsCancellableAmountError),
        (state.CancelRequest(amount=1000, tax_free_amount=600, vat_amount=500), SumOfPartsExceedsCancelAmountError),
        (state.CancelRequest(amount=3000, tax_free_amount=2001),
         CancelTaxFreeAmountExceedsCancellableTaxFreeAmountError),
        (state.CancelRequest(amount=9000), CancelTaxAmountExceedsCancellableTaxAmountError),
        (state.CancelRequest(amount=1000, vat_amount=800), CancelTaxAmountExceedsCancellableTaxAmountError),
    ]
    for request, error in cases:
        with pytest.raises(error):
            state.plan_cancel(paid, request)
    plan = state.plan_cancel(paid, state.CancelRequest(amount=3000, tax_free_amount=2000,
                                                       current_cancellable_amount=10000))
    assert (plan.amount, plan.tax_free, plan.vat, plan.is_partial) == (3000, 2000, 91, True)


def test_refund_status() -> None:
    assert state.refund_status([]) is None
    assert state.refund_status(["SUCCEEDED", "REQUESTED"]) == "PENDING"
    assert state.refund_status(["FAILED", "SUCCEEDED"]) == "COMPLETED"
    assert state.refund_status(["SUCCEEDED", "FAILED"]) == "PARTIAL_REFUND_FAILED"
    assert state.refund_status(["FAILED"]) == "FAILED"
