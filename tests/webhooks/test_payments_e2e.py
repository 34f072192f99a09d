"""End to end with the payments domain: a key-in payment's webhooks reach the receiver, verified by the official
SDK, and show up in ``Payment.webhooks``; ``skipWebhook`` and ``noticeUrls`` are honoured."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
from portone_server_sdk import PortOneClient
from portone_server_sdk import webhook as sdk_webhook

from tests.support.server import TEST_API_SECRET, TEST_STORE_ID, TEST_WEBHOOK_SECRET, RunningServer
from tests.webhooks.conftest import deliveries, drain
from tests.webhooks.receiver import Receiver, running_receiver

CARD = {"number": "4242424242424242", "expiryYear": "30", "expiryMonth": "12"}


def card_payment(channel_key: str, **extra: Any) -> dict[str, Any]:
    return {"channelKey": channel_key, "orderName": "webhook test order", "amount": {"total": 10000},
            "currency": "KRW", "method": {"card": {"credential": CARD}}, **extra}


def new_payment_id() -> str:
    return f"wh-{uuid.uuid4().hex[:12]}"


def test_key_in_payment_delivers_a_verified_transaction_paid(
    client: httpx.Client, channels: dict[str, str], receiver: Receiver
) -> None:
    payment_id = new_payment_id()
    response = client.post(f"/payments/{payment_id}/instant", json=card_payment(channels["TOSSPAYMENTS"]))
    assert response.status_code == 200, response.text
    (request,) = receiver.wait_for(1)
    verified = sdk_webhook.verify(TEST_WEBHOOK_SECRET, request.text, request.headers)
    assert isinstance(verified, sdk_webhook.WebhookTransactionPaid)
    assert verified.data.payment_id == payment_id and verified.data.store_id == TEST_STORE_ID
    drain(client)
    payment = client.get(f"/payments/{payment_id}").json()  # validated against the spec by the client fixture
    (hook,) = payment["webhooks"]
    assert hook["id"] == request.headers["webhook-id"]
    assert hook["status"] == "SUCCEEDED" and hook["paymentStatus"] == "PAID" and hook["isAsync"] is False
    assert verified.data.transaction_id == payment["transactionId"]
    assert json.loads(hook["request"]["body"])["timestamp"] == verified.timestamp


def test_sdk_sees_payment_webhooks(server: RunningServer, channels: dict[str, str], receiver: Receiver,
                                   client: httpx.Client) -> None:
    sdk = PortOneClient(secret=TEST_API_SECRET, base_url=server.base_url)
    payment_id = new_payment_id()
    sdk.payment.pay_instantly(payment_id=payment_id, channel_key=channels["TOSSPAYMENTS"], order_name="sdk order",
                              amount={"total": 5000}, currency="KRW",  # type: ignore[arg-type]
                              method={"card": {"credential": {"number": CARD["number"],  # type: ignore[arg-type]
                                                              "expiry_year": "30", "expiry_month": "12"}}})
    receiver.wait_for(1)
    drain(client)
    payment = sdk.payment.get_payment(payment_id=payment_id)
    assert not isinstance(payment, dict), payment  # a typed PaidPayment, webhooks included
    assert payment.webhooks is not None and len(payment.webhooks) == 1
    assert payment.webhooks[0].status == "SUCCEEDED"


def test_skip_webhook_sends_nothing(client: httpx.Client, channels: dict[str, str], receiver: Receiver) -> None:
    payment_id = new_payment_id()
    body = card_payment(channels["TOSSPAYMENTS"], skipWebhook=True)
    assert client.post(f"/payments/{payment_id}/instant", json=body).status_code == 200
    drain(client)
    assert receiver.settle(0.3) == []
    assert "webhooks" not in client.get(f"/payments/{payment_id}").json() or not client.get(
        f"/payments/{payment_id}").json()["webhooks"]
    # A later change without skipWebhook is announced.
    assert client.post(f"/payments/{payment_id}/cancel", json={"reason": "test"}).status_code == 200
    (request,) = receiver.wait_for(1)
    assert isinstance(sdk_webhook.verify(TEST_WEBHOOK_SECRET, request.text, request.headers),
                      sdk_webhook.WebhookTransactionCancelledCancelled)


def test_notice_urls_of_the_payment_are_used(client: httpx.Client, channels: dict[str, str],
                                             receiver: Receiver) -> None:
    with running_receiver() as other:
        payment_id = new_payment_id()
        body = card_payment(channels["TOSSPAYMENTS"], noticeUrls=[other.url])
        assert client.post(f"/payments/{payment_id}/instant", json=body).status_code == 200
        (request,) = other.wait_for(1)
        sdk_webhook.verify(TEST_WEBHOOK_SECRET, request.text, request.headers)
        drain(client)
    assert receiver.settle(0.3) == []
    assert [d["url"] for d in deliveries(client, paymentId=payment_id)] == [other.url]
