"""Tables owned by the kernel: the shared sandbox clock and server keys."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from localportone.kernel.db import Base, UTCDateTime


class ClockRow(Base):
    """One row: how far the sandbox clock is ahead of (or behind) the wall clock."""

    __tablename__ = "sandbox_clock"

    id: Mapped[int] = mapped_column(primary_key=True)
    offset_us: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ServerKey(Base):
    """Secrets the server itself needs in every process, e.g. the access-token signing key."""

    __tablename__ = "server_keys"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
