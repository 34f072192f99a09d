"""A payment's ``webhooks`` field on the fast GET path: the stored document plus the deliveries."""

from __future__ import annotations

import httpx

from tests.payments.helpers import card_body, new_id, pay
from tests.payments.test_fast_get import regular_rendering, served_by_fast_path
from tests.support.server import RunningServer
from tests.webhooks.conftest import drain


def test_webhooks_are_added_to_the_stored_document(client: httpx.Client, server: RunningServer,
                                                   channels: dict[str, str]) -> None:
    payment_id = new_id()
    pay(client, payment_id, card_body(channels["TOSSPAYMENTS"]))
    drain(client)  # the delivery is attempted before both reads, so that they see the same attempt
    body, fast = served_by_fast_path(client, payment_id)
    assert fast and [w["paymentStatus"] for w in body["webhooks"]] == ["PAID"]
    assert body["webhooks"][0]["currentExecutionCount"] >= 1
    assert body == regular_rendering(server, payment_id)
