"""Sending webhooks: claim due deliveries, POST them, record each attempt.

Used by the delivery job (continuously) and by the sandbox controls (drain, replay, test call). One instance per
runtime, holding the shared HTTP clients.

- Claims are leases on the **wall clock** (``lease_seconds``, default 60 s, longer than the request timeout), so
  that moving the sandbox clock never hands an in-flight attempt to a second worker; due times are on the
  **sandbox clock**, so that moving it makes retries due.
- ``webhook-timestamp`` is the real wall-clock second of each attempt (receivers check it against their clock);
  the body and ``webhook-id`` never change between attempts.
- Results are recorded in batches, one transaction per batch; an attempt whose lease was lost meanwhile is not
  recorded twice (the execution count is checked).
"""

from __future__ import annotations

import asyncio
import importlib.util
import itertools
import logging
import os
import socket
import ssl
import sys
import time
from collections import deque
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx

from localportone.kernel import ids
from localportone.kernel.clock import wall_now
from localportone.kernel.uow import Transactions, UnitOfWork
from localportone.stores import service as stores
from localportone.webhooks import http1, repository, signing, state
from localportone.webhooks.models import FAILED_UNEXPECTED_ERROR, PENDING, SUCCEEDED
from localportone.webhooks.repository import ClaimedRow

log = logging.getLogger("localportone.webhooks")


def _fast_failing_sniffio_import() -> None:
    """httpcore asks ``import sniffio`` several times per request; without sniffio installed (recent anyio no
    longer depends on it) each failed import searches ``sys.path`` again, which was the largest CPU cost of a
    delivery. A ``None`` entry in ``sys.modules`` makes that import fail at once, with the same outcome (httpcore
    then assumes asyncio). Nothing changes when sniffio is installed."""
    if "sniffio" not in sys.modules and importlib.util.find_spec("sniffio") is None:
        sys.modules["sniffio"] = None  # type: ignore[assignment]


_fast_failing_sniffio_import()

#: Kept of a receiver's response body (and of each header value).
MAX_RESPONSE_BYTES = 64 * 1024


@dataclass(frozen=True)
class DeliveryConfig:
    concurrency: int = 64
    lease_seconds: float = 60.0
    timeout_seconds: float = 30.0
    jitter: str = "none"
    #: The in-flight ``https://`` requests are spread over this many httpx clients (0: one per in-flight request;
    #: ``http://`` ones share the keep-alive pool of ``http1``). httpx's connection pool does work proportional to
    #: its size on every request (bench/README.md), so many one-connection clients cost far less CPU than one large
    #: pool; the price is that a client alternating between receivers reconnects, which matters little for the
    #: usual one URL per store.
    client_shards: int = 0

    @classmethod
    def from_settings(cls, extra: dict[str, Any]) -> DeliveryConfig:
        """``Settings.extra`` keys ``webhook_concurrency`` / ``webhook_lease_seconds`` / ``webhook_jitter`` /
        ``webhook_client_shards``, else ``LOCALPORTONE_WEBHOOK_CONCURRENCY`` / ``_LEASE_SECONDS`` /
        ``_RETRY_JITTER`` / ``_CLIENT_SHARDS``."""

        def pick(key: str, env: str, default: Any) -> Any:
            if key in extra:
                return extra[key]
            return os.environ.get(f"LOCALPORTONE_{env}") or default

        try:
            lease = float(pick("webhook_lease_seconds", "WEBHOOK_LEASE_SECONDS", 60))
            jitter = str(pick("webhook_jitter", "WEBHOOK_RETRY_JITTER", "none"))
            state.jitter_policy(jitter)
            concurrency = int(pick("webhook_concurrency", "WEBHOOK_CONCURRENCY", 64))
            shards = int(pick("webhook_client_shards", "WEBHOOK_CLIENT_SHARDS", 0))
        except ValueError as exc:  # a misconfiguration must stop the start-up, loudly
            raise SystemExit(f"webhook delivery settings: {exc}") from exc
        if lease <= 0 or concurrency < 1 or shards < 0:
            raise SystemExit("webhook delivery settings: lease > 0, concurrency >= 1 and client shards >= 0")
        return cls(
            concurrency=concurrency,
            lease_seconds=lease,
            # An attempt must end well inside its lease, or an expired lease could let a second worker send it.
            timeout_seconds=min(30.0, lease / 2),
            jitter=jitter,
            client_shards=shards,
        )


