"""Benchmark: webhook deliveries per second from the outbox to a local receiver on 127.0.0.1.

    .venv/bin/python bench/webhooks_throughput.py --events 10000
    .venv/bin/python bench/webhooks_throughput.py --events 10000 --database-url postgresql://postgres@127.0.0.1/bench
    .venv/bin/python bench/webhooks_throughput.py --events 10000 --workers 2 --database-url postgresql://...

Queues N ``Transaction.Paid`` events through ``enqueue_payment_event`` (not timed), then starts the delivery job
(``--workers 0``: inside this process, like ``serve``; ``--workers W``: W ``localportone worker`` processes) and
measures until every delivery has succeeded. The receiver is a minimal keep-alive HTTP/1.1 server in its own
process that answers 200 at once, so the figure is the sender's limit. Each run checks that the receiver got
exactly N requests with N distinct ``webhook-id``s. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from multiprocessing.sharedctypes import Synchronized
from pathlib import Path
from types import SimpleNamespace
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CLI = str(Path(sys.executable).with_name("localportone"))
SECRET = "bench-api-secret-0123456789abcdefghijklmnopqrstuvwxyz0123456789"
STORE = "store-00000000-0000-4000-8000-00000000b0b0"
WEBHOOK_SECRET = "whsec_YmVuY2gtd2ViaG9vay1zZWNyZXQtMDEyMzQ1Njc4OWFiY2RlZg=="
_RESPONSE = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-type: text/plain\r\n\r\nok"


# ---------------------------------------------------------------------------------------------------- the receiver


def _receiver(port: int, count: Any, distinct: Any, ready: Any) -> None:
    """Counts requests (and distinct webhook ids) and answers 200, as fast as one process can."""
    seen: set[bytes] = set()

    class Protocol(asyncio.Protocol):
        def connection_made(self, transport: Any) -> None:
            self.transport = transport
            self.buffer = b""

        def data_received(self, data: bytes) -> None:
            self.buffer += data
            while True:
                end = self.buffer.find(b"\r\n\r\n")
                if end < 0:
                    return
                head = self.buffer[:end].lower()
                start = head.find(b"content-length:")
                length = int(head[start + 15:head.find(b"\r\n", start) if head.find(b"\r\n", start) > 0 else None])
                if len(self.buffer) < end + 4 + length:
                    return
                at = head.find(b"webhook-id:")
                seen.add(head[at + 11:head.find(b"\r\n", at)].strip())
                self.buffer = self.buffer[end + 4 + length:]
                with count.get_lock():
                    count.value += 1
                distinct.value = len(seen)
                self.transport.write(_RESPONSE)

    async def main() -> None:
        server = await asyncio.get_running_loop().create_server(Protocol, "127.0.0.1", port, backlog=4096)
        ready.set()
        async with server:
            await server.serve_forever()

    try:
        import uvloop

        uvloop.run(main())
    except ImportError:
        asyncio.run(main())


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# ------------------------------------------------------------------------------------------------------ the sender


async def _enqueue(settings: Any, events: int) -> None:
    from localportone.auth.principal import StoreContext
    from localportone.runtime import Runtime
    from localportone.webhooks import service

    runtime = await Runtime.open(settings)
    try:
        assert runtime.summary is not None
        store = StoreContext(runtime.summary.merchant_id, runtime.summary.store_id)
        for start in range(0, events, 1000):
            async with runtime.transactions.begin() as uow:
                for i in range(start, min(events, start + 1000)):
                    await service.enqueue_payment_event(
                        uow, store=store, event_type="Transaction.Paid", payment_id=f"bench-{i}",
                        transaction_id=f"tx-{i}", payment_status="PAID", is_test=True,
                    )
    finally:
        await runtime.close()


async def _pending(runtime: Any) -> int:
    from localportone.webhooks import repository

    async with runtime.db.read_session() as session:
        return await repository.pending_count(session)


async def _pending_in(settings: Any) -> int:
    from localportone.kernel.db import Database

    db = Database.connect(settings.database_url)
    try:
        return await _pending(SimpleNamespace(db=db))
    finally:
        await db.dispose()


#: CPU seconds the delivering process used (in-process runs only).
CPU: dict[str, float] = {}


async def _deliver_in_process(settings: Any, count: Any, events: int) -> float:
    from localportone.runtime import Runtime

    runtime = await Runtime.open(settings, seed=False)
    started = time.perf_counter()
    cpu_started = time.process_time()
    await runtime.start_jobs()
    try:
        while count.value < events:
            await asyncio.sleep(0.01)
        # Recorded too: the run ends when the outbox is empty.
        while await _pending(runtime):
            await asyncio.sleep(0.05)
        CPU["sender"] = time.process_time() - cpu_started
        return time.perf_counter() - started
    finally:
        await runtime.close()


def _deliver_with_workers(settings: Any, count: Any, events: int, workers: int, logs: Path) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCALPORTONE_")}
    env["LOCALPORTONE_WEBHOOK_CONCURRENCY"] = str(settings.extra.get("webhook_concurrency", 64))
    procs = []
    for i in range(workers):
        log = (logs / f"worker-{i}.log").open("wb")
        procs.append(subprocess.Popen([CLI, "worker", "--database-url", settings.database_url], env=env,
                                      stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
    try:
        # Time from the first delivery (worker start-up is not what is measured).
        while count.value == 0:
            time.sleep(0.001)
        started = time.perf_counter()
        first = count.value
        while count.value < events or asyncio.run(_pending_in(settings)):
            time.sleep(0.01)
        return (time.perf_counter() - started) * events / max(1, events - first)
    finally:
        for proc in procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=64, help="in-flight requests per process")
    parser.add_argument("--database-url", default=None, help="default: a temporary SQLite file")
    parser.add_argument("--client-shards", type=int, default=None,
                        help="httpx clients the requests are spread over (default: one per in-flight request)")
    parser.add_argument("--workers", type=int, default=0, help="0: deliver inside this process (like serve)")
    parser.add_argument("--uvloop", action=argparse.BooleanOptionalAction, default=True,
                        help="run this process on uvloop (serve does when it is installed)")
    parser.add_argument("--without-http", action="store_true",
                        help="sign and log each attempt but do not send it: what the outbox alone costs")
    parser.add_argument("--profile", type=Path, default=None,
                        help="write a cProfile of the in-process delivery phase to this file")
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT / "src"))
    from localportone.kernel.config import Settings
    from localportone.migrations import upgrade

    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/bench.db"
        upgrade(url)
        port = _free_port()
        ctx = multiprocessing.get_context("spawn")
        count: Synchronized[int] = ctx.Value("q", 0)
        distinct: Synchronized[int] = ctx.Value("q", 0, lock=False)
        ready = ctx.Event()
        receiver = ctx.Process(target=_receiver, args=(port, count, distinct, ready), daemon=True)
        receiver.start()
        ready.wait(10)
        settings = Settings(
            database_url=url, api_secret=SECRET, store_id=STORE, webhook_url=f"http://127.0.0.1:{port}/hook",
            webhook_secret=WEBHOOK_SECRET, job_poll_seconds=0.2, extra={"webhook_concurrency": args.concurrency,
                   "webhook_client_shards": args.client_shards or args.concurrency},
        )
        log_to(Path(tmp) / "bench.log")
        if asyncio.run(_pending_in(settings)):
            raise SystemExit("the database already has pending webhook deliveries: use an empty database")
        if args.without_http:
            _stub_http(count, distinct)
        asyncio.run(_enqueue(settings, args.events))
        if args.workers:
            elapsed = _deliver_with_workers(settings, count, args.events, args.workers, Path(tmp))
        else:
            runner = _uvloop_run if args.uvloop else asyncio.run
            if args.profile is not None:
                import cProfile

                profiler = cProfile.Profile()
                elapsed = profiler.runcall(runner, _deliver_in_process(settings, count, args.events))
                profiler.dump_stats(args.profile)
            else:
                elapsed = runner(_deliver_in_process(settings, count, args.events))
        receiver.terminate()
        backend = "PostgreSQL" if url.startswith("postgres") else "SQLite"
        where = f"{args.workers} worker process(es)" if args.workers else "in-process job"
        cpu = f"{CPU['sender'] / args.events * 1e6:,.0f} µs" if "sender" in CPU else "n/a"
        print(f"| {backend} | {where} | {args.concurrency} | {args.events} | {elapsed:.2f} s | "
              f"{args.events / elapsed:,.0f}/s | {cpu} | {count.value} requests, {distinct.value} distinct ids |")
        if count.value != args.events or distinct.value != args.events:
            raise SystemExit("the receiver did not get exactly one request per event")


def _stub_http(count: Any, distinct: Any) -> None:
    """Replace the HTTP request by an immediate 200 (everything else of an attempt stays)."""
    from localportone.webhooks import delivery, signing

    async def attempt(self: Any, claimed: Any) -> Any:
        await asyncio.sleep(0)
        row = claimed.row
        headers = signing.headers(claimed.keys, row.id, int(time.time()), row.body.encode())
        now = self.transactions.clock.now()
        outcome = delivery.Outcome(claimed, "SUCCEEDED", headers, now, 0, responded_at=now, status_code=200,
                                   response_headers=[["content-length", "2"]], response_body="ok")
        delivery.log.info("webhook %s %s -> %s %s (200) attempt %d/%d 0ms", row.id, row.event_type, row.url,
                          outcome.result, claimed.number, row.max_executions)
        count.value += 1
        distinct.value += 1
        return outcome

    delivery.Deliverer.attempt = attempt  # type: ignore[method-assign]


def _uvloop_run(coro: Any) -> Any:
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)


def log_to(path: Path) -> None:
    """One INFO line per attempt, as ``serve`` writes them, but to a file (not the terminal)."""
    import logging

    logging.basicConfig(level=logging.INFO, filename=path, format="%(asctime)s %(levelname)s %(name)s %(message)s")


if __name__ == "__main__":
    main()
