"""Request builders and assertions shared by the payments tests."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from localportone.kernel import optimistic
from tests.support.contract import validate_response
from tests.support.server import RunningServer, make_client

CARD = {"number": "4242424242424242", "expiryYear": "30", "expiryMonth": "12"}
DECLINE_CARD = {"number": "4000000000000002", "expiryYear": "30", "expiryMonth": "12"}
REFUND_ACCOUNT = {"bank": "KOOKMIN", "number": "12345678901234", "holderName": "Hong Gildong"}


def new_id(prefix: str = "pay") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def card_body(channel_key: str, total: int = 10000, *, card: dict[str, str] | None = None,
              **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "channelKey": channel_key,
        "orderName": "Sandbox order",
        "amount": {"total": total},
        "currency": "KRW",
        "method": {"card": {"credential": card or CARD}},
    }
    body.update(extra)
    return body


def va_body(channel_key: str, total: int = 10000, *, valid_hours: int = 24, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "channelKey": channel_key,
        "orderName": "Sandbox VA order",
        "amount": {"total": total},
        "currency": "KRW",
        "method": {"virtualAccount": {"bank": "KOOKMIN", "expiry": {"validHours": valid_hours},
                                      "option": {"type": "NORMAL"}}},
    }
    body.update(extra)
    return body


def pay(client: httpx.Client, payment_id: str, body: dict[str, Any], status: int = 200) -> dict[str, Any]:
    response = client.post(f"/payments/{payment_id}/instant", json=body)
    assert response.status_code == status, response.text
    result: dict[str, Any] = response.json()
    return result


def get(client: httpx.Client, payment_id: str) -> dict[str, Any]:
    response = client.get(f"/payments/{payment_id}")
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def cancel(client: httpx.Client, payment_id: str, body: dict[str, Any], status: int = 200) -> dict[str, Any]:
    response = client.post(f"/payments/{payment_id}/cancel", json=body)
    assert response.status_code == status, response.text
    result: dict[str, Any] = response.json()
    return result


def stable(payment: dict[str, Any]) -> dict[str, Any]:
    """A payment without ``webhooks``, whose delivery status moves on in the background."""
    return {k: v for k, v in payment.items() if k != "webhooks"}


def error(response: httpx.Response, status: int, type_: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["type"] == type_, body
    return body



def race(server: RunningServer, n: int, request: Callable[[httpx.Client], httpx.Response]) -> list[httpx.Response]:
    """``n`` requests at once, each from its own thread and connection, released together by a barrier."""
    barrier = threading.Barrier(n)

    def one(_: int) -> httpx.Response:
        with make_client(server.base_url, hooks=[validate_response]) as c:
            barrier.wait(timeout=30)
            return request(c)

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(one, range(n)))


def outcomes(responses: list[httpx.Response]) -> Counter[Any]:
    """200, or the error type, of each response, counted."""
    return Counter(200 if r.status_code == 200 else r.json()["type"] for r in responses)


def raced_on_a_snapshot(database_url: str, conflicts_before: int) -> None:
    """On SQLite the racers ran optimistically on one snapshot: all but the first found their reads changed."""
    if database_url.startswith("sqlite"):
        assert optimistic.STATS["conflict"] > conflicts_before, dict(optimistic.STATS)
