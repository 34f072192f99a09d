"""Payment use cases: paying (instant, billing key, manual confirm), pre-registration, capture, reads.

Cancellations live in :mod:`.cancellations`, virtual-account deposits/closing/expiry in :mod:`.virtual_accounts`,
lists in :mod:`.queries`; they are re-exported here so that other domains import one module.

Every attempt follows the same path: validate the input, lock (or create) the payment row, check that a new
attempt is allowed (§16 items 23-26), write the attempt, call the PG, record its outcome with the webhook it
triggers. A PG decline commits the FAILED attempt and its ``Transaction.Failed`` before the 502 is raised.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from localportone.auth.principal import StoreContext
from localportone.common.customers import customer_wire
from localportone.kernel import ids
from localportone.kernel.clock import to_wire
from localportone.kernel.uow import UnitOfWork, keep_changes
from localportone.payments import inputs, presenter, repository, state, tokens
from localportone.payments.cancellations import (
    cancel_payment,
    complete_cancellation,
    fail_cancellation,
    stop_payment_cancellation,
)
from localportone.payments.common import (
    ExpiryDue,
    Limits,
    Locked,
    channel_ref,
    channel_ref_of,
    lock,
    notify,
    pg_call,
    record_event,
    save,
    set_status,
    va_expiry_due,
)
from localportone.payments.models import PaymentRow, PreRegistrationRow, TransactionRow
from localportone.payments.queries import get_all_payment_events_by_cursor, get_all_payments_by_cursor, get_payments
from localportone.payments.virtual_accounts import (
    close_virtual_account,
    deposit,
    expire_due_virtual_accounts,
    expire_if_due,
)
from localportone.pg.connector import (
    Approved,
    AuthorizeCard,
    AuthorizeOutcome,
    Capture,
    CardCredential,
    ChargeBillingKey,
    Declined,
    IssueVirtualAccount,
    PayPending,
    VirtualAccountIssued,
)
from localportone.pg.registry import get_connector
from localportone.stores import service as stores
from localportone.stores.service import ChannelGroupInfo, ChannelInfo
from localportone.webhooks import service as webhooks
from localportone.wire import (
    BillingKeyPaymentInput,
    ConfirmPaymentBody,
    CustomerInput,
    InstantPaymentInput,
    InstantPaymentMethodInputCard,
    PaymentAmountInput,
    PreRegisterPaymentBody,
)
from localportone.wire.errors import (
    BillingKeyNotFoundError,
    ChannelNotFoundError,
    InformationMismatchError,
    InvalidPaymentTokenError,
    InvalidRequestError,
    PaymentNotFoundError,
    PaymentNotPaidError,
    PaymentScheduleAlreadyExistsError,
    PgProviderError,
)

__all__ = [
    "ExpiryDue",
    "Limits",
    "cancel_payment",
    "capture_payment",
    "close_virtual_account",
    "complete_cancellation",
    "confirm_payment",
    "create_ready_payment",
    "deposit",
    "expire_due_virtual_accounts",
    "fail_cancellation",
    "get_all_payment_events_by_cursor",
    "get_all_payments_by_cursor",
    "get_payment",
    "get_payment_transactions",
    "get_payments",
    "pay_instantly",
    "pay_with_billing_key",
    "payment_exists",
    "payment_status",
    "pre_register_payment",
    "stop_payment_cancellation",
]

if TYPE_CHECKING:
    from localportone.billing_keys.service import KeyLookup

PAYMENT_TOKEN_KEY = "payment_token_key"


# ------------------------------------------------------------------------------------------------------ order data


@dataclass
class Order:
    """What an attempt is for, validated: the same for every way of paying."""

    order_name: str
    amounts: state.Amounts
    currency: str
    customer: dict[str, Any]
    custom_data: str | None = None
    country: str | None = None
    products: list[dict[str, Any]] | None = None
    product_count: int | None = None
    is_cultural_expense: bool | None = None
    is_escrow: bool = False
    promotion_id: str | None = None
    notice_urls: list[str] | None = None
    installment_month: int | None = None
    cash_receipt_type: str | None = None


def _order(body: InstantPaymentInput | BillingKeyPaymentInput, customer: dict[str, Any] | None = None) -> Order:
    if not body.order_name:
        raise InvalidRequestError("orderName must not be empty")
    if body.product_count is not None and body.product_count < 0:
        raise InvalidRequestError("productCount must not be negative")
    return Order(
        order_name=body.order_name,
        amounts=_amounts(body.amount),
        currency=body.currency,
        customer=customer_wire(body.customer) if body.customer is not None or customer is None else customer,
        custom_data=body.custom_data,
        country=body.country,
        products=inputs.products(body.products),
        product_count=body.product_count,
        is_cultural_expense=getattr(body, "is_cultural_expense", None),  # /instant only
        is_escrow=bool(getattr(body, "is_escrow", None)),
        promotion_id=body.promotion_id,
        notice_urls=inputs.notice_urls(body.notice_urls),
    )


def _amounts(amount: PaymentAmountInput) -> state.Amounts:
    # Promotions are not simulated yet: the discount is 0 (promotionId is stored and echoed).
    return state.payment_amounts(amount.total, amount.tax_free, amount.vat)


# ------------------------------------------------------------------------------------------------------ channels


@dataclass(frozen=True)
class Route:
    channel: ChannelInfo
    group: ChannelGroupInfo | None


async def _route(uow: UnitOfWork, store: StoreContext, payment_id: str, channel_key: str | None,
                 channel_group_id: str | None) -> Route:
    state.check_channel_choice(channel_key, channel_group_id)
    if channel_key is not None:
        channel = await stores.find_channel(uow, store.store_id, channel_key)
        if channel is None:
            raise ChannelNotFoundError(f"channel {channel_key} not found")
        return Route(channel, None)
    assert channel_group_id is not None
    group = await stores.find_channel_group(uow, store.store_id, channel_group_id)
    picked = None if group is None else state.pick_by_ratio(list(group.members), f"{store.store_id}|{payment_id}")
    if group is None or picked is None:
        raise ChannelNotFoundError(f"channel group {channel_group_id} not found or empty")
    return Route(picked, group)


# ------------------------------------------------------------------------------------------------------ attempts


async def _has_live_schedule(uow: UnitOfWork, store_id: str, payment_id: str) -> bool:
    """Asks the schedules domain; False while that domain does not answer this question yet."""
    known = repository.live_schedule_known(uow, store_id, payment_id)
    if known is not None:
        return known
    try:
        from localportone.schedules.service import has_live_schedule_for_payment
    except ImportError:
        return False
    return bool(await has_live_schedule_for_payment(uow, store_id, payment_id))


def _new_payment(uow: UnitOfWork, store: StoreContext, payment_id: str) -> PaymentRow:
    now = uow.now
    return PaymentRow(id=ids.uuid7(), store_id=store.store_id, merchant_id=store.merchant_id, payment_id=payment_id,
                      current_transaction_id=None, transaction_count=0, created_at=now, updated_at=now)


async def _create_and_read(uow: UnitOfWork, store: StoreContext, payment_id: str, key: KeyLookup | None = None
                          ) -> None:
    """PostgreSQL: create (or find) the payment row and read what starting an attempt needs in one statement
    (:func:`repository.create_payment_reading`), with the billing key's read (a ``KeyLookup``) when ``key`` is
    given, instead of a statement for each; the steps of the attempt then answer from what was read.

    Only an optimisation, skipped where it does not apply (SQLite, whose statements cost no round trip; a paymentId
    the attempt refuses; a payment or key already read in this unit of work, as the scheduler's batches do). The
    payment row is inserted before the key and the order are checked, which a rejected request rolls back."""
    if (uow.sql.is_sqlite or not 0 < len(payment_id) <= 200
            or repository.payment_prepared(uow, store.store_id, payment_id)):
        return
    try:
        from localportone.schedules.service import live_schedule_condition
    except ImportError:
        return
    if key is None:
        await repository.create_payment_reading(uow, _new_payment(uow, store, payment_id),
                                                live_schedule=live_schedule_condition())
        return
    if key.taken(uow):
        return
    rows, offset = await repository.create_payment_reading(
        uow, _new_payment(uow, store, payment_id), live_schedule=live_schedule_condition(), columns=key.columns,
        joins=key.joins, join_args=key.args, order=key.order)
    key.take(uow, rows, offset)


async def _start_attempt(uow: UnitOfWork, store: StoreContext, payment_id: str, order: Order, route: Route | None,
                         *, limits: Limits, client_ip: str, method_type: str | None, check_schedule: bool = True,
                         schedule_id: str | None = None, billing_key: str | None = None) -> Locked:
    """Lock the payment, check a new attempt is allowed, and write the attempt (status READY until the PG says)."""
    if not payment_id or len(payment_id) > 200:
        raise InvalidRequestError("paymentId must be 1 to 200 characters")
    now = uow.now
    await _create_and_read(uow, store, payment_id)
    payment = await repository.lock_or_create_payment(uow, store.store_id, payment_id,
                                                      lambda: _new_payment(uow, store, payment_id))
    current = await repository.current_transaction(uow, payment)
    if current is not None:
        await expire_if_due(uow, Locked(payment, current))
    state.check_new_attempt(None if current is None else current.status, payment.transaction_count,
                            limits.max_transaction_count)
    if check_schedule and await _has_live_schedule(uow, store.store_id, payment_id):
        raise PaymentScheduleAlreadyExistsError(f"a payment schedule holds paymentId {payment_id}")
    registered = await repository.pre_registration(uow, store.store_id, payment_id)
    if registered is not None:
        state.check_pre_registration((registered.total_amount, registered.tax_free_amount, registered.currency),
                                     order.amounts.total, order.amounts.tax_free, order.currency)
    a = order.amounts
    tx = TransactionRow(
        id=ids.uuid7(), payment_pk=payment.id, store_id=store.store_id, merchant_id=store.merchant_id,
        payment_id=payment_id, seq=payment.transaction_count + 1, status=state.READY,
        channel=None if route is None else route.channel.wire(),
        channel_group=None if route is None or route.group is None else route.group.wire(),
        pg_provider=None if route is None else route.channel.pg_provider,
        is_test=True if route is None else route.channel.type == "TEST",
        schedule_id=schedule_id, billing_key=billing_key,
        requested_at=now, updated_at=now, status_changed_at=now,
        order_name=order.order_name, currency=order.currency,
        total=a.total, tax_free=a.tax_free, vat=a.vat, discount=a.discount,
        cancelled=0, cancelled_tax_free=0, cancelled_vat=0,
        customer=order.customer, custom_data=order.custom_data, country=order.country, products=order.products,
        product_count=order.product_count, is_cultural_expense=order.is_cultural_expense, is_escrow=order.is_escrow,
        promotion_id=order.promotion_id, notice_urls=order.notice_urls, installment_month=order.installment_month,
        cash_receipt_type=order.cash_receipt_type, method_type=method_type,
        origin={"platformType": "API", "ipAddress": client_ip}, platform_type="API",
    )
    repository.add(uow, tx)
    payment.current_transaction_id = tx.id
    payment.transaction_count += 1
    payment.updated_at = now
    # Not flushed here: the attempt is written once, in the state the PG's answer gives it (`save`, or the commit).
    return Locked(payment, tx)


async def _record_authorization(uow: UnitOfWork, locked: Locked, outcome: AuthorizeOutcome, *, skip_webhook: bool,
                                is_async: bool, method: dict[str, Any] | None) -> dict[str, str]:
    """PAID / PAY_PENDING / FAILED from a card or billing-key outcome; returns the ``{pgTxId, paidAt}`` summary."""
    tx, now = locked.tx, uow.now
    if isinstance(outcome, Approved):
        balance = presenter.amounts(tx)
        if outcome.amount != balance.paid or outcome.currency != tx.currency:
            outcome = Declined("PG_AMOUNT_MISMATCH",
                               f"the PG approved {outcome.amount} {outcome.currency}, not {balance.paid} {tx.currency}")
        else:
            set_status(tx, state.PAID, now)
            tx.paid_at = outcome.approved_at
            tx.pg_tx_id = outcome.pg_tx_id
            tx.pg_response = outcome.pg_response
            tx.receipt_url = outcome.receipt_url
            tx.method = method
            await save(uow, tx)
            record_event(uow, tx, state.PAID, balance.paid, balance.wire())
            await notify(uow, tx, skip=skip_webhook, is_async=is_async)
            return {"pgTxId": outcome.pg_tx_id, "paidAt": to_wire(outcome.approved_at)}
    if isinstance(outcome, PayPending):
        set_status(tx, state.PAY_PENDING, now)
        tx.pg_tx_id = outcome.pg_tx_id
        await save(uow, tx)
        await notify(uow, tx, skip=skip_webhook, is_async=is_async)
        return {"pgTxId": outcome.pg_tx_id, "paidAt": to_wire(now)}
    await _record_decline(uow, locked, outcome, skip_webhook=skip_webhook, is_async=is_async)
    raise AssertionError("unreachable")  # pragma: no cover


async def _record_decline(uow: UnitOfWork, locked: Locked, outcome: Declined, *, skip_webhook: bool,
                          is_async: bool) -> None:
    tx, now = locked.tx, uow.now
    set_status(tx, state.FAILED, now)
    tx.failed_at = now
    tx.failure_reason = outcome.pg_message
    tx.failure_pg_code = outcome.pg_code
    tx.failure_pg_message = outcome.pg_message
    await save(uow, tx)
    await notify(uow, tx, skip=skip_webhook, is_async=is_async)
    raise keep_changes(PgProviderError(outcome.pg_message, pg_code=outcome.pg_code, pg_message=outcome.pg_message))


def _credential(card: InstantPaymentMethodInputCard) -> CardCredential:
    c = card.credential
    state.check_card_format(c.number, c.expiry_year, c.expiry_month)
    if card.installment_month is not None and card.installment_month < 0:
        raise InvalidRequestError("method.card.installmentMonth must not be negative")
    return CardCredential(number=c.number, expiry_year=c.expiry_year, expiry_month=c.expiry_month,
                          birth_or_business_registration_number=c.birth_or_business_registration_number,
                          password_two_digits=c.password_two_digits)


async def pay_instantly(uow: UnitOfWork, store: StoreContext, payment_id: str, body: InstantPaymentInput, *,
                        client_ip: str = "127.0.0.1", limits: Limits | None = None) -> dict[str, Any]:
    """``POST /payments/{id}/instant``: key-in card → PAID, or a virtual account → VIRTUAL_ACCOUNT_ISSUED."""
    limits = limits or Limits()
    card, va = body.method.card, body.method.virtual_account
    if (card is None) == (va is None):
        raise InvalidRequestError("method: give exactly one of card or virtualAccount")
    order = _order(body)
    credential = None
    if card is not None:
        credential = _credential(card)
        order.installment_month = card.installment_month
    elif va is not None and va.cash_receipt is not None:
        order.cash_receipt_type = va.cash_receipt.type
    route = await _route(uow, store, payment_id, body.channel_key, body.channel_group_id)
    locked = await _start_attempt(uow, store, payment_id, order, route, limits=limits, client_ip=client_ip,
                                  method_type="CARD" if card is not None else "VIRTUAL_ACCOUNT")
    tx, skip = locked.tx, bool(body.skip_webhook)
    connector = get_connector(route.channel.pg_provider)
    ref = channel_ref(route.channel)
    amounts = order.amounts
    if card is not None and credential is not None:
        outcome = await pg_call(connector.authorize_card(AuthorizeCard(
            channel=ref, payment_id=payment_id, transaction_id=tx.id, order_name=order.order_name,
            amount=amounts.paid, tax_free_amount=amounts.tax_free, vat_amount=amounts.vat, currency=order.currency,
            card=credential, installment_month=card.installment_month, now=uow.now, key_in=True,
        )))
        method = inputs.card_method(
            outcome.card if isinstance(outcome, Approved) else None,
            outcome.approval_number if isinstance(outcome, Approved) else None,
            card.installment_month, bool(card.use_free_installment_plan), connector.capabilities.easy_pay_provider,
        )
        summary = await _record_authorization(uow, locked, outcome, skip_webhook=skip, is_async=False, method=method)
        return {"payment": summary}
    assert va is not None
    fixed = va.option.fixed
    issued = await pg_call(connector.issue_virtual_account(IssueVirtualAccount(
        channel=ref, payment_id=payment_id, transaction_id=tx.id, amount=amounts.paid, currency=order.currency,
        bank=va.bank, account_type=va.option.type,
        fixed_account_number=None if fixed is None else fixed.account_number,
        valid_hours=va.expiry.valid_hours, due_date=va.expiry.due_date, remittee_name=va.remittee_name,
        now=uow.now, fixed_pg_account_id=None if fixed is None else fixed.pg_account_id,
    )))
    if isinstance(issued, Declined):
        await _record_decline(uow, locked, issued, skip_webhook=skip, is_async=False)
    assert isinstance(issued, VirtualAccountIssued)
    set_status(tx, state.VIRTUAL_ACCOUNT_ISSUED, uow.now)
    tx.pg_tx_id = issued.pg_tx_id
    tx.method = inputs.virtual_account_method(issued)
    tx.va_expired_at = issued.expired_at
    await save(uow, tx)
    await notify(uow, tx, skip=skip)
    return {"payment": {"pgTxId": issued.pg_tx_id, "paidAt": to_wire(issued.issued_at)}}


# ------------------------------------------------------------------------------------------------------ billing keys


async def _billing_key_info(uow: UnitOfWork, store: StoreContext, billing_key: str) -> Any:
    """The billing-keys domain's view of a key (404 / 409 come from there)."""
    try:
        from localportone.billing_keys.service import billing_key_for_payment
    except ImportError:
        raise BillingKeyNotFoundError(f"billing key {billing_key} not found") from None
    return await billing_key_for_payment(uow, store, billing_key)


def _key_lookup(store: StoreContext, billing_key: str) -> KeyLookup | None:
    """The billing-keys domain's read of a key, for a statement of this domain (None without that domain)."""
    try:
        from localportone.billing_keys.service import KeyLookup
    except ImportError:
        return None
    return KeyLookup(store.store_id, billing_key)


def _billing_key_route(info: Any, channel_key: str | None, seed: str) -> Route:
    """``channelKey`` must be one of the key's channels; else the key's group draws among its issued channels."""
    channels: tuple[ChannelInfo, ...] = tuple(info.channels)
    if channel_key is not None:
        for channel in channels:
            if channel.key == channel_key:
                return Route(channel, None)
        raise ChannelNotFoundError(f"billing key {info.billing_key} was not issued on channel {channel_key}")
    group: ChannelGroupInfo | None = info.channel_group
    if group is not None:
        issued = {c.key for c in channels}
        picked = state.pick_by_ratio([(c, r) for c, r in group.members if c.key in issued], seed)
        if picked is not None:
            return Route(picked, group)
    if not channels:
        raise ChannelNotFoundError(f"billing key {info.billing_key} has no usable channel")
    return Route(channels[0], None)


async def pay_with_billing_key(uow: UnitOfWork, store: StoreContext, payment_id: str, body: BillingKeyPaymentInput,
                               *, client_ip: str = "127.0.0.1", limits: Limits | None = None) -> dict[str, Any]:
    """``POST /payments/{id}/billing-key``."""
    summary, _status = await _pay_with_billing_key(uow, store, payment_id, body, schedule_id=None,
                                                   client_ip=client_ip, limits=limits or Limits())
    return {"payment": summary}


async def prepare_scheduled_payments(uow: UnitOfWork, payments: Sequence[tuple[StoreContext, str, str]]) -> None:
    """Read in bulk what the scheduled payments ``(store, paymentId, billingKey)`` about to be made in this unit
    of work need (their billing keys, pre-registrations and payment rows): a batch of N scheduled
    payments then costs a few statements in all, not a few per payment. Only an optimisation: a payment that was
    not prepared is made the same way, with its own statements."""
    from localportone.billing_keys.service import load_for_payments

    by_store: dict[StoreContext, list[tuple[str, str]]] = {}
    for store, payment_id, billing_key in payments:
        by_store.setdefault(store, []).append((payment_id, billing_key))
    now = uow.now
    for store, items in by_store.items():
        await load_for_payments(uow, store.store_id, [key for _pid, key in items])
        await repository.load_pre_registrations(uow, store.store_id, [pid for pid, _key in items])
        await repository.prepare_payments(uow, [PaymentRow(
            id=ids.uuid7(), store_id=store.store_id, merchant_id=store.merchant_id, payment_id=pid,
            current_transaction_id=None, transaction_count=0, created_at=now, updated_at=now,
        ) for pid, _key in items if 0 < len(pid) <= 200])


async def prepare_billing_key_payments(uow: UnitOfWork, payments: Sequence[tuple[StoreContext, str, str]]) -> None:
    """:func:`prepare_scheduled_payments` for payments that no schedule runs (the API's, batched on PostgreSQL:
    :mod:`.batching`), with their live-schedule checks read at once too."""
    await prepare_scheduled_payments(uow, payments)
    from localportone.schedules.service import payments_held_by_live_schedules

    by_store: dict[str, list[str]] = {}
    for store, payment_id, _key in payments:
        by_store.setdefault(store.store_id, []).append(payment_id)
    for store_id, payment_ids in by_store.items():
        held = await payments_held_by_live_schedules(uow, store_id, payment_ids)
        for payment_id in payment_ids:
            repository.note_live_schedule(uow, store_id, payment_id, payment_id in held)


async def pay_scheduled(uow: UnitOfWork, store: StoreContext, payment_id: str, body: BillingKeyPaymentInput, *,
                        schedule_id: str, limits: Limits) -> str:
    """The billing-key payment of a schedule; the status its attempt ends in (errors as for the API).

    The payment carries ``scheduleId``, its webhooks are asynchronous and the live-schedule check is skipped (the
    schedule running it is the live one).
    """
    _summary, status = await _pay_with_billing_key(uow, store, payment_id, body, schedule_id=schedule_id,
                                                   client_ip="127.0.0.1", limits=limits)
    return status


async def _pay_with_billing_key(uow: UnitOfWork, store: StoreContext, payment_id: str, body: BillingKeyPaymentInput,
                                *, schedule_id: str | None, client_ip: str, limits: Limits
                                ) -> tuple[dict[str, str], str]:
    if body.installment_month is not None and body.installment_month < 0:
        raise InvalidRequestError("installmentMonth must not be negative")
    amounts = _amounts(body.amount)  # amount rules before the key lookup, as for /instant
    if schedule_id is None:
        await _create_and_read(uow, store, payment_id, _key_lookup(store, body.billing_key))
    info = await _billing_key_info(uow, store, body.billing_key)
    order = _order(body, customer=dict(info.customer or {}))
    order.amounts = amounts
    order.installment_month = body.installment_month
    order.cash_receipt_type = None if body.cash_receipt is None else body.cash_receipt.type
    route = _billing_key_route(info, body.channel_key, f"{store.store_id}|{payment_id}")
    method_type = "EASY_PAY" if info.method_type == "EASY_PAY" else "CARD"
    locked = await _start_attempt(uow, store, payment_id, order, route, limits=limits, client_ip=client_ip,
                                  method_type=method_type, check_schedule=schedule_id is None,
                                  schedule_id=schedule_id, billing_key=info.billing_key)
    tx = locked.tx
    connector = get_connector(route.channel.pg_provider)
    pg_billing_key = info.pg_billing_keys.get(route.channel.key)
    if pg_billing_key is None:
        raise ChannelNotFoundError(f"billing key {info.billing_key} has no PG key on channel {route.channel.key}")
    outcome = await pg_call(connector.charge_billing_key(ChargeBillingKey(
        channel=channel_ref(route.channel), pg_billing_key=pg_billing_key, payment_id=payment_id,
        transaction_id=tx.id, order_name=order.order_name, amount=amounts.paid, tax_free_amount=amounts.tax_free,
        vat_amount=amounts.vat, currency=order.currency, installment_month=body.installment_month, now=uow.now,
    )))
    provider = connector.capabilities.easy_pay_provider or (
        info.easy_pay_provider if info.method_type == "EASY_PAY" else None
    )
    method = inputs.card_method(
        outcome.card if isinstance(outcome, Approved) and outcome.card is not None else info.card,
        outcome.approval_number if isinstance(outcome, Approved) else None,
        body.installment_month, bool(body.use_free_interest_from_merchant), provider,
    )
    summary = await _record_authorization(uow, locked, outcome, skip_webhook=bool(body.skip_webhook),
                                          is_async=schedule_id is not None, method=method)
    return summary, tx.status


# ------------------------------------------------------------------------------------------------------ manual confirm


async def create_ready_payment(uow: UnitOfWork, store: StoreContext, payment_id: str, *, channel_key: str,
                               order_name: str, amount: PaymentAmountInput, currency: str,
                               card: InstantPaymentMethodInputCard, customer: CustomerInput | None = None,
                               custom_data: str | None = None, notice_urls: list[str] | None = None,
                               client_ip: str = "127.0.0.1", platform_type: str = "API",
                               skip_webhook: bool = False, limits: Limits | None = None) -> dict[str, str]:
    """A READY manual-confirm attempt (a checkout that waits for ``/confirm``) and its paymentToken.

    The hosted checkout and the sandbox control share this. Emits ``Transaction.Ready`` (§16 item 32).
    """
    limits = limits or Limits()
    if not order_name:
        raise InvalidRequestError("orderName must not be empty")
    credential = _credential(card)
    order = Order(order_name=order_name, amounts=_amounts(amount), currency=currency,
                  customer=customer_wire(customer), custom_data=custom_data,
                  notice_urls=inputs.notice_urls(notice_urls), installment_month=card.installment_month)
    route = await _route(uow, store, payment_id, channel_key, None)
    locked = await _start_attempt(uow, store, payment_id, order, route, limits=limits, client_ip=client_ip,
                                  method_type="CARD")
    tx = locked.tx
    tx.origin = {**tx.origin, "platformType": platform_type}
    tx.platform_type = platform_type
    key = await _payment_token_key(uow)
    token = tokens.seal(key, {
        "storeId": store.store_id, "paymentId": payment_id, "transactionId": tx.id,
        "card": {"number": credential.number, "expiryYear": credential.expiry_year,
                 "expiryMonth": credential.expiry_month,
                 "birth": credential.birth_or_business_registration_number,
                 "password": credential.password_two_digits},
        "installmentMonth": card.installment_month,
        "interestFree": bool(card.use_free_installment_plan),
    })
    tx.payment_token_hash = tokens.token_hash(token)
    await save(uow, tx)
    await notify(uow, tx, skip=skip_webhook)
    return {"paymentId": payment_id, "transactionId": tx.id, "paymentToken": token}


async def _payment_token_key(uow: UnitOfWork) -> str:
    from localportone.stores.bootstrap import ensure_server_key

    return await ensure_server_key(uow.session, PAYMENT_TOKEN_KEY, uow.now)


async def confirm_payment(uow: UnitOfWork, store: StoreContext, payment_id: str, body: ConfirmPaymentBody
                          ) -> dict[str, Any]:
    """``POST /payments/{id}/confirm``: approve a READY manual-confirm attempt with its paymentToken."""
    locked = await lock(uow, store.store_id, payment_id)
    tx = locked.tx
    state.check_not_holding(tx.status)
    if tx.status != state.READY or tx.payment_token_hash is None:
        raise InvalidPaymentTokenError("the payment is not waiting for a manual confirm")
    payload = tokens.unseal(await _payment_token_key(uow), body.payment_token)
    if (payload is None or tokens.token_hash(body.payment_token) != tx.payment_token_hash
            or payload.get("transactionId") != tx.id or payload.get("storeId") != store.store_id):
        raise InvalidPaymentTokenError("invalid paymentToken")
    balance = presenter.amounts(tx)
    for name, given, actual in (("txId", body.tx_id, tx.id), ("currency", body.currency, tx.currency),
                                ("totalAmount", body.total_amount, tx.total),
                                ("taxFreeAmount", body.tax_free_amount, tx.tax_free),
                                ("isTest", body.is_test, tx.is_test)):
        if given is not None and given != actual:
            raise InformationMismatchError(f"{name} does not match the payment")
    card = payload["card"]
    ref = channel_ref_of(tx)
    connector = get_connector(ref.pg_provider)
    tx.payment_token_hash = None  # a token confirms once
    outcome = await pg_call(connector.authorize_card(AuthorizeCard(
        channel=ref, payment_id=payment_id, transaction_id=tx.id, order_name=tx.order_name, amount=balance.paid,
        tax_free_amount=tx.tax_free, vat_amount=tx.vat, currency=tx.currency,
        card=CardCredential(number=card["number"], expiry_year=card["expiryYear"], expiry_month=card["expiryMonth"],
                            birth_or_business_registration_number=card.get("birth"),
                            password_two_digits=card.get("password")),
        installment_month=payload.get("installmentMonth"), now=uow.now, key_in=False,
    )))
    method = inputs.card_method(
        outcome.card if isinstance(outcome, Approved) else None,
        outcome.approval_number if isinstance(outcome, Approved) else None,
        payload.get("installmentMonth"), bool(payload.get("interestFree")), connector.capabilities.easy_pay_provider,
    )
    return await _record_authorization(uow, locked, outcome, skip_webhook=bool(body.skip_webhook), is_async=False,
                                       method=method)


# ------------------------------------------------------------------------------------------------------ other writes


async def pre_register_payment(uow: UnitOfWork, store: StoreContext, payment_id: str, body: PreRegisterPaymentBody
                               ) -> dict[str, Any]:
    """Store the expected amounts (§16 item 25); no Payment is created. ALREADY_PAID once it is paid/waiting."""
    state.check_pre_register_input(body.total_amount, body.tax_free_amount)
    state.check_not_holding(await payment_status(uow, store.store_id, payment_id))
    row = await repository.pre_registration(uow, store.store_id, payment_id)
    if row is None:
        repository.add(uow, PreRegistrationRow(
            store_id=store.store_id, payment_id=payment_id, total_amount=body.total_amount,
            tax_free_amount=body.tax_free_amount, currency=body.currency, updated_at=uow.now,
        ))
    else:
        row.total_amount, row.tax_free_amount, row.currency = body.total_amount, body.tax_free_amount, body.currency
        row.updated_at = uow.now
    return {}


async def capture_payment(uow: UnitOfWork, store: StoreContext, payment_id: str) -> dict[str, Any]:
    """Manual capture (§16 item 63): PAID / PARTIAL_CANCELLED only."""
    locked = await lock(uow, store.store_id, payment_id)
    tx = locked.tx
    if tx.status not in state.CANCELLABLE_STATUSES:
        raise PaymentNotPaidError(f"a {tx.status} payment cannot be captured")
    ref = channel_ref_of(tx)
    outcome = await pg_call(get_connector(ref.pg_provider).capture(
        Capture(channel=ref, pg_tx_id=tx.pg_tx_id or "", now=uow.now)
    ))
    if isinstance(outcome, Declined):
        raise PgProviderError(outcome.pg_message, pg_code=outcome.pg_code, pg_message=outcome.pg_message)
    tx.captured_at = outcome.at
    tx.updated_at = uow.now
    return {}


# ------------------------------------------------------------------------------------------------------ reads


async def _current_for_read(uow: UnitOfWork, store_id: str, payment_id: str) -> tuple[PaymentRow, TransactionRow]:
    """The payment and its current attempt; a due virtual account is expired first (needs a write unit)."""
    if uow.write:
        locked = await lock(uow, store_id, payment_id)
        await expire_if_due(uow, locked)
        return locked.payment, locked.tx
    payment = await repository.find_payment(uow, store_id, payment_id)
    tx = None if payment is None else await repository.current_transaction(uow, payment)
    if payment is None or tx is None:
        raise PaymentNotFoundError(f"payment {payment_id} not found")
    if va_expiry_due(tx, uow.now):
        raise ExpiryDue()
    return payment, tx


async def get_payment(uow: UnitOfWork, store: StoreContext, payment_id: str) -> dict[str, Any]:
    """``Payment``. Raises :class:`ExpiryDue` on a read-only unit when a virtual account must expire first."""
    _, tx = await _current_for_read(uow, store.store_id, payment_id)
    cancellations = (await repository.cancellations_of(uow, [tx.id]))[tx.id]
    hooks = await webhooks.payment_webhooks(uow, store.store_id, payment_id)
    return presenter.payment(tx, cancellations, hooks)


async def get_payment_transactions(uow: UnitOfWork, store: StoreContext, payment_id: str) -> dict[str, Any]:
    """Every attempt of the payment, oldest first."""
    payment, _ = await _current_for_read(uow, store.store_id, payment_id)
    rows = await repository.transactions_of(uow, payment.id)
    cancellations = await repository.cancellations_of(uow, [r.id for r in rows])
    return {"items": [presenter.transaction(r, cancellations[r.id]) for r in rows]}


# ---------------------------------------------------------------------------------------------- for other domains


async def payment_status(uow: UnitOfWork, store_id: str, payment_id: str) -> str | None:
    """The payment's current status (``Payment.status`` values), ``None`` if there is no such payment."""
    status = await repository.current_status(uow, store_id, payment_id)
    if status == state.VIRTUAL_ACCOUNT_ISSUED:
        payment = await repository.find_payment(uow, store_id, payment_id)
        tx = None if payment is None else await repository.current_transaction(uow, payment)
        if tx is not None and va_expiry_due(tx, uow.now):
            return state.FAILED
    return status


async def payment_exists(uow: UnitOfWork, store_id: str, payment_id: str) -> bool:
    return await repository.current_status(uow, store_id, payment_id) is not None

