"""``POST /payments/{id}/instant`` (key-in card), the paymentId as idempotency key, attempts, pre-registration."""

from __future__ import annotations

import httpx

from tests.payments.conftest import WebhookRecorder
from tests.payments.helpers import DECLINE_CARD, card_body, error, get, new_id, pay, stable
from tests.support.server import TEST_STORE_ID


def test_card_payment_is_paid_with_everything_it_was_given(client: httpx.Client, channels: dict[str, str],
                                                           webhooks: WebhookRecorder) -> None:
    payment_id = new_id()
    body = card_body(
        channels["TOSSPAYMENTS"], 60000,
        amount={"total": 60000, "taxFree": 10000},
        method={"card": {"credential": {"number": "9410000000000005", "expiryYear": "30", "expiryMonth": "12"},
                         "installmentMonth": 3, "useFreeInstallmentPlan": True}},
        customer={"id": "cust-1", "name": {"separated": {"first": "Gildong", "last": "Hong"}},
                  "email": "gildong@example.com", "phoneNumber": "01012345678", "birthYear": "1990",
                  "address": {"addressLine1": "Seoul", "addressLine2": "Gangnam 1"}, "zipcode": "06236"},
        products=[{"id": "p1", "name": "Plan", "amount": 30000, "quantity": 2}],
        productCount=2, customData='{"order": 1}', country="KR", isCulturalExpense=True,
        noticeUrls=["http://127.0.0.1:9/hook"],
    )
    summary = pay(client, payment_id, body)["payment"]
    payment = get(client, payment_id)
    assert payment["status"] == "PAID"
    assert payment["id"] == payment_id
    assert payment["storeId"] == TEST_STORE_ID and payment["version"] == "V2"
    assert payment["pgTxId"] == summary["pgTxId"] and payment["paidAt"] == summary["paidAt"]
    assert payment["amount"] == {"total": 60000, "taxFree": 10000, "vat": 4545, "supply": 45455, "discount": 0,
                                 "paid": 60000, "cancelled": 0, "cancelledTaxFree": 0}
    assert payment["channel"]["key"] == channels["TOSSPAYMENTS"]
    assert payment["channel"]["pgProvider"] == "TOSSPAYMENTS" and payment["channel"]["type"] == "TEST"
    assert payment["customer"] == {
        "id": "cust-1", "name": "Gildong Hong", "email": "gildong@example.com", "phoneNumber": "01012345678",
        "birthYear": "1990", "zipcode": "06236",
        "address": {"type": "SEPARATED", "oneLine": "Seoul Gangnam 1", "addressLine1": "Seoul",
                    "addressLine2": "Gangnam 1"},
    }
    method = payment["method"]
    assert method["type"] == "PaymentMethodCard"
    assert method["card"]["issuer"] == "SHINHAN_CARD" and method["card"]["number"] == "94100000****0005"
    assert method["installment"] == {"month": 3, "isInterestFree": True}
    assert len(method["approvalNumber"]) == 8
    assert payment["origin"] == {"platformType": "API", "ipAddress": "127.0.0.1"}
    assert payment["disputes"] == [] and "cancellations" not in payment and "channelGroup" not in payment
    assert payment["products"] == [{"id": "p1", "name": "Plan", "amount": 30000, "quantity": 2}]
    assert (payment["productCount"], payment["customData"], payment["country"], payment["isCulturalExpense"]) == (
        2, '{"order": 1}', "KR", True)
    assert payment["requestedAt"] == payment["statusChangedAt"] == payment["updatedAt"]
    [hook] = webhooks.of(payment_id)
    assert (hook.event_type, hook.payment_status, hook.transaction_id, hook.is_async, hook.trigger) == (
        "Transaction.Paid", "PAID", payment["transactionId"], False, None)
    assert hook.notice_urls == ["http://127.0.0.1:9/hook"] and hook.is_test

    # Payment.webhooks lists the deliveries (their status moves on as the delivery job works)
    assert [(w["url"], w.get("paymentStatus")) for w in payment.get("webhooks", [])] in (
        [], [("http://127.0.0.1:9/hook", "PAID")])

    # paymentId is the idempotency key: paying again is ALREADY_PAID and changes nothing
    error(client.post(f"/payments/{payment_id}/instant", json=body), 409, "ALREADY_PAID")
    assert stable(get(client, payment_id)) == stable(payment)
    assert len(webhooks.of(payment_id)) == 1
    items = client.get(f"/payments/{payment_id}/transactions").json()["items"]
    assert [(t["id"], t["paymentId"], t["status"]) for t in items] == [(payment["transactionId"], payment_id, "PAID")]


