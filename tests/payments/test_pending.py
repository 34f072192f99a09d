"""A PAY_PENDING payment settled later by the PG (sandbox control): approved → PAID, rejected → FAILED."""

from __future__ import annotations

import httpx

from tests.payments.conftest import WebhookRecorder
from tests.payments.helpers import card_body, error, get, new_id, pay


def test_pending_payment_is_approved_or_rejected_later(client: httpx.Client, channels: dict[str, str],
                                                       webhooks: WebhookRecorder) -> None:
    approved, rejected = new_id(), new_id()
    for payment_id in (approved, rejected):
        pay(client, payment_id, card_body(channels["TOSSPAYMENTS"], 40202))  # magic amount: the PG answers later
        assert get(client, payment_id)["status"] == "PAY_PENDING"

    response = client.post(f"/_sandbox/payments/{approved}/approve", json={})
    assert response.status_code == 200, response.text
    payment = get(client, approved)
    assert payment["status"] == "PAID" and payment["paidAt"] and payment["amount"]["paid"] == 40202
    assert [(w.event_type, w.trigger, w.is_async) for w in webhooks.of(approved)][-1] == (
        "Transaction.Paid", "ASYNC_PAY_APPROVED", True)

    response = client.post(f"/_sandbox/payments/{rejected}/reject",
                           json={"pgCode": "PAYPAL_DENIED", "pgMessage": "denied by the buyer's bank"})
    assert response.status_code == 200, response.text
    payment = get(client, rejected)
    assert payment["status"] == "FAILED"
    assert payment["failure"] == {"reason": "denied by the buyer's bank", "pgCode": "PAYPAL_DENIED",
                                  "pgMessage": "denied by the buyer's bank"}
    assert [(w.event_type, w.trigger) for w in webhooks.of(rejected)][-1] == ("Transaction.Failed",
                                                                              "ASYNC_PAY_FAILED")
    # Only a pending payment can be settled; a settled one stays as it is.
    error(client.post(f"/_sandbox/payments/{approved}/approve", json={}), 400, "INVALID_REQUEST")
    error(client.post(f"/_sandbox/payments/{new_id()}/reject", json={}), 404, "PAYMENT_NOT_FOUND")
    assert get(client, approved)["status"] == "PAID"
    # A rejected pending payment frees the paymentId for a new attempt.
    pay(client, rejected, card_body(channels["TOSSPAYMENTS"]))
    assert get(client, rejected)["status"] == "PAID"
