"""The fast GET path answers exactly what the regular route renders, and steps aside whenever it is unsure."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx

from localportone.auth.principal import StoreContext
from localportone.http.fast import STATS
from localportone.kernel.clock import parse_wire
from localportone.payments import documents, service
from tests.payments.helpers import card_body, get, new_id, pay, va_body
from tests.support.server import TEST_STORE_ID, RunningServer

__all__ = ["regular_rendering", "served_by_fast_path"]


def regular_rendering(server: RunningServer, payment_id: str) -> dict[str, Any]:
    """The payment as the regular route renders it (no stored document involved)."""

    async def render() -> dict[str, Any]:
        async with server.runtime.transactions.begin(write=False) as uow:
            merchant = server.runtime.summary.merchant_id if server.runtime.summary else ""
            return await service.get_payment(uow, StoreContext(merchant, TEST_STORE_ID), payment_id)

    return server.call(render)


def served_by_fast_path(client: httpx.Client, payment_id: str) -> tuple[dict[str, Any], bool]:
    before = STATS["served"]
    body = get(client, payment_id)
    return body, STATS["served"] == before + 1


def test_a_paid_then_cancelled_payment_is_served_fast_and_identical(
        client: httpx.Client, server: RunningServer, channels: dict[str, str]) -> None:
    payment_id = new_id()
    pay(client, payment_id, card_body(channels["TOSSPAYMENTS"]))
    body, fast = served_by_fast_path(client, payment_id)
    assert fast and body["status"] == "PAID"
    assert body == regular_rendering(server, payment_id)

    cancelled = client.post(f"/payments/{payment_id}/cancel", json={"reason": "part", "amount": 1000})
    assert cancelled.status_code == 200, cancelled.text
    body, fast = served_by_fast_path(client, payment_id)
    assert fast and body["status"] == "PARTIAL_CANCELLED" and len(body["cancellations"]) == 1
    assert body["amount"]["cancelled"] == 1000
    assert body == regular_rendering(server, payment_id)


def test_a_virtual_account_document_stops_being_served_at_its_expiry(
        client: httpx.Client, server: RunningServer, channels: dict[str, str]) -> None:
    payment_id = new_id()
    pay(client, payment_id, va_body(channels["TOSSPAYMENTS"], valid_hours=1))
    body, fast = served_by_fast_path(client, payment_id)
    assert fast and body["status"] == "VIRTUAL_ACCOUNT_ISSUED"
    expiry = parse_wire(body["method"]["expiredAt"])

    async def stored(at: datetime) -> str | None:
        async with server.runtime.transactions.read() as uow:
            return await documents.stored_document(uow.sql, TEST_STORE_ID, payment_id, at)

    assert server.call(lambda: stored(expiry - timedelta(seconds=1))) is not None
    # the wire shows milliseconds; the stored expiry may have microseconds more
    assert server.call(lambda: stored(expiry + timedelta(milliseconds=1))) is None
    moved = client.post("/_sandbox/clock", json={"advanceSeconds": 2 * 3600})
    assert moved.status_code == 200, moved.text
    assert get(client, payment_id)["status"] == "FAILED"
    body, fast = served_by_fast_path(client, payment_id)
    assert fast and body["status"] == "FAILED"


def test_errors_and_unknown_queries_take_the_regular_route(client: httpx.Client, anonymous: httpx.Client,
                                                           channels: dict[str, str]) -> None:
    before = STATS["served"]
    missing = client.get(f"/payments/{new_id()}")
    assert missing.status_code == 404 and missing.json()["type"] == "PAYMENT_NOT_FOUND"
    payment_id = new_id()
    pay(client, payment_id, card_body(channels["TOSSPAYMENTS"]))
    unauthorized = anonymous.get(f"/payments/{payment_id}")
    assert unauthorized.status_code == 401 and unauthorized.json()["type"] == "UNAUTHORIZED"
    other_store = client.get(f"/payments/{payment_id}", params={"storeId": "store-not-mine"})
    assert other_store.status_code == 403 and other_store.json()["type"] == "FORBIDDEN"
    assert STATS["served"] == before
