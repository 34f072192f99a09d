"""Shared bits of the billing-key tests: cards, issue calls, white-box reads."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.server import RunningServer

GOOD_CARD = "4242424242424242"
DECLINE_CARD = "4000000000000002"
SHINHAN_DEBIT = "9411000000000004"


def card(number: str = GOOD_CARD, **extra: str) -> dict[str, Any]:
    return {"card": {"credential": {"number": number, "expiryYear": "30", "expiryMonth": "12", **extra}}}


def issue(client: httpx.Client, channel_key: str, number: str = GOOD_CARD, **fields: Any) -> httpx.Response:
    return client.post("/billing-keys", json={"method": card(number), "channelKey": channel_key, **fields})


def issued_key(client: httpx.Client, channel_key: str, number: str = GOOD_CARD, **fields: Any) -> str:
    response = issue(client, channel_key, number, **fields)
    assert response.status_code == 200, response.text
    key: str = response.json()["billingKeyInfo"]["billingKey"]
    return key


def error(response: httpx.Response, status: int, type_: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["type"] == type_, body
    return body


def stored_rows(server: RunningServer) -> list[tuple[str, str]]:
    """(billing key, status) of every stored key, FAILED and PENDING ones included."""
    from sqlalchemy import select

    from localportone.billing_keys.models import BillingKey

    async def read() -> list[tuple[str, str]]:
        async with server.runtime.transactions.begin(write=False) as uow:
            rows = (await uow.session.execute(select(BillingKey.billing_key, BillingKey.status)
                                              .order_by(BillingKey.requested_at))).all()
            return [(r[0], r[1]) for r in rows]

    result: list[tuple[str, str]] = server.call(read)
    return result


def make_group(server: RunningServer, providers: list[str], name: str = "test group") -> str:
    """A channel group of the test store made of the seeded channels of ``providers`` (no API creates groups)."""
    from localportone.kernel import ids
    from localportone.stores import service as stores
    from localportone.stores.models import ChannelGroup, ChannelGroupMember
    from tests.support.server import TEST_STORE_ID

    async def create() -> str:
        async with server.runtime.transactions.begin() as uow:
            channels = {c.pg_provider: c for c in await stores.list_channels(uow.session, TEST_STORE_ID)}
            group_id = ids.channel_group_id(TEST_STORE_ID, name, is_test=True)
            uow.session.add(ChannelGroup(id=group_id, store_id=TEST_STORE_ID, name=name, is_for_test=True,
                                         created_at=uow.now))
            await uow.session.flush()
            for i, provider in enumerate(providers):
                uow.session.add(ChannelGroupMember(group_id=group_id, channel_id=channels[provider].id,
                                                   ratio=0 if i else 1))
            return group_id

    result: str = server.call(create)
    return result
