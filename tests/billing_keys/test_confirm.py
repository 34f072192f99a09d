"""Manual confirm: keys issued through a checkout wait for POST /billing-keys/confirm (or confirm-issue-and-pay)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.billing_keys.helpers import DECLINE_CARD, card, error, stored_rows
from tests.support.server import RunningServer

PAYMENT = {"paymentId": "payment-first-1", "orderName": "first month", "amount": {"total": 9900, "taxFree": 900},
           "currency": "KRW"}


def _pending(client: httpx.Client, channel_key: str, **extra: Any) -> dict[str, str]:
    response = client.post("/_sandbox/billing-keys/issue-pending",
                           json={"method": card(), "channelKey": channel_key, **extra})
    assert response.status_code == 200, response.text
    body: dict[str, str] = response.json()
    assert set(body) == {"billingIssueToken", "billingKey"}
    return body


def _pays_with_billing_keys() -> bool:
    try:
        from localportone.payments.service import pay_with_billing_key  # noqa: F401
    except ImportError:
        return False
    return True


def test_pending_key_is_invisible_until_confirmed(client: httpx.Client, channels: dict[str, str]) -> None:
    pending = _pending(client, channels["TOSSPAYMENTS"], customer={"id": "c-9"})
    key = pending["billingKey"]
    error(client.get(f"/billing-keys/{key}"), 404, "BILLING_KEY_NOT_FOUND")
    assert client.get("/billing-keys").json()["items"] == []

    response = client.post("/billing-keys/confirm", json={"billingIssueToken": pending["billingIssueToken"],
                                                          "isTest": True})
    assert response.status_code == 200, response.text
    assert response.json() == {"billingKey": key}
    got = client.get(f"/billing-keys/{key}").json()
    assert got["status"] == "ISSUED"
    assert got["customer"] == {"id": "c-9"}
    assert got["requestedAt"] <= got["issuedAt"]
    assert [i["billingKey"] for i in client.get("/billing-keys").json()["items"]] == [key]


def test_confirming_twice_is_already_issued(client: httpx.Client, channels: dict[str, str]) -> None:
    pending = _pending(client, channels["TOSSPAYMENTS"])
    assert client.post("/billing-keys/confirm", json={"billingIssueToken": pending["billingIssueToken"]}
                       ).status_code == 200
    error(client.post("/billing-keys/confirm", json={"billingIssueToken": pending["billingIssueToken"]}),
          409, "BILLING_KEY_ALREADY_ISSUED")
    error(client.post("/billing-keys/confirm-issue-and-pay",
                      json={"billingIssueToken": pending["billingIssueToken"]}), 409, "BILLING_KEY_ALREADY_ISSUED")


def test_unknown_token_is_404(client: httpx.Client) -> None:
    error(client.post("/billing-keys/confirm", json={"billingIssueToken": "nope"}), 404, "BILLING_KEY_NOT_FOUND")
    error(client.post("/billing-keys/confirm-issue-and-pay", json={"billingIssueToken": "nope"}),
          404, "BILLING_KEY_NOT_FOUND")


def test_token_of_another_store_is_404(client: httpx.Client) -> None:
    other = client.post("/_sandbox/stores", json={"name": "second shop"}).json()
    channel = next(c["key"] for c in other["channels"] if c["pgProvider"] == "TOSSPAYMENTS")
    pending = _pending(client, channel, storeId=other["store"]["id"])
    error(client.post("/billing-keys/confirm", json={"billingIssueToken": pending["billingIssueToken"]}),
          404, "BILLING_KEY_NOT_FOUND")
    assert client.post("/billing-keys/confirm", json={"billingIssueToken": pending["billingIssueToken"],
                                                      "storeId": other["store"]["id"]}).status_code == 200


def test_is_test_must_match(client: httpx.Client, channels: dict[str, str], server: RunningServer) -> None:
    pending = _pending(client, channels["TOSSPAYMENTS"])
    error(client.post("/billing-keys/confirm", json={"billingIssueToken": pending["billingIssueToken"],
                                                     "isTest": False}), 409, "INFORMATION_MISMATCH")
    assert stored_rows(server) == [(pending["billingKey"], "PENDING")]


def test_missing_token_is_400(client: httpx.Client) -> None:
    error(client.post("/billing-keys/confirm", json={}), 400, "INVALID_REQUEST")
    error(client.post("/billing-keys/confirm-issue-and-pay", json={"totalAmount": 1}), 400, "INVALID_REQUEST")


def test_declined_checkout_issuance_fails_at_once(client: httpx.Client, channels: dict[str, str],
                                                  server: RunningServer) -> None:
    response = client.post("/_sandbox/billing-keys/issue-pending",
                           json={"method": card(DECLINE_CARD), "channelKey": channels["TOSSPAYMENTS"]})
    assert response.status_code == 502
    assert response.json()["pgCode"] == "REJECT_CARD_COMPANY"
    assert [status for _key, status in stored_rows(server)] == ["FAILED"]


@pytest.mark.parametrize("extra", [
    {"paymentId": "p"},
    {**PAYMENT, "amount": {"total": 0}},
    {**PAYMENT, "amount": {"total": 100, "taxFree": 101}},
])
def test_issue_pending_with_partial_payment_is_400(client: httpx.Client, channels: dict[str, str],
                                                   extra: dict[str, Any]) -> None:
    response = client.post("/_sandbox/billing-keys/issue-pending",
                           json={"method": card(), "channelKey": channels["TOSSPAYMENTS"], **extra})
    error(response, 400, "INVALID_REQUEST")


def test_the_right_confirm_endpoint_must_be_used(client: httpx.Client, channels: dict[str, str]) -> None:
    key_only = _pending(client, channels["TOSSPAYMENTS"])
    error(client.post("/billing-keys/confirm-issue-and-pay",
                      json={"billingIssueToken": key_only["billingIssueToken"]}), 400, "INVALID_REQUEST")
    with_payment = _pending(client, channels["TOSSPAYMENTS"], **PAYMENT)
    error(client.post("/billing-keys/confirm", json={"billingIssueToken": with_payment["billingIssueToken"]}),
          400, "INVALID_REQUEST")


@pytest.mark.parametrize("mismatch", [
    {"paymentId": "payment-other"},
    {"currency": "USD"},
    {"totalAmount": 9901},
    {"taxFreeAmount": 0},
    {"isTest": False},
])
def test_confirm_issue_and_pay_verifies_the_checkout(client: httpx.Client, channels: dict[str, str],
                                                     server: RunningServer, mismatch: dict[str, Any]) -> None:
    pending = _pending(client, channels["TOSSPAYMENTS"], **PAYMENT)
    error(client.post("/billing-keys/confirm-issue-and-pay",
                      json={"billingIssueToken": pending["billingIssueToken"], **mismatch}),
          409, "INFORMATION_MISMATCH")
    assert stored_rows(server) == [(pending["billingKey"], "PENDING")]


def test_confirm_issue_and_pay_issues_and_pays(client: httpx.Client, channels: dict[str, str]) -> None:
    if not _pays_with_billing_keys():
        pytest.skip("payments.service.pay_with_billing_key is not there yet")
    pending = _pending(client, channels["TOSSPAYMENTS"], customer={"id": "c-1"}, **PAYMENT)
    response = client.post("/billing-keys/confirm-issue-and-pay", json={
        "billingIssueToken": pending["billingIssueToken"], "paymentId": PAYMENT["paymentId"], "currency": "KRW",
        "totalAmount": 9900, "taxFreeAmount": 900, "isTest": True,
    })
    assert response.status_code == 200, response.text
    assert response.json() == {"billingKey": pending["billingKey"], "paymentId": PAYMENT["paymentId"]}
    assert client.get(f"/billing-keys/{pending['billingKey']}").json()["status"] == "ISSUED"
    payment = client.get(f"/payments/{PAYMENT['paymentId']}").json()
    assert payment["status"] == "PAID"
    assert payment["amount"]["total"] == 9900
    assert payment["billingKey"] == pending["billingKey"]


def test_confirm_issue_and_pay_without_verification_fields(client: httpx.Client, channels: dict[str, str]) -> None:
    if not _pays_with_billing_keys():
        pytest.skip("payments.service.pay_with_billing_key is not there yet")
    pending = _pending(client, channels["TOSSPAYMENTS"], **PAYMENT)
    response = client.post("/billing-keys/confirm-issue-and-pay",
                           json={"billingIssueToken": pending["billingIssueToken"]})
    assert response.status_code == 200, response.text


def test_payment_declined_at_confirm_keeps_the_key(client: httpx.Client, channels: dict[str, str]) -> None:
    if not _pays_with_billing_keys():
        pytest.skip("payments.service.pay_with_billing_key is not there yet")
    # This card issues a key but every charge is refused.
    response = client.post("/_sandbox/billing-keys/issue-pending", json={
        "method": card("4000000000000341"), "channelKey": channels["TOSSPAYMENTS"], **PAYMENT})
    pending = response.json()
    body = error(client.post("/billing-keys/confirm-issue-and-pay",
                             json={"billingIssueToken": pending["billingIssueToken"]}), 502, "PG_PROVIDER")
    assert body["pgCode"] == "REJECT_CARD_COMPANY"
    assert client.get(f"/billing-keys/{pending['billingKey']}").json()["status"] == "ISSUED"
    assert client.get(f"/payments/{PAYMENT['paymentId']}").json()["status"] == "FAILED"
    error(client.post("/billing-keys/confirm-issue-and-pay",
                      json={"billingIssueToken": pending["billingIssueToken"]}), 409, "BILLING_KEY_ALREADY_ISSUED")
