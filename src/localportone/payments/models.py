"""Tables of the payments domain.

A payment (``payments``) is the merchant's ``paymentId`` in a store: the row other requests lock to serialise
every change of that payment, and that points at its current attempt. Each attempt is a ``payment_transactions``
row holding everything the ``Payment`` resource shows; the resource mirrors the latest attempt (§16 item 23).
Cancellations belong to the (paid) attempt; payment events feed ``/payment-events-by-cursor``; search terms make
``textSearch`` a prefix match that works the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from localportone.kernel.db import Amount, Base, Document, UTCDateTime


class PaymentRow(Base):
    """The payment as the merchant names it: unique per (store, paymentId)."""

    __tablename__ = "payments"
    __table_args__ = (
        UniqueConstraint("store_id", "payment_id"),
        Index("ix_payments_store_id_created_at", "store_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    store_id: Mapped[str] = mapped_column(ForeignKey("stores.id"))
    merchant_id: Mapped[str] = mapped_column(String(100), index=True)
    payment_id: Mapped[str] = mapped_column(String(200))
    #: The attempt the resource mirrors (None only inside the transaction that creates the first attempt).
    current_transaction_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    transaction_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class TransactionRow(Base):
    """One payment attempt (``transactionId``) with every field the ``Payment`` / ``PaymentTransaction`` shows."""

    __tablename__ = "payment_transactions"
    __table_args__ = (
        Index("ix_payment_transactions_store_id_status_changed_at", "store_id", "status_changed_at"),
        Index("ix_payment_transactions_store_id_requested_at", "store_id", "requested_at"),
        Index("ix_payment_transactions_status_va_expired_at", "status", "va_expired_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    payment_pk: Mapped[str] = mapped_column(ForeignKey("payments.id"), index=True)
    store_id: Mapped[str] = mapped_column(String(100))
    merchant_id: Mapped[str] = mapped_column(String(100))
    payment_id: Mapped[str] = mapped_column(String(200))
    seq: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(30))

    channel: Mapped[dict[str, Any] | None] = mapped_column(Document, nullable=True)
    channel_group: Mapped[dict[str, Any] | None] = mapped_column(Document, nullable=True)
    pg_provider: Mapped[str | None] = mapped_column(String(50), nullable=True)
    is_test: Mapped[bool] = mapped_column(Boolean, default=True)
    schedule_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    billing_key: Mapped[str | None] = mapped_column(String(200), nullable=True)

    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status_changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    captured_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    order_name: Mapped[str] = mapped_column(Text)
    currency: Mapped[str] = mapped_column(String(3))
    total: Mapped[int] = mapped_column(Amount)
    tax_free: Mapped[int] = mapped_column(Amount)
    vat: Mapped[int] = mapped_column(Amount)
    discount: Mapped[int] = mapped_column(Amount, default=0)
    cancelled: Mapped[int] = mapped_column(Amount, default=0)
    cancelled_tax_free: Mapped[int] = mapped_column(Amount, default=0)
    cancelled_vat: Mapped[int] = mapped_column(Amount, default=0)

    customer: Mapped[dict[str, Any]] = mapped_column(Document, default=dict)
    custom_data: Mapped[str | None] = mapped_column(Text, nullable=True)
    country: Mapped[str | None] = mapped_column(String(2), nullable=True)
    products: Mapped[list[dict[str, Any]] | None] = mapped_column(Document, nullable=True)
    product_count: Mapped[int | None] = mapped_column(Integer, nullable=True)
    is_cultural_expense: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    is_escrow: Mapped[bool] = mapped_column(Boolean, default=False)
    escrow_status: Mapped[str | None] = mapped_column(String(30), nullable=True)
    promotion_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    notice_urls: Mapped[list[str] | None] = mapped_column(Document, nullable=True)
    installment_month: Mapped[int | None] = mapped_column(Integer, nullable=True)
    cash_receipt_type: Mapped[str | None] = mapped_column(String(20), nullable=True)

    #: ``PaymentMethod`` wire object; the filter columns below are derived from it when it is written.
    method: Mapped[dict[str, Any] | None] = mapped_column(Document, nullable=True)
    method_type: Mapped[str | None] = mapped_column(String(30), nullable=True)
    card_brand: Mapped[str | None] = mapped_column(String(20), nullable=True)
    card_type: Mapped[str | None] = mapped_column(String(20), nullable=True)
    card_owner_type: Mapped[str | None] = mapped_column(String(20), nullable=True)

    pg_tx_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    #: ``Dispute`` wire objects (chargebacks), oldest first; only the sandbox creates them.
    disputes: Mapped[list[dict[str, Any]] | None] = mapped_column(Document, nullable=True)
    pg_response: Mapped[str | None] = mapped_column(Text, nullable=True)
    receipt_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    failure_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    failure_pg_code: Mapped[str | None] = mapped_column(String(200), nullable=True)
    failure_pg_message: Mapped[str | None] = mapped_column(Text, nullable=True)

    origin: Mapped[dict[str, Any]] = mapped_column(Document, default=dict)
    platform_type: Mapped[str] = mapped_column(String(10), default="API")
    va_expired_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: SHA-256 of the manual-confirm paymentToken (the token itself is never stored).
    payment_token_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)


class CancellationRow(Base):
    __tablename__ = "payment_cancellations"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    transaction_id: Mapped[str] = mapped_column(ForeignKey("payment_transactions.id"), index=True)
    store_id: Mapped[str] = mapped_column(String(100))
    payment_id: Mapped[str] = mapped_column(String(200))
    seq: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))
    total_amount: Mapped[int] = mapped_column(Amount)
    tax_free_amount: Mapped[int] = mapped_column(Amount)
    vat_amount: Mapped[int] = mapped_column(Amount)
    reason: Mapped[str] = mapped_column(Text)
    requester: Mapped[str | None] = mapped_column(String(20), nullable=True)
    trigger: Mapped[str | None] = mapped_column(String(20), nullable=True)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    pg_cancellation_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    receipt_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: Bank and holder of a virtual-account refund (the account number is kept masked).
    refund_account: Mapped[dict[str, Any] | None] = mapped_column(Document, nullable=True)
    failure_pg_code: Mapped[str | None] = mapped_column(String(200), nullable=True)
    failure_pg_message: Mapped[str | None] = mapped_column(Text, nullable=True)


class PaymentEventRow(Base):
    """A PAID / PARTIAL_CANCELLED / CANCELLED event, with the amounts as they were at that moment."""

    __tablename__ = "payment_events"
    __table_args__ = (Index("ix_payment_events_store_id_created_at", "store_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    store_id: Mapped[str] = mapped_column(String(100))
    merchant_id: Mapped[str] = mapped_column(String(100))
    payment_id: Mapped[str] = mapped_column(String(200))
    transaction_id: Mapped[str] = mapped_column(ForeignKey("payment_transactions.id"), index=True)
    type: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    event_amount: Mapped[int] = mapped_column(Amount)
    amount: Mapped[dict[str, Any]] = mapped_column(Document)
    cancellation_id: Mapped[str | None] = mapped_column(String(40), nullable=True)


class SearchTermRow(Base):
    """One searchable value of an attempt (``PaymentTextSearchField`` → value), matched by prefix."""

    __tablename__ = "payment_search_terms"
    __table_args__ = (Index("ix_payment_search_terms_field_value", "field", "value"),)

    transaction_id: Mapped[str] = mapped_column(ForeignKey("payment_transactions.id"), primary_key=True)
    field: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(String(200), primary_key=True)


class PreRegistrationRow(Base):
    """``POST /payments/{id}/pre-register``: the amounts a later attempt must match (§16 item 25)."""

    __tablename__ = "payment_pre_registrations"

    store_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    payment_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    total_amount: Mapped[int | None] = mapped_column(Amount, nullable=True)
    tax_free_amount: Mapped[int | None] = mapped_column(Amount, nullable=True)
    currency: Mapped[str | None] = mapped_column(String(3), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