@dataclass
class Claimed:
    """A leased delivery, ready to send: its row, the attempt number and the signing keys of its store."""

    row: ClaimedRow
    token: str
    keys: tuple[bytes, ...]

    @property
    def number(self) -> int:
        return self.row.execution_count + 1


@dataclass
class Outcome:
    claimed: Claimed
    result: str
    request_headers: dict[str, str]
    requested_at: datetime
    duration_ms: int
    responded_at: datetime | None = None
    status_code: int | None = None
    response_headers: list[list[str]] | None = None
    response_body: str | None = None
    error: str | None = None


@dataclass
class DrainReport:
    attempted: int = 0
    succeeded: int = 0
    failed: int = 0
    outcomes: list[Outcome] = field(default_factory=list)

    def add(self, outcomes: Sequence[Outcome]) -> None:
        self.outcomes.extend(outcomes)
        self.attempted += len(outcomes)
        for outcome in outcomes:
            if outcome.result == SUCCEEDED:
                self.succeeded += 1
            else:
                self.failed += 1


def _tls_context() -> ssl.SSLContext:
    """What httpx would build: the system defaults with certifi's CA bundle when it is installed."""
    try:
        import certifi
    except ImportError:
        return ssl.create_default_context()
    return ssl.create_default_context(cafile=certifi.where())


class _Clients:
    """The shared httpx clients, each with a few connection slots; a request takes an idle slot, so that one slow
    receiver never queues a request behind it while another client is free."""

    def __init__(self, count: int, slots: int, timeout_seconds: float) -> None:
        limits = httpx.Limits(max_connections=slots, max_keepalive_connections=slots)
        timeout = httpx.Timeout(timeout_seconds)
        tls = _tls_context()  # building one per client would cost ~50 ms each
        self.clients = [
            httpx.AsyncClient(limits=limits, timeout=timeout, follow_redirects=False, trust_env=False, verify=tls)
            for _ in range(count)
        ]
        self._idle: deque[int] = deque(i for _ in range(slots) for i in range(count))
        self._overflow = itertools.cycle(range(count))

    @contextmanager
    def lease(self) -> Iterator[httpx.AsyncClient]:
        index = self._idle.popleft() if self._idle else None
        try:
            # More attempts than slots (a drain beside the job): share a client; httpx queues the request.
            yield self.clients[next(self._overflow) if index is None else index]
        finally:
            if index is not None:
                self._idle.append(index)

    async def aclose(self) -> None:
        for client in self.clients:
            await client.aclose()


def worker_name() -> str:
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{ids.uuid7()[-8:]}"


