"""POST /payments/{paymentId}/schedule and GET /payment-schedules/{id}: what is stored, and every refusal."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from portone_server_sdk import PortOneClient, errors
from portone_server_sdk.common import CustomerInput, CustomerNameInput, PaymentAmountInput
from portone_server_sdk.payment.payment_schedule import BillingKeyPaymentScheduleInput, ScheduledPaymentSchedule

from tests.schedules.helpers import (
    at,
    error,
    get,
    schedule,
    schedule_rows,
    scheduled_id,
    server_now,
    utc,
)
from tests.support.server import TEST_API_SECRET, TEST_STORE_ID, RunningServer

FULL_INPUT: dict[str, Any] = {
    "orderName": "Premium plan, March",
    "amount": {"total": 10000, "taxFree": 1000, "vat": 818},
    "currency": "KRW",
    "customer": {
        "id": "customer-7",
        "name": {"separated": {"first": "Gildong", "last": "Hong"}},
        "email": "gildong@example.com",
        "phoneNumber": "01012345678",
        "address": {"addressLine1": "Seoul, Gangnam-gu", "addressLine2": "101-1"},
        "zipcode": "06236",
    },
    "customData": '{"plan":"premium"}',
    "installmentMonth": 3,
    "noticeUrls": ["https://merchant.example/webhooks"],
    "products": [{"id": "plan-premium", "name": "Premium", "amount": 10000, "quantity": 1}],
}


def test_create_stores_every_field_of_the_scheduled_payment(client: httpx.Client, billing_key: str) -> None:
    now = server_now(client)
    time_to_pay = at(now, days=30)
    response = client.post("/payments/order-100/schedule", json={
        "payment": {"billingKey": billing_key, **FULL_INPUT}, "timeToPay": time_to_pay})
    assert response.status_code == 200, response.text
    schedule_id = response.json()["schedule"]["id"]

    body = get(client, schedule_id)
    assert body.pop("merchantId").startswith("merchant-")
    created_at = utc(body.pop("createdAt"))
    assert abs((created_at - now).total_seconds()) < 60
    assert body == {
        "status": "SCHEDULED",
        "id": schedule_id,
        "storeId": TEST_STORE_ID,
        "paymentId": "order-100",
        "billingKey": billing_key,
        "orderName": "Premium plan, March",
        "isCulturalExpense": False,
        "isEscrow": False,
        "customer": {
            "id": "customer-7",
            "name": "Gildong Hong",
            "email": "gildong@example.com",
            "phoneNumber": "01012345678",
            "address": {"type": "SEPARATED", "oneLine": "Seoul, Gangnam-gu 101-1",
                        "addressLine1": "Seoul, Gangnam-gu", "addressLine2": "101-1"},
            "zipcode": "06236",
        },
        "customData": '{"plan":"premium"}',
        "totalAmount": 10000,
        "taxFreeAmount": 1000,
        "vatAmount": 818,
        "currency": "KRW",
        "installmentMonth": 3,
        "noticeUrls": ["https://merchant.example/webhooks"],
        "products": [{"id": "plan-premium", "name": "Premium", "amount": 10000, "quantity": 1}],
        "timeToPay": time_to_pay,
    }


def test_minimal_schedule_has_empty_custom_data_and_the_keys_customer(client: httpx.Client, channel: str) -> None:
    from tests.schedules.helpers import issued_key

    key = issued_key(client, channel, customer={"id": "from-the-key"})
    schedule_id = scheduled_id(client, "order-min", key, at(server_now(client), days=1))
    body = get(client, schedule_id, storeId=TEST_STORE_ID)
    assert body["customData"] == ""
    assert body["customer"] == {"id": "from-the-key"}
    for absent in ("taxFreeAmount", "vatAmount", "installmentMonth", "noticeUrls", "products", "startedAt",
                   "completedAt", "revokedAt"):
        assert absent not in body


def test_time_to_pay_in_any_offset_is_stored_in_utc(client: httpx.Client, billing_key: str) -> None:
    schedule_id = scheduled_id(client, "order-kst", billing_key, "2099-03-01T09:00:00+09:00")
    assert get(client, schedule_id)["timeToPay"] == "2099-03-01T00:00:00.000Z"


def test_sdk_creates_and_reads_a_schedule(server: RunningServer, billing_key: str) -> None:
    sdk = PortOneClient(secret=TEST_API_SECRET, base_url=server.base_url)
    created = sdk.payment.payment_schedule.create_payment_schedule(
        payment_id="order/with/slashes",
        payment=BillingKeyPaymentScheduleInput(
            billing_key=billing_key, order_name="SDK plan", currency="KRW",
            amount=PaymentAmountInput(total=5000),
            customer=CustomerInput(name=CustomerNameInput(full="SDK Buyer")),
        ),
        time_to_pay="2099-01-01T00:00:00Z",
    )
    fetched = sdk.payment.payment_schedule.get_payment_schedule(payment_schedule_id=created.schedule.id)
    assert isinstance(fetched, ScheduledPaymentSchedule)
    assert fetched.payment_id == "order/with/slashes"
    assert fetched.total_amount == 5000
    assert fetched.customer.name == "SDK Buyer"
    with pytest.raises(errors.PaymentScheduleAlreadyExistsError):
        sdk.payment.payment_schedule.create_payment_schedule(
            payment_id="order/with/slashes",
            payment=BillingKeyPaymentScheduleInput(billing_key=billing_key, order_name="again", currency="KRW",
                                                   amount=PaymentAmountInput(total=5000)),
            time_to_pay="2099-01-01T00:00:00Z",
        )
    with pytest.raises(errors.BillingKeyNotFoundError):
        sdk.payment.payment_schedule.create_payment_schedule(
            payment_id="order-sdk-2",
            payment=BillingKeyPaymentScheduleInput(billing_key="billing-key-nope", order_name="x", currency="KRW",
                                                   amount=PaymentAmountInput(total=5000)),
            time_to_pay="2099-01-01T00:00:00Z",
        )
    with pytest.raises(errors.SumOfPartsExceedsTotalAmountError):
        sdk.payment.payment_schedule.create_payment_schedule(
            payment_id="order-sdk-3",
            payment=BillingKeyPaymentScheduleInput(billing_key=billing_key, order_name="x", currency="KRW",
                                                   amount=PaymentAmountInput(total=1000, tax_free=600, vat=500)),
            time_to_pay="2099-01-01T00:00:00Z",
        )
    with pytest.raises(errors.PaymentScheduleNotFoundError):
        sdk.payment.payment_schedule.get_payment_schedule(payment_schedule_id="no-such-schedule")


# ----------------------------------------------------------------------------------------------------- refusals


def test_unknown_billing_key_is_404(client: httpx.Client, server: RunningServer) -> None:
    before = schedule_rows(server)
    error(schedule(client, "order-1", "billing-key-unknown", "2099-01-01T00:00:00Z"), 404, "BILLING_KEY_NOT_FOUND")
    assert schedule_rows(server) == before


def test_deleted_billing_key_is_409(client: httpx.Client, server: RunningServer, billing_key: str) -> None:
    assert client.delete(f"/billing-keys/{billing_key}").status_code == 200
    error(schedule(client, "order-1", billing_key, "2099-01-01T00:00:00Z"), 409, "BILLING_KEY_ALREADY_DELETED")
    assert schedule_rows(server) == []


def test_another_live_schedule_on_the_payment_id_is_409(client: httpx.Client, server: RunningServer,
                                                        billing_key: str) -> None:
    first = scheduled_id(client, "order-1", billing_key, "2099-01-01T00:00:00Z")
    before = schedule_rows(server)
    error(schedule(client, "order-1", billing_key, "2099-02-01T00:00:00Z"), 409, "PAYMENT_SCHEDULE_ALREADY_EXISTS")
    assert schedule_rows(server) == before
    # A revoked schedule no longer holds the paymentId.
    assert client.delete("/payment-schedules", params={"requestBody": f'{{"scheduleIds": ["{first}"]}}'}
                         ).status_code == 200
    scheduled_id(client, "order-1", billing_key, "2099-02-01T00:00:00Z")


def test_the_same_payment_id_in_another_store_is_independent(client: httpx.Client, billing_key: str) -> None:
    store = client.post("/_sandbox/stores", json={"name": "sub"}).json()
    sub_channel = {c["pgProvider"]: c["key"] for c in store["channels"]}["TOSSPAYMENTS"]
    from tests.schedules.helpers import issued_key

    sub_key = issued_key(client, sub_channel, storeId=store["store"]["id"])
    scheduled_id(client, "order-1", billing_key, "2099-01-01T00:00:00Z")
    scheduled_id(client, "order-1", sub_key, "2099-01-01T00:00:00Z", storeId=store["store"]["id"])
    # The sub-store's key is not the default store's.
    error(schedule(client, "order-2", sub_key, "2099-01-01T00:00:00Z"), 404, "BILLING_KEY_NOT_FOUND")


def test_paid_payment_id_is_409_already_paid_or_waiting(client: httpx.Client, server: RunningServer,
                                                       billing_key: str) -> None:
    paid = client.post("/payments/order-paid/billing-key", json={
        "billingKey": billing_key, "orderName": "first", "amount": {"total": 1000}, "currency": "KRW"})
    assert paid.status_code == 200, paid.text
    error(schedule(client, "order-paid", billing_key, "2099-01-01T00:00:00Z"), 409, "ALREADY_PAID_OR_WAITING")
    assert schedule_rows(server) == []


def test_failed_payment_id_may_be_scheduled(client: httpx.Client, channel: str) -> None:
    from tests.schedules.helpers import DECLINING_CARD, issued_key

    key = issued_key(client, channel, DECLINING_CARD)
    failed = client.post("/payments/order-failed/billing-key", json={
        "billingKey": key, "orderName": "first", "amount": {"total": 1000}, "currency": "KRW"})
    assert failed.status_code == 502, failed.text
    scheduled_id(client, "order-failed", key, "2099-01-01T00:00:00Z")


@pytest.mark.parametrize(("amount", "status", "type_"), [
    ({"total": 1000, "taxFree": 600, "vat": 500}, 409, "SUM_OF_PARTS_EXCEEDS_TOTAL_AMOUNT"),
    ({"total": 1000, "taxFree": 1001}, 409, "SUM_OF_PARTS_EXCEEDS_TOTAL_AMOUNT"),
    ({"total": 0}, 400, "INVALID_REQUEST"),
    ({"total": 1000, "vat": -1}, 400, "INVALID_REQUEST"),
    ({"total": 1000, "taxFree": -1}, 400, "INVALID_REQUEST"),
    ({"total": 1000.0}, 400, "INVALID_REQUEST"),
    ({"total": "1000"}, 400, "INVALID_REQUEST"),
])
def test_bad_amounts(client: httpx.Client, server: RunningServer, billing_key: str, amount: dict[str, Any],
                     status: int, type_: str) -> None:
    error(schedule(client, "order-1", billing_key, "2099-01-01T00:00:00Z", amount=amount), status, type_)
    assert schedule_rows(server) == []


@pytest.mark.parametrize(("body", "field"), [
    ({"timeToPay": "2099-01-01T00:00:00Z"}, "payment"),
    ({"payment": {}}, "timeToPay"),
    ({"payment": {"orderName": "x", "amount": {"total": 1}, "currency": "KRW"},
      "timeToPay": "2099-01-01T00:00:00Z"}, "billingKey"),
    ({"payment": {"billingKey": "{key}", "orderName": "x", "amount": {"total": 1}, "currency": "KRW"},
      "timeToPay": "tomorrow"}, "timeToPay"),
    ({"payment": {"billingKey": "{key}", "orderName": "x", "amount": {"total": 1}, "currency": "KRW"},
      "timeToPay": "2099-01-01T00:00:00"}, "timeToPay"),
    ({"payment": {"billingKey": "{key}", "orderName": "x", "amount": {"total": 1}, "currency": "WON"},
      "timeToPay": "2099-01-01T00:00:00Z"}, "currency"),
])
def test_malformed_bodies_are_400_naming_the_field(client: httpx.Client, server: RunningServer, billing_key: str,
                                                   body: dict[str, Any], field: str) -> None:
    import json

    raw = json.loads(json.dumps(body).replace("{key}", billing_key))
    message = error(client.post("/payments/order-1/schedule", json=raw), 400, "INVALID_REQUEST")["message"]
    assert field in message
    assert schedule_rows(server) == []


def test_non_json_body_is_400(client: httpx.Client) -> None:
    response = client.post("/payments/order-1/schedule", content=b"{", headers={"Content-Type": "application/json"})
    error(response, 400, "INVALID_REQUEST")


@pytest.mark.parametrize("fields", [
    {"customer": {"name": {"full": "A", "separated": {"first": "A", "last": "B"}}}},
    {"channelKey": "channel-key-unknown"},
    {"installmentMonth": -1},
])
def test_inconsistent_inputs_are_400(client: httpx.Client, server: RunningServer, billing_key: str,
                                     fields: dict[str, Any]) -> None:
    error(schedule(client, "order-1", billing_key, "2099-01-01T00:00:00Z", **fields), 400, "INVALID_REQUEST")
    assert schedule_rows(server) == []


def test_channel_key_must_be_one_of_the_keys_channels(client: httpx.Client, channels: dict[str, str],
                                                      billing_key: str) -> None:
    other = next(key for provider, key in channels.items() if provider != "TOSSPAYMENTS")
    message = error(schedule(client, "order-1", billing_key, "2099-01-01T00:00:00Z", channelKey=other),
                    400, "INVALID_REQUEST")["message"]
    assert "channelKey" in message
    scheduled_id(client, "order-1", billing_key, "2099-01-01T00:00:00Z", channelKey=channels["TOSSPAYMENTS"])


def test_payment_id_longer_than_200_characters_is_400(client: httpx.Client, billing_key: str) -> None:
    error(schedule(client, "x" * 201, billing_key, "2099-01-01T00:00:00Z"), 400, "INVALID_REQUEST")


def test_unknown_store_is_403(client: httpx.Client, server: RunningServer, billing_key: str) -> None:
    response = schedule(client, "order-1", billing_key, "2099-01-01T00:00:00Z", storeId="store-unknown")
    error(response, 403, "FORBIDDEN")
    assert schedule_rows(server) == []


def test_without_credentials_is_401(anonymous: httpx.Client) -> None:
    error(schedule(anonymous, "order-1", "billing-key-x", "2099-01-01T00:00:00Z"), 401, "UNAUTHORIZED")
    error(anonymous.get("/payment-schedules/some-id"), 401, "UNAUTHORIZED")


def test_get_unknown_schedule_is_404(client: httpx.Client) -> None:
    error(client.get("/payment-schedules/no-such-schedule"), 404, "PAYMENT_SCHEDULE_NOT_FOUND")


def test_get_is_scoped_to_the_store(client: httpx.Client, billing_key: str) -> None:
    schedule_id = scheduled_id(client, "order-1", billing_key, "2099-01-01T00:00:00Z")
    store = client.post("/_sandbox/stores", json={"name": "sub"}).json()["store"]["id"]
    error(client.get(f"/payment-schedules/{schedule_id}", params={"storeId": store}), 404,
          "PAYMENT_SCHEDULE_NOT_FOUND")
    error(client.get(f"/payment-schedules/{schedule_id}", params={"storeId": "store-unknown"}), 403, "FORBIDDEN")