def test_decline_is_stored_as_failed_and_the_payment_id_can_be_retried(
    client: httpx.Client, channels: dict[str, str], webhooks: WebhookRecorder
) -> None:
    payment_id = new_id()
    body = error(client.post(f"/payments/{payment_id}/instant",
                             json=card_body(channels["KCP_V2"], card=DECLINE_CARD)), 502, "PG_PROVIDER")
    assert body["pgCode"] == "REJECT_CARD_COMPANY" and body["pgMessage"]
    failed = get(client, payment_id)
    assert failed["status"] == "FAILED"
    assert failed["failure"] == {"reason": body["pgMessage"], "pgCode": "REJECT_CARD_COMPANY",
                                 "pgMessage": body["pgMessage"]}
    assert "failedAt" in failed and "paidAt" not in failed and "pgTxId" not in failed
    assert webhooks.types(payment_id) == ["Transaction.Failed"]

    retried = pay(client, payment_id, card_body(channels["KCP_V2"]))["payment"]
    paid = get(client, payment_id)
    assert paid["status"] == "PAID" and paid["pgTxId"] == retried["pgTxId"]
    assert paid["transactionId"] != failed["transactionId"]
    items = client.get(f"/payments/{payment_id}/transactions").json()["items"]
    assert [(t["id"], t["status"]) for t in items] == [(failed["transactionId"], "FAILED"),
                                                       (paid["transactionId"], "PAID")]
    assert webhooks.types(payment_id) == ["Transaction.Failed", "Transaction.Paid"]

    # skipWebhook suppresses the call's own webhook, whatever the outcome
    quiet = new_id()
    pay(client, quiet, card_body(channels["KCP_V2"], card=DECLINE_CARD, skipWebhook=True), 502)
    pay(client, quiet, card_body(channels["KCP_V2"], skipWebhook=True))
    assert webhooks.of(quiet) == []


def test_bad_input_is_refused_before_anything_is_stored(client: httpx.Client, channels: dict[str, str],
                                                        webhooks: WebhookRecorder) -> None:
    payment_id = new_id()
    key = channels["TOSSPAYMENTS"]
    url = f"/payments/{payment_id}/instant"
    neither = card_body(key)
    del neither["channelKey"]
    assert "channel" in error(client.post(url, json=neither), 400, "INVALID_REQUEST")["message"]
    error(client.post(url, json=card_body(key, channelGroupId="channel-group-test-x")), 400, "INVALID_REQUEST")
    error(client.post(url, json=card_body("channel-key-unknown")), 404, "CHANNEL_NOT_FOUND")
    error(client.post(url, json=card_body(key, 0)), 400, "INVALID_REQUEST")
    error(client.post(url, json=card_body(key, 1000.0)), 400, "INVALID_REQUEST")  # type: ignore[arg-type]
    error(client.post(url, json=card_body(key, amount={"total": 1000, "taxFree": 500, "vat": 501})), 409,
          "SUM_OF_PARTS_EXCEEDS_TOTAL_AMOUNT")
    error(client.post(url, json=card_body(key, amount={"total": 1000, "taxFree": 1001})), 409,
          "SUM_OF_PARTS_EXCEEDS_TOTAL_AMOUNT")
    bad_card = {"number": "4242-4242-4242-4242", "expiryYear": "30", "expiryMonth": "12"}
    assert "number" in error(client.post(url, json=card_body(key, card=bad_card)), 400, "INVALID_REQUEST")["message"]
    bad_month = {"number": "4242424242424242", "expiryYear": "30", "expiryMonth": "13"}
    error(client.post(url, json=card_body(key, card=bad_month)), 400, "INVALID_REQUEST")
    both = card_body(key, method={"card": {"credential": {"number": "4242424242424242", "expiryYear": "30",
                                                          "expiryMonth": "12"}},
                                  "virtualAccount": {"bank": "KOOKMIN", "expiry": {"validHours": 1},
                                                     "option": {"type": "NORMAL"}}})
    error(client.post(url, json=both), 400, "INVALID_REQUEST")
    no_name = card_body(key)
    del no_name["orderName"]
    assert "orderName" in error(client.post(url, json=no_name), 400, "INVALID_REQUEST")["message"]
    # a PG timeout: the outcome is unknown, nothing is kept
    timeout = error(client.post(url, json=card_body(key, 40504)), 502, "PG_PROVIDER")
    assert timeout["pgCode"] == "PG_TRANSPORT_ERROR"
    error(client.get(f"/payments/{payment_id}"), 404, "PAYMENT_NOT_FOUND")
    error(client.get(f"/payments/{payment_id}/transactions"), 404, "PAYMENT_NOT_FOUND")
    assert webhooks.of(payment_id) == []


