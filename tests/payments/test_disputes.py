"""Disputes (sandbox control): listed on the PAID payment, announced by Transaction.DisputeCreated/Resolved."""

from __future__ import annotations

import httpx
from portone_server_sdk import PortOneClient

from tests.payments.conftest import WebhookRecorder
from tests.payments.helpers import card_body, error, get, new_id, pay, va_body
from tests.support.server import TEST_API_SECRET, RunningServer


def test_open_and_resolve_a_dispute(server: RunningServer, client: httpx.Client, channels: dict[str, str],
                                    webhooks: WebhookRecorder) -> None:
    payment_id = new_id()
    pay(client, payment_id, card_body(channels["TOSSPAYMENTS"]))
    assert get(client, payment_id)["disputes"] == []

    opened = client.post(f"/_sandbox/payments/{payment_id}/disputes", json={"reason": "item not received"})
    assert opened.status_code == 200, opened.text
    dispute = opened.json()["dispute"]
    assert dispute["status"] == "UNRESOLVED" and dispute["reason"] == "item not received"
    payment = get(client, payment_id)  # validated against the official schema by the client fixture
    assert payment["status"] == "PAID"
    assert payment["disputes"] == [dispute]

    resolved = client.post(f"/_sandbox/payments/{payment_id}/disputes/{dispute['pgDisputeId']}/resolve", json={})
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["dispute"]["status"] == "RESOLVED"
    payment = get(client, payment_id)
    assert payment["disputes"][0]["status"] == "RESOLVED" and "resolvedAt" in payment["disputes"][0]

    events = webhooks.of(payment_id)
    assert [e.event_type for e in events] == [
        "Transaction.Paid", "Transaction.DisputeCreated", "Transaction.DisputeResolved"]
    assert [(e.trigger, e.is_async) for e in events[1:]] == [("DISPUTE_CREATED", True), ("DISPUTE_RESOLVED", True)]

    # The official SDK reads the dispute back as a typed object.
    sdk = PortOneClient(secret=TEST_API_SECRET, base_url=server.base_url)
    typed = sdk.payment.get_payment(payment_id=payment_id)
    assert typed.disputes[0].status == "RESOLVED"  # type: ignore[union-attr]


def test_dispute_errors_change_nothing(client: httpx.Client, channels: dict[str, str],
                                       webhooks: WebhookRecorder) -> None:
    error(client.post(f"/_sandbox/payments/{new_id()}/disputes", json={}), 404, "PAYMENT_NOT_FOUND")
    waiting = new_id()
    pay(client, waiting, va_body(channels["TOSSPAYMENTS"]))
    error(client.post(f"/_sandbox/payments/{waiting}/disputes", json={}), 409, "PAYMENT_NOT_PAID")
    paid = new_id()
    pay(client, paid, card_body(channels["TOSSPAYMENTS"]))
    error(client.post(f"/_sandbox/payments/{paid}/disputes/nope/resolve", json={}), 400, "INVALID_REQUEST")
    assert get(client, paid)["disputes"] == []
    assert webhooks.types(paid) == ["Transaction.Paid"]
    assert webhooks.types(waiting) == ["Transaction.VirtualAccountIssued"]
