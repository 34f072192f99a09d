"""Everything a process of localportone holds while it runs: settings, database, clock, auth, jobs.

``serve`` creates one inside the ASGI lifespan; ``worker`` creates one without HTTP.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from localportone.auth.service import Authenticator
from localportone.kernel.clock import Clock
from localportone.kernel.config import Settings
from localportone.kernel.db import Database
from localportone.kernel.uow import Transactions, listen_for_clock_moves
from localportone.stores.bootstrap import ACCESS_TOKEN_KEY, StartupSummary, bootstrap, ensure_server_key
from localportone.worker.runner import Job, JobRunner

log = logging.getLogger("localportone")


@dataclass
class Runtime:
    settings: Settings
    db: Database
    clock: Clock
    transactions: Transactions
    authenticator: Authenticator
    runner: JobRunner
    summary: StartupSummary | None = None
    services: dict[str, Any] = field(default_factory=dict)

    @classmethod
    async def open(cls, settings: Settings, *, seed: bool = True) -> Runtime:
        from localportone.stores.service import forget_caches

        forget_caches()
        db = Database.connect(settings.database_url)
        clock = Clock(settings.clock_cache_seconds)
        transactions = Transactions(db, clock)
        summary = None
        async with transactions.begin() as uow:
            if seed:
                summary = await bootstrap(uow, settings)
            key = await ensure_server_key(uow.session, ACCESS_TOKEN_KEY, uow.now)
        authenticator = Authenticator(bytes.fromhex(key), settings.access_token_seconds, settings.refresh_token_seconds)
        runtime = cls(settings, db, clock, transactions, authenticator, JobRunner([], settings.job_poll_seconds),
                      summary)
        runtime.runner.jobs.extend(build_jobs(runtime))
        clock.on_change(runtime.runner.wake)
        return runtime

    async def start_jobs(self) -> None:
        await listen_for_clock_moves(self.db, self.clock)  # other processes' clock moves wake the jobs at once
        await self.runner.start()

    async def close(self) -> None:
        await self.runner.stop()
        await self.db.dispose()


def build_jobs(runtime: Runtime) -> list[Job]:
    """The background jobs of every domain that has one (webhook delivery, due schedules, ...)."""
    from localportone.payments import job as payments
    from localportone.schedules import job as schedules
    from localportone.webhooks import job as webhooks

    return [*webhooks.jobs(runtime), *schedules.jobs(runtime), *payments.jobs(runtime)]
