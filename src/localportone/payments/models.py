"""Tables and records of the payments domain.

A payment (``payments``) is the merchant's ``paymentId`` in a store: the row other requests lock to serialise
every change of that payment, and that points at its current attempt. Each attempt is a ``payment_transactions``
row holding everything the ``Payment`` resource shows; the resource mirrors the latest attempt (§16 item 23).
Cancellations belong to the (paid) attempt; payment events feed ``/payment-events-by-cursor``; search terms make
``textSearch`` a prefix match that works the same on SQLite and PostgreSQL.

The tables are SQLAlchemy Core (for the migrations and the list queries); the rows are plain dataclasses read and
written with hand-written SQL (:mod:`localportone.kernel.records`): the payment paths are the hottest of the server
and the ORM cost more per statement than everything else together (docs/decisions/0002).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Column, ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint

from localportone.kernel.db import Amount, Base, Document, UTCDateTime
from localportone.kernel.records import RecordTable

payments_table = Table(
    "payments", Base.metadata,
    Column("id", String(40), primary_key=True),
    # PostgreSQL databases drop this foreign key (migration 0010, decision 0006: a hot parent row)
    Column("store_id", ForeignKey("stores.id"), nullable=False),
    Column("merchant_id", String(100), nullable=False),
    Column("payment_id", String(200), nullable=False),
    Column("current_transaction_id", String(40), nullable=True),
    Column("transaction_count", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("document", Text, nullable=True),
    Column("document_expires_at", UTCDateTime, nullable=True),
    UniqueConstraint("store_id", "payment_id"),
    Index("ix_payments_store_id_created_at", "store_id", "created_at"),
)

transactions_table = Table(
    "payment_transactions", Base.metadata,
    Column("id", String(40), primary_key=True),
    Column("payment_pk", ForeignKey("payments.id"), nullable=False, index=True),
    Column("store_id", String(100), nullable=False),
    Column("merchant_id", String(100), nullable=False),
    Column("payment_id", String(200), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("status", String(30), nullable=False),
    Column("channel", Document, nullable=True),
    Column("channel_group", Document, nullable=True),
    Column("pg_provider", String(50), nullable=True),
    Column("is_test", Boolean, nullable=False),
    Column("schedule_id", String(100), nullable=True),
    Column("billing_key", String(200), nullable=True),
    Column("requested_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("status_changed_at", UTCDateTime, nullable=False),
    Column("paid_at", UTCDateTime, nullable=True),
    Column("failed_at", UTCDateTime, nullable=True),
    Column("cancelled_at", UTCDateTime, nullable=True),
    Column("captured_at", UTCDateTime, nullable=True),
    Column("order_name", Text, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("total", Amount, nullable=False),
    Column("tax_free", Amount, nullable=False),
    Column("vat", Amount, nullable=False),
    Column("discount", Amount, nullable=False),
    Column("cancelled", Amount, nullable=False),
    Column("cancelled_tax_free", Amount, nullable=False),
    Column("cancelled_vat", Amount, nullable=False),
    Column("customer", Document, nullable=False),
    Column("custom_data", Text, nullable=True),
    Column("country", String(2), nullable=True),
    Column("products", Document, nullable=True),
    Column("product_count", Integer, nullable=True),
    Column("is_cultural_expense", Boolean, nullable=True),
    Column("is_escrow", Boolean, nullable=False),
    Column("escrow_status", String(30), nullable=True),
    Column("promotion_id", String(200), nullable=True),
    Column("notice_urls", Document, nullable=True),
    Column("installment_month", Integer, nullable=True),
    Column("cash_receipt_type", String(20), nullable=True),
    Column("method", Document, nullable=True),
    Column("method_type", String(30), nullable=True),
    Column("card_brand", String(20), nullable=True),
    Column("card_type", String(20), nullable=True),
    Column("card_owner_type", String(20), nullable=True),
    Column("pg_tx_id", String(200), nullable=True),
    Column("disputes", Document, nullable=True),
    Column("pg_response", Text, nullable=True),
    Column("receipt_url", Text, nullable=True),
    Column("failure_reason", Text, nullable=True),
    Column("failure_pg_code", String(200), nullable=True),
    Column("failure_pg_message", Text, nullable=True),
    Column("origin", Document, nullable=False),
    Column("platform_type", String(10), nullable=False),
    Column("va_expired_at", UTCDateTime, nullable=True),
    Column("payment_token_hash", String(64), nullable=True),
    Index("ix_payment_transactions_store_id_status_changed_at", "store_id", "status_changed_at"),
    Index("ix_payment_transactions_store_id_requested_at", "store_id", "requested_at"),
    Index("ix_payment_transactions_status_va_expired_at", "status", "va_expired_at"),
)

cancellations_table = Table(
    "payment_cancellations", Base.metadata,
    Column("id", String(40), primary_key=True),
    Column("transaction_id", ForeignKey("payment_transactions.id"), nullable=False, index=True),
    Column("store_id", String(100), nullable=False),
    Column("payment_id", String(200), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("status", String(20), nullable=False),
    Column("total_amount", Amount, nullable=False),
    Column("tax_free_amount", Amount, nullable=False),
    Column("vat_amount", Amount, nullable=False),
    Column("reason", Text, nullable=False),
    Column("requester", String(20), nullable=True),
    Column("trigger", String(20), nullable=True),
    Column("requested_at", UTCDateTime, nullable=False),
    Column("cancelled_at", UTCDateTime, nullable=True),
    Column("pg_cancellation_id", String(200), nullable=True),
    Column("receipt_url", Text, nullable=True),
    Column("refund_account", Document, nullable=True),
    Column("failure_pg_code", String(200), nullable=True),
    Column("failure_pg_message", Text, nullable=True),
)

events_table = Table(
    "payment_events", Base.metadata,
    Column("id", String(40), primary_key=True),
    Column("store_id", String(100), nullable=False),
    Column("merchant_id", String(100), nullable=False),
    Column("payment_id", String(200), nullable=False),
    # No index on transaction_id: nothing looks events up by attempt, and attempts are never deleted.
    Column("transaction_id", ForeignKey("payment_transactions.id"), nullable=False),
    Column("type", String(20), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("event_amount", Amount, nullable=False),
    Column("amount", Document, nullable=False),
    Column("cancellation_id", String(40), nullable=True),
    Index("ix_payment_events_store_id_created_at", "store_id", "created_at"),
)

search_terms_table = Table(
    "payment_search_terms", Base.metadata,
    # No foreign key: derived rows, written with their attempt only (docs/decisions/0003). No index but the
    # primary key: text search looks terms up by attempt (docs/decisions/0005).
    Column("transaction_id", String(40), primary_key=True),
    Column("field", String(40), primary_key=True),
    Column("value", String(200), primary_key=True),
)

pre_registrations_table = Table(
    "payment_pre_registrations", Base.metadata,
    Column("store_id", String(100), primary_key=True),
    Column("payment_id", String(200), primary_key=True),
    Column("total_amount", Amount, nullable=True),
    Column("tax_free_amount", Amount, nullable=True),
    Column("currency", String(3), nullable=True),
    Column("updated_at", UTCDateTime, nullable=False),
)


# ---------------------------------------------------------------------------------------------------------- records


@dataclass(eq=False)
class PaymentRow:
    """The payment as the merchant names it: unique per (store, paymentId)."""

    id: str
    store_id: str
    merchant_id: str
    payment_id: str
    #: The attempt the resource mirrors (None only inside the transaction that creates the first attempt).
    current_transaction_id: str | None
    transaction_count: int
    created_at: datetime
    updated_at: datetime
    #: ``Payment`` as ``GET /payments/{id}`` shows it, less ``webhooks`` (JSON text), rewritten before each commit
    #: that changed the payment (:mod:`.documents`); ``None`` for rows written by other means (then the GET renders).
    document: str | None = None
    #: When the document stops being true without a write: a virtual account's expiry.
    document_expires_at: datetime | None = None


@dataclass(eq=False)
class TransactionRow:
    """One payment attempt (``transactionId``) with every field the ``Payment`` / ``PaymentTransaction`` shows."""

    id: str
    payment_pk: str
    store_id: str
    merchant_id: str
    payment_id: str
    seq: int
    status: str
    requested_at: datetime
    updated_at: datetime
    status_changed_at: datetime
    order_name: str
    currency: str
    total: int
    tax_free: int
    vat: int
    channel: dict[str, Any] | None = None
    channel_group: dict[str, Any] | None = None
    pg_provider: str | None = None
    is_test: bool = True
    schedule_id: str | None = None
    billing_key: str | None = None
    paid_at: datetime | None = None
    failed_at: datetime | None = None
    cancelled_at: datetime | None = None
    captured_at: datetime | None = None
    discount: int = 0
    cancelled: int = 0
    cancelled_tax_free: int = 0
    cancelled_vat: int = 0
    customer: dict[str, Any] = field(default_factory=dict)
    custom_data: str | None = None
    country: str | None = None
    products: list[dict[str, Any]] | None = None
    product_count: int | None = None
    is_cultural_expense: bool | None = None
    is_escrow: bool = False
    escrow_status: str | None = None
    promotion_id: str | None = None
    notice_urls: list[str] | None = None
    installment_month: int | None = None
    cash_receipt_type: str | None = None
    #: ``PaymentMethod`` wire object; the filter columns below are derived from it when it is written.
    method: dict[str, Any] | None = None
    method_type: str | None = None
    card_brand: str | None = None
    card_type: str | None = None
    card_owner_type: str | None = None
    pg_tx_id: str | None = None
    #: ``Dispute`` wire objects (chargebacks), oldest first; only the sandbox creates them.
    disputes: list[dict[str, Any]] | None = None
    pg_response: str | None = None
    receipt_url: str | None = None
    failure_reason: str | None = None
    failure_pg_code: str | None = None
    failure_pg_message: str | None = None
    origin: dict[str, Any] = field(default_factory=dict)
    platform_type: str = "API"
    va_expired_at: datetime | None = None
    #: SHA-256 of the manual-confirm paymentToken (the token itself is never stored).
    payment_token_hash: str | None = None


@dataclass(eq=False)
class CancellationRow:
    id: str
    transaction_id: str
    store_id: str
    payment_id: str
    seq: int
    status: str
    total_amount: int
    tax_free_amount: int
    vat_amount: int
    reason: str
    requested_at: datetime
    requester: str | None = None
    trigger: str | None = None
    cancelled_at: datetime | None = None
    pg_cancellation_id: str | None = None
    receipt_url: str | None = None
    #: Bank and holder of a virtual-account refund (the account number is kept masked).
    refund_account: dict[str, Any] | None = None
    failure_pg_code: str | None = None
    failure_pg_message: str | None = None


@dataclass(eq=False)
class PaymentEventRow:
    """A PAID / PARTIAL_CANCELLED / CANCELLED event, with the amounts as they were at that moment."""

    id: str
    store_id: str
    merchant_id: str
    payment_id: str
    transaction_id: str
    type: str
    created_at: datetime
    event_amount: int
    amount: dict[str, Any]
    cancellation_id: str | None = None


@dataclass(eq=False)
class PreRegistrationRow:
    """``POST /payments/{id}/pre-register``: the amounts a later attempt must match (§16 item 25)."""

    store_id: str
    payment_id: str
    updated_at: datetime
    total_amount: int | None = None
    tax_free_amount: int | None = None
    currency: str | None = None


@dataclass(eq=False)
class SearchTermRow:
    """One ``(field, value)`` an attempt is found by in ``GET /payments`` text searches."""

    transaction_id: str
    field: str
    value: str


# Ranks follow the foreign keys: payments <- payment_transactions <- cancellations, events (search terms: no key).
PAYMENTS = RecordTable("payments", PaymentRow, {"created_at": "datetime", "updated_at": "datetime",
                                                "document_expires_at": "datetime"})
TRANSACTIONS = RecordTable("payment_transactions", TransactionRow, rank=1, kinds={
    "channel": "json", "channel_group": "json", "is_test": "bool", "requested_at": "datetime",
    "updated_at": "datetime", "status_changed_at": "datetime", "paid_at": "datetime", "failed_at": "datetime",
    "cancelled_at": "datetime", "captured_at": "datetime", "customer": "json", "products": "json",
    "is_cultural_expense": "bool", "is_escrow": "bool", "notice_urls": "json", "method": "json",
    "disputes": "json", "origin": "json", "va_expired_at": "datetime",
})
CANCELLATIONS = RecordTable("payment_cancellations", CancellationRow, rank=2, kinds={
    "requested_at": "datetime", "cancelled_at": "datetime", "refund_account": "json",
})
EVENTS = RecordTable("payment_events", PaymentEventRow, {"created_at": "datetime", "amount": "json"}, rank=2)
SEARCH_TERMS = RecordTable("payment_search_terms", SearchTermRow, key=("transaction_id", "field", "value"), rank=2)
PRE_REGISTRATIONS = RecordTable("payment_pre_registrations", PreRegistrationRow, {"updated_at": "datetime"},
                                key=("store_id", "payment_id"))
