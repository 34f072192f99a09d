"""``billing_key_for_payment``: what the payments and schedules services read to charge a key."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from localportone.auth.principal import StoreContext
from localportone.billing_keys.service import BillingKeyForPayment, billing_key_for_payment
from localportone.pg.connector import CardInfo
from localportone.wire.errors import BillingKeyAlreadyDeletedError, BillingKeyNotFoundError, BillingKeyNotIssuedError
from tests.billing_keys.helpers import SHINHAN_DEBIT, card, issued_key, make_group
from tests.support.server import TEST_STORE_ID, RunningServer


def _lookup(server: RunningServer, client: httpx.Client, key: str, store_id: str = TEST_STORE_ID) -> Any:
    assert server.runtime.summary is not None
    merchant = server.runtime.summary.merchant_id

    async def run() -> Any:
        async with server.runtime.transactions.begin(write=False) as uow:
            try:
                return await billing_key_for_payment(uow, StoreContext(merchant, store_id), key)
            except Exception as exc:  # returned, not raised: the assertion happens on the test's side
                return exc

    return server.call(run)


def test_single_channel_key(server: RunningServer, client: httpx.Client, channels: dict[str, str]) -> None:
    key = issued_key(client, channels["KCP_V2"], SHINHAN_DEBIT, customer={"id": "c-1", "name": {"full": "Kim"}})
    info = _lookup(server, client, key)
    assert isinstance(info, BillingKeyForPayment)
    assert info.billing_key == key
    assert [c.key for c in info.channels] == [channels["KCP_V2"]]
    assert info.channels[0].pg_provider == "KCP_V2" and info.channels[0].store_id == TEST_STORE_ID
    assert set(info.pg_billing_keys) == {channels["KCP_V2"]}
    assert info.pg_billing_keys[channels["KCP_V2"]].startswith("sbk1_")
    assert info.channel_group is None
    assert info.card == CardInfo(brand="LOCAL", type="DEBIT", owner_type="PERSONAL", bin="94110000",
                                 number="94110000****0004", issuer="SHINHAN_CARD", publisher="SHINHAN_CARD",
                                 name=info.card.name if info.card else None)
    assert info.method_type == "CARD"
    assert info.easy_pay_provider is None
    assert info.customer == {"id": "c-1", "name": "Kim"}


def test_super_key_lists_only_issued_channels(server: RunningServer, client: httpx.Client,
                                              channels: dict[str, str]) -> None:
    group = make_group(server, ["TOSSPAYMENTS", "KAKAOPAY", "NICE_V2"])
    key = client.post("/billing-keys", json={"method": card(), "channelGroupId": group}).json()[
        "billingKeyInfo"]["billingKey"]
    info = _lookup(server, client, key)
    assert [c.pg_provider for c in info.channels] == ["NICE_V2", "TOSSPAYMENTS"]
    assert set(info.pg_billing_keys) == {channels["NICE_V2"], channels["TOSSPAYMENTS"]}
    assert info.channel_group is not None and info.channel_group.id == group
    assert len(info.channel_group.members) == 3


@pytest.mark.parametrize(("state", "error"), [
    ("unknown", BillingKeyNotFoundError),
    ("deleted", BillingKeyAlreadyDeletedError),
    ("pending", BillingKeyNotIssuedError),
    ("other store", BillingKeyNotFoundError),
])
def test_errors(server: RunningServer, client: httpx.Client, channels: dict[str, str], state: str,
                error: type[Exception]) -> None:
    if state == "unknown":
        key = "billing-key-nope"
    elif state == "deleted":
        key = issued_key(client, channels["TOSSPAYMENTS"])
        client.delete(f"/billing-keys/{key}")
    elif state == "pending":
        key = client.post("/_sandbox/billing-keys/issue-pending",
                          json={"method": card(), "channelKey": channels["TOSSPAYMENTS"]}).json()["billingKey"]
    else:
        key = issued_key(client, channels["TOSSPAYMENTS"])
        other = client.post("/_sandbox/stores", json={"name": "second"}).json()["store"]["id"]
        assert isinstance(_lookup(server, client, key, other), error)
        return
    assert isinstance(_lookup(server, client, key), error)
