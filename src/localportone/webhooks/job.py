"""The webhook delivery job.

``run_once`` keeps up to ``concurrency`` attempts in flight: it claims due deliveries into free slots, records
finished attempts in batches, and returns once nothing is in flight and nothing is due (the runner then sleeps
until the poll interval, a commit that queued webhooks, or a move of the sandbox clock wakes it).

On shutdown (the runner's ``stop()``), it stops claiming, lets in-flight attempts finish for a grace period and
records them, and gives back the leases of the ones still running, so that they are sent again at once by the
next worker instead of after their lease expires.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING

from localportone.webhooks import wakeup
from localportone.webhooks.delivery import Claimed, Deliverer, DeliveryConfig, Outcome

if TYPE_CHECKING:
    from localportone.runtime import Runtime
    from localportone.worker.runner import Job, JobRunner

log = logging.getLogger("localportone.webhooks")

#: How long in-flight attempts may run on after a stop was asked (the runner waits 10 s in all).
STOP_GRACE_SECONDS = 5.0


class WebhookJob:
    name = "webhooks"

    def __init__(self, deliverer: Deliverer, runner: JobRunner, poll_seconds: float) -> None:
        self.deliverer = deliverer
        self.runner = runner
        self.poll_seconds = poll_seconds
        self._kicked = False
        #: Set when an attempt finishes or new work is announced: what ``run_once`` sleeps on.
        self._changed = asyncio.Event()

    def kick(self) -> None:
        """New work or a clock move: claim now even while attempts are in flight."""
        self._kicked = True
        self._changed.set()

    def _stopping(self) -> bool:
        return self.runner.stopping

    async def run_once(self) -> int:
        concurrency = self.deliverer.config.concurrency
        inflight: dict[str, tuple[asyncio.Task[None], Claimed]] = {}
        finished: list[Outcome] = []
        handled = 0
        last_claim = time.monotonic()
        more_due = True  # the last claim filled every slot it asked for: there may be more
        stop_deadline: float | None = None

        async def send(claimed: Claimed) -> None:
            try:
                outcome = await self.deliverer.attempt(claimed)
            except Exception:  # attempt() reports failures as outcomes; this is a bug: the lease will expire
                log.exception("webhook %s: attempt crashed", claimed.row.id)
                del inflight[claimed.row.id]
                return
            del inflight[claimed.row.id]
            finished.append(outcome)
            self._changed.set()

        try:
            while True:
                stopping = self._stopping()
                if stopping and stop_deadline is None:
                    stop_deadline = time.monotonic() + STOP_GRACE_SECONDS
                free = concurrency - len(inflight)
                # Claim when there may be due rows: more than the last claim could take (in sizeable batches,
                # for fewer transactions), new work announced (kick), or the poll interval passed (retries that
                # fell due, rows queued by other processes).
                claim = not stopping and free > 0 and (
                    self._kicked or time.monotonic() - last_claim >= self.poll_seconds
                    or (more_due and (not inflight or free >= max(1, concurrency // 4)))
                )
                if finished or claim:
                    if claim:
                        self._kicked = False
                        last_claim = time.monotonic()
                    batch = finished.copy()
                    finished.clear()
                    # Attempts in flight go on (and finish into ``finished``) while this transaction runs.
                    recorded, claimed = await self.deliverer.cycle(batch, free if claim else 0)
                    handled += recorded
                    if claim:
                        more_due = len(claimed) == free
                    for item in claimed:
                        inflight[item.row.id] = (asyncio.create_task(send(item)), item)
                    if claimed or finished:
                        continue
                if not inflight:
                    return handled
                if stop_deadline is not None and time.monotonic() >= stop_deadline:
                    await self._abandon(inflight, finished)
                    return handled
                self._changed.clear()
                timeout = self.poll_seconds if stop_deadline is None else stop_deadline - time.monotonic()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), timeout=max(0.0, min(timeout, 0.5)))
        except asyncio.CancelledError:
            await asyncio.shield(self._abandon(inflight, finished))
            raise
        finally:
            if self._stopping():
                await self.deliverer.aclose()

    async def _abandon(self, inflight: dict[str, tuple[asyncio.Task[None], Claimed]],
                       finished: list[Outcome]) -> None:
        """Record what finished, cancel the rest and release their leases."""
        pending = [claimed for _task, claimed in inflight.values()]
        for task, _claimed in list(inflight.values()):
            task.cancel()
        for task, _claimed in list(inflight.values()):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        pending = [claimed for claimed in pending if claimed.row.id in inflight]  # cancelled before finishing
        inflight.clear()
        outcomes = finished.copy()
        finished.clear()
        try:
            if outcomes:
                await self.deliverer.record(outcomes)
            await self.deliverer.release(pending)
        except Exception:  # the leases then simply expire and the rows are claimed again
            log.exception("could not release in-flight webhook deliveries")


def jobs(runtime: Runtime) -> list[Job]:
    """One delivery job per process. The deliverer is also what the sandbox controls use
    (``runtime.services["webhooks"]``)."""
    config = DeliveryConfig.from_settings(runtime.settings.extra)
    deliverer = Deliverer(runtime.transactions, config)
    job = WebhookJob(deliverer, runtime.runner, runtime.settings.job_poll_seconds)
    runtime.services["webhooks"] = deliverer
    runtime.services["webhooks.job"] = job

    def notify() -> None:
        job.kick()
        runtime.runner.wake("webhooks")

    try:
        loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
    except RuntimeError:
        loop = None
    waker = wakeup.Waker(notify, loop)
    deliverer.waker = waker  # keeps the weakly registered waker alive as long as the runtime
    wakeup.register(runtime.db.write_engine, waker)
    runtime.clock.on_change(job.kick)
    return [job]
