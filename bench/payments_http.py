"""Load test of the payment hot paths with wrk on 127.0.0.1: pay with a billing key, GET a payment, cancel.

    .venv/bin/python bench/payments_http.py                       # SQLite file in a temp dir, serve --workers 2
    .venv/bin/python bench/payments_http.py --database-url postgresql://postgres@127.0.0.1:5432/<empty db>
    .venv/bin/python bench/payments_http.py --preload 1000000 --phases get    # GET over 10⁶ stored payments

``--preload N`` bulk-loads N PAID payments (bench/load_payments.py) into the migrated, seeded database *before*
the server starts: SQLite loads ~1.7x faster with the file to itself, and the server's memory then reflects
serving a large database, not having written it. The GET and cancel phases pick paymentIds at random among
(a sample of) every stored payment. After the GET phase the RSS of the server's processes is read from /proc.
A phase after another starts ``--settle`` seconds (2) after it, so that it does not pay for the previous one's
aftermath (on SQLite, the WAL checkpoint the server runs 0.5 s after the last write).

Needs `wrk` (Debian package `wrk`). Every phase is bounded in time; nothing here is asserted anywhere.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the sibling bench module below
import load_payments

SECRET = "bench-api-secret-0123456789abcdefghijklmnopqrstuvwxyz"
STORE = "store-00000000-0000-4000-8000-0000000000be"
CARD = {"number": "4242424242424242", "expiryYear": "30", "expiryMonth": "12"}
PHASES = ("pay", "get", "cancel")

PAY_LUA = """
local counter = 0
tid = 0
function setup(thread) tid = tid + 1; thread:set("tid", tid) end
function init(args) prefix = args[1] end
request = function()
  counter = counter + 1
  local path = "/payments/" .. prefix .. "-" .. tid .. "-" .. counter .. "/billing-key"
  return wrk.format("POST", path, {["Content-Type"] = "application/json",
    ["Authorization"] = "PortOne %(secret)s"}, '%(body)s')
