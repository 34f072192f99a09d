"""Payments with a billing key made several per transaction on PostgreSQL, as the scheduler makes its payments.

On PostgreSQL a payment alone costs four round trips (decision 0005) and each costs CPU on both sides of the
loopback: with two workers and PostgreSQL on two cores that bounds it near 1,000/s (bench/README.md). Requests that
arrive while a batch is being written wait for the next one, and a batch makes its payments in one unit of work:
one ``BEGIN``, one read each of the keys, pre-registrations, payment rows and live schedules of all of them
(:func:`.service.prepare_billing_key_payments`), one flush, one ``COMMIT``. Each payment still answers as it does
alone: a declined card commits its FAILED attempt and answers 502 (a ``keep_changes`` error), the others their
summary. A batch that fails as a whole (a payment refused before the PG answered, a paymentId that another
transaction created meanwhile, an unexpected error) is rolled back and its payments are made one per transaction,
as before, so a bad request never fails the others and answers exactly as it would alone.

SQLite has its own way (optimistic units of work and group commit, :mod:`localportone.kernel.optimistic`).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from localportone.auth.service import Authenticator
from localportone.kernel.uow import Transactions, keeps_changes
from localportone.payments import service
from localportone.wire import BillingKeyPaymentInput

log = logging.getLogger("localportone.payments")

#: The most payments one transaction makes (requests beyond wait for the next batch).
MAX_BATCH = 32
#: Batches written at the same time by one process (while one waits for PostgreSQL, the next is prepared).
CONCURRENCY = 2

#: In this process: ``batches`` made together and the ``payments`` in them, ``failed`` batches (made again one
#: payment per transaction) and payments made ``alone`` (a batch of one, or after a failed batch). For tests.
STATS: Counter[str] = Counter()

#: A payment made alone, in a unit of work of its own (the regular path), for the fallback.
Single = Callable[[], Awaitable[dict[str, Any]]]


@dataclass
class _Request:
    authorization: str | None
    store_id: str | None
    payment_id: str
    body: BillingKeyPaymentInput
    client_ip: str
    limits: service.Limits
    alone: Single
    answer: asyncio.Future[dict[str, Any]] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class _BatchFailed(Exception):
    pass


class BillingKeyPayments:
    """The batches of one process."""

    def __init__(self, transactions: Transactions, authenticator: Authenticator) -> None:
        self._transactions = transactions
        self._authenticator = authenticator
        self._queue: list[_Request] = []
        self._running = 0
        self._tasks: set[asyncio.Task[None]] = set()  # referenced until done (the loop keeps weak references)

    async def pay(self, authorization: str | None, store_id: str | None, payment_id: str,
                  body: BillingKeyPaymentInput, *, client_ip: str, limits: service.Limits,
                  alone: Single) -> dict[str, Any]:
        """What ``POST /payments/{paymentId}/billing-key`` answers, made in the next batch (``alone``: the same
        payment in a unit of work of its own, if the batch fails)."""
        request = _Request(authorization, store_id, payment_id, body, client_ip, limits, alone)
        self._queue.append(request)
        if self._running < CONCURRENCY:
            self._running += 1
            task = asyncio.get_running_loop().create_task(self._drain())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return await request.answer

    async def _drain(self) -> None:
        try:
            while self._queue:
                batch: list[_Request] = []
                rest: list[_Request] = []
                seen: set[tuple[str | None, str | None, str]] = set()
                for request in self._queue:  # one request per paymentId in a batch; the others wait for the next
                    key = (request.authorization, request.store_id, request.payment_id)
                    if key in seen or len(batch) >= MAX_BATCH:
                        rest.append(request)
                    else:
                        seen.add(key)
                        batch.append(request)
                self._queue = rest
                await self._run(batch)
        finally:
            self._running -= 1

    async def _run(self, batch: list[_Request]) -> None:
        if len(batch) > 1:
            try:
                results = await self._together(batch)
            except Exception as exc:  # rolled back: made one by one below, each answering for itself
                STATS["failed"] += 1
                log.debug("a batch of %d payments failed (%s: %s); making them one by one",
                          len(batch), type(exc).__name__, exc)
            else:
                STATS["batches"] += 1
                STATS["payments"] += len(batch)
                for request, result in zip(batch, results, strict=True):
                    _settle(request.answer, result)
                return
        for request in batch:
            STATS["alone"] += 1
            outcome: dict[str, Any] | BaseException
            try:
                outcome = await request.alone()
            except Exception as exc:
                outcome = exc
            _settle(request.answer, outcome)

    async def _together(self, batch: list[_Request]) -> list[dict[str, Any] | BaseException]:
        results: list[dict[str, Any] | BaseException] = []
        async with self._transactions.begin() as uow:
            stores = [await self._authenticator.acting_store(uow, request.authorization, request.store_id)
                      for request in batch]
            await service.prepare_billing_key_payments(uow, [
                (store, request.payment_id, request.body.billing_key) for store, request in zip(stores, batch,
                                                                                               strict=True)])
            for store, request in zip(stores, batch, strict=True):
                try:
                    results.append(await service.pay_with_billing_key(
                        uow, store, request.payment_id, request.body, client_ip=request.client_ip,
                        limits=request.limits))
                except Exception as exc:
                    if not keeps_changes(exc):  # refused before the PG answered: its changes must not stay
                        raise _BatchFailed(repr(exc)) from exc
                    results.append(exc)  # a decline: its FAILED attempt is committed with the others
        return results


def _settle(answer: asyncio.Future[dict[str, Any]], result: dict[str, Any] | BaseException) -> None:
    if answer.done():  # its caller went away (cancelled): the payment is made all the same, as alone
        return
    if isinstance(result, BaseException):
        answer.set_exception(result)
    else:
        answer.set_result(result)
