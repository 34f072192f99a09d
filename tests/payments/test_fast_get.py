"""The fast GET path answers exactly what the regular route renders, and steps aside whenever it is unsure."""

from __future__ import annotations

import re
import socket
from datetime import datetime, timedelta
from typing import Any

import httpx
import orjson

from localportone.auth.principal import StoreContext
from localportone.http.fast import STATS
from localportone.kernel.clock import parse_wire
from localportone.payments import documents, service
from tests.payments.helpers import card_body, get, new_id, pay, va_body
from tests.support.server import TEST_API_SECRET, TEST_STORE_ID, RunningServer

__all__ = ["regular_rendering", "served_by_fast_path"]


def regular_rendering(server: RunningServer, payment_id: str) -> dict[str, Any]:
    """The payment as the regular route renders it (no stored document involved)."""

    async def render() -> dict[str, Any]:
        async with server.runtime.transactions.begin(write=False) as uow:
            merchant = server.runtime.summary.merchant_id if server.runtime.summary else ""
            return await service.get_payment(uow, StoreContext(merchant, TEST_STORE_ID), payment_id)

    return server.call(render)


def served_by_fast_path(client: httpx.Client, payment_id: str) -> tuple[dict[str, Any], bool]:
    before = STATS["served"]
    body = get(client, payment_id)
    return body, STATS["served"] == before + 1


def test_a_paid_then_cancelled_payment_is_served_fast_and_identical(
        client: httpx.Client, server: RunningServer, channels: dict[str, str]) -> None:
    payment_id = new_id()
    pay(client, payment_id, card_body(channels["TOSSPAYMENTS"]))
    body, fast = served_by_fast_path(client, payment_id)
    assert fast and body["status"] == "PAID"
    assert body == regular_rendering(server, payment_id)

    cancelled = client.post(f"/payments/{payment_id}/cancel", json={"reason": "part", "amount": 1000})
    assert cancelled.status_code == 200, cancelled.text
    body, fast = served_by_fast_path(client, payment_id)
    assert fast and body["status"] == "PARTIAL_CANCELLED" and len(body["cancellations"]) == 1
    assert body["amount"]["cancelled"] == 1000
    assert body == regular_rendering(server, payment_id)


def test_a_virtual_account_document_stops_being_served_at_its_expiry(
        client: httpx.Client, server: RunningServer, channels: dict[str, str]) -> None:
    payment_id = new_id()
    pay(client, payment_id, va_body(channels["TOSSPAYMENTS"], valid_hours=1))
    body, fast = served_by_fast_path(client, payment_id)
    assert fast and body["status"] == "VIRTUAL_ACCOUNT_ISSUED"
    expiry = parse_wire(body["method"]["expiredAt"])

    async def stored(at: datetime) -> str | None:
        async with server.runtime.transactions.read() as uow:
            return await documents.stored_document(uow.sql, TEST_STORE_ID, payment_id, at)

    assert server.call(lambda: stored(expiry - timedelta(seconds=1))) is not None
    # the wire shows milliseconds; the stored expiry may have microseconds more
    assert server.call(lambda: stored(expiry + timedelta(milliseconds=1))) is None
    moved = client.post("/_sandbox/clock", json={"advanceSeconds": 2 * 3600})
    assert moved.status_code == 200, moved.text
    assert get(client, payment_id)["status"] == "FAILED"
    body, fast = served_by_fast_path(client, payment_id)
    assert fast and body["status"] == "FAILED"


def test_errors_and_unknown_queries_take_the_regular_route(client: httpx.Client, anonymous: httpx.Client,
                                                           channels: dict[str, str]) -> None:
    before = STATS["served"]
    missing = client.get(f"/payments/{new_id()}")
    assert missing.status_code == 404 and missing.json()["type"] == "PAYMENT_NOT_FOUND"
    payment_id = new_id()
    pay(client, payment_id, card_body(channels["TOSSPAYMENTS"]))
    unauthorized = anonymous.get(f"/payments/{payment_id}")
    assert unauthorized.status_code == 401 and unauthorized.json()["type"] == "UNAUTHORIZED"
    other_store = client.get(f"/payments/{payment_id}", params={"storeId": "store-not-mine"})
    assert other_store.status_code == 403 and other_store.json()["type"] == "FORBIDDEN"
    assert STATS["served"] == before


def _pipelined(server: RunningServer, requests: list[bytes]) -> list[tuple[bytes, bytes]]:
    """Send ``requests`` at once on one connection; their responses as (head, body), in the order received."""
    host, port = server.base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(b"".join(requests))
        data, responses = b"", []
        while len(responses) < len(requests):
            chunk = sock.recv(65536)
            assert chunk, "the server closed the connection early"
            data += chunk
            while b"\r\n\r\n" in data:
                head, _, rest = data.partition(b"\r\n\r\n")
                length = int(re.search(rb"\r\ncontent-length: (\d+)", head).group(1))  # type: ignore[union-attr]
                if len(rest) < length:
                    break
                responses.append((head, rest[:length]))
                data = rest[length:]
    return responses


def test_pipelined_reads_are_answered_in_order_with_the_asgi_paths_bytes(
        client: httpx.Client, server: RunningServer, channels: dict[str, str]) -> None:
    first, second = new_id(), new_id()
    pay(client, first, card_body(channels["TOSSPAYMENTS"]))
    pay(client, second, card_body(channels["TOSSPAYMENTS"], total=20000))

    def request(payment_id: str, *headers: str) -> bytes:
        lines = [f"GET /payments/{payment_id} HTTP/1.1", "Host: localportone",
                 f"Authorization: PortOne {TEST_API_SECRET}", *headers, "", ""]
        return "\r\n".join(lines).encode()

    before = STATS["served"]
    # In the protocol; the ASGI way (a proxy header makes the protocol leave it to uvicorn); a regular route
    # (an unknown payment: 404) in flight while the next arrives; in the protocol again, closing the connection.
    responses = _pipelined(server, [request(first), request(first, "X-Forwarded-Proto: http"),
                                    request(new_id()), request(second, "Connection: close")])
    assert STATS["served"] == before + 3
    (fast_head, fast_body), (asgi_head, asgi_body), (missing_head, _), (last_head, last_body) = responses
    without_date = re.compile(rb"\r\ndate: [^\r]*")
    assert without_date.sub(b"", fast_head) == without_date.sub(b"", asgi_head)
    assert fast_head.startswith(b"HTTP/1.1 200 OK\r\ndate: ") and b"\r\nserver: uvicorn\r\n" in fast_head
    assert fast_body == asgi_body and orjson.loads(fast_body) == regular_rendering(server, first)
    assert missing_head.startswith(b"HTTP/1.1 404 ")
    assert last_head.endswith(b"\r\nconnection: close") and orjson.loads(last_body)["amount"]["total"] == 20000
