"""Webhook bodies in the two payload versions a store can choose (§13.2, §13.5). Compact UTF-8 JSON: the
signature is computed over exactly these bytes, and every retry and manual resend sends them again unchanged."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson

from localportone.kernel.clock import to_wire

CURRENT = "2024-04-25"
LEGACY = "2024-01-01"
VERSIONS = (CURRENT, LEGACY)
#: Stored as the version of sandbox test calls (their body is a CURRENT sample).
TEST_CALL = "test"

#: Event types whose 2024-04-25 data carries the cancellation id.
_WITH_CANCELLATION = frozenset({"Transaction.PartialCancelled", "Transaction.Cancelled", "Transaction.CancelPending"})
#: Legacy ``status`` values (PascalCase); other event types (disputes, billing keys) have no legacy message.
_LEGACY_STATUS = {
    "Transaction.Ready": "Ready",
    "Transaction.Paid": "Paid",
    "Transaction.VirtualAccountIssued": "VirtualAccountIssued",
    "Transaction.PartialCancelled": "PartialCancelled",
    "Transaction.Cancelled": "Cancelled",
    "Transaction.Failed": "Failed",
    "Transaction.PayPending": "PayPending",
    "Transaction.CancelPending": "CancelPending",
}


def dumps(document: dict[str, Any]) -> str:
    return orjson.dumps(document).decode()


def payment_body(version: str, *, event_type: str, timestamp: datetime, store_id: str, payment_id: str,
                 transaction_id: str, cancellation_id: str | None = None,
                 total_amount: int | None = None) -> str | None:
    """The body of a ``Transaction.*`` event, or None when the version has no message for this event."""
    if version == LEGACY:
        return _legacy_payment_body(event_type, payment_id, transaction_id, total_amount)
    data: dict[str, Any] = {"storeId": store_id, "paymentId": payment_id, "transactionId": transaction_id}
    if cancellation_id is not None and event_type in _WITH_CANCELLATION:
        data["cancellationId"] = cancellation_id
    if total_amount is not None and event_type == "Transaction.Confirm":
        data["totalAmount"] = int(total_amount)
    return dumps({"type": event_type, "timestamp": to_wire(timestamp), "data": data})


def _legacy_payment_body(event_type: str, payment_id: str, transaction_id: str,
                         total_amount: int | None) -> str | None:
    if event_type == "Transaction.Confirm":
        return dumps({"payment_id": payment_id, "tx_id": transaction_id, "total_amount": int(total_amount or 0)})
    status = _LEGACY_STATUS.get(event_type)
    if status is None:
        return None
    return dumps({"payment_id": payment_id, "tx_id": transaction_id, "status": status})


def billing_key_body(version: str, *, event_type: str, timestamp: datetime, store_id: str,
                     billing_key: str) -> str | None:
    """The body of a ``BillingKey.*`` event; the legacy version has none."""
    if version == LEGACY:
        return None
    return dumps({"type": event_type, "timestamp": to_wire(timestamp),
                  "data": {"storeId": store_id, "billingKey": billing_key}})


#: Sample ids of the sandbox "test call" (no payment behind them).
SAMPLE_PAYMENT_ID = "localportone-test-payment"
SAMPLE_TRANSACTION_ID = "00000000-0000-7000-8000-000000000000"
SAMPLE_CANCELLATION_ID = "00000000-0000-7000-8000-000000000001"
SAMPLE_BILLING_KEY = "billing-key-00000000-0000-7000-8000-000000000000"


def sample_body(event_type: str, timestamp: datetime, store_id: str) -> str:
    """A well-formed 2024-04-25 message of any type for the sandbox test call."""
    if event_type.startswith("BillingKey."):
        body = billing_key_body(CURRENT, event_type=event_type, timestamp=timestamp, store_id=store_id,
                                billing_key=SAMPLE_BILLING_KEY)
    else:
        body = payment_body(CURRENT, event_type=event_type, timestamp=timestamp, store_id=store_id,
                            payment_id=SAMPLE_PAYMENT_ID, transaction_id=SAMPLE_TRANSACTION_ID,
                            cancellation_id=SAMPLE_CANCELLATION_ID, total_amount=1000)
    assert body is not None
    return body
