"""Concurrent requests on one payment: a paymentId is paid once, a payment is never over-cancelled.

Every request runs in its own thread with its own connection; a barrier releases them together. The slow sandbox
card keeps the first payment inside its transaction long enough for the others to arrive while it holds the lock
(PostgreSQL's row lock), or, on SQLite, while they all run on the same snapshot: the optimistic units of work
(kernel/optimistic.py) then find their reads changed under the write lock and run again, one after the other.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from localportone.kernel import optimistic
from tests.billing_keys.helpers import issued_key
from tests.payments.helpers import DECLINE_CARD, card_body, get, new_id, pay
from tests.support.contract import validate_response
from tests.support.server import RunningServer, make_client

pytestmark = [pytest.mark.slow]

SLOW_CARD = {"number": "4000000000003071", "expiryYear": "30", "expiryMonth": "12"}


@pytest.fixture(autouse=True)
def _slow_card(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCALPORTONE_SANDBOX_SLOW_MS", "300")


def _race(server: RunningServer, n: int, request: Callable[[httpx.Client], httpx.Response]) -> list[httpx.Response]:
    barrier = threading.Barrier(n)

    def one(_: int) -> httpx.Response:
        with make_client(server.base_url, hooks=[validate_response]) as c:
            barrier.wait(timeout=30)
            return request(c)

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(one, range(n)))


def _outcomes(responses: list[httpx.Response]) -> Counter[Any]:
    return Counter(200 if r.status_code == 200 else r.json()["type"] for r in responses)


def _raced_on_a_snapshot(database_url: str, conflicts_before: int) -> None:
    """On SQLite the racers ran optimistically on one snapshot: all but the first found their reads changed."""
    if database_url.startswith("sqlite"):
        assert optimistic.STATS["conflict"] > conflicts_before, dict(optimistic.STATS)


def test_one_payment_id_is_paid_once(server: RunningServer, client: httpx.Client, channels: dict[str, str],
                                     database_url: str) -> None:
    payment_id = new_id()
    body = card_body(channels["TOSSPAYMENTS"], card=SLOW_CARD)
    conflicts = optimistic.STATS["conflict"]
    responses = _race(server, 6, lambda c: c.post(f"/payments/{payment_id}/instant", json=body))
    assert _outcomes(responses) == Counter({200: 1, "ALREADY_PAID": 5})
    _raced_on_a_snapshot(database_url, conflicts)
    items = client.get(f"/payments/{payment_id}/transactions").json()["items"]
    assert [t["status"] for t in items] == ["PAID"]

    # retries of a FAILED payment race on the existing row: the row lock lets one of them through
    retried = new_id()
    pay(client, retried, card_body(channels["TOSSPAYMENTS"], card=DECLINE_CARD), 502)
    responses = _race(server, 6, lambda c: c.post(f"/payments/{retried}/instant", json=body))
    assert _outcomes(responses) == Counter({200: 1, "ALREADY_PAID": 5})
    items = client.get(f"/payments/{retried}/transactions").json()["items"]
    assert [t["status"] for t in items] == ["FAILED", "PAID"]


def test_one_payment_id_is_paid_once_with_a_billing_key(server: RunningServer, client: httpx.Client,
                                                        channels: dict[str, str], database_url: str) -> None:
    billing_key = issued_key(client, channels["TOSSPAYMENTS"], SLOW_CARD["number"])
    payment_id = new_id()
    body = {"billingKey": billing_key, "orderName": "race", "amount": {"total": 5000}, "currency": "KRW"}
    conflicts = optimistic.STATS["conflict"]
    responses = _race(server, 6, lambda c: c.post(f"/payments/{payment_id}/billing-key", json=body))
    assert _outcomes(responses) == Counter({200: 1, "ALREADY_PAID": 5})
    _raced_on_a_snapshot(database_url, conflicts)
    items = client.get(f"/payments/{payment_id}/transactions").json()["items"]
    assert [t["status"] for t in items] == ["PAID"]
    assert get(client, payment_id)["amount"]["paid"] == 5000


def test_racing_cancels_never_cancel_more_than_was_paid(server: RunningServer, client: httpx.Client,
                                                        channels: dict[str, str], database_url: str) -> None:
    payment_id = new_id()
    pay(client, payment_id, card_body(channels["TOSSPAYMENTS"], 10000))
    conflicts = optimistic.STATS["conflict"]
    responses = _race(server, 8, lambda c: c.post(f"/payments/{payment_id}/cancel",
                                                  json={"reason": "race", "amount": 3000}))
    assert _outcomes(responses) == Counter({200: 3, "CANCEL_AMOUNT_EXCEEDS_CANCELLABLE_AMOUNT": 5})
    _raced_on_a_snapshot(database_url, conflicts)
    payment = get(client, payment_id)
    assert payment["amount"]["cancelled"] == 9000
    assert sum(c["totalAmount"] for c in payment["cancellations"] if c["status"] == "SUCCEEDED") == 9000

    full = new_id()
    pay(client, full, card_body(channels["TOSSPAYMENTS"], 10000))
    responses = _race(server, 6, lambda c: c.post(f"/payments/{full}/cancel", json={"reason": "race"}))
    assert _outcomes(responses) == Counter({200: 1, "PAYMENT_ALREADY_CANCELLED": 5})
    payment = get(client, full)
    assert payment["status"] == "CANCELLED" and payment["amount"]["cancelled"] == 10000
    assert len(payment["cancellations"]) == 1
