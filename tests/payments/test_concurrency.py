"""Concurrent requests on one payment: a paymentId is paid once, a payment is never over-cancelled.

Every request runs in its own thread with its own connection; a barrier releases them together. The slow sandbox
card keeps the first payment inside its transaction long enough for the others to arrive while it holds the lock
(PostgreSQL's row lock), or, on SQLite, while they all run on the same snapshot: the optimistic units of work
(kernel/optimistic.py) then find their reads changed under the write lock and run again, one after the other.
"""

from __future__ import annotations

from collections import Counter

import httpx
import pytest

from localportone.kernel import optimistic
from tests.payments.helpers import DECLINE_CARD, card_body, get, new_id, outcomes, pay, race, raced_on_a_snapshot
from tests.support.server import RunningServer

pytestmark = [pytest.mark.slow]

SLOW_CARD = {"number": "4000000000003071", "expiryYear": "30", "expiryMonth": "12"}


@pytest.fixture(autouse=True)
def _slow_card(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCALPORTONE_SANDBOX_SLOW_MS", "300")


def test_one_payment_id_is_paid_once(server: RunningServer, client: httpx.Client, channels: dict[str, str],
                                     database_url: str) -> None:
    payment_id = new_id()
    body = card_body(channels["TOSSPAYMENTS"], card=SLOW_CARD)
    conflicts = optimistic.STATS["conflict"]
    responses = race(server, 6, lambda c: c.post(f"/payments/{payment_id}/instant", json=body))
    assert outcomes(responses) == Counter({200: 1, "ALREADY_PAID": 5})
    raced_on_a_snapshot(database_url, conflicts)
    items = client.get(f"/payments/{payment_id}/transactions").json()["items"]
    assert [t["status"] for t in items] == ["PAID"]

    # retries of a FAILED payment race on the existing row: the row lock lets one of them through
    retried = new_id()
    pay(client, retried, card_body(channels["TOSSPAYMENTS"], card=DECLINE_CARD), 502)
    responses = race(server, 6, lambda c: c.post(f"/payments/{retried}/instant", json=body))
    assert outcomes(responses) == Counter({200: 1, "ALREADY_PAID": 5})
    items = client.get(f"/payments/{retried}/transactions").json()["items"]
    assert [t["status"] for t in items] == ["FAILED", "PAID"]


def test_racing_cancels_never_cancel_more_than_was_paid(server: RunningServer, client: httpx.Client,
                                                        channels: dict[str, str], database_url: str) -> None:
    payment_id = new_id()
    pay(client, payment_id, card_body(channels["TOSSPAYMENTS"], 10000))
    conflicts = optimistic.STATS["conflict"]
    responses = race(server, 8, lambda c: c.post(f"/payments/{payment_id}/cancel",
                                                  json={"reason": "race", "amount": 3000}))
    assert outcomes(responses) == Counter({200: 3, "CANCEL_AMOUNT_EXCEEDS_CANCELLABLE_AMOUNT": 5})
    raced_on_a_snapshot(database_url, conflicts)
    payment = get(client, payment_id)
    assert payment["amount"]["cancelled"] == 9000
    assert sum(c["totalAmount"] for c in payment["cancellations"] if c["status"] == "SUCCEEDED") == 9000

    full = new_id()
    pay(client, full, card_body(channels["TOSSPAYMENTS"], 10000))
    responses = race(server, 6, lambda c: c.post(f"/payments/{full}/cancel", json={"reason": "race"}))
    assert outcomes(responses) == Counter({200: 1, "PAYMENT_ALREADY_CANCELLED": 5})
    payment = get(client, full)
    assert payment["status"] == "CANCELLED" and payment["amount"]["cancelled"] == 10000
    assert len(payment["cancellations"]) == 1
