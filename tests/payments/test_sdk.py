"""The main payment flows through the official SDK (portone-server-sdk 0.21.0): typed responses, typed errors.

Building a ``PortOneClient`` costs seconds (it opens dozens of HTTP clients), so one test builds one and runs
every flow with it.
"""

from __future__ import annotations

from typing import Any

import pytest
from portone_server_sdk import PortOneClient, errors
from portone_server_sdk.common import CardCredential, PageInput, PaymentAmountInput
from portone_server_sdk.payment import (
    CancelledPayment,
    FailedPayment,
    InstantPaymentMethodInput,
    InstantPaymentMethodInputCard,
    InstantPaymentMethodInputVirtualAccount,
    InstantPaymentMethodInputVirtualAccountExpiry,
    InstantPaymentMethodInputVirtualAccountOption,
    PaidPayment,
    PartialCancelledPayment,
    PaymentFilterInput,
    PaymentTextSearch,
    SucceededPaymentCancellation,
    VirtualAccountIssuedPayment,
)

from tests.payments.helpers import new_id
from tests.support.server import TEST_API_SECRET, TEST_STORE_ID, RunningServer


def _typed(obj: object, name: str) -> Any:
    """An attribute of a typed SDK object (the SDK returns a plain dict only for a body it could not type)."""
    assert not isinstance(obj, dict), obj
    return getattr(obj, name)


def _card(number: str = "4242424242424242") -> InstantPaymentMethodInput:
    return InstantPaymentMethodInput(card=InstantPaymentMethodInputCard(
        credential=CardCredential(number=number, expiry_year="30", expiry_month="12")))


@pytest.mark.slow
def test_sdk_flows(server: RunningServer, channels: dict[str, str]) -> None:
    sdk = PortOneClient(secret=TEST_API_SECRET, base_url=server.base_url)
    _pay_read_list_and_cancel(sdk, channels)
    _declines_and_virtual_accounts(sdk, channels)


def _pay_read_list_and_cancel(sdk: PortOneClient, channels: dict[str, str]) -> None:
    payment_id = new_id("sdk/pay")  # a "/" in the id: the SDK percent-encodes it
    paid = sdk.payment.pay_instantly(payment_id=payment_id, channel_key=channels["TOSSPAYMENTS"], method=_card(),
                                     order_name="SDK order", amount=PaymentAmountInput(total=20000, tax_free=2000),
                                     currency="KRW")
    payment = sdk.payment.get_payment(payment_id=payment_id)
    assert isinstance(payment, PaidPayment)
    assert payment.id == payment_id and payment.pg_tx_id == paid.payment.pg_tx_id
    assert payment.amount.total == 20000 and payment.amount.vat == 1636 and payment.store_id == TEST_STORE_ID
    assert payment.origin.platform_type == "API" and payment.disputes == []

    with pytest.raises(errors.AlreadyPaidError):
        sdk.payment.pay_instantly(payment_id=payment_id, channel_key=channels["TOSSPAYMENTS"], method=_card(),
                                  order_name="again", amount=PaymentAmountInput(total=20000), currency="KRW")
    with pytest.raises(errors.CancelAmountExceedsCancellableAmountError):
        sdk.payment.cancel_payment(payment_id=payment_id, amount=20001, reason="too much")
    with pytest.raises(errors.CancellableAmountConsistencyBrokenError):
        sdk.payment.cancel_payment(payment_id=payment_id, amount=1, reason="stale", current_cancellable_amount=1)
    with pytest.raises(errors.CancelTaxFreeAmountExceedsCancellableTaxFreeAmountError):
        sdk.payment.cancel_payment(payment_id=payment_id, amount=5000, tax_free_amount=2001, reason="x")
    with pytest.raises(errors.CancelTaxAmountExceedsCancellableTaxAmountError):
        sdk.payment.cancel_payment(payment_id=payment_id, amount=19000, reason="x")
    with pytest.raises(errors.SumOfPartsExceedsCancelAmountError):
        sdk.payment.cancel_payment(payment_id=payment_id, amount=100, tax_free_amount=50, vat_amount=51, reason="x")
    with pytest.raises(errors.PaymentNotFoundError):
        sdk.payment.cancel_payment(payment_id=new_id(), reason="x")

    partial = sdk.payment.cancel_payment(payment_id=payment_id, amount=5000, reason="partial")
    assert isinstance(partial.cancellation, SucceededPaymentCancellation)
    assert partial.cancellation.total_amount == 5000
    assert isinstance(sdk.payment.get_payment(payment_id=payment_id), PartialCancelledPayment)
    sdk.payment.cancel_payment(payment_id=payment_id, reason="rest")
    cancelled = sdk.payment.get_payment(payment_id=payment_id)
    assert isinstance(cancelled, CancelledPayment) and cancelled.amount.cancelled == 20000
    with pytest.raises(errors.PaymentAlreadyCancelledError):
        sdk.payment.cancel_payment(payment_id=payment_id, reason="again")

    listed = sdk.payment.get_payments(page=PageInput(number=0, size=5), filter=PaymentFilterInput(
        text_search=[PaymentTextSearch(field="PAYMENT_ID", value="sdk/")]))
    assert [_typed(p, "id") for p in listed.items] == [payment_id] and listed.page.total_count == 1
    transactions = sdk.payment.get_payment_transactions(payment_id=payment_id)
    assert [_typed(t, "id") for t in transactions.items] == [cancelled.transaction_id]
    by_cursor = sdk.payment.get_all_payments_by_cursor(size=10)
    assert [_typed(i.payment, "id") for i in by_cursor.items] == [payment_id]
    events = sdk.payment.get_all_payment_events_by_cursor()
    assert [_typed(e.payment_event, "event_amount") for e in events.items] == [20000, -5000, -15000]


