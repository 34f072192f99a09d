"""API secrets and refresh tokens. Only hashes of secrets and tokens are stored."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from localportone.kernel.db import Base, UTCDateTime


class ApiSecret(Base):
    __tablename__ = "api_secrets"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id"), index=True)
    #: The store a request acts on when it names none.
    default_store_id: Mapped[str] = mapped_column(ForeignKey("stores.id"))
    #: A pinned secret may only act on its own store (not a merchant-level principal).
    pinned_to_store: Mapped[bool] = mapped_column(Boolean, default=False)
    name: Mapped[str] = mapped_column(String(200))
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class RefreshToken(Base):
    """A refresh token is single-use and dies the moment its secret logs in or refreshes again."""

    __tablename__ = "refresh_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    api_secret_id: Mapped[str] = mapped_column(ForeignKey("api_secrets.id"), index=True)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
