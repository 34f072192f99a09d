"""The ``payment_schedules`` table: one row per ``PaymentSchedule``.

The billing-key payment input is kept as the wire JSON the merchant sent, so that the run at ``timeToPay`` makes
exactly the payment that was scheduled. ``seq`` orders schedules by creation (ties of ``timeToPay``). ``claim_token``
and ``lease_until`` belong to the scheduler: a run only completes a schedule whose token it holds, and a STARTED
schedule whose lease ran out (its process died) can be claimed again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from localportone.kernel.db import Amount, Base, Document, UTCDateTime
from localportone.kernel.records import RecordTable

#: Statuses that hold the paymentId: a second schedule, or a direct payment, on it is refused.
LIVE_STATUSES = ("SCHEDULED", "STARTED", "PENDING")
LIVE_SQL = "status IN ('SCHEDULED', 'STARTED', 'PENDING')"


class PaymentScheduleRow(Base):
    __tablename__ = "payment_schedules"

    seq: Mapped[int] = mapped_column(Amount, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(64), unique=True)
    merchant_id: Mapped[str] = mapped_column(String(100))
    store_id: Mapped[str] = mapped_column(String(100), ForeignKey("stores.id"))
    payment_id: Mapped[str] = mapped_column(String(200))
    billing_key: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16))
    is_test: Mapped[bool] = mapped_column(Boolean, default=True)
    #: The ``BillingKeyPaymentScheduleInput`` as sent (wire JSON, camelCase, storeId resolved).
    payment_input: Mapped[dict[str, Any]] = mapped_column(Document)
    #: The ``Customer`` wire object shown on the schedule (the input's, else the billing key's).
    customer: Mapped[dict[str, Any]] = mapped_column(Document)
    order_name: Mapped[str] = mapped_column(Text)
    currency: Mapped[str] = mapped_column(String(3))
    total_amount: Mapped[int] = mapped_column(Amount)
    tax_free_amount: Mapped[int | None] = mapped_column(Amount, nullable=True)
    vat_amount: Mapped[int | None] = mapped_column(Amount, nullable=True)
    time_to_pay: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: ``STATUS_TIMESTAMP`` sort key: timeToPay, then startedAt, completedAt or revokedAt as the status moves.
    status_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Scheduler bookkeeping (never on the wire).
    claim_token: Mapped[str | None] = mapped_column(String(64), nullable=True)
    #: Wall-clock time after which a STARTED schedule counts as abandoned (its process died).
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    run_count: Mapped[int] = mapped_column(Integer, default=0)
    failure_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    failure_pg_code: Mapped[str | None] = mapped_column(String(100), nullable=True)
    failure_pg_message: Mapped[str | None] = mapped_column(Text, nullable=True)

    __table_args__ = (
        Index("ix_payment_schedules_status_time_to_pay", "status", "time_to_pay", "seq"),
        Index("ix_payment_schedules_store_id_time_to_pay", "store_id", "time_to_pay"),
        Index("ix_payment_schedules_store_id_billing_key_status", "store_id", "billing_key", "status"),
        # At most one live schedule per paymentId: the database enforces what the service checks.
        Index(
            "uq_payment_schedules_live_payment", "store_id", "payment_id", unique=True,
            sqlite_where=text(LIVE_SQL), postgresql_where=text(LIVE_SQL),
        ),
    )


@dataclass(eq=False)
class ScheduleRecord:
    """A ``payment_schedules`` row as the scheduler's runs read and complete it, in plain SQL (the ORM class above
    serves the API's reads and revocations). Same columns, same names."""

    seq: int
    id: str
    merchant_id: str
    store_id: str
    payment_id: str
    billing_key: str
    status: str
    is_test: bool
    payment_input: dict[str, Any]
    customer: dict[str, Any]
    order_name: str
    currency: str
    total_amount: int
    tax_free_amount: int | None
    vat_amount: int | None
    time_to_pay: datetime
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    revoked_at: datetime | None
    status_at: datetime
    claim_token: str | None
    lease_until: datetime | None
    run_count: int
    failure_reason: str | None
    failure_pg_code: str | None
    failure_pg_message: str | None


SCHEDULES = RecordTable("payment_schedules", ScheduleRecord, key=("seq",), kinds={
    "is_test": "bool", "payment_input": "json", "customer": "json", "time_to_pay": "datetime",
    "created_at": "datetime", "started_at": "datetime", "completed_at": "datetime", "revoked_at": "datetime",
    "status_at": "datetime", "lease_until": "datetime",
})