class Deliverer:
    def __init__(self, transactions: Transactions, config: DeliveryConfig | None = None) -> None:
        self.transactions = transactions
        self.config = config or DeliveryConfig()
        self.worker = worker_name()
        self._jitter = state.jitter_policy(self.config.jitter)
        self._claims = itertools.count(1)
        self._clients: _Clients | None = None
        #: ``http://`` URLs go through this pool (far less CPU per request than httpx); ``https://`` through httpx.
        self._plain = http1.Pool(max_idle=self.config.concurrency, max_body=MAX_RESPONSE_BYTES)
        #: Decoded signing keys by the secrets they come from.
        self._secrets: dict[tuple[str, ...], tuple[bytes, ...]] = {}
        #: Set by the job: the waker registered (weakly) for this runtime's database.
        self.waker: Any = None

    @property
    def postgres(self) -> bool:
        return self.transactions.db.dialect == "postgresql"

    # ------------------------------------------------------------------------------------------ claiming, recording

    async def cycle(self, outcomes: Sequence[Outcome], limit: int,
                    ids_: Sequence[str] | None = None) -> tuple[int, list[Claimed]]:
        """Record finished attempts and lease up to ``limit`` due deliveries (only among ``ids_`` when given), in
        one transaction: under load the job's throughput is bounded by how many transactions it can run."""
        if not outcomes and limit <= 0:
            return 0, []
        async with self.transactions.begin() as uow:
            recorded = await self._record_in(uow, outcomes) if outcomes else 0
            claimed = await self._claim_in(uow, limit, ids_) if limit > 0 else []
        return recorded, claimed

    async def claim(self, limit: int, ids_: Sequence[str] | None = None) -> list[Claimed]:
        return (await self.cycle((), limit, ids_))[1]

    async def record(self, outcomes: Sequence[Outcome]) -> int:
        """Store a batch of attempts and schedule what follows; returns how many were recorded."""
        return (await self.cycle(outcomes, 0))[0]

    async def _claim_in(self, uow: UnitOfWork, limit: int, ids_: Sequence[str] | None) -> list[Claimed]:
        token = f"{self.worker}/{next(self._claims)}"
        wall = wall_now()
        rows = await repository.claim(
            uow.session, now=uow.now, wall_now=wall, lease_until=wall + timedelta(seconds=self.config.lease_seconds),
            token=token, limit=limit, postgres=self.postgres, ids=ids_,
        )
        keys: dict[tuple[str, bool], tuple[bytes, ...]] = {}
        for row in rows:
            if (row.store_id, row.is_test) not in keys:
                keys[(row.store_id, row.is_test)] = await self._keys(uow, row.store_id, row.is_test)
        return [Claimed(row, token, keys[(row.store_id, row.is_test)]) for row in rows]

    async def _keys(self, uow: UnitOfWork, store_id: str, is_test: bool) -> tuple[bytes, ...]:
        """The store's active secrets, decoded (a rotation applies to retries too). The settings come from the
        stores domain's per-process cache; only their decoding is remembered here."""
        settings = await stores.webhook_settings(uow, store_id, is_test=is_test)
        cached = self._secrets.get(settings.secrets)
        if cached is not None:
            return cached
        out = []
        for secret in settings.secrets[:2]:
            try:
                out.append(signing.raw_secret(secret))
            except ValueError:
                log.warning("store %s has an unusable webhook secret; skipped", store_id)
        if len(self._secrets) > 1024:
            self._secrets.clear()
        self._secrets[settings.secrets] = tuple(out)
        return tuple(out)

    def forget_secrets(self) -> None:
        """A store's secrets changed in this process (the stores domain forgets its settings at the same commit)."""
        self._secrets.clear()

    async def release(self, claimed: Sequence[Claimed]) -> None:
        """Give back leases of attempts that were not made (shutdown): they are due again at once."""
        by_token: dict[str, list[str]] = {}
        for c in claimed:
            by_token.setdefault(c.token, []).append(c.row.id)
        if not by_token:
            return
        async with self.transactions.begin() as uow:
            for token, ids_ in by_token.items():
                await repository.release(uow.session, token, ids_)
        log.info("released %d unsent webhook deliveries", len(claimed))

    # ----------------------------------------------------------------------------------------------------- sending

    def _http(self) -> _Clients:
        if self._clients is None:
            count = max(1, min(self.config.client_shards or self.config.concurrency, self.config.concurrency))
            self._clients = _Clients(count, -(-self.config.concurrency // count), self.config.timeout_seconds)
        return self._clients

    async def attempt(self, claimed: Claimed) -> Outcome:
        """One HTTP attempt; never raises (except cancellation)."""
        row = claimed.row
        body = row.body.encode()
        headers = signing.headers(claimed.keys, row.id, int(time.time()), body)
        requested_at = self.transactions.clock.now()
        started = time.perf_counter()
        outcome = Outcome(claimed, FAILED_UNEXPECTED_ERROR, headers, requested_at, 0)
        try:
            target = http1.plain_http_target(row.url)
            if target is not None:
                plain = await self._plain.post(target, headers, body, timeout=self.config.timeout_seconds)
                status, raw_headers, content = plain.status_code, plain.headers, plain.body
            else:
                status, raw_headers, content = await self._post_httpx(row.url, headers, body)
            outcome.status_code = status
            outcome.result = state.result_of(status)
            outcome.response_headers = [  # as received (names in their own case)
                [k.decode("latin-1"), v[:MAX_RESPONSE_BYTES].decode("latin-1")] for k, v in raw_headers
            ]
            outcome.response_body = content[:MAX_RESPONSE_BYTES].decode("utf-8", "replace")
            outcome.responded_at = self.transactions.clock.now()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # timeouts, refused connections, bad URLs: all are "unexpected errors"
            outcome.error = f"{type(exc).__name__}: {exc}"[:2000] if str(exc) else type(exc).__name__
        outcome.duration_ms = int((time.perf_counter() - started) * 1000)
        log.info(
            "webhook %s %s -> %s %s%s attempt %d/%d %dms",
            row.id, row.event_type, row.url, outcome.result,
            f" ({outcome.status_code})" if outcome.status_code is not None else f" ({outcome.error})",
            claimed.number, row.max_executions, outcome.duration_ms,
        )
        return outcome

    async def _post_httpx(self, url: str, headers: dict[str, str],
                          body: bytes) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """``https://`` and unusual URLs: status, raw headers and the first ``MAX_RESPONSE_BYTES`` of the body."""
        with self._http().lease() as client:
            async with client.stream("POST", url, content=body, headers=headers) as response:
                chunks: list[bytes] = []
                size = 0
                async for chunk in response.aiter_bytes():
                    chunks.append(chunk)
                    size += len(chunk)
                    if size >= MAX_RESPONSE_BYTES:
                        break
        return response.status_code, list(response.headers.raw), b"".join(chunks)[:MAX_RESPONSE_BYTES]

    async def _record_in(self, uow: UnitOfWork, outcomes: Sequence[Outcome]) -> int:
        deliveries: list[dict[str, Any]] = []
        attempts: list[dict[str, Any]] = []
        held = await repository.claims_of(uow.session, [o.claimed.row.id for o in outcomes], postgres=self.postgres)
        for outcome in outcomes:
            row, number = outcome.claimed.row, outcome.claimed.number
            if held.get(row.id) != (outcome.claimed.token, number - 1):
                log.warning("webhook %s attempt %d: lease lost before it was recorded", row.id, number)
                continue
            # Counted from when the attempt was made: a sandbox clock move while the receiver answers (a test
            # reacting to the request it just got) must not push the retry back by the move.
            next_at = state.next_attempt(outcome.requested_at, number, row.max_executions, outcome.result,
                                         self._jitter)
            deliveries.append({
                "b_id": row.id, "b_count": number, "b_result": outcome.result,
                "b_status": PENDING if next_at is not None else outcome.result,
                "b_next": next_at, "b_now": uow.now,
            })
            attempts.append({
                "id": ids.uuid7(), "delivery_id": row.id, "number": number, "worker": self.worker,
                "result": outcome.result, "request_headers": outcome.request_headers,
                "requested_at": outcome.requested_at, "responded_at": outcome.responded_at,
                "response_status": outcome.status_code, "response_headers": outcome.response_headers,
                "response_body": outcome.response_body, "error": outcome.error,
                "duration_ms": outcome.duration_ms,
            })
        await repository.finish_attempts(uow.session, deliveries, attempts)
        return len(deliveries)

    # ------------------------------------------------------------------------------------------ synchronous use

    async def deliver_due(self, ids_: Sequence[str] | None = None, *, wait_seconds: float = 60.0) -> DrainReport:
        """Deliver what is due now (among ``ids_`` when given) and wait for due rows another worker is sending.
        Each delivery gets at most one attempt here: failures are rescheduled, not retried in a loop."""
        report = DrainReport()
        deadline = time.monotonic() + wait_seconds
        while True:
            claimed = await self.claim(self.config.concurrency, ids_)
            if claimed:
                outcomes = list(await asyncio.gather(*(self.attempt(c) for c in claimed)))
                await self.record(outcomes)
                report.add(outcomes)
                continue
            async with self.transactions.begin(write=False) as uow:
                busy = await repository.busy_due_count(uow.session, uow.now, ids_)
            if busy == 0 or time.monotonic() > deadline:
                return report
            await asyncio.sleep(0.02)

    async def aclose(self) -> None:
        await self._plain.aclose()
        self._plain = http1.Pool(max_idle=self.config.concurrency, max_body=MAX_RESPONSE_BYTES)
        clients, self._clients = self._clients, None
        if clients is not None:
            await clients.aclose()
