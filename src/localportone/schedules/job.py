"""The scheduler: runs due payment schedules, in ``serve`` and in every ``worker`` process.

Each iteration claims due schedules (earliest ``timeToPay`` first, ties by creation) in one short transaction,
then runs them in batches: one unit of work makes the payments of up to ``batch_size`` schedules and completes them
(see ``service`` for why that is exactly-once), so that the statements and the commit are shared by the batch
instead of paid per payment. When a batch fails as a whole (a payment refused before the PG answered, or an
unexpected error), it is rolled back and its schedules run again one per unit of work, so that one bad schedule
never holds back the others. Runs of one billing key stay in order (all of a key's claims go to one batch, run in
order); on PostgreSQL up to ``concurrency`` batches run at once (SQLite serialises writers: one at a time).

Latency: the runner polls every ``job_poll_seconds``; in between, when the next schedule falls due before the next
poll, the job waits for exactly that moment. A move of the sandbox clock, or a new schedule created in this process,
wakes it at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from localportone.kernel.clock import wall_now
from localportone.kernel.uow import Transactions, UnitOfWork
from localportone.payments.common import Limits
from localportone.schedules import service
from localportone.schedules.repository import Claim
from localportone.schedules.service import RunOutcome

if TYPE_CHECKING:
    from localportone.runtime import Runtime
    from localportone.worker.runner import Job

log = logging.getLogger("localportone.schedules")

JOB_NAME = "schedules"
SERVICE_KEY = "schedules.job"
#: How long a claimed schedule belongs to its process (wall clock); after that a dead process's claim is taken over.
DEFAULT_LEASE = timedelta(seconds=30)
#: Batches one process runs at once on PostgreSQL, and the schedules in a batch (bench/README.md).
POSTGRES_CONCURRENCY = 2
POSTGRES_BATCH_SIZE = 200
#: On SQLite a batch holds the only writer while its payments are made: smaller batches keep API writes flowing.
SQLITE_BATCH_SIZE = 16
#: How often an idle scheduler checks whether the payments of PENDING schedules have settled.
SETTLE_EVERY_SECONDS = 5.0


@dataclass
class RunCounts:
    """What one pass ran: ``ran`` = succeeded + failed + pending (+ runs whose claim was lost or that crashed)."""

    ran: int = 0
    by_status: Counter[str] = field(default_factory=Counter)
    errors: int = 0

    def add(self, other: RunCounts) -> None:
        self.ran += other.ran
        self.by_status.update(other.by_status)
        self.errors += other.errors

    def wire(self) -> dict[str, int]:
        return {
            "ran": self.ran,
            "succeeded": self.by_status["SUCCEEDED"],
            "failed": self.by_status["FAILED"],
            "pending": self.by_status["PENDING"],
            "errors": self.errors,
        }


class ScheduleJob:
    name = JOB_NAME

    def __init__(self, transactions: Transactions, *, concurrency: int, poll_seconds: float,
                 lease: timedelta = DEFAULT_LEASE, wall: Callable[[], datetime] = wall_now,
                 limits: Limits | None = None, batch_size: int = 1) -> None:
        self.transactions = transactions
        self.limits = limits or Limits()
        self.concurrency = max(1, concurrency)
        self.batch_size = max(1, batch_size)
        #: Claimed per claim transaction: enough for every batch that may run at once.
        self.batch = max(self.concurrency * self.batch_size, self.concurrency * 2)
        self.poll_seconds = poll_seconds
        self.lease = lease
        self.wall = wall
        self._nudge = asyncio.Event()
        self._settled_at = float("-inf")

    def nudge(self) -> None:
        """Look again now (the sandbox clock moved, or a schedule was created in this process)."""
        self._nudge.set()

    async def run_once(self) -> int:
        self._nudge.clear()
        handled = (await self.run_due()).ran
        if handled:
            return handled
        if time.monotonic() - self._settled_at >= SETTLE_EVERY_SECONDS:
            await self.settle_pending()
        delay = await self._seconds_to_next_due()
        if delay is None or delay > self.poll_seconds:
            return 0
        if delay > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._nudge.wait(), timeout=delay)
        return (await self.run_due()).ran

    async def run_due(self, merchant_id: str | None = None, *, until_empty: bool = False) -> RunCounts:
        """Claim and run one batch of due schedules (every batch with ``until_empty``)."""
        total = RunCounts()
        while True:
            async with self.transactions.begin() as uow:
                claims = await service.claim_due_schedules(
                    uow, limit=self.batch, lease=self.lease, wall_now=self.wall(), merchant_id=merchant_id)
            if not claims:
                return total
            total.add(await self._run_all(claims))
            if not until_empty:
                return total

    async def settle_pending(self, merchant_id: str | None = None) -> int:
        """PENDING schedules whose payment the PG has settled since follow it (SUCCEEDED / FAILED)."""
        self._settled_at = time.monotonic()
        async with self.transactions.begin() as uow:
            return await service.settle_pending_schedules(uow, merchant_id=merchant_id)

    async def wait_for_running(self, merchant_id: str | None, timeout: float) -> None:
        """Until no due schedule is STARTED any more (runs held by other processes), or ``timeout``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            async with self.transactions.begin(write=False) as uow:
                if not await service.running_due(uow, merchant_id):
                    return
            await asyncio.sleep(0.05)

    async def _run_all(self, claims: list[Claim]) -> RunCounts:
        """Batches of whole billing-key groups (each group in claim order), at most ``concurrency`` at once."""
        groups: dict[str, list[Claim]] = {}
        for claim in claims:
            groups.setdefault(claim.billing_key, []).append(claim)
        batches: list[list[Claim]] = []
        for group in groups.values():
            if batches and len(batches[-1]) + len(group) <= self.batch_size:
                batches[-1].extend(group)
            else:
                batches.append(list(group))
        gate = asyncio.Semaphore(self.concurrency)
        counts = RunCounts()

        async def run_batch(batch: list[Claim]) -> None:
            async with gate:
                outcomes = await self._run_batch(batch)
            for outcome in outcomes:
                counts.ran += 1
                if outcome is None:
                    counts.errors += 1
                else:
                    counts.by_status[outcome.result.status.value] += 1

        await asyncio.gather(*(run_batch(b) for b in batches))
        return counts

    async def _run_batch(self, batch: list[Claim]) -> list[RunOutcome | None]:
        """One outcome per claim (``None``: lost, or failed and left for a retry after its lease)."""
        if len(batch) > 1:
            try:
                async with self.transactions.begin() as uow:
                    outcomes = await service.run_claimed_schedules(uow, batch, limits=self.limits,
                                                                   clock=self.transactions.clock.now)
            except Exception as exc:  # rolled back: run them one by one, each failure on its own
                log.info("a batch of %d payment schedules failed (%s: %s); running them one by one",
                         len(batch), type(exc).__name__, exc)
            else:
                by_id = {outcome.schedule_id: outcome for outcome in outcomes}
                return [by_id.get(claim.id) for claim in batch]
        singles: list[RunOutcome | None] = []
        previous: list[datetime] = []  # when the last of them ran: the next runs at least a tick later, as in a batch
        for claim in batch:
            singles.append(await self._run_one(claim, previous))
        return singles

    async def _run_one(self, claim: Claim, previous: list[datetime] | None = None) -> RunOutcome | None:
        """Run one claim in a transaction of its own; ``previous`` holds the moment the run before it was made
        (updated here), so that runs one after the other keep distinct, ordered timestamps."""
        previous = [] if previous is None else previous

        def moment(uow: UnitOfWork) -> None:
            if previous:
                uow.now = max(uow.now, previous[-1] + service.TICK)
            previous[:] = [uow.now]

        try:
            try:
                async with self.transactions.begin() as uow:
                    moment(uow)
                    return await service.run_claimed_schedule(uow, claim, limits=self.limits)
            except service.RunRejected as rejected:  # rolled back; the schedule alone records the failure
                async with self.transactions.begin() as uow:
                    moment(uow)
                    return await service.fail_claimed_schedule(uow, claim, rejected.result)
        except Exception:  # rolled back: the schedule stays STARTED and is retried once its lease runs out
            log.exception("payment schedule %s: run failed; it will be retried after its lease", claim.id)
            return None

    async def _seconds_to_next_due(self) -> float | None:
        async with self.transactions.begin(write=False) as uow:
            due = await service.next_due(uow)
            now = uow.now
        return None if due is None else (due - now).total_seconds()