def test_channel_group_draws_a_member_and_is_shown(client: httpx.Client, group_id: str) -> None:
    group = client.get("/_sandbox/channels").json()["channelGroups"][0]
    payment_id = new_id()
    body = card_body("unused")
    del body["channelKey"]
    body["channelGroupId"] = group_id
    pay(client, payment_id, body)
    payment = get(client, payment_id)
    assert payment["channelGroup"] == {"id": group_id, "name": group["name"], "isForTest": True}
    assert payment["channel"]["key"] in {c["key"] for c in group["channels"]}
    error(client.post(f"/payments/{new_id()}/instant", json={**body, "channelGroupId": "channel-group-test-nope"}),
          404, "CHANNEL_NOT_FOUND")


def test_pay_pending_holds_the_payment_id(client: httpx.Client, channels: dict[str, str],
                                          webhooks: WebhookRecorder) -> None:
    payment_id = new_id()
    summary = pay(client, payment_id, card_body(channels["TOSSPAYMENTS"], 40202))["payment"]
    payment = get(client, payment_id)
    assert payment["status"] == "PAY_PENDING" and payment["pgTxId"] == summary["pgTxId"]
    assert webhooks.types(payment_id) == ["Transaction.PayPending"]
    error(client.post(f"/payments/{payment_id}/instant", json=card_body(channels["TOSSPAYMENTS"])), 409,
          "ALREADY_PAID")
    error(client.post(f"/payments/{payment_id}/cancel", json={"reason": "x"}), 409, "PAYMENT_NOT_PAID")


def test_pre_registration_is_checked_by_the_next_attempt(client: httpx.Client, channels: dict[str, str]) -> None:
    payment_id = new_id()
    url = f"/payments/{payment_id}/pre-register"
    response = client.post(url, json={"totalAmount": 5000, "taxFreeAmount": 0, "currency": "KRW"})
    assert response.status_code == 200 and response.json() == {}
    error(client.get(f"/payments/{payment_id}"), 404, "PAYMENT_NOT_FOUND")  # no Payment is created
    assert "totalAmount" in error(client.post(f"/payments/{payment_id}/instant",
                                              json=card_body(channels["TOSSPAYMENTS"], 6000)),
                                  400, "INVALID_REQUEST")["message"]
    error(client.post(f"/payments/{payment_id}/instant",
                      json=card_body(channels["TOSSPAYMENTS"], amount={"total": 5000, "taxFree": 100})),
          400, "INVALID_REQUEST")
    error(client.get(f"/payments/{payment_id}"), 404, "PAYMENT_NOT_FOUND")
    error(client.post(url, json={"totalAmount": 0}), 400, "INVALID_REQUEST")
    assert client.post(url, json={"totalAmount": 6000}).status_code == 200  # a new registration overwrites
    pay(client, payment_id, card_body(channels["TOSSPAYMENTS"], 6000))
    error(client.post(url, json={"totalAmount": 6000}), 409, "ALREADY_PAID")
