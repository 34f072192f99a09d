"""DELETE /billing-keys/{billingKey}, and its errors."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from localportone.pg.registry import SANDBOX_OVERRIDES
from localportone.pg.sandbox.overrides import ForcedOutcome
from tests.billing_keys.helpers import card, error, issued_key, make_group
from tests.support.server import RunningServer


@pytest.fixture(autouse=True)
def _no_forced_outcomes_left(channels: dict[str, str]) -> Iterator[None]:
    yield
    for key in channels.values():  # forced outcomes live in the process: never leak one into the next test
        while SANDBOX_OVERRIDES.take(key, "delete_billing_key") is not None:
            pass


def test_delete_marks_the_key_deleted(client: httpx.Client, channels: dict[str, str]) -> None:
    key = issued_key(client, channels["TOSSPAYMENTS"])
    response = client.delete(f"/billing-keys/{key}", params={"reason": "cancelled plan", "requester": "CUSTOMER"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"deletedAt"}
    got = client.get(f"/billing-keys/{key}").json()
    assert got["status"] == "DELETED"
    assert got["deletedAt"] == body["deletedAt"]


def test_deleting_twice_is_409(client: httpx.Client, channels: dict[str, str]) -> None:
    key = issued_key(client, channels["TOSSPAYMENTS"])
    deleted_at = client.delete(f"/billing-keys/{key}").json()["deletedAt"]
    error(client.delete(f"/billing-keys/{key}"), 409, "BILLING_KEY_ALREADY_DELETED")
    assert client.get(f"/billing-keys/{key}").json()["deletedAt"] == deleted_at


def test_unknown_key_is_404(client: httpx.Client) -> None:
    error(client.delete("/billing-keys/billing-key-nope"), 404, "BILLING_KEY_NOT_FOUND")


def test_key_of_another_store_is_404_without_its_store_id(client: httpx.Client) -> None:
    other = client.post("/_sandbox/stores", json={"name": "second shop"}).json()
    store_id = other["store"]["id"]
    channel = next(c["key"] for c in other["channels"] if c["pgProvider"] == "TOSSPAYMENTS")
    key = issued_key(client, channel, storeId=store_id)
    error(client.delete(f"/billing-keys/{key}"), 404, "BILLING_KEY_NOT_FOUND")
    assert client.delete(f"/billing-keys/{key}", params={"storeId": store_id}).status_code == 200


def test_key_awaiting_confirmation_is_not_issued(client: httpx.Client, channels: dict[str, str]) -> None:
    pending = client.post("/_sandbox/billing-keys/issue-pending",
                          json={"method": card(), "channelKey": channels["TOSSPAYMENTS"]}).json()
    error(client.delete(f"/billing-keys/{pending['billingKey']}"), 404, "BILLING_KEY_NOT_ISSUED")
    # Still confirmable afterwards.
    assert client.post("/billing-keys/confirm", json={"billingIssueToken": pending["billingIssueToken"]}
                       ).status_code == 200


@pytest.mark.parametrize("params", [{"requester": "SOMEONE"}, {"skipWebhook": "maybe"}])
def test_bad_query_is_400(client: httpx.Client, channels: dict[str, str], params: dict[str, str]) -> None:
    key = issued_key(client, channels["TOSSPAYMENTS"])
    error(client.delete(f"/billing-keys/{key}", params=params), 400, "INVALID_REQUEST")
    assert client.get(f"/billing-keys/{key}").json()["status"] == "ISSUED"


def test_pg_refusal_is_pg_provider_and_keeps_the_key(client: httpx.Client, channels: dict[str, str]) -> None:
    key = issued_key(client, channels["TOSSPAYMENTS"])
    SANDBOX_OVERRIDES.force_next(channels["TOSSPAYMENTS"], ForcedOutcome(operation="delete_billing_key"))
    body = error(client.delete(f"/billing-keys/{key}"), 502, "PG_PROVIDER")
    assert body["pgCode"] == "SANDBOX_FORCED_DECLINE"
    assert client.get(f"/billing-keys/{key}").json()["status"] == "ISSUED"
    assert client.delete(f"/billing-keys/{key}").status_code == 200


def test_pg_timeout_is_pg_provider(client: httpx.Client, channels: dict[str, str]) -> None:
    key = issued_key(client, channels["TOSSPAYMENTS"])
    SANDBOX_OVERRIDES.force_next(channels["TOSSPAYMENTS"],
                                 ForcedOutcome(kind="TRANSPORT_ERROR", operation="delete_billing_key"))
    assert error(client.delete(f"/billing-keys/{key}"), 502, "PG_PROVIDER")["pgCode"] == "PG_TRANSPORT_ERROR"
    assert client.get(f"/billing-keys/{key}").json()["status"] == "ISSUED"


def test_super_key_refused_on_one_channel_is_channel_specific(client: httpx.Client, channels: dict[str, str],
                                                             server: RunningServer) -> None:
    group = make_group(server, ["TOSSPAYMENTS", "KCP_V2"])
    key = client.post("/billing-keys", json={"method": card(), "channelGroupId": group}).json()[
        "billingKeyInfo"]["billingKey"]
    SANDBOX_OVERRIDES.force_next(channels["KCP_V2"], ForcedOutcome(operation="delete_billing_key"))
    body = error(client.delete(f"/billing-keys/{key}"), 502, "CHANNEL_SPECIFIC")
    assert [c["pgProvider"] for c in body["succeededChannels"]] == ["TOSSPAYMENTS"]
    [failure] = body["failures"]
    assert failure["channel"]["pgProvider"] == "KCP_V2"
    assert failure["pgCode"] == "SANDBOX_FORCED_DECLINE"
    assert client.get(f"/billing-keys/{key}").json()["status"] == "ISSUED"


def test_key_with_scheduled_payments_cannot_be_deleted(client: httpx.Client, channels: dict[str, str]) -> None:
    key = issued_key(client, channels["TOSSPAYMENTS"])
    response = client.post("/payments/payment-scheduled-1/schedule", json={
        "payment": {"billingKey": key, "orderName": "monthly", "amount": {"total": 1000}, "currency": "KRW"},
        "timeToPay": "2099-01-01T00:00:00Z",
    })
    if response.status_code == 404 and response.json().get("type") == "NOT_FOUND":
        pytest.skip("payment schedules are not implemented yet")
    assert response.status_code == 200, response.text
    error(client.delete(f"/billing-keys/{key}"), 409, "PAYMENT_SCHEDULE_ALREADY_EXISTS")
    assert client.get(f"/billing-keys/{key}").json()["status"] == "ISSUED"
    revoked = client.request("DELETE", "/payment-schedules", params={"requestBody": f'{{"billingKey": "{key}"}}'})
    assert revoked.status_code == 200, revoked.text
    assert client.delete(f"/billing-keys/{key}").status_code == 200
