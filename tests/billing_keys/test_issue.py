"""POST /billing-keys: one channel, a channel group (super billing key), and every way it can be refused."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.billing_keys.helpers import (
    DECLINE_CARD,
    GOOD_CARD,
    SHINHAN_DEBIT,
    card,
    error,
    issue,
    make_group,
    stored_rows,
)
from tests.support.server import TEST_STORE_ID, RunningServer


def test_issue_on_one_channel(client: httpx.Client, channels: dict[str, str]) -> None:
    response = issue(client, channels["TOSSPAYMENTS"], customData='{"plan": "gold"}')
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"billingKeyInfo"}
    info = body["billingKeyInfo"]
    assert info["billingKey"].startswith("billing-key-")
    assert info["issuedAt"].endswith("Z")
    [channel] = info["channels"]
    assert channel["key"] == channels["TOSSPAYMENTS"]
    assert channel["pgProvider"] == "TOSSPAYMENTS"
    assert channel["type"] == "TEST"
    got = client.get(f"/billing-keys/{info['billingKey']}").json()
    assert got["status"] == "ISSUED"
    assert got["customData"] == '{"plan": "gold"}'
    assert got["channels"] == info["channels"]
    assert got["issuedAt"] == info["issuedAt"]
    assert "channelGroup" not in got and "pgBillingKeyIssueResponses" not in got


def test_issued_key_shows_the_masked_card(client: httpx.Client, channels: dict[str, str]) -> None:
    key = issue(client, channels["KCP_V2"], SHINHAN_DEBIT).json()["billingKeyInfo"]["billingKey"]
    [method] = client.get(f"/billing-keys/{key}").json()["methods"]
    assert method["type"] == "BillingKeyPaymentMethodCard"
    assert method["card"] == {
        "brand": "LOCAL", "type": "DEBIT", "ownerType": "PERSONAL", "bin": "94110000",
        "number": "94110000****0004", "issuer": "SHINHAN_CARD", "publisher": "SHINHAN_CARD",
        **({"name": method["card"]["name"]} if "name" in method["card"] else {}),
    }


def test_the_full_card_number_is_never_stored(client: httpx.Client, channels: dict[str, str],
                                              server: RunningServer) -> None:
    from sqlalchemy import text

    assert issue(client, channels["TOSSPAYMENTS"], SHINHAN_DEBIT).status_code == 200

    async def dump() -> str:
        async with server.runtime.transactions.begin(write=False) as uow:
            rows = []
            for table in ("billing_keys", "billing_key_channels"):
                rows += [str(tuple(r)) for r in (await uow.session.execute(text(f"SELECT * FROM {table}"))).all()]
            return "\n".join(rows)

    stored = server.call(dump)
    assert "94110000****0004" in stored
    assert SHINHAN_DEBIT not in stored


@pytest.mark.parametrize(("customer", "expected"), [
    ({"name": {"full": "홍길동"}}, {"name": "홍길동"}),
    ({"name": {"separated": {"first": "Gildong", "last": "Hong"}}}, {"name": "Gildong Hong"}),
    ({"id": "customer-1", "email": "a@example.com", "phoneNumber": "01012345678", "gender": "MALE",
      "birthYear": "1990", "birthMonth": "01", "birthDay": "02", "zipcode": "04524", "country": "KR",
      "businessRegistrationNumber": "1234567890",
      "address": {"addressLine1": "Seoul", "addressLine2": "Jung-gu 1", "city": "Seoul", "country": "KR"}},
     {"id": "customer-1", "email": "a@example.com", "phoneNumber": "01012345678", "gender": "MALE",
      "birthYear": "1990", "birthMonth": "01", "birthDay": "02", "zipcode": "04524",
      "address": {"type": "SEPARATED", "oneLine": "Seoul Jung-gu 1", "addressLine1": "Seoul",
                  "addressLine2": "Jung-gu 1", "city": "Seoul", "country": "KR"}}),
    (None, {}),
])
def test_customer_is_shown_in_wire_form(client: httpx.Client, channels: dict[str, str],
                                        customer: dict[str, Any] | None, expected: dict[str, Any]) -> None:
    extra: dict[str, Any] = {"customer": customer} if customer is not None else {}
    response = client.post("/billing-keys", json={"method": card(), "channelKey": channels["TOSSPAYMENTS"], **extra})
    key = response.json()["billingKeyInfo"]["billingKey"]
    assert client.get(f"/billing-keys/{key}").json()["customer"] == expected


def test_group_issues_on_every_channel_and_reports_partial_failure(
    client: httpx.Client, channels: dict[str, str], server: RunningServer
) -> None:
    # Kakao Pay takes cards only in its own window: a key-in issuance is refused there.
    group = make_group(server, ["TOSSPAYMENTS", "KAKAOPAY", "KCP_V2"])
    response = client.post("/billing-keys", json={"method": card(), "channelGroupId": group})
    assert response.status_code == 200, response.text
    body = response.json()
    info = body["billingKeyInfo"]
    # Members are tried in the group's order (by channel name); only the channels that issued carry the key.
    assert [c["pgProvider"] for c in info["channels"]] == ["KCP_V2", "TOSSPAYMENTS"]
    [failure] = body["channelSpecificFailures"]
    assert failure["type"] == "PG_PROVIDER"
    assert failure["channel"]["key"] == channels["KAKAOPAY"]
    assert failure["pgCode"] == "SANDBOX_NOT_SUPPORTED"
    assert failure["pgMessage"]

    got = client.get(f"/billing-keys/{info['billingKey']}").json()
    assert got["channelGroup"] == {"id": group, "name": "test group", "isForTest": True}
    assert [c["pgProvider"] for c in got["channels"]] == ["KCP_V2", "TOSSPAYMENTS"]
    results = got["pgBillingKeyIssueResponses"]
    assert [(r["type"], r["channel"]["pgProvider"]) for r in results] == [
        ("FAILED", "KAKAOPAY"), ("ISSUED", "KCP_V2"), ("ISSUED", "TOSSPAYMENTS")]
    assert results[1]["pgTxId"] and results[1]["method"]["type"] == "BillingKeyPaymentMethodCard"
    assert results[0]["failure"]["pgCode"] == "SANDBOX_NOT_SUPPORTED"
    assert results[0]["failure"]["failedAt"].endswith("Z")


def test_seeded_smart_routing_group_issues_a_super_key(client: httpx.Client) -> None:
    group = client.get("/_sandbox/channels").json()["channelGroups"][0]
    # INICIS_V2 needs the birth date and card password to issue a key: give them, every member succeeds.
    method = card(GOOD_CARD, birthOrBusinessRegistrationNumber="900101", passwordTwoDigits="12")
    response = client.post("/billing-keys", json={"method": method, "channelGroupId": group["id"]})
    assert response.status_code == 200, response.text
    body = response.json()
    assert "channelSpecificFailures" not in body
    assert {c["key"] for c in body["billingKeyInfo"]["channels"]} == {c["key"] for c in group["channels"]}


def test_group_where_every_channel_refuses_is_channel_specific(
    client: httpx.Client, channels: dict[str, str], server: RunningServer
) -> None:
    group = make_group(server, ["TOSSPAYMENTS", "KAKAOPAY"])
    body = error(client.post("/billing-keys", json={"method": card(DECLINE_CARD), "channelGroupId": group}),
                 502, "CHANNEL_SPECIFIC")
    assert body["succeededChannels"] == []
    assert [(f["type"], f["channel"]["pgProvider"], f["pgCode"]) for f in body["failures"]] == [
        ("PG_PROVIDER", "KAKAOPAY", "SANDBOX_NOT_SUPPORTED"), ("PG_PROVIDER", "TOSSPAYMENTS", "REJECT_CARD_COMPANY")]
    # The failed issuance is recorded (its BillingKey.Failed webhook names it) but never shown.
    [(key, status)] = stored_rows(server)
    assert status == "FAILED"
    error(client.get(f"/billing-keys/{key}"), 404, "BILLING_KEY_NOT_FOUND")
    assert client.get("/billing-keys").json()["items"] == []


@pytest.mark.parametrize(("number", "pg_code"), [
    (DECLINE_CARD, "REJECT_CARD_COMPANY"),
    ("4000000000009995", "INSUFFICIENT_FUNDS"),
    ("4000000000000069", "EXPIRED_CARD"),
    ("4242424242424241", "INVALID_CARD_NUMBER"),
])
def test_declined_card_is_pg_provider(client: httpx.Client, channels: dict[str, str], server: RunningServer,
                                      number: str, pg_code: str) -> None:
    body = error(issue(client, channels["TOSSPAYMENTS"], number), 502, "PG_PROVIDER")
    assert body["pgCode"] == pg_code
    assert body["pgMessage"]
    assert [status for _key, status in stored_rows(server)] == ["FAILED"]
    assert client.get("/billing-keys").json()["page"]["totalCount"] == 0


def test_cards_that_only_fail_when_charged_issue_fine(client: httpx.Client, channels: dict[str, str]) -> None:
    for number in ("4000000000000341", "4000000000000358", "4000000000003089"):
        assert issue(client, channels["TOSSPAYMENTS"], number).status_code == 200


def test_profile_that_needs_owner_auth(client: httpx.Client, channels: dict[str, str]) -> None:
    body = error(issue(client, channels["INICIS_V2"]), 502, "PG_PROVIDER")
    assert body["pgCode"] == "MISSING_CARD_OWNER_AUTH"
    method = card(GOOD_CARD, birthOrBusinessRegistrationNumber="900101", passwordTwoDigits="12")
    ok = client.post("/billing-keys", json={"method": method, "channelKey": channels["INICIS_V2"]})
    assert ok.status_code == 200, ok.text


def test_unknown_channel_or_group_is_404(client: httpx.Client, server: RunningServer) -> None:
    error(issue(client, "channel-key-nope"), 404, "CHANNEL_NOT_FOUND")
    error(client.post("/billing-keys", json={"method": card(), "channelGroupId": "channel-group-test-nope"}),
          404, "CHANNEL_NOT_FOUND")
    assert stored_rows(server) == []


def test_channel_of_another_store_is_404(client: httpx.Client, server: RunningServer) -> None:
    other = client.post("/_sandbox/stores", json={"name": "second shop"}).json()
    their_channel = next(c["key"] for c in other["channels"] if c["pgProvider"] == "TOSSPAYMENTS")
    error(issue(client, their_channel), 404, "CHANNEL_NOT_FOUND")
    # Naming their store works.
    response = issue(client, their_channel, storeId=other["store"]["id"])
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(("credential", "field"), [
    ({"number": "4242-4242-4242-4242"}, "number"),
    ({"number": "\uff14\uff12" * 8}, "number"),  # full-width digits are not ASCII digits
    ({"number": ""}, "number"),
    ({"expiryMonth": "13"}, "expiryMonth"),
    ({"expiryMonth": "00"}, "expiryMonth"),
    ({"expiryMonth": "1"}, "expiryMonth"),
    ({"expiryYear": "2030"}, "expiryYear"),
    ({"expiryYear": "3a"}, "expiryYear"),
])
def test_card_format_errors_are_400_before_the_pg(client: httpx.Client, channels: dict[str, str],
                                                  server: RunningServer, credential: dict[str, str],
                                                  field: str) -> None:
    method = card()
    method["card"]["credential"].update(credential)
    body = error(client.post("/billing-keys", json={"method": method, "channelKey": channels["TOSSPAYMENTS"]}),
                 400, "INVALID_REQUEST")
    assert field in body["message"]
    assert stored_rows(server) == []


@pytest.mark.parametrize("payload", [
    {"method": card()},
    {"method": card(), "channelKey": "k", "channelGroupId": "g"},
    {"method": {}, "channelKey": "CHANNEL"},
    {"channelKey": "CHANNEL"},
    {"method": card(), "channelKey": "CHANNEL", "customer": {"name": {"full": "A", "separated":
                                                                       {"first": "B", "last": "C"}}}},
    {"method": card(), "channelKey": "CHANNEL", "customer": {"name": {}}},
    {"method": {"card": {"credential": {"number": 4242424242424242, "expiryYear": "30", "expiryMonth": "12"}}},
     "channelKey": "CHANNEL"},
])
def test_bad_requests_are_400(client: httpx.Client, channels: dict[str, str], server: RunningServer,
                              payload: dict[str, Any]) -> None:
    if payload.get("channelKey") == "CHANNEL":
        payload = {**payload, "channelKey": channels["TOSSPAYMENTS"]}
    error(client.post("/billing-keys", json=payload), 400, "INVALID_REQUEST")
    assert stored_rows(server) == []


def test_bypass_is_ignored_and_notice_urls_accepted(client: httpx.Client, channels: dict[str, str]) -> None:
    response = issue(client, channels["TOSSPAYMENTS"], bypass={"tosspayments": {"x": 1}},
                     noticeUrls=["https://example.com/hook"], skipWebhook=True)
    assert response.status_code == 200, response.text


def test_storeid_of_a_store_we_may_not_use_is_403(client: httpx.Client, channels: dict[str, str]) -> None:
    error(issue(client, channels["TOSSPAYMENTS"], storeId="store-unknown"), 403, "FORBIDDEN")


def test_unauthenticated_is_401(anonymous: httpx.Client, channels: dict[str, str]) -> None:
    error(issue(anonymous, channels["TOSSPAYMENTS"]), 401, "UNAUTHORIZED")


def test_the_key_belongs_to_the_store_it_was_issued_in(client: httpx.Client, channels: dict[str, str]) -> None:
    key = issue(client, channels["TOSSPAYMENTS"]).json()["billingKeyInfo"]["billingKey"]
    got = client.get(f"/billing-keys/{key}", params={"storeId": TEST_STORE_ID}).json()
    assert got["storeId"] == TEST_STORE_ID
    assert got["merchantId"].startswith("merchant-")