end
"""

# A random id per request; each wrk thread seeds its own generator.
ID_LUA = """
local ids = {}
tid = 0
function setup(thread) tid = tid + 1; thread:set("tid", tid) end
function init(args)
  for line in io.lines(args[1]) do ids[#ids + 1] = line end
  math.randomseed(os.time() * 100 + tid)
end
request = function()
  local id = ids[math.random(#ids)]
  %(request)s
end
"""


def _cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of the processes (utime and stime of /proc/<pid>/stat)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def _postgres_pids(database_url: str | None) -> list[int]:
    """The PostgreSQL processes serving the benchmark's database (its backends, and the server's own processes:
    WAL writer, checkpointer, ...), when PostgreSQL runs on this machine; other databases' backends are left out."""
    if database_url is None or not database_url.startswith("postgres"):
        return []
    import asyncpg

    url = make_url(database_url)

    async def fetch() -> list[int]:
        conn = await asyncpg.connect(url.set(drivername="postgresql").render_as_string(hide_password=False))
        try:
            rows = await conn.fetch("SELECT pid FROM pg_stat_activity WHERE (datname = current_database() "
                                    "OR datname IS NULL) AND pid <> pg_backend_pid()")
            return [int(r["pid"]) for r in rows]
        finally:
            await conn.close()

    return asyncio.run(fetch())


def wrk(url: str, script: str, seconds: int, connections: int, args: list[str],
        server_pid: int | None = None, database_url: str | None = None) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
    pids = [server_pid, *_descendants(server_pid)] if server_pid else []
    postgres = _postgres_pids(database_url)
    cpu_before, pg_before = _cpu_seconds(pids), _cpu_seconds(postgres)
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", f.name, url, "--", *args],
        capture_output=True, text=True, timeout=seconds + 60, check=True,
    ).stdout
    os.unlink(f.name)
    cpu = _cpu_seconds(pids) - cpu_before
    postgres = sorted(set(postgres) | set(_postgres_pids(database_url)))  # and those that connected meanwhile
    pg_cpu = _cpu_seconds(postgres) - pg_before
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = re.search(r"(\d+) requests in", out)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    requests = int(total.group(1)) if total else 0
    return {"rps": rate, "p99_ms": float(p99.group(1)) * scale[p99.group(2)] if p99 else -1,
            "non_2xx": int(non2xx.group(1)) if non2xx else 0,
            "cpu_us": cpu / requests * 1e6 if requests and pids else -1,
            "pg_cpu_us": pg_cpu / requests * 1e6 if requests and postgres else -1}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", help="default: a SQLite file in a temporary directory")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seconds", type=int, default=10, help="wrk duration of the pay and GET phases")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--port", type=int, default=0, help="default: a free port (two runs at once don't mix)")
    parser.add_argument("--preload", type=int, default=0, metavar="N",
                        help="bulk-load N PAID payments before the server starts (bench/load_payments.py)")
    parser.add_argument("--phases", default=",".join(PHASES),
                        help="comma-separated subset of pay,get,cancel to run (default: all three, in that order)")
    parser.add_argument("--settle", type=float, default=2.0, metavar="SECONDS",
                        help="pause before the GET and cancel phases, so that the server's work after the previous "
                             "phase (SQLite's WAL checkpoint, 0.5 s after the last write) is not counted in them")
    parser.add_argument("--sample", type=int, default=100_000,
                        help="at most this many stored paymentIds, drawn at random, are given to wrk")
    args = parser.parse_args()
    phases = [p.strip() for p in args.phases.split(",") if p.strip()]
    if not phases or any(p not in PHASES for p in phases):
        parser.error(f"--phases takes a comma-separated subset of {','.join(PHASES)}")
    if shutil.which("wrk") is None:
        print("wrk is needed: apt-get install wrk", file=sys.stderr)
        return 2
    if args.port == 0:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            args.port = probe.getsockname()[1]
    workdir = Path(tempfile.mkdtemp(prefix="localportone-bench-"))
    database_url = args.database_url or f"sqlite:///{workdir}/bench.db"
    os.environ.update(LOCALPORTONE_API_SECRET=SECRET, LOCALPORTONE_STORE_ID=STORE)
    notes: list[str] = []
    server: subprocess.Popen[bytes] | None = None
    try:
        if args.preload > 0:
            _prepare(database_url)
            loaded = load_payments.load(database_url, args.preload, store_id=STORE, log=True)
            notes.append(f"preloaded {loaded.count:,} payments in {loaded.seconds:.1f} s ({loaded.rate:,.0f}/s)")
            os.sync()  # the kernel's write-back of the loaded gigabytes would otherwise compete with the first phase
        server = subprocess.Popen(
            [sys.executable, "-m", "localportone.cli", "serve", "--database-url", database_url, "--port",
             str(args.port), "--workers", str(args.workers), "--log-level", "info", "--no-jobs"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
        )
        started = _count_started_workers(server)
        base = f"http://127.0.0.1:{args.port}"
        results: dict[str, dict[str, float]] = {}
        with httpx.Client(base_url=base, headers={"Authorization": f"PortOne {SECRET}"}, timeout=30) as c:
            _wait_ready(c, server, started, args.workers)
            if "pay" in phases:
                channel = next(ch["key"] for ch in c.get("/_sandbox/channels").json()["channels"]
                               if ch["pgProvider"] == "TOSSPAYMENTS")
                issued = c.post("/billing-keys",
                                json={"channelKey": channel, "method": {"card": {"credential": CARD}}})
                billing_key = issued.json()["billingKeyInfo"]["billingKey"]
                body = json.dumps({"billingKey": billing_key, "orderName": "bench", "amount": {"total": 1000},
                                   "currency": "KRW", "skipWebhook": True})
                prefix = f"bench{int(time.time())}"
                results["pay with billing key"] = wrk(base, PAY_LUA % {"secret": SECRET, "body": body},
                                                      args.seconds, args.connections, [prefix], server.pid,
                                                      database_url)
            if "get" in phases or "cancel" in phases:
                stored, ids = _sample_ids(database_url, args.sample)
                if not ids:
                    raise SystemExit("no stored payment to GET or cancel: add --preload N or the pay phase")
                id_file = workdir / "ids.txt"
                id_file.write_text("".join(f"{i}\n" for i in ids))
                notes.append(f"{stored:,} payments stored; wrk picks among {len(ids):,} of them at random")
            if "get" in phases:
                _settle(args.settle, phases, "get")
                get_request = ('return wrk.format("GET", "/payments/" .. id, '
                               f'{{["Authorization"] = "PortOne {SECRET}"}})')
                results[f"GET /payments/{{id}} ({stored:,} stored)"] = wrk(
                    base, ID_LUA % {"request": get_request}, args.seconds, args.connections, [str(id_file)],
                    server.pid, database_url)
                notes.append(_rss_report(server.pid, "after the GET phase"))
            if "cancel" in phases:
                _settle(args.settle, phases, "cancel")
                cancel_request = ('return wrk.format("POST", "/payments/" .. id .. "/cancel", '
                                  f'{{["Content-Type"] = "application/json", '
                                  f'["Authorization"] = "PortOne {SECRET}"}}, '
                                  "'{\"reason\": \"bench\", \"amount\": 10, \"skipWebhook\": true}')")
                results["partial cancel"] = wrk(base, ID_LUA % {"request": cancel_request},
                                                min(args.seconds, 5), args.connections, [str(id_file)],
                                                server.pid, database_url)
        print(f"database: {'PostgreSQL' if database_url.startswith('postgres') else 'SQLite'}"
              f"{_size(database_url)}, serve --workers {args.workers}, wrk -t2 -c{args.connections}")
        for note in notes:
            print(f"  {note}")
        for name, r in results.items():
            print(f"  {name:40} {r['rps']:9.1f} req/s   p99 {r['p99_ms']:8.1f} ms   non-2xx {int(r['non_2xx'])}"
                  f"   server CPU {r['cpu_us']:7.0f} µs/request"
                  + (f"   PostgreSQL CPU {r['pg_cpu_us']:7.0f} µs/request" if r["pg_cpu_us"] >= 0 else ""))
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


def _settle(seconds: float, phases: list[str], phase: str) -> None:
    """Wait before ``phase`` if another phase ran before it."""
    if phases.index(phase) > 0:
        time.sleep(seconds)


def _prepare(database_url: str) -> None:
    """Migrate and seed as ``serve`` does when it starts, so that the loader finds the store and its channels."""
    from localportone.kernel.config import Settings
    from localportone.migrations import upgrade
    from localportone.runtime import Runtime

    settings = Settings.from_env(database_url=database_url)
    upgrade(settings.database_url)

    async def seed() -> None:
        runtime = await Runtime.open(settings)
        await runtime.close()

    asyncio.run(seed())


def _count_started_workers(server: subprocess.Popen[bytes]) -> threading.Semaphore:
    """Released once per worker that logged the end of its start-up; the rest of the server's log is dropped."""
    started = threading.Semaphore(0)

    def read() -> None:
        assert server.stderr is not None
        for line in server.stderr:
            if b"Application startup complete" in line:
                started.release()

    threading.Thread(target=read, daemon=True).start()
    return started


def _wait_ready(c: httpx.Client, server: subprocess.Popen[bytes], started: threading.Semaphore, workers: int) -> None:
    """Every worker has started (a load tool that connects earlier puts all its connections on the first one)."""
    deadline = time.monotonic() + 120
    for _ in range(workers):
        while not started.acquire(timeout=0.2):
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("the server did not start")
    while True:
        try:
            if c.get("/_sandbox/health").status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("the server did not start")
        time.sleep(0.2)


def _sample_ids(database_url: str, k: int) -> tuple[int, list[str]]:
    """How many payments the bench store holds, and up to ``k`` of their paymentIds in random order (read from
    the database: listing 10⁶ payments through the API would take longer than the phases)."""
    url = make_url(database_url)
    sql = "SELECT payment_id FROM payments WHERE store_id = {p}"
    if url.get_backend_name() == "sqlite":
        conn = sqlite3.connect(url.database or "")
        try:
            ids = [r[0] for r in conn.execute(sql.format(p="?"), (STORE,))]
        finally:
            conn.close()
    else:
        import asyncpg

        async def fetch() -> list[str]:
            conn = await asyncpg.connect(url.set(drivername="postgresql").render_as_string(hide_password=False))
            try:
                return [r[0] for r in await conn.fetch(sql.format(p="$1"), STORE)]
            finally:
                await conn.close()

        ids = asyncio.run(fetch())
    return len(ids), random.sample(ids, min(k, len(ids)))


def _descendants(root: int) -> list[int]:
    """Every process under ``root`` (from /proc/*/stat parent ids)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        for child in children.get(pid, []):
            found.append(child)
            todo.append(child)
    return found


def _status_kb(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _rss_report(server_pid: int, when: str) -> str:
    """VmRSS (and peak VmHWM) of the uvicorn workers: the spawned ``multiprocessing`` children of ``serve``,
    or ``serve`` itself when it runs a single worker in-process."""
    workers = []
    for pid in _descendants(server_pid):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        if b"spawn_main" in cmdline:
            workers.append(pid)
    main_rss = _status_kb(server_pid, "VmRSS") / 1024
    if not workers:
        peak = _status_kb(server_pid, "VmHWM") / 1024
        return f"server RSS {when}: one process, {main_rss:.1f} MB (peak {peak:.1f} MB)"
    rss = [_status_kb(p, "VmRSS") / 1024 for p in workers]
    peak = max(_status_kb(p, "VmHWM") for p in workers) / 1024
    return (f"server RSS {when}: {len(workers)} workers, sum {sum(rss):.1f} MB, max {max(rss):.1f} MB "
            f"(peak {peak:.1f} MB); the serve process that spawned them {main_rss:.1f} MB")


def _size(database_url: str) -> str:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        path = Path(url.database or "")
        size = sum(p.stat().st_size for p in path.parent.glob(path.name + "*") if p.is_file())
        return f" ({size / 1e6:,.0f} MB file)"
    import asyncpg

    async def fetch() -> str:
        conn = await asyncpg.connect(url.set(drivername="postgresql").render_as_string(hide_password=False))
        try:
            return str(await conn.fetchval("SELECT pg_size_pretty(pg_database_size(current_database()))"))
        finally:
            await conn.close()

    return f" ({asyncio.run(fetch())})"


if __name__ == "__main__":
    sys.exit(main())
