"""Remembered ``Idempotency-Key`` requests: in flight (leased) or completed (with the answer to replay)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from localportone.kernel.db import Base, UTCDateTime


class IdempotencyRecord(Base):
    __tablename__ = "idempotency_keys"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True,
                                    autoincrement=True)
    #: Whose key it is (the merchant id): a key of one merchant never replays another's answer.
    scope: Mapped[str] = mapped_column(String(100))
    key: Mapped[str] = mapped_column(String(256))
    #: sha256 of method, path, query and body: the same key for another request is a client error.
    request_hash: Mapped[str] = mapped_column(String(64))
    #: A fresh value per claim, so that a request whose lease was taken over cannot store its answer.
    owner: Mapped[str] = mapped_column(String(64))
    #: IN_FLIGHT | DONE
    state: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    lease_until: Mapped[datetime] = mapped_column(UTCDateTime)
    response_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    response_content_type: Mapped[str | None] = mapped_column(String(200), nullable=True)
    response_body: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)

    __table_args__ = (UniqueConstraint("scope", "key"),)
