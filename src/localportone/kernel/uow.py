"""The unit of work: one database transaction per request or job, and the only place that commits.

A service raises a PortOne error to reject a request; the transaction then rolls back, unless the error was
marked with :func:`keep_changes` (a PG decline: the FAILED attempt and its webhook must be committed before the
502 reaches the caller). Callbacks registered with :meth:`UnitOfWork.after_commit` run only after a commit
(e.g. waking the webhook delivery job), never for a rolled-back change.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from localportone.kernel.clock import Clock
from localportone.kernel.db import Database
from localportone.kernel.tables import ClockRow

log = logging.getLogger("localportone.uow")

E = TypeVar("E", bound=BaseException)


def keep_changes(error: E) -> E:
    """Mark an error so that the unit of work commits what was written before it is raised to the caller."""
    error.__dict__["_keep_changes"] = True
    return error


def _keeps_changes(error: BaseException) -> bool:
    return bool(getattr(error, "_keep_changes", False))


@dataclass
class UnitOfWork:
    session: AsyncSession
    now: datetime
    write: bool
    _after_commit: list[Callable[[], None]] = field(default_factory=list)

    def after_commit(self, callback: Callable[[], None]) -> None:
        self._after_commit.append(callback)


class Transactions:
    """Opens units of work on a database and keeps the shared clock fresh."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def refresh_clock(self, session: AsyncSession) -> None:
        row = await session.scalar(select(ClockRow.offset_us).where(ClockRow.id == 1))
        self.clock.load(int(row or 0))

    @asynccontextmanager
    async def begin(self, *, write: bool = True) -> AsyncIterator[UnitOfWork]:
        async with self.db.session(write=write) as session:
            if self.clock.is_stale():
                await self.refresh_clock(session)
            uow = UnitOfWork(session=session, now=self.clock.now(), write=write)
            try:
                yield uow
            except BaseException as exc:
                if write and _keeps_changes(exc):
                    await session.commit()
                    _run(uow._after_commit)
                else:
                    await session.rollback()
                raise
            if write:
                await session.commit()
            else:
                await session.rollback()
        _run(uow._after_commit)


def _run(callbacks: list[Callable[[], None]]) -> None:
    for callback in callbacks:
        try:
            callback()
        except Exception:  # a wake-up hint must never fail the request that already committed
            log.exception("after-commit callback failed")


async def set_clock_offset(session: AsyncSession, offset_us: int) -> None:
    row = await session.get(ClockRow, 1)
    now = datetime.now(UTC)
    if row is None:
        session.add(ClockRow(id=1, offset_us=offset_us, updated_at=now))
    else:
        row.offset_us = offset_us
        row.updated_at = now
