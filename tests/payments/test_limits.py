"""Configurable limits: ``max_transaction_count`` (§16 item 26) and the optional cancel-count limit (§16 item 4)."""

from __future__ import annotations

from typing import Any

import httpx

from tests.payments.helpers import DECLINE_CARD, cancel, card_body, error, get, new_id, pay, stable

SETTINGS_OVERRIDES: dict[str, Any] = {"max_transaction_count": 2, "extra": {"max_cancel_count": 1}}


def test_limits(client: httpx.Client, channels: dict[str, str]) -> None:
    key = channels["TOSSPAYMENTS"]
    payment_id = new_id()
    pay(client, payment_id, card_body(key, card=DECLINE_CARD), 502)
    pay(client, payment_id, card_body(key, card=DECLINE_CARD), 502)
    before = get(client, payment_id)
    error(client.post(f"/payments/{payment_id}/instant", json=card_body(key)), 400, "MAX_TRANSACTION_COUNT_REACHED")
    assert stable(get(client, payment_id)) == stable(before)
    assert len(client.get(f"/payments/{payment_id}/transactions").json()["items"]) == 2

    paid = new_id()
    pay(client, paid, card_body(key))
    cancel(client, paid, {"reason": "first", "amount": 1000})
    error(client.post(f"/payments/{paid}/cancel", json={"reason": "second"}), 409, "MAX_CANCEL_COUNT_REACHED")
    assert get(client, paid)["amount"]["cancelled"] == 1000
