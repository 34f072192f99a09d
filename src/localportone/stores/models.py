"""Merchants, stores, channels and channel groups: what PortOne's console manages."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from localportone.kernel.db import Base, Document, UTCDateTime


class Merchant(Base):
    __tablename__ = "merchants"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Store(Base):
    __tablename__ = "stores"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    is_representative: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Webhook payload version: "2024-04-25" (current) or "2024-01-01" (legacy).
    webhook_version: Mapped[str] = mapped_column(String(20), default="2024-04-25")
    #: Webhook URLs per mode; None means "inherit the representative store's".
    test_webhook_urls: Mapped[list[str] | None] = mapped_column(Document, nullable=True)
    live_webhook_urls: Mapped[list[str] | None] = mapped_column(Document, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WebhookSecret(Base):
    """Signing secrets per store and mode; up to two active at once for rotation (kept in clear: we sign with it)."""

    __tablename__ = "webhook_secrets"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    store_id: Mapped[str] = mapped_column(ForeignKey("stores.id"), index=True)
    is_test: Mapped[bool] = mapped_column(Boolean, default=True)
    secret: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Channel(Base):
    __tablename__ = "channels"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    key: Mapped[str] = mapped_column(String(100), unique=True)
    store_id: Mapped[str] = mapped_column(ForeignKey("stores.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    pg_provider: Mapped[str] = mapped_column(String(50))
    pg_merchant_id: Mapped[str] = mapped_column(String(100))
    #: "TEST" or "LIVE"; every channel of the sandbox PG is TEST.
    type: Mapped[str] = mapped_column(String(10), default="TEST")
    #: Manual confirm (수동 승인): checkout results carry a paymentToken and wait for POST /confirm.
    manual_confirm: Mapped[bool] = mapped_column(Boolean, default=False)
    options: Mapped[dict[str, Any]] = mapped_column(Document, default=dict)
    is_deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ChannelGroup(Base):
    __tablename__ = "channel_groups"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    store_id: Mapped[str] = mapped_column(ForeignKey("stores.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    is_for_test: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ChannelGroupMember(Base):
    __tablename__ = "channel_group_members"

    group_id: Mapped[str] = mapped_column(ForeignKey("channel_groups.id"), primary_key=True)
    channel_id: Mapped[str] = mapped_column(ForeignKey("channels.id"), primary_key=True)
    #: Smart-routing weight; a zero-ratio member is still used for super billing keys.
    ratio: Mapped[int] = mapped_column(Integer, default=1)
