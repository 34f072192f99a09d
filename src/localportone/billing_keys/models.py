"""Billing keys and the per-channel results of their issuance.

A key issued on a channel group (a "super billing key") has one ``billing_key_channels`` row per member channel,
issued or failed. Keys awaiting manual confirmation (``PENDING``) and failed issuances (``FAILED``) are stored too
but are not representable in the wire union, so reads never show them. No card number is stored: only the PG's
opaque key per channel and the masked card.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from localportone.kernel.db import Base, Document, UTCDateTime


class BillingKey(Base):
    __tablename__ = "billing_keys"

    billing_key: Mapped[str] = mapped_column(String(100), primary_key=True)
    merchant_id: Mapped[str] = mapped_column(String(100), index=True)
    store_id: Mapped[str] = mapped_column(String(100), index=True)
    #: PENDING (awaiting manual confirm) | ISSUED | DELETED | FAILED
    status: Mapped[str] = mapped_column(String(16))
    is_test: Mapped[bool] = mapped_column(Boolean, default=True)
    #: BillingKeyPaymentMethodType: CARD | EASY_PAY | MOBILE | TRANSFER
    method_type: Mapped[str] = mapped_column(String(16), default="CARD")
    easy_pay_provider: Mapped[str | None] = mapped_column(String(40), nullable=True)
    #: The masked card (``Card`` wire form); searchable parts copied into columns.
    card: Mapped[dict[str, Any] | None] = mapped_column(Document, nullable=True)
    card_bin: Mapped[str | None] = mapped_column(String(16), nullable=True)
    card_number: Mapped[str | None] = mapped_column(String(32), nullable=True)
    #: The ``Customer`` wire form, and its searchable parts.
    customer: Mapped[dict[str, Any]] = mapped_column(Document, default=dict)
    customer_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    customer_name: Mapped[str | None] = mapped_column(String(400), nullable=True)
    customer_email: Mapped[str | None] = mapped_column(String(400), nullable=True)
    customer_phone_number: Mapped[str | None] = mapped_column(String(100), nullable=True)
    customer_address: Mapped[str | None] = mapped_column(Text, nullable=True)
    customer_zipcode: Mapped[str | None] = mapped_column(String(40), nullable=True)
    custom_data: Mapped[str | None] = mapped_column(Text, nullable=True)
    issue_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    issue_name: Mapped[str | None] = mapped_column(String(400), nullable=True)
    channel_group_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    channel_group_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    channel_group_is_for_test: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    #: PaymentClientType: API for POST /billing-keys, SDK_PC / SDK_MOBILE for (simulated) checkouts.
    platform_type: Mapped[str] = mapped_column(String(16), default="API")
    user_agent: Mapped[str | None] = mapped_column(Text, nullable=True)
    notice_urls: Mapped[list[str] | None] = mapped_column(Document, nullable=True)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: issued_at for ISSUED, deleted_at for DELETED (the list's STATUS_TIMESTAMP).
    status_at: Mapped[datetime] = mapped_column(UTCDateTime)
    delete_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    delete_requester: Mapped[str | None] = mapped_column(String(16), nullable=True)
    #: Manual confirm: the token the checkout handed out, and the first payment of an issue-and-pay.
    billing_issue_token: Mapped[str | None] = mapped_column(String(200), nullable=True, unique=True)
    pending_payment: Mapped[dict[str, Any] | None] = mapped_column(Document, nullable=True)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    __table_args__ = (
        Index("ix_billing_keys_store_id_requested_at", "store_id", "requested_at"),
    )


class BillingKeyChannel(Base):
    """One channel's issuance result for a billing key, in issue order."""

    __tablename__ = "billing_key_channels"

    billing_key: Mapped[str] = mapped_column(ForeignKey("billing_keys.billing_key"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel_id: Mapped[str] = mapped_column(String(100))
    channel_key: Mapped[str] = mapped_column(String(100))
    channel_name: Mapped[str] = mapped_column(String(200))
    channel_type: Mapped[str] = mapped_column(String(10))
    pg_provider: Mapped[str] = mapped_column(String(50), index=True)
    pg_company: Mapped[str | None] = mapped_column(String(50), nullable=True)
    pg_merchant_id: Mapped[str] = mapped_column(String(100))
    store_id: Mapped[str] = mapped_column(String(100))
    manual_confirm: Mapped[bool] = mapped_column(Boolean, default=False)
    #: ISSUED | FAILED
    outcome: Mapped[str] = mapped_column(String(16))
    pg_billing_key: Mapped[str | None] = mapped_column(Text, nullable=True)
    pg_tx_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    #: The wire ``BillingKeyPaymentMethod`` this channel reported (ISSUED only).
    method: Mapped[dict[str, Any] | None] = mapped_column(Document, nullable=True)
    #: ``{failedAt, message?, pgCode?, pgMessage?}`` as on the wire (FAILED only).
    failure: Mapped[dict[str, Any] | None] = mapped_column(Document, nullable=True)