def build(runtime: Runtime) -> ScheduleJob:
    sqlite = runtime.db.dialect == "sqlite"
    concurrency = int(runtime.settings.extra.get("schedule_concurrency", 1 if sqlite else POSTGRES_CONCURRENCY))
    batch_size = int(runtime.settings.extra.get("schedule_batch_size",
                                                SQLITE_BATCH_SIZE if sqlite else POSTGRES_BATCH_SIZE))
    lease = timedelta(seconds=float(runtime.settings.extra.get("schedule_lease_seconds",
                                                               DEFAULT_LEASE.total_seconds())))
    return ScheduleJob(runtime.transactions, concurrency=concurrency, poll_seconds=runtime.settings.job_poll_seconds,
                       lease=lease, limits=Limits.from_settings(runtime.settings), batch_size=batch_size)


def job_of(runtime: Runtime) -> ScheduleJob:
    """This process's scheduler (also used by the sandbox's run-due control)."""
    job = runtime.services.get(SERVICE_KEY)
    if not isinstance(job, ScheduleJob):
        job = build(runtime)
        runtime.services[SERVICE_KEY] = job
    return job


def wake(runtime: Runtime) -> None:
    """Hint that a schedule may be due soon (called after a commit)."""
    job_of(runtime).nudge()
    runtime.runner.wake(JOB_NAME)


def jobs(runtime: Runtime) -> list[Job]:
    job = job_of(runtime)
    runtime.clock.on_change(job.nudge)
    return [job]
