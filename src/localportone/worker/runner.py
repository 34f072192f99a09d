"""The job runner used by ``serve`` (in-process) and ``worker`` processes.

Each job claims due rows in its own transactions and returns how many it handled; the runner calls it again at
once while it finds work, otherwise sleeps until the next poll or until something wakes it (a commit that queued
work, or a move of the sandbox clock). It never touches HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Protocol

log = logging.getLogger("localportone.worker")


class Job(Protocol):
    name: str

    async def run_once(self) -> int:
        """Handle what is due now; the number of items handled (0 when idle)."""
        ...


class JobRunner:
    def __init__(self, jobs: list[Job], poll_seconds: float = 1.0) -> None:
        self.jobs = jobs
        self.poll_seconds = poll_seconds
        self._wake: dict[str, asyncio.Event] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False

    @property
    def stopping(self) -> bool:
        """True once :meth:`stop` was called: a job may use it to release what it claimed instead of starting more."""
        return self._stopping

    def wake(self, name: str | None = None) -> None:
        """Ask one job (or all) to look for work now; safe from any thread of the loop."""
        for job_name, event in self._wake.items():
            if name is None or name == job_name:
                event.set()

    async def start(self) -> None:
        self._stopping = False
        for job in self.jobs:
            self._wake[job.name] = asyncio.Event()
            self._tasks.append(asyncio.create_task(self._loop(job), name=f"job:{job.name}"))

    async def stop(self, timeout: float = 10.0) -> None:
        """Let running iterations finish (they release what they claimed), then end the loops."""
        self._stopping = True
        self.wake()
        if self._tasks:
            _done, pending = await asyncio.wait(self._tasks, timeout=timeout)
            for task in pending:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        self._tasks.clear()

    async def _loop(self, job: Job) -> None:
        event = self._wake[job.name]
        while not self._stopping:
            event.clear()
            try:
                handled = await job.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("job %s failed; retrying after the poll interval", job.name)
                handled = 0
            if handled and not self._stopping:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), timeout=self.poll_seconds)