def _declines_and_virtual_accounts(sdk: PortOneClient, channels: dict[str, str]) -> None:
    payment_id = new_id()
    with pytest.raises(errors.PgProviderError) as declined:
        sdk.payment.pay_instantly(payment_id=payment_id, channel_key=channels["KCP_V2"],
                                  method=_card("4000000000009995"), order_name="declined",
                                  amount=PaymentAmountInput(total=1000), currency="KRW")
    assert declined.value.pg_code == "INSUFFICIENT_FUNDS" and declined.value.pg_message
    failed = sdk.payment.get_payment(payment_id=payment_id)
    assert isinstance(failed, FailedPayment) and failed.failure.pg_code == "INSUFFICIENT_FUNDS"
    with pytest.raises(errors.ChannelNotFoundError):
        sdk.payment.pay_instantly(payment_id=payment_id, channel_key="channel-key-nope", method=_card(),
                                  order_name="x", amount=PaymentAmountInput(total=1000), currency="KRW")
    with pytest.raises(errors.SumOfPartsExceedsTotalAmountError):
        sdk.payment.pay_instantly(payment_id=payment_id, channel_key=channels["KCP_V2"], method=_card(),
                                  order_name="x", amount=PaymentAmountInput(total=1000, tax_free=900, vat=101),
                                  currency="KRW")
    with pytest.raises(errors.InvalidRequestError):
        sdk.payment.pay_instantly(payment_id=payment_id, method=_card(), order_name="x",
                                  amount=PaymentAmountInput(total=1000), currency="KRW")
    with pytest.raises(errors.PaymentNotPaidError):
        sdk.payment.cancel_payment(payment_id=payment_id, reason="x")

    va_id = new_id()
    method = InstantPaymentMethodInput(virtual_account=InstantPaymentMethodInputVirtualAccount(
        bank="SHINHAN", expiry=InstantPaymentMethodInputVirtualAccountExpiry(valid_hours=48),
        option=InstantPaymentMethodInputVirtualAccountOption(type="NORMAL")))
    sdk.payment.pay_instantly(payment_id=va_id, channel_key=channels["KCP_V2"], method=method, order_name="VA",
                              amount=PaymentAmountInput(total=7000), currency="KRW")
    issued = sdk.payment.get_payment(payment_id=va_id)
    assert isinstance(issued, VirtualAccountIssuedPayment) and issued.method is not None
    with pytest.raises(errors.AlreadyPaidError):
        sdk.payment.pay_instantly(payment_id=va_id, channel_key=channels["KCP_V2"], method=_card(), order_name="x",
                                  amount=PaymentAmountInput(total=7000), currency="KRW")
    closed = sdk.payment.close_virtual_account(payment_id=va_id)
    assert closed.closed_at
    with pytest.raises(errors.PaymentNotWaitingForDepositError):
        sdk.payment.close_virtual_account(payment_id=va_id)
    sdk.payment.pre_register_payment(payment_id=new_id(), total_amount=100, currency="KRW")
    paid_id = _paid_id(sdk, channels)
    with pytest.raises(errors.AlreadyPaidError):
        sdk.payment.pre_register_payment(payment_id=paid_id, total_amount=100)


def _paid_id(sdk: PortOneClient, channels: dict[str, str]) -> str:
    payment_id = new_id()
    sdk.payment.pay_instantly(payment_id=payment_id, channel_key=channels["KCP_V2"], method=_card(), order_name="x",
                              amount=PaymentAmountInput(total=100), currency="KRW")
    return payment_id
