"""``POST /payments/{paymentId}/resend-webhook``: a new delivery of the same body, and its errors."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from portone_server_sdk import PortOneClient, errors
from portone_server_sdk import webhook as sdk_webhook

from tests.support.server import TEST_API_SECRET, TEST_WEBHOOK_SECRET, RunningServer
from tests.webhooks.conftest import deliveries, drain
from tests.webhooks.receiver import Receiver
from tests.webhooks.test_payments_e2e import card_payment


def _paid(client: httpx.Client, channels: dict[str, str], receiver: Receiver) -> tuple[str, str]:
    payment_id = f"wh-{uuid.uuid4().hex[:12]}"
    assert client.post(f"/payments/{payment_id}/instant", json=card_payment(channels["TOSSPAYMENTS"])).status_code \
        == 200
    receiver.wait_for(1)
    drain(client)
    (hook,) = client.get(f"/payments/{payment_id}").json()["webhooks"]
    return payment_id, hook["id"]


def _error(response: httpx.Response, status: int, type_: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["type"] == type_
    return body


def test_resend_creates_a_manual_delivery_with_the_same_body(
    client: httpx.Client, channels: dict[str, str], receiver: Receiver
) -> None:
    payment_id, original = _paid(client, channels, receiver)
    response = client.post(f"/payments/{payment_id}/resend-webhook", json={})
    assert response.status_code == 200, response.text
    webhook = response.json()["webhook"]
    assert webhook["id"] != original
    assert webhook["trigger"] == "MANUAL" and webhook["isAsync"] is True
    assert webhook["currentExecutionCount"] == 0 and "status" not in webhook
    first, second = receiver.wait_for(2)
    assert second.body == first.body
    assert second.headers["webhook-id"] == webhook["id"]
    sdk_webhook.verify(TEST_WEBHOOK_SECRET, second.text, second.headers)
    drain(client)
    hooks = client.get(f"/payments/{payment_id}").json()["webhooks"]
    assert [h["id"] for h in hooks] == [original, webhook["id"]]
    assert hooks[1]["status"] == "SUCCEEDED"


def test_resend_limit_counts_per_original_webhook(
    server: RunningServer, client: httpx.Client, channels: dict[str, str], receiver: Receiver
) -> None:
    payment_id, original = _paid(client, channels, receiver)
    limit = server.settings.max_webhook_resend_count
    resent: list[str] = []
    for i in range(limit):
        # Resending a resend counts against the same original.
        target = original if i % 2 == 0 or not resent else resent[-1]
        response = client.post(f"/payments/{payment_id}/resend-webhook", json={"webhookId": target})
        assert response.status_code == 200, response.text
        resent.append(response.json()["webhook"]["id"])
    before = deliveries(client, paymentId=payment_id)
    _error(client.post(f"/payments/{payment_id}/resend-webhook", json={"webhookId": original}), 400,
           "MAX_WEBHOOK_RETRY_COUNT_REACHED")
    _error(client.post(f"/payments/{payment_id}/resend-webhook", json={}), 400, "MAX_WEBHOOK_RETRY_COUNT_REACHED")
    assert len(deliveries(client, paymentId=payment_id)) == len(before) == limit + 1


def test_resend_errors(client: httpx.Client, channels: dict[str, str], receiver: Receiver) -> None:
    payment_id, original = _paid(client, channels, receiver)
    _error(client.post("/payments/no-such-payment/resend-webhook", json={}), 404, "PAYMENT_NOT_FOUND")
    _error(client.post(f"/payments/{payment_id}/resend-webhook", json={"webhookId": "nope"}), 404,
           "WEBHOOK_NOT_FOUND")
    _error(client.post(f"/payments/{payment_id}/resend-webhook", json={"webhookId": 5}), 400, "INVALID_REQUEST")
    _error(client.post(f"/payments/{payment_id}/resend-webhook", json={"storeId": "store-unknown"}), 403,
           "FORBIDDEN")
    # A webhook of another payment is not this payment's.
    other_id, _ = _paid(client, channels, receiver)
    _error(client.post(f"/payments/{other_id}/resend-webhook", json={"webhookId": original}), 404,
           "WEBHOOK_NOT_FOUND")
    # Nothing was created by the failed calls.
    assert len(deliveries(client, paymentId=payment_id)) == 1


def test_payment_without_webhooks_has_nothing_to_resend(
    client: httpx.Client, channels: dict[str, str], receiver: Receiver
) -> None:
    payment_id = f"wh-{uuid.uuid4().hex[:12]}"
    body = card_payment(channels["TOSSPAYMENTS"], skipWebhook=True)
    assert client.post(f"/payments/{payment_id}/instant", json=body).status_code == 200
    _error(client.post(f"/payments/{payment_id}/resend-webhook", json={}), 404, "WEBHOOK_NOT_FOUND")


def test_resend_through_the_sdk(server: RunningServer, client: httpx.Client, channels: dict[str, str],
                                receiver: Receiver) -> None:
    payment_id, original = _paid(client, channels, receiver)
    sdk = PortOneClient(secret=TEST_API_SECRET, base_url=server.base_url)
    response = sdk.payment.resend_webhook(payment_id=payment_id, webhook_id=original)
    assert response.webhook.trigger == "MANUAL"
    with pytest.raises(errors.WebhookNotFoundError):
        sdk.payment.resend_webhook(payment_id=payment_id, webhook_id="unknown")
    with pytest.raises(errors.PaymentNotFoundError):
        sdk.payment.resend_webhook(payment_id="no-such-payment")
