"""GET /billing-keys/{billingKey} and GET /billing-keys (filters, sort, paging, merchant-level storeId)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.billing_keys.helpers import SHINHAN_DEBIT, card, error, issued_key, make_group
from tests.support.server import TEST_STORE_ID, RunningServer


def _advance(client: httpx.Client, seconds: int) -> None:
    assert client.post("/_sandbox/clock", json={"advanceSeconds": seconds}).status_code == 200


def _list(client: httpx.Client, **body: Any) -> dict[str, Any]:
    response = client.get("/billing-keys", params={"requestBody": json.dumps(body)})
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def _keys(client: httpx.Client, **body: Any) -> list[str]:
    return [item["billingKey"] for item in _list(client, **body)["items"]]


def test_get_issued_key_has_every_required_field(client: httpx.Client, channels: dict[str, str]) -> None:
    key = issued_key(client, channels["TOSSPAYMENTS"], customer={"id": "c-1", "name": {"full": "Kim"}})
    body = client.get(f"/billing-keys/{key}").json()
    assert body["status"] == "ISSUED"
    assert body["billingKey"] == key
    assert body["storeId"] == TEST_STORE_ID
    assert body["merchantId"].startswith("merchant-")
    assert body["customer"] == {"id": "c-1", "name": "Kim"}
    assert [c["key"] for c in body["channels"]] == [channels["TOSSPAYMENTS"]]
    assert body["methods"][0]["card"]["number"] == "42424242****4242"
    assert body["requestedAt"] <= body["issuedAt"]
    assert "deletedAt" not in body


def test_get_deleted_key(client: httpx.Client, channels: dict[str, str]) -> None:
    key = issued_key(client, channels["TOSSPAYMENTS"])
    issued = client.get(f"/billing-keys/{key}").json()
    deleted_at = client.delete(f"/billing-keys/{key}").json()["deletedAt"]
    body = client.get(f"/billing-keys/{key}").json()
    assert body == {**issued, "status": "DELETED", "deletedAt": deleted_at}


def test_unknown_key_is_404(client: httpx.Client) -> None:
    error(client.get("/billing-keys/billing-key-nope"), 404, "BILLING_KEY_NOT_FOUND")


def test_key_with_slash_in_path_is_looked_up_whole(client: httpx.Client) -> None:
    error(client.get("/billing-keys/a%2Fb"), 404, "BILLING_KEY_NOT_FOUND")


def test_key_of_another_store_needs_its_store_id(client: httpx.Client, channels: dict[str, str]) -> None:
    other = client.post("/_sandbox/stores", json={"name": "second shop"}).json()
    their_channel = next(c["key"] for c in other["channels"] if c["pgProvider"] == "TOSSPAYMENTS")
    key = issued_key(client, their_channel, storeId=other["store"]["id"])
    error(client.get(f"/billing-keys/{key}"), 404, "BILLING_KEY_NOT_FOUND")
    assert client.get(f"/billing-keys/{key}", params={"storeId": other["store"]["id"]}).status_code == 200
    error(client.get(f"/billing-keys/{key}", params={"storeId": "store-unknown"}), 403, "FORBIDDEN")


@pytest.fixture
def keys(client: httpx.Client, channels: dict[str, str], server: RunningServer) -> dict[str, str]:
    """Four keys a minute apart: alice (Toss), bob (KCP, Shinhan debit), group (Toss+NICE), deleted (Toss)."""
    group = make_group(server, ["TOSSPAYMENTS", "NICE_V2"], name="vip group")
    made = {}
    made["alice"] = issued_key(client, channels["TOSSPAYMENTS"], customer={
        "id": "cust-alice", "name": {"full": "Alice Kim"}, "email": "alice@example.com", "phoneNumber": "0101111",
        "zipcode": "04524", "address": {"addressLine1": "Seoul", "addressLine2": "Jongno 1"}})
    _advance(client, 60)
    made["bob"] = issued_key(client, channels["KCP_V2"], SHINHAN_DEBIT, customer={"id": "cust-bob"})
    _advance(client, 60)
    response = client.post("/billing-keys", json={"method": card(), "channelGroupId": group})
    made["group"] = response.json()["billingKeyInfo"]["billingKey"]
    _advance(client, 60)
    made["deleted"] = issued_key(client, channels["TOSSPAYMENTS"])
    _advance(client, 60)
    assert client.delete(f"/billing-keys/{made['deleted']}").status_code == 200
    made["group_id"] = group
    return made


def test_list_defaults_to_newest_request_first(client: httpx.Client, keys: dict[str, str]) -> None:
    body = _list(client)
    assert [i["billingKey"] for i in body["items"]] == [keys["deleted"], keys["group"], keys["bob"], keys["alice"]]
    assert body["page"] == {"number": 0, "size": 10, "totalCount": 4}
    assert body["items"][0]["status"] == "DELETED"


def test_list_sort(client: httpx.Client, keys: dict[str, str]) -> None:
    oldest_first = [keys["alice"], keys["bob"], keys["group"], keys["deleted"]]
    assert _keys(client, sort={"order": "ASC"}) == oldest_first
    assert _keys(client, sort={"by": "ISSUED_AT", "order": "ASC"}) == oldest_first
    # Keys never deleted have no deletedAt: they come last.
    assert _keys(client, sort={"by": "DELETED_AT"})[0] == keys["deleted"]
    assert _keys(client, sort={"by": "DELETED_AT", "order": "ASC"})[0] == keys["deleted"]
    # STATUS_TIMESTAMP: deletedAt for the deleted key (the newest change), issuedAt for the others.
    assert _keys(client, sort={"by": "STATUS_TIMESTAMP"}) == [keys["deleted"], keys["group"], keys["bob"],
                                                              keys["alice"]]


def test_list_paging(client: httpx.Client, keys: dict[str, str]) -> None:
    body = _list(client, page={"number": 1, "size": 3})
    assert [i["billingKey"] for i in body["items"]] == [keys["alice"]]
    assert body["page"] == {"number": 1, "size": 3, "totalCount": 4}
    assert _list(client, page={"number": 5, "size": 3})["items"] == []


@pytest.mark.parametrize("page", [{"size": 0}, {"size": 1001}, {"number": -1}, {"size": "10"}])
def test_list_bad_page_is_400(client: httpx.Client, page: dict[str, Any]) -> None:
    error(client.get("/billing-keys", params={"requestBody": json.dumps({"page": page})}), 400, "INVALID_REQUEST")


def test_list_bad_request_body_is_400(client: httpx.Client) -> None:
    error(client.get("/billing-keys", params={"requestBody": "{"}), 400, "INVALID_REQUEST")
    error(client.get("/billing-keys", params={"requestBody": json.dumps({"filter": {"status": ["NOPE"]}})}),
          400, "INVALID_REQUEST")
    error(client.get("/billing-keys", params={"requestBody": json.dumps({"sort": {"by": "TIME_TO_PAY"}})}),
          400, "INVALID_REQUEST")


FILTER_CASES: list[tuple[dict[str, Any], list[str]]] = [
    ({"status": ["DELETED"]}, ["deleted"]),
    ({"status": ["ISSUED"]}, ["group", "bob", "alice"]),
    ({"status": ["ISSUED", "DELETED"]}, ["deleted", "group", "bob", "alice"]),
    ({"customerId": "cust-bob"}, ["bob"]),
    ({"pgProviders": ["KCP_V2"]}, ["bob"]),
    ({"pgProviders": ["NICE_V2"]}, ["group"]),
    ({"pgProviders": ["TOSSPAYMENTS"]}, ["deleted", "group", "alice"]),
    ({"pgCompanies": ["KCP", "NICE"]}, ["group", "bob"]),
    ({"methods": ["CARD"]}, ["deleted", "group", "bob", "alice"]),
    ({"methods": ["EASY_PAY", "MOBILE"]}, []),
    ({"platformType": "API"}, ["deleted", "group", "bob", "alice"]),
    ({"platformType": "SDK_PC"}, []),
    ({"version": "V2"}, ["deleted", "group", "bob", "alice"]),
    ({"version": "V1"}, []),
    ({"textSearch": {"field": "CUSTOMER_NAME", "value": "Alice"}}, ["alice"]),
    ({"textSearch": {"field": "CUSTOMER_NAME", "value": "alice"}}, []),
    ({"textSearch": {"field": "CUSTOMER_NAME", "value": "Kim"}}, []),
    ({"textSearch": {"field": "CUSTOMER_EMAIL", "value": "alice@"}}, ["alice"]),
    ({"textSearch": {"field": "CUSTOMER_PHONE_NUMBER", "value": "0101"}}, ["alice"]),
    ({"textSearch": {"field": "CUSTOMER_ADDRESS", "value": "Seoul Jong"}}, ["alice"]),
    ({"textSearch": {"field": "CUSTOMER_ZIPCODE", "value": "045"}}, ["alice"]),
    ({"textSearch": {"field": "CARD_BIN", "value": "9411"}}, ["bob"]),
    ({"textSearch": {"field": "CARD_NUMBER", "value": "94110000****0004"}}, ["bob"]),
    ({"textSearch": {"field": "PG_MERCHANT_ID", "value": "T000"}}, ["bob"]),
    ({"textSearch": {"field": "CHANNEL_GROUP_NAME", "value": "vip"}}, ["group"]),
    ({"textSearch": {"field": "USER_AGENT", "value": "python-httpx"}}, ["deleted", "group", "bob", "alice"]),
]


def test_list_filters(client: httpx.Client, keys: dict[str, str]) -> None:
    # One server for every case: each case is a read of the same four keys.
    for filter_, expected in FILTER_CASES:
        assert _keys(client, filter=filter_) == [keys[name] for name in expected], filter_


def test_list_filters_by_channel_group_and_billing_key(client: httpx.Client, keys: dict[str, str]) -> None:
    assert _keys(client, filter={"channelGroupIds": [keys["group_id"]]}) == [keys["group"]]
    assert _keys(client, filter={"channelGroupIds": []}) == []
    assert _keys(client, filter={"textSearch": {"field": "BILLING_KEY", "value": keys["bob"]}}) == [keys["bob"]]


def test_list_time_range(client: httpx.Client, keys: dict[str, str]) -> None:
    bob = client.get(f"/billing-keys/{keys['bob']}").json()
    group = client.get(f"/billing-keys/{keys['group']}").json()
    window = {"from": bob["requestedAt"], "until": group["requestedAt"]}
    assert _keys(client, filter=window) == [keys["group"], keys["bob"]]
    issued = {"from": bob["issuedAt"], "until": group["issuedAt"], "timeRangeField": "ISSUED_AT"}
    assert _keys(client, filter=issued) == [keys["group"], keys["bob"]]
    assert _keys(client, filter={**issued, "until": bob["issuedAt"]}) == [keys["bob"]]
    deleted = client.get(f"/billing-keys/{keys['deleted']}").json()
    assert _keys(client, filter={"timeRangeField": "DELETED_AT", "from": deleted["deletedAt"]}) == [keys["deleted"]]
    assert _keys(client, filter={"timeRangeField": "STATUS_TIMESTAMP", "from": deleted["deletedAt"]}) == [
        keys["deleted"]]


def test_list_defaults_to_the_last_90_days(client: httpx.Client, keys: dict[str, str]) -> None:
    _advance(client, 91 * 24 * 3600)
    assert _keys(client) == []
    assert len(_keys(client, filter={"from": "2000-01-01T00:00:00Z"})) == 4


def test_list_is_merchant_wide_unless_a_store_is_named(client: httpx.Client, keys: dict[str, str]) -> None:
    other = client.post("/_sandbox/stores", json={"name": "second shop"}).json()
    store_id = other["store"]["id"]
    their_channel = next(c["key"] for c in other["channels"] if c["pgProvider"] == "TOSSPAYMENTS")
    theirs = issued_key(client, their_channel, storeId=store_id)
    assert _keys(client)[0] == theirs
    assert len(_keys(client)) == 5
    assert _keys(client, filter={"storeId": store_id}) == [theirs]
    assert theirs not in _keys(client, filter={"storeId": TEST_STORE_ID})
    assert len(_keys(client, filter={"storeId": TEST_STORE_ID})) == 4
    error(client.get("/billing-keys", params={"requestBody": json.dumps({"filter": {"storeId": "store-nope"}})}),
          403, "FORBIDDEN")


def test_list_sends_body_without_request_body_param(client: httpx.Client, keys: dict[str, str]) -> None:
    response = client.request("GET", "/billing-keys", content=json.dumps({"filter": {"customerId": "cust-bob"}}))
    assert [i["billingKey"] for i in response.json()["items"]] == [keys["bob"]]
