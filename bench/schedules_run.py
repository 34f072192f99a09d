"""Benchmark: N payment schedules due at the same instant, run by W `localportone worker` processes on PostgreSQL.

    .venv/bin/python bench/schedules_run.py --postgres-url postgresql://postgres@127.0.0.1:5432/postgres \
        --schedules 10000 --workers 1 2

For each worker count it creates a scratch database, starts `localportone serve --no-jobs` (HTTP only), issues
billing keys and creates the schedules through the API (not timed), starts the workers, moves the sandbox clock to
the schedules' `timeToPay` and measures until every schedule has completed. It then checks that each schedule made
exactly one payment attempt. Results are printed as a Markdown table row (see bench/README.md).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
CLI = [str(ROOT / ".venv" / "bin" / "localportone")]
SECRET = "bench-api-secret-0123456789abcdefghijklmnopqrstuvwxyz0123456789"
STORE = "store-00000000-0000-4000-8000-00000000b001"


@dataclass
class Result:
    workers: int
    schedules: int
    total_seconds: float
    first_start_lag: float
    lag_p50: float
    lag_p95: float
    lag_max: float
    succeeded: int
    attempts_ok: bool
    worker_cpu_seconds: float
    postgres_cpu_seconds: float

    def row(self) -> str:
        rate = self.schedules / self.total_seconds if self.total_seconds else 0
        cpu_ms = self.worker_cpu_seconds * 1000 / self.schedules
        pg_ms = self.postgres_cpu_seconds * 1000 / self.schedules
        return (f"| {self.workers} | {self.schedules} | {self.total_seconds:.1f} s | {rate:.0f}/s | "
                f"{self.first_start_lag:.2f} s | {self.lag_p50:.1f} s | {self.lag_p95:.1f} s | {self.lag_max:.1f} s | "
                f"{cpu_ms:.2f} ms | {pg_ms:.2f} ms | {self.succeeded} | {'yes' if self.attempts_ok else 'NO'} |")


def _postgres_cpu_seconds() -> float:
    """CPU time of every process named ``postgres`` on this machine (the server and its backends); 0 when the
    database runs elsewhere. Backends that exit during the run take their CPU time with them, so this undercounts
    only if connections are closed mid-run (the workers keep theirs)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() == "postgres":
                total += _cpu_seconds(int(entry.name))
        except OSError:
            continue
    return total


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux), so that figures can be compared on a busy machine."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _admin(url: str, sql: str) -> None:
    parsed = make_url(url)
    conn = await asyncpg.connect(host=parsed.host, port=parsed.port or 5432, user=parsed.username,
                                 password=parsed.password, database=parsed.database or "postgres")
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _connect(url: str) -> asyncpg.Connection:
    parsed = make_url(url)
    return await asyncpg.connect(host=parsed.host, port=parsed.port or 5432, user=parsed.username,
                                 password=parsed.password, database=parsed.database)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env(url: str) -> dict[str, str]:
    return {**os.environ, "LOCALPORTONE_DATABASE_URL": url, "LOCALPORTONE_API_SECRET": SECRET,
            "LOCALPORTONE_STORE_ID": STORE, "LOCALPORTONE_SANDBOX_SLOW_MS": "0"}


def _start(args: list[str], url: str, log: Path) -> subprocess.Popen[bytes]:
    handle = log.open("wb")
    return subprocess.Popen(CLI + args, env=_env(url), stdout=handle, stderr=subprocess.STDOUT,
                            start_new_session=True)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


async def _setup(base_url: str, schedules: int, keys: int, time_to_pay: str) -> None:
    headers = {"Authorization": f"PortOne {SECRET}"}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=60) as client:
        channels = (await client.get("/_sandbox/channels")).json()["channels"]
        channel = next(c["key"] for c in channels if c["pgProvider"] == "TOSSPAYMENTS")
        gate = asyncio.Semaphore(16)

        async def post(path: str, body: dict[str, object], ok: tuple[int, ...] = (200,)) -> httpx.Response:
            """POST with retries: an idle keep-alive connection the server just closed fails the first try."""
            for attempt in range(5):
                try:
                    async with gate:
                        response = await client.post(path, json=body)
                    if response.status_code in ok or (attempt and response.status_code == 409):
                        return response
                    response.raise_for_status()
                except httpx.TransportError:
                    if attempt == 4:
                        raise
                await asyncio.sleep(0.5)
            raise RuntimeError(f"POST {path} kept failing")

        async def issue(_: int) -> str:
            response = await post("/billing-keys", {
                "channelKey": channel,
                "method": {"card": {"credential": {"number": "4242424242424242", "expiryYear": "30",
                                                   "expiryMonth": "12"}}}})
            key: str = response.json()["billingKeyInfo"]["billingKey"]
            return key

        billing_keys = await asyncio.gather(*(issue(i) for i in range(keys)))

        async def create(i: int) -> None:
            await post(f"/payments/bench-{i:06d}/schedule", {
                "payment": {"billingKey": billing_keys[i % keys], "orderName": f"bench {i}",
                            "amount": {"total": 1000 + i % 100}, "currency": "KRW"},
                "timeToPay": time_to_pay})

        await asyncio.gather(*(create(i) for i in range(schedules)))


