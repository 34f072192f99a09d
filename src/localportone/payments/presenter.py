"""Rows → PortOne wire dicts (``Payment``, ``PaymentTransaction``, ``PaymentCancellation``, ``PaymentEvent``).

Absent optional fields are omitted, never ``null``; each status carries exactly what its variant requires.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from localportone.kernel.clock import to_wire
from localportone.payments import state
from localportone.payments.models import CancellationRow, PaymentEventRow, TransactionRow


def amounts(tx: TransactionRow, cancellations: Sequence[CancellationRow] = ()) -> state.Amounts:
    """The attempt's money, with REQUESTED cancellations held as reservations."""
    pending = [c for c in cancellations if c.status == state.REQUESTED]
    return state.Amounts(
        total=tx.total, tax_free=tx.tax_free, vat=tx.vat, discount=tx.discount,
        cancelled=tx.cancelled, cancelled_tax_free=tx.cancelled_tax_free, cancelled_vat=tx.cancelled_vat,
        reserved=sum(c.total_amount for c in pending),
        reserved_tax_free=sum(c.tax_free_amount for c in pending),
        reserved_vat=sum(c.vat_amount for c in pending),
    )


def cancellation(row: CancellationRow) -> dict[str, Any]:
    out: dict[str, Any] = {
        "status": row.status,
        "id": row.id,
        "totalAmount": row.total_amount,
        "taxFreeAmount": row.tax_free_amount,
        "vatAmount": row.vat_amount,
        "reason": row.reason,
        "requestedAt": to_wire(row.requested_at),
    }
    _put(out, "pgCancellationId", row.pg_cancellation_id)
    if row.cancelled_at is not None:
        out["cancelledAt"] = to_wire(row.cancelled_at)
    if row.status == state.SUCCEEDED:
        _put(out, "receiptUrl", row.receipt_url)
    _put(out, "trigger", row.trigger)
    return out


def payment(tx: TransactionRow, cancellations: Sequence[CancellationRow] = (),
            webhooks: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
    """``Payment``: the attempt the payment currently mirrors."""
    out = _common(tx, cancellations)
    out["id"] = tx.payment_id
    out["transactionId"] = tx.id
    out["origin"] = tx.origin
    if webhooks:
        out["webhooks"] = list(webhooks)
    _status_fields(out, tx, cancellations, as_transaction=False)
    return out


def transaction(tx: TransactionRow, cancellations: Sequence[CancellationRow] = ()) -> dict[str, Any]:
    """``PaymentTransaction``: one attempt (``id`` is the transactionId)."""
    out = _common(tx, cancellations)
    out["id"] = tx.id
    out["paymentId"] = tx.payment_id
    _status_fields(out, tx, cancellations, as_transaction=True)
    return out


def event(ev: PaymentEventRow, tx: TransactionRow, cancelled: CancellationRow | None) -> dict[str, Any]:
    """``PaymentEvent`` (PAID / PARTIAL_CANCELLED / CANCELLED) with the amounts as they were then."""
    out: dict[str, Any] = {
        "type": ev.type,
        "id": ev.id,
        "paymentId": ev.payment_id,
        "transactionId": ev.transaction_id,
        "merchantId": tx.merchant_id,
        "storeId": tx.store_id,
        "version": "V2",
        "requestedAt": to_wire(tx.requested_at),
        "createdAt": to_wire(ev.created_at),
        "orderName": tx.order_name,
        "totalAmount": ev.amount,
        "currency": tx.currency,
        "customer": tx.customer,
        "eventAmount": ev.event_amount,
        "origin": tx.origin,
    }
    if tx.channel is not None:
        out["channel"] = tx.channel
    _put(out, "method", tx.method)
    _put(out, "channelGroup", tx.channel_group)
    _put(out, "scheduleId", tx.schedule_id)
    _optional_order_fields(out, tx)
    _put(out, "pgTxId", tx.pg_tx_id)
    _put(out, "receiptUrl", tx.receipt_url)
    if ev.type == state.PAID:
        _put(out, "pgResponse", tx.pg_response)
        out["disputes"] = []
    elif cancelled is not None:
        out["cancellation"] = cancellation(cancelled)
    return out


# ------------------------------------------------------------------------------------------------------ helpers


def _put(out: dict[str, Any], key: str, value: Any) -> None:
    if value is not None:
        out[key] = value


def _common(tx: TransactionRow, cancellations: Sequence[CancellationRow]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "status": tx.status,
        "merchantId": tx.merchant_id,
        "storeId": tx.store_id,
        "version": "V2",
        "requestedAt": to_wire(tx.requested_at),
        "updatedAt": to_wire(tx.updated_at),
        "statusChangedAt": to_wire(tx.status_changed_at),
        "orderName": tx.order_name,
        "amount": amounts(tx, cancellations).wire(),
        "currency": tx.currency,
        "customer": tx.customer,
    }
    _put(out, "method", tx.method)
    _put(out, "channel", tx.channel)
    _put(out, "channelGroup", tx.channel_group)
    _put(out, "scheduleId", tx.schedule_id)
    _put(out, "billingKey", tx.billing_key)
    _optional_order_fields(out, tx)
    return out


def _optional_order_fields(out: dict[str, Any], tx: TransactionRow) -> None:
    _put(out, "promotionId", tx.promotion_id)
    _put(out, "isCulturalExpense", tx.is_cultural_expense)
    if tx.is_escrow:
        out["escrow"] = {"status": tx.escrow_status or "BEFORE_REGISTERED"}
    _put(out, "products", tx.products)
    _put(out, "productCount", tx.product_count)
    _put(out, "customData", tx.custom_data)
    _put(out, "country", tx.country)


def _status_fields(out: dict[str, Any], tx: TransactionRow, cancellations: Sequence[CancellationRow], *,
                   as_transaction: bool) -> None:
    status = tx.status
    if status in (state.PAY_PENDING, state.VIRTUAL_ACCOUNT_ISSUED):
        _put(out, "pgTxId", tx.pg_tx_id)
    elif status == state.PAID:
        out["paidAt"] = to_wire(tx.paid_at or tx.status_changed_at)
        _put(out, "pgTxId", tx.pg_tx_id)
        _put(out, "pgResponse", tx.pg_response)
        _put(out, "receiptUrl", tx.receipt_url)
        if not as_transaction:
            out["disputes"] = list(tx.disputes or [])
            if cancellations:  # requested or failed ones (§16 item 38)
                out["cancellations"] = [cancellation(c) for c in cancellations]
    elif status == state.FAILED:
        out["failedAt"] = to_wire(tx.failed_at or tx.status_changed_at)
        failure: dict[str, Any] = {}
        _put(failure, "reason", tx.failure_reason)
        _put(failure, "pgCode", tx.failure_pg_code)
        _put(failure, "pgMessage", tx.failure_pg_message)
        out["failure"] = failure
    elif status in (state.PARTIAL_CANCELLED, state.CANCELLED):
        if tx.paid_at is not None:
            out["paidAt"] = to_wire(tx.paid_at)
        _put(out, "pgTxId", tx.pg_tx_id)
        _put(out, "receiptUrl", tx.receipt_url)
        out["cancellations"] = [cancellation(c) for c in cancellations]
        out["cancelledAt"] = to_wire(tx.cancelled_at or tx.status_changed_at)
