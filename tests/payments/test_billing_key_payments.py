"""``POST /payments/{id}/billing-key``: charging billing keys issued by the billing-keys domain."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.payments.conftest import WebhookRecorder
from tests.payments.helpers import CARD, card_body, error, get, new_id


def _issue(client: httpx.Client, card: dict[str, str] = CARD, **target: Any) -> str:
    response = client.post("/billing-keys", json={
        "method": {"card": {"credential": card}}, "customer": {"id": "subscriber-1", "email": "sub@example.com"},
        **target,
    })
    if response.status_code in (404, 405) and response.json().get("type") in ("NOT_FOUND", "METHOD_NOT_ALLOWED"):
        pytest.skip("the billing-keys domain does not answer POST /billing-keys yet")
    assert response.status_code == 200, response.text
    return str(response.json()["billingKeyInfo"]["billingKey"])


def _charge_body(billing_key: str, total: int = 9900, **extra: Any) -> dict[str, Any]:
    return {"billingKey": billing_key, "orderName": "Monthly plan", "amount": {"total": total}, "currency": "KRW",
            **extra}


def test_billing_key_payment(client: httpx.Client, channels: dict[str, str], webhooks: WebhookRecorder) -> None:
    billing_key = _issue(client, channelKey=channels["TOSSPAYMENTS"])
    payment_id = new_id("sub")
    url = f"/payments/{payment_id}/billing-key"
    response = client.post(url, json=_charge_body(billing_key, noticeUrls=["http://127.0.0.1:9/sub"]))
    assert response.status_code == 200, response.text
    summary = response.json()["payment"]
    payment = get(client, payment_id)
    assert payment["status"] == "PAID" and payment["billingKey"] == billing_key
    assert payment["pgTxId"] == summary["pgTxId"] and payment["channel"]["key"] == channels["TOSSPAYMENTS"]
    assert payment["customer"] == {"id": "subscriber-1", "email": "sub@example.com"}  # the key's customer
    assert payment["method"]["type"] == "PaymentMethodCard" and payment["method"]["card"]["bin"] == "42424242"
    assert "scheduleId" not in payment
    [hook] = webhooks.of(payment_id)
    assert (hook.event_type, hook.is_async, hook.notice_urls) == ("Transaction.Paid", False, ["http://127.0.0.1:9/sub"])
    error(client.post(url, json=_charge_body(billing_key)), 409, "ALREADY_PAID")
    search = {"filter": {"textSearch": [{"field": "BILLING_KEY", "value": billing_key}]}}
    assert client.get("/payments", params={"requestBody": json.dumps(search)}).json()["page"]["totalCount"] == 1

    other = f"/payments/{new_id()}/billing-key"
    error(client.post(other, json=_charge_body(billing_key, channelKey=channels["KCP_V2"])), 404, "CHANNEL_NOT_FOUND")
    error(client.post(other, json=_charge_body("billing-key-unknown")), 404, "BILLING_KEY_NOT_FOUND")
    error(client.post(other, json=_charge_body(billing_key, amount={"total": 100, "taxFree": 101})), 409,
          "SUM_OF_PARTS_EXCEEDS_TOTAL_AMOUNT")
    customer = {"name": {"full": "Payer"}}
    assert client.post(other, json=_charge_body(billing_key, customer=customer)).status_code == 200

    # a key whose every charge is refused: FAILED attempt with the billing key, then 502
    refusing = _issue(client, {"number": "4000000000000341", "expiryYear": "30", "expiryMonth": "12"},
                      channelKey=channels["KCP_V2"])
    declined_id = new_id()
    declined = error(client.post(f"/payments/{declined_id}/billing-key", json=_charge_body(refusing)), 502,
                     "PG_PROVIDER")
    assert declined["pgCode"] == "REJECT_CARD_COMPANY"
    failed = get(client, declined_id)
    assert failed["status"] == "FAILED" and failed["billingKey"] == refusing
    assert webhooks.types(declined_id) == ["Transaction.Failed"]

    deleted = client.delete(f"/billing-keys/{refusing}")
    assert deleted.status_code == 200, deleted.text
    error(client.post(f"/payments/{new_id()}/billing-key", json=_charge_body(refusing)), 409,
          "BILLING_KEY_ALREADY_DELETED")


def test_group_billing_key_and_schedules(client: httpx.Client, channels: dict[str, str], group_id: str) -> None:
    billing_key = _issue(client, channelGroupId=group_id)
    payment_id = new_id()
    response = client.post(f"/payments/{payment_id}/billing-key", json=_charge_body(billing_key))
    assert response.status_code == 200, response.text
    payment = get(client, payment_id)
    assert payment["channelGroup"]["id"] == group_id

    held = new_id()
    time_to_pay = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    scheduled = client.post(f"/payments/{held}/schedule", json={"payment": _charge_body(billing_key),
                                                                "timeToPay": time_to_pay})
    if scheduled.status_code in (404, 405):
        pytest.skip("the schedules domain does not answer POST /payments/{id}/schedule yet")
    assert scheduled.status_code == 200, scheduled.text
    error(client.post(f"/payments/{held}/billing-key", json=_charge_body(billing_key)), 409,
          "PAYMENT_SCHEDULE_ALREADY_EXISTS")
    error(client.post(f"/payments/{held}/instant", json=card_body(channels["TOSSPAYMENTS"])), 409,
          "PAYMENT_SCHEDULE_ALREADY_EXISTS")
    error(client.get(f"/payments/{held}"), 404, "PAYMENT_NOT_FOUND")
