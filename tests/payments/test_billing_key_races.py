"""Racing billing-key payments on one paymentId, and what a rejected one leaves behind.

On PostgreSQL one statement creates the payment row (taking its lock) and reads the key, the live schedule and
the pre-registration: a second request on the same paymentId waits on that row, then sees the first one's attempt.
On SQLite the racers run on one snapshot and all but the first find their reads changed under the write lock
(kernel/optimistic.py), then run again and see the first one's attempt.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import httpx
import pytest

from localportone.kernel import optimistic
from tests.payments.helpers import error, get, new_id, outcomes, race, raced_on_a_snapshot
from tests.support.server import RunningServer

SLOW_CARD = {"number": "4000000000003071", "expiryYear": "30", "expiryMonth": "12"}
REFUSED_CARD = {"number": "4000000000000341", "expiryYear": "30", "expiryMonth": "12"}


def _issue(client: httpx.Client, channel_key: str, card: dict[str, str]) -> str:
    response = client.post("/billing-keys", json={"channelKey": channel_key, "method": {"card": {"credential": card}}})
    assert response.status_code == 200, response.text
    return str(response.json()["billingKeyInfo"]["billingKey"])


def _body(billing_key: str, total: int = 9900) -> dict[str, Any]:
    return {"billingKey": billing_key, "orderName": "Monthly plan", "amount": {"total": total}, "currency": "KRW"}


@pytest.mark.slow
def test_one_payment_id_is_charged_once(database_url: str, server: RunningServer, client: httpx.Client,
                                        channels: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCALPORTONE_SANDBOX_SLOW_MS", "300")
    slow = _issue(client, channels["TOSSPAYMENTS"], SLOW_CARD)
    payment_id = new_id()
    conflicts = optimistic.STATS["conflict"]
    responses = race(server, 6, lambda c: c.post(f"/payments/{payment_id}/billing-key", json=_body(slow)))
    assert outcomes(responses) == Counter({200: 1, "ALREADY_PAID": 5})
    raced_on_a_snapshot(database_url, conflicts)
    assert get(client, payment_id)["amount"]["paid"] == 9900
    items = client.get(f"/payments/{payment_id}/transactions").json()["items"]
    assert [t["status"] for t in items] == ["PAID"]

    # retries of a FAILED payment race on the existing row
    refused = _issue(client, channels["KCP_V2"], REFUSED_CARD)
    retried = new_id()
    error(client.post(f"/payments/{retried}/billing-key", json=_body(refused)), 502, "PG_PROVIDER")
    responses = race(server, 6, lambda c: c.post(f"/payments/{retried}/billing-key", json=_body(slow)))
    assert outcomes(responses) == Counter({200: 1, "ALREADY_PAID": 5})
    items = client.get(f"/payments/{retried}/transactions").json()["items"]
    assert [t["status"] for t in items] == ["FAILED", "PAID"]


def test_a_rejected_charge_leaves_no_payment(client: httpx.Client, channels: dict[str, str]) -> None:
    billing_key = _issue(client, channels["TOSSPAYMENTS"], {"number": "4242424242424242", "expiryYear": "30",
                                                             "expiryMonth": "12"})
    payment_id = new_id()
    url = f"/payments/{payment_id}/billing-key"
    error(client.post(url, json=_body("billing-key-unknown")), 404, "BILLING_KEY_NOT_FOUND")
    error(client.post(url, json={**_body(billing_key), "orderName": ""}), 400, "INVALID_REQUEST")
    error(client.post(url, json={**_body(billing_key), "channelKey": channels["KCP_V2"]}), 404, "CHANNEL_NOT_FOUND")
    error(client.get(f"/payments/{payment_id}"), 404, "PAYMENT_NOT_FOUND")

    # the pre-registration is checked against the charge; a mismatch leaves nothing either
    registered = client.post(f"/payments/{payment_id}/pre-register", json={"totalAmount": 5000, "currency": "KRW"})
    assert registered.status_code == 200, registered.text
    error(client.post(url, json=_body(billing_key, 6000)), 400, "INVALID_REQUEST")
    error(client.get(f"/payments/{payment_id}"), 404, "PAYMENT_NOT_FOUND")
    assert client.post(url, json=_body(billing_key, 5000)).status_code == 200
    payment = get(client, payment_id)
    assert payment["status"] == "PAID" and payment["amount"]["total"] == 5000
    error(client.post(url, json=_body(billing_key, 5000)), 409, "ALREADY_PAID")
    assert [t["status"] for t in client.get(f"/payments/{payment_id}/transactions").json()["items"]] == ["PAID"]


def test_concurrent_payments_are_made_together_and_answer_as_alone(database_url: str, server: RunningServer,
                                                                   client: httpx.Client,
                                                                   channels: dict[str, str]) -> None:
    """PostgreSQL makes concurrent billing-key payments several per transaction (payments/batching.py): each still
    answers as it would alone — a decline its 502 with its FAILED attempt kept, an unknown key its 404, which
    makes its batch run again one payment at a time — and nothing is made twice."""
    from localportone.payments import batching

    good = _issue(client, channels["TOSSPAYMENTS"], {"number": "4242424242424242", "expiryYear": "30",
                                                     "expiryMonth": "12"})
    declining = _issue(client, channels["KCP_V2"], REFUSED_CARD)  # issued; its charges are refused
    before = batching.STATS.copy()
    for _attempt in range(5):  # requests that arrive while a batch is written share the next one: nearly always
        paid = [new_id() for _ in range(12)]
        responses = race(server, 12, lambda c, paid=paid: c.post(f"/payments/{paid.pop()}/billing-key",  # type: ignore[misc]
                                                                 json=_body(good)))
        assert outcomes(responses) == Counter({200: 12})
        assert all(r.json()["payment"]["pgTxId"] for r in responses)
        if batching.STATS["batches"] > before["batches"]:
            break
    if database_url.startswith("postgresql"):
        assert batching.STATS["batches"] > before["batches"]  # some of them shared a transaction

    bodies = {"ok": _body(good), "declined": _body(declining), "unknown": _body("billing-key-unknown")}
    keys = iter(["ok", "declined", "unknown"] * 3)
    ids_of = {name: [new_id() for _ in range(3)] for name in bodies}
    picked = {name: iter(values) for name, values in ids_of.items()}

    def pay_one(c: httpx.Client) -> httpx.Response:
        name = next(keys)
        return c.post(f"/payments/{next(picked[name])}/billing-key", json=bodies[name])

    responses = race(server, 9, pay_one)
    assert outcomes(responses) == Counter({200: 3, "PG_PROVIDER": 3, "BILLING_KEY_NOT_FOUND": 3})
    for payment_id in ids_of["ok"]:
        assert get(client, payment_id)["status"] == "PAID"
    for payment_id in ids_of["declined"]:
        assert get(client, payment_id)["status"] == "FAILED"
        assert [t["status"] for t in client.get(f"/payments/{payment_id}/transactions").json()["items"]] == ["FAILED"]
    for payment_id in ids_of["unknown"]:
        error(client.get(f"/payments/{payment_id}"), 404, "PAYMENT_NOT_FOUND")
