"""Load test of the payment hot paths with wrk on 127.0.0.1: pay with a billing key, GET a payment, cancel.

    .venv/bin/python bench/payments_http.py                       # SQLite file in a temp dir, serve --workers 2
    .venv/bin/python bench/payments_http.py --database-url postgresql://postgres@127.0.0.1:5432/<empty db>
    .venv/bin/python bench/payments_http.py --preload 100000      # more stored payments before the GET phase

Needs `wrk` (Debian package `wrk`). Every phase is bounded in time; nothing here is asserted anywhere.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

SECRET = "bench-api-secret-0123456789abcdefghijklmnopqrstuvwxyz"
STORE = "store-00000000-0000-4000-8000-0000000000be"
CARD = {"number": "4242424242424242", "expiryYear": "30", "expiryMonth": "12"}

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

ID_LUA = """
local ids = {}
local i = 0
function init(args)
  for line in io.lines(args[1]) do ids[#ids + 1] = line end
  i = math.random(#ids)
end
request = function()
  i = i %% #ids + 1
  %(request)s
end
"""


def wrk(url: str, script: str, seconds: int, connections: int, args: list[str]) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", f.name, url, "--", *args],
        capture_output=True, text=True, timeout=seconds + 60, check=True,
    ).stdout
    os.unlink(f.name)
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": rate, "p99_ms": float(p99.group(1)) * scale[p99.group(2)] if p99 else -1,
            "non_2xx": int(non2xx.group(1)) if non2xx else 0}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--port", type=int, default=18731)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is needed: apt-get install wrk", file=sys.stderr)
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="localportone-bench-"))
    database_url = args.database_url or f"sqlite:///{workdir}/bench.db"
    env = {**os.environ, "LOCALPORTONE_API_SECRET": SECRET, "LOCALPORTONE_STORE_ID": STORE}
    server = subprocess.Popen(
        [sys.executable, "-m", "localportone.cli", "serve", "--database-url", database_url, "--port", str(args.port),
         "--workers", str(args.workers), "--log-level", "warning", "--no-jobs"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    base = f"http://127.0.0.1:{args.port}"
    try:
        with httpx.Client(base_url=base, headers={"Authorization": f"PortOne {SECRET}"}, timeout=30) as c:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if c.get("/_sandbox/health").status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise SystemExit("server did not start")
                time.sleep(0.2)
            channel = next(ch["key"] for ch in c.get("/_sandbox/channels").json()["channels"]
                           if ch["pgProvider"] == "TOSSPAYMENTS")
            issued = c.post("/billing-keys", json={"channelKey": channel, "method": {"card": {"credential": CARD}}})
            billing_key = issued.json()["billingKeyInfo"]["billingKey"]
            body = json.dumps({"billingKey": billing_key, "orderName": "bench", "amount": {"total": 1000},
                               "currency": "KRW", "skipWebhook": True})
            results: dict[str, dict[str, float]] = {}
            prefix = f"bench{int(time.time())}"
            results["pay with billing key"] = wrk(base, PAY_LUA % {"secret": SECRET, "body": body},
                                                  args.seconds, args.connections, [prefix])
            ids = [p["payment"]["id"] for p in _all_payments(c)]
            id_file = workdir / "ids.txt"
            id_file.write_text("\n".join(ids) + "\n")
            get_request = ('return wrk.format("GET", "/payments/" .. ids[i], '
                           f'{{["Authorization"] = "PortOne {SECRET}"}})')
            results[f"GET /payments/{{id}} ({len(ids)} stored)"] = wrk(
                base, ID_LUA % {"request": get_request}, args.seconds, args.connections, [str(id_file)])
            cancel_request = ('return wrk.format("POST", "/payments/" .. ids[i] .. "/cancel", '
                              f'{{["Content-Type"] = "application/json", ["Authorization"] = "PortOne {SECRET}"}}, '
                              "'{\"reason\": \"bench\", \"amount\": 10, \"skipWebhook\": true}')")
            results["partial cancel"] = wrk(base, ID_LUA % {"request": cancel_request},
                                            min(args.seconds, 5), args.connections, [str(id_file)])
        print(f"database: {'PostgreSQL' if database_url.startswith('postgres') else 'SQLite'}, "
              f"serve --workers {args.workers}, wrk -t2 -c{args.connections}")
        for name, r in results.items():
            print(f"  {name:40} {r['rps']:9.1f} req/s   p99 {r['p99_ms']:8.1f} ms   non-2xx {int(r['non_2xx'])}")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


def _all_payments(c: httpx.Client) -> list[dict[str, object]]:
    items: list[dict[str, object]] = []
    cursor = None
    while True:
        body: dict[str, object] = {"size": 1000}
        if cursor:
            body["cursor"] = cursor
        page = c.get("/payments-by-cursor", params={"requestBody": json.dumps(body)}).json()["items"]
        if not page:
            return items
        items.extend(page)
        cursor = page[-1]["cursor"]


if __name__ == "__main__":
    sys.exit(main())
