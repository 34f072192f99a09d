"""Manual confirm: the sandbox READY control, ``POST /payments/{id}/confirm``, and ``/capture``."""

from __future__ import annotations

from typing import Any

import httpx

from tests.payments.conftest import WebhookRecorder
from tests.payments.helpers import CARD, DECLINE_CARD, error, get, new_id


def _ready(client: httpx.Client, payment_id: str, channel_key: str, card: dict[str, str] = CARD,
           **extra: Any) -> dict[str, Any]:
    body = {"channelKey": channel_key, "orderName": "Manual confirm", "amount": {"total": 15000},
            "currency": "KRW", "method": {"card": {"credential": card}}, **extra}
    response = client.post(f"/_sandbox/payments/{payment_id}/ready", json=body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def test_ready_then_confirm(client: httpx.Client, channels: dict[str, str], webhooks: WebhookRecorder) -> None:
    payment_id = new_id()
    ready = _ready(client, payment_id, channels["INICIS_V2"], customer={"name": {"full": "Kim"}})
    assert ready["paymentId"] == payment_id and ready["paymentToken"].startswith("ptok_")
    assert "4242424242424242" not in ready["paymentToken"]
    payment = get(client, payment_id)
    assert payment["status"] == "READY" and payment["transactionId"] == ready["transactionId"]
    assert payment["customer"] == {"name": "Kim"} and payment["amount"]["total"] == 15000
    assert webhooks.types(payment_id) == ["Transaction.Ready"]

    url = f"/payments/{payment_id}/confirm"
    error(client.post(url, json={"paymentToken": "ptok_forged"}), 400, "INVALID_PAYMENT_TOKEN")
    error(client.post(url, json={"paymentToken": ready["paymentToken"][:-2] + "xx"}), 400, "INVALID_PAYMENT_TOKEN")
    for field, value in (("totalAmount", 15001), ("currency", "USD"), ("txId", "other"), ("isTest", False),
                         ("taxFreeAmount", 1)):
        error(client.post(url, json={"paymentToken": ready["paymentToken"], field: value}), 409,
              "INFORMATION_MISMATCH")
    error(client.post(f"/payments/{new_id()}/confirm", json={"paymentToken": ready["paymentToken"]}), 404,
          "PAYMENT_NOT_FOUND")
    assert get(client, payment_id)["status"] == "READY"

    confirmed = client.post(url, json={"paymentToken": ready["paymentToken"], "txId": ready["transactionId"],
                                       "totalAmount": 15000, "currency": "KRW", "isTest": True})
    assert confirmed.status_code == 200, confirmed.text
    payment = get(client, payment_id)
    assert payment["status"] == "PAID" and payment["pgTxId"] == confirmed.json()["pgTxId"]
    assert payment["paidAt"] == confirmed.json()["paidAt"]
    assert payment["transactionId"] == ready["transactionId"]
    assert webhooks.types(payment_id) == ["Transaction.Ready", "Transaction.Paid"]
    error(client.post(url, json={"paymentToken": ready["paymentToken"]}), 409, "ALREADY_PAID")

    # a newer READY attempt invalidates the older token; a declined confirm leaves a FAILED attempt
    other = new_id()
    old = _ready(client, other, channels["TOSSPAYMENTS"], card=DECLINE_CARD)
    new = _ready(client, other, channels["TOSSPAYMENTS"], card=DECLINE_CARD, skipWebhook=True)
    error(client.post(f"/payments/{other}/confirm", json={"paymentToken": old["paymentToken"]}), 400,
          "INVALID_PAYMENT_TOKEN")
    declined = error(client.post(f"/payments/{other}/confirm", json={"paymentToken": new["paymentToken"]}), 502,
                     "PG_PROVIDER")
    assert declined["pgCode"] == "REJECT_CARD_COMPANY"
    assert get(client, other)["status"] == "FAILED"
    error(client.post(f"/payments/{other}/confirm", json={"paymentToken": new["paymentToken"]}), 400,
          "INVALID_PAYMENT_TOKEN")
    assert len(client.get(f"/payments/{other}/transactions").json()["items"]) == 2


def test_capture(client: httpx.Client, channels: dict[str, str]) -> None:
    payment_id = new_id()
    ready = _ready(client, payment_id, channels["TOSSPAYMENTS"])
    error(client.post(f"/payments/{payment_id}/capture", json={}), 409, "PAYMENT_NOT_PAID")
    error(client.post(f"/payments/{new_id()}/capture", json={}), 404, "PAYMENT_NOT_FOUND")
    assert client.post(f"/payments/{payment_id}/confirm", json={"paymentToken": ready["paymentToken"]}).status_code \
        == 200
    captured = client.post(f"/payments/{payment_id}/capture", json={})
    assert captured.status_code == 200 and captured.json() == {}
    kakao = new_id()
    ready = _ready(client, kakao, channels["KAKAOPAY"])
    assert client.post(f"/payments/{kakao}/confirm", json={"paymentToken": ready["paymentToken"]}).status_code == 200
    assert get(client, kakao)["method"]["type"] == "PaymentMethodEasyPay"
    refused = error(client.post(f"/payments/{kakao}/capture", json={}), 502, "PG_PROVIDER")
    assert refused["pgCode"] == "SANDBOX_NOT_SUPPORTED"