async def _wait_http(base_url: str, server: subprocess.Popen[bytes], timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(base_url=base_url) as client:
        while time.monotonic() < deadline:
            if server.poll() is not None:
                raise RuntimeError(f"the server exited with {server.returncode}; see its log")
            try:
                if (await client.get("/_sandbox/health")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError("server did not start")


async def run_once(admin_url: str, schedules: int, workers: int, keys: int, logs: Path) -> Result:
    name = f"localportone_bench_{uuid.uuid4().hex[:8]}"
    await _admin(admin_url, f'CREATE DATABASE "{name}"')
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    server = _start(["serve", "--no-jobs", "--port", str(port), "--log-level", "warning"], url,
                    logs / f"serve-{workers}.log")
    procs: list[subprocess.Popen[bytes]] = []
    try:
        await _wait_http(base_url, server)
        due = datetime.now(UTC) + timedelta(days=1)
        due = due.replace(microsecond=0)
        print(f"[{workers} worker(s)] creating {keys} billing keys and {schedules} schedules ...", flush=True)
        started = time.monotonic()
        await _setup(base_url, schedules, keys, due.isoformat().replace("+00:00", "Z"))
        print(f"[{workers} worker(s)] setup took {time.monotonic() - started:.0f} s", flush=True)
        for i in range(workers):
            procs.append(_start(["worker"], url, logs / f"worker-{workers}-{i}.log"))
        await asyncio.sleep(3)  # workers migrate (no-op), open their runtime and start polling

        conn = await _connect(url)
        try:
            cpu_before = sum(_cpu_seconds(p.pid) for p in procs)
            pg_before = _postgres_cpu_seconds()
            async with httpx.AsyncClient(base_url=base_url, headers={"Authorization": f"PortOne {SECRET}"}) as c:
                (await c.post("/_sandbox/clock", json={"now": due.isoformat()})).raise_for_status()
            moved = time.monotonic()
            while True:
                left = await conn.fetchval(
                    "SELECT count(*) FROM payment_schedules WHERE status IN ('SCHEDULED', 'STARTED')")
                if left == 0:
                    break
                if time.monotonic() - moved > 600:
                    raise RuntimeError(f"{left} schedules still not done after 10 minutes")
                await asyncio.sleep(0.2)
            wall = time.monotonic() - moved
            cpu = sum(_cpu_seconds(p.pid) for p in procs) - cpu_before
            pg_cpu = _postgres_cpu_seconds() - pg_before
            rows = await conn.fetch("SELECT status, time_to_pay, started_at, completed_at FROM payment_schedules")
            lags = sorted((r["completed_at"] - r["time_to_pay"]).total_seconds() for r in rows)
            first = min((r["started_at"] - r["time_to_pay"]).total_seconds() for r in rows)
            total = max(lags)
            attempts = await conn.fetch(
                "SELECT s.id, count(t.id) AS n FROM payment_schedules s "
                "LEFT JOIN payment_transactions t ON t.schedule_id = s.id GROUP BY s.id")
            attempts_ok = len(attempts) == schedules and all(a["n"] == 1 for a in attempts)
            succeeded = sum(1 for r in rows if r["status"] == "SUCCEEDED")
        finally:
            await conn.close()
        print(f"[{workers} worker(s)] done in {wall:.1f} s (wall, from the clock move)", flush=True)
        return Result(workers, schedules, total, first, statistics.median(lags),
                      lags[int(len(lags) * 0.95) - 1], lags[-1], succeeded, attempts_ok, cpu, pg_cpu)
    finally:
        for proc in procs:
            _stop(proc)
        _stop(server)
        await _admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres-url", default=os.environ.get("LOCALPORTONE_TEST_POSTGRES_URL",
                                                                 "postgresql://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--schedules", type=int, default=10_000)
    parser.add_argument("--keys", type=int, default=1_000, help="billing keys the schedules are spread over")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--logs", type=Path, default=Path("/tmp/localportone-bench"))
    args = parser.parse_args()
    args.logs.mkdir(parents=True, exist_ok=True)
    results = []
    for workers in args.workers:
        results.append(await run_once(args.postgres_url, args.schedules, workers, args.keys, args.logs))
        print(results[-1].row(), flush=True)
    print()
    print("| workers | schedules | all done after | throughput | first start | lag p50 | lag p95 | lag max "
          "| worker CPU per schedule | PostgreSQL CPU per schedule | succeeded | one attempt each |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for result in results:
        print(result.row())


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
