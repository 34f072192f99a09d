"""A payment's ``webhooks`` field on the fast GET path: the stored document plus the deliveries."""

from __future__ import annotations

import httpx

from tests.payments.helpers import card_body, new_id, pay
from tests.payments.test_fast_get import regular_rendering, served_by_fast_path
from tests.support.server import RunningServer


def test_webhooks_are_added_to_the_stored_document(client: httpx.Client, server: RunningServer,
                                                   channels: dict[str, str]) -> None:
    payment_id = new_id()
    pay(client, payment_id, card_body(channels["TOSSPAYMENTS"]))
    body, fast = served_by_fast_path(client, payment_id)
    assert fast and [w["paymentStatus"] for w in body["webhooks"]] == ["PAID"]
    assert body == regular_rendering(server, payment_id)
