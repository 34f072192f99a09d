"""The webhook outbox: one row per (event, destination URL) and one row per delivery attempt.

A delivery row is written in the same transaction as the change that caused the event, so a rolled-back change
never produces a webhook and a committed one is never lost. The delivery job claims due rows with a lease and
records each attempt.

The payment paths queue deliveries and read ``Payment.webhooks`` with hand-written SQL through the records at the
end of this module; they store every value exactly as the ORM mapping does, so the delivery job (ORM and Core)
reads them unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from localportone.kernel.db import Base, Document, UTCDateTime
from localportone.kernel.records import RecordTable

#: Delivery states: PENDING (an attempt is still to be made) or the final result of the last attempt.
PENDING = "PENDING"
SUCCEEDED = "SUCCEEDED"
FAILED_NOT_OK_RESPONSE = "FAILED_NOT_OK_RESPONSE"
FAILED_UNEXPECTED_ERROR = "FAILED_UNEXPECTED_ERROR"
FINAL_STATUSES = (SUCCEEDED, FAILED_NOT_OK_RESPONSE, FAILED_UNEXPECTED_ERROR)


class WebhookDelivery(Base):
    """One message to one URL. ``id`` is the ``webhook-id`` header and the ``PaymentWebhook.id``."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    store_id: Mapped[str] = mapped_column(String(100))
    #: For ``Transaction.*`` events (``Payment.webhooks``); ``billing_key`` for ``BillingKey.*`` events.
    payment_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    billing_key: Mapped[str | None] = mapped_column(String(200), nullable=True)
    event_type: Mapped[str] = mapped_column(String(64))
    #: Payload version the body was built with: "2024-04-25" or "2024-01-01"; "test" for sandbox test calls.
    version: Mapped[str] = mapped_column(String(20))
    is_test: Mapped[bool] = mapped_column(Boolean)
    url: Mapped[str] = mapped_column(Text)
    #: The exact request body (compact UTF-8 JSON), identical on every attempt and every manual resend.
    body: Mapped[str] = mapped_column(Text)
    payment_status: Mapped[str | None] = mapped_column(String(30), nullable=True)
    trigger: Mapped[str | None] = mapped_column(String(40), nullable=True)
    is_async: Mapped[bool] = mapped_column(Boolean, default=False)
    #: PENDING, or the final result (SUCCEEDED / FAILED_NOT_OK_RESPONSE / FAILED_UNEXPECTED_ERROR).
    status: Mapped[str] = mapped_column(String(32), default=PENDING)
    #: Result of the latest attempt (what ``PaymentWebhook.status`` shows); None before the first attempt.
    last_result: Mapped[str | None] = mapped_column(String(32), nullable=True)
    execution_count: Mapped[int] = mapped_column(Integer, default=0)
    max_executions: Mapped[int] = mapped_column(Integer, default=6)
    #: Sandbox-clock time the next attempt is due; None once the delivery is final.
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: Wall-clock lease of the worker currently attempting it (a sandbox clock jump must not break a lease).
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    claimed_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    #: For manual resends (trigger MANUAL): the original webhook id the resend counts against.
    resend_of: Mapped[str | None] = mapped_column(String(64), nullable=True)
    #: Event time (sandbox clock): the payload ``timestamp`` and ``PaymentWebhook.triggeredAt``.
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_payment", "store_id", "payment_id"),
        Index("ix_webhook_deliveries_resend_of", "resend_of"),
    )


class WebhookAttempt(Base):
    """One HTTP request of a delivery; ``number`` is unique per delivery, so no attempt is recorded twice."""

    __tablename__ = "webhook_attempts"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    delivery_id: Mapped[str] = mapped_column(ForeignKey("webhook_deliveries.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    worker: Mapped[str] = mapped_column(String(100))
    #: SUCCEEDED, FAILED_NOT_OK_RESPONSE or FAILED_UNEXPECTED_ERROR.
    result: Mapped[str] = mapped_column(String(32))
    request_headers: Mapped[dict[str, Any]] = mapped_column(Document)
    #: Sandbox-clock times (``webhook-timestamp`` in the headers is the real wall-clock second).
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    response_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    #: ``[[name, value], ...]`` as received (names may repeat).
    response_headers: Mapped[list[list[str]] | None] = mapped_column(Document, nullable=True)
    #: At most 64 KiB of the response body, decoded as UTF-8 (invalid bytes replaced).
    response_body: Mapped[str | None] = mapped_column(Text, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    duration_ms: Mapped[int] = mapped_column(Integer)

    __table_args__ = (UniqueConstraint("delivery_id", "number"),)


@dataclass
class DeliveryRecord:
    """A ``webhook_deliveries`` row as a plain record (same attribute names as :class:`WebhookDelivery`)."""

    id: str
    store_id: str
    payment_id: str | None
    billing_key: str | None
    event_type: str
    version: str
    is_test: bool
    url: str
    body: str
    payment_status: str | None
    trigger: str | None
    is_async: bool
    status: str
    last_result: str | None
    execution_count: int
    max_executions: int
    next_attempt_at: datetime | None
    lease_until: datetime | None
    claimed_by: str | None
    resend_of: str | None
    created_at: datetime
    updated_at: datetime


DELIVERIES = RecordTable("webhook_deliveries", DeliveryRecord, kinds={
    "is_test": "bool", "is_async": "bool", "next_attempt_at": "datetime", "lease_until": "datetime",
    "created_at": "datetime", "updated_at": "datetime",
})


@dataclass
class AttemptSummary:
    """What ``PaymentWebhook`` shows of a delivery's latest attempt (columns of ``webhook_attempts``)."""

    delivery_id: str
    number: int
    request_headers: dict[str, Any]
    requested_at: datetime
    responded_at: datetime | None
    response_status: int | None
    response_headers: list[list[str]] | None
    response_body: str | None


ATTEMPT_SUMMARIES = RecordTable("webhook_attempts", AttemptSummary, key=("delivery_id", "number"), rank=1, kinds={
    "request_headers": "json", "requested_at": "datetime", "responded_at": "datetime", "response_headers": "json",
})
