"""Request builders and assertions shared by the payments tests."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

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

