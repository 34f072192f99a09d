"""CPU of one ``GET /payments/{id}`` inside a server process, without sockets or wrk: requests are fed to ``serve``'s
HTTP protocol (a fake transport takes the responses), one at a time, on a SQLite file of preloaded payments.

    .venv/bin/python bench/get_inprocess.py                     # thread CPU per request, per variant
    valgrind --tool=callgrind --toggle-collect='*feed_data*' --callgrind-out-file=/tmp/cg \\
        .venv/bin/python bench/get_inprocess.py --variant protocol --requests 300 --rounds 1 --payments 500
        # instructions per request: callgrind's "Collected" / 300 (it counts what runs inside the parser's
        # callbacks: the whole request when the protocol answers it, not the task of an ASGI-path request)

Variants: ``protocol`` (the fast route answered in the protocol, as ``serve`` does on SQLite), ``asgi`` (the
same route through uvicorn's request cycle, task and middleware) and ``constant`` (a route that answers a fixed
body at once: the protocol's own share). On a shared machine the minimum over the rounds is the figure to read.
Nothing here is asserted anywhere.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import uvicorn
import uvloop
from uvicorn.server import ServerState

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the sibling bench modules below
import load_payments
import payments_http

from localportone.app import create_app
from localportone.http.fast import FastPaths, FastRequest, FastRoute
from localportone.http.server import CoalescingHttpToolsProtocol
from localportone.kernel.config import Settings
from localportone.payments.routes import fast_get_payment
from localportone.runtime import Runtime


class _Transport:
    def __init__(self) -> None:
        self.responses = 0
        self.closed = False

    def write(self, data: Any) -> None:
        self.responses += 1

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 8000), "peername": ("127.0.0.1", 50000)}.get(name, default)

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


class _Uvicorn(CoalescingHttpToolsProtocol):
    answer_in_protocol = False


async def _constant(request: FastRequest) -> bytes:
    return b"{" + b" " * 1786 + b"}"


VARIANTS = {"protocol": (fast_get_payment, CoalescingHttpToolsProtocol), "asgi": (fast_get_payment, _Uvicorn),
            "constant": (_constant, CoalescingHttpToolsProtocol)}


async def _run(database_url: str, ids: list[str], variants: list[str], requests: int, rounds: int) -> None:
    settings = Settings.from_env(database_url=database_url, api_secret=payments_http.SECRET,
                                 store_id=payments_http.STORE)
    runtime = await Runtime.open(settings, seed=False)
    app = create_app(settings, runtime=runtime)
    state = ServerState()
    state.default_headers = [(b"date", b"Sun, 29 Nov 2026 00:00:00 GMT"), (b"server", b"uvicorn")]
    protocols = {}
    for name in variants:
        handler, cls = VARIANTS[name]
        paths = FastPaths(app, [FastRoute("GET", ("payments", None), handler, frozenset({"storeId"}))])
        config = uvicorn.Config(paths, lifespan="off", access_log=False, http=cls, log_level="warning")
        config.load()
        protocol = cls(config, state, {}, asyncio.get_running_loop())
        protocol.connection_made(_Transport())  # type: ignore[arg-type]
        protocols[name] = protocol
    lines = [f"GET /payments/{i} HTTP/1.1\r\nHost: bench\r\nAuthorization: PortOne {payments_http.SECRET}\r\n\r\n"
             .encode() for i in ids]
    best = dict.fromkeys(variants, float("inf"))
    for r in range(rounds):
        for name, protocol in protocols.items():
            started = time.thread_time()
            for i in range(requests):
                protocol.data_received(lines[(i * 7 + r) % len(lines)])
                cycle = protocol.cycle
                while cycle is not None and not cycle.response_complete:  # the ASGI path answers in a task
                    await asyncio.sleep(0)
            best[name] = min(best[name], (time.thread_time() - started) / requests)
    for name, seconds in best.items():
        print(f"{name:10} {seconds * 1e6:7.1f} µs of CPU per request (best of {rounds} rounds of {requests})")
    await runtime.close()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--payments", type=int, default=5000, help="PAID payments preloaded into a new SQLite file")
    parser.add_argument("--variant", action="append", choices=sorted(VARIANTS), help="default: all three")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    os.environ.update(LOCALPORTONE_API_SECRET=payments_http.SECRET, LOCALPORTONE_STORE_ID=payments_http.STORE)
    with tempfile.TemporaryDirectory(prefix="localportone-bench-") as workdir:
        database_url = f"sqlite:///{workdir}/bench.db"
        payments_http._prepare(database_url)
        load_payments.load(database_url, args.payments, store_id=payments_http.STORE, log=False)
        _stored, ids = payments_http._sample_ids(database_url, args.payments)
        uvloop.run(_run(database_url, ids, args.variant or list(VARIANTS), args.requests, args.rounds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
