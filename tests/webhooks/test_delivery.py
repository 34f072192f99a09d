"""Delivery through HTTP to a real receiver: signatures the official SDK accepts, the retry schedule on the
sandbox clock, the outbox's transactional behaviour, payload versions and destinations."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from portone_server_sdk import webhook as sdk_webhook

from tests.support.server import TEST_STORE_ID, TEST_WEBHOOK_SECRET, RunningServer
from tests.support.spec import assert_schema
from tests.webhooks.conftest import Emit, advance, deliveries, drain
from tests.webhooks.receiver import Receiver, running_receiver


def test_paid_event_is_delivered_signed_and_verified_by_the_sdk(
    server: RunningServer, client: httpx.Client, receiver: Receiver, emit: Emit
) -> None:
    emit("Transaction.Paid", "order-1", transaction_id="tx-1")
    (request,) = receiver.wait_for(1)
    assert set(request.headers) >= {"webhook-id", "webhook-timestamp", "webhook-signature"}  # lower case, as sent
    assert request.headers["Content-Type" if "Content-Type" in request.headers else "content-type"] == (
        "application/json"
    )
    verified = sdk_webhook.verify(TEST_WEBHOOK_SECRET, request.text, request.headers)
    assert isinstance(verified, sdk_webhook.WebhookTransactionPaid)
    assert verified.data.payment_id == "order-1"
    assert verified.data.store_id == TEST_STORE_ID
    assert verified.data.transaction_id == "tx-1"
    # Compact JSON, in the documented shape, with the event time.
    body = json.loads(request.body)
    assert request.text == json.dumps(body, separators=(",", ":"), ensure_ascii=False)
    assert set(body) == {"type", "timestamp", "data"}
    assert body["data"] == {"storeId": TEST_STORE_ID, "paymentId": "order-1", "transactionId": "tx-1"}
    assert abs(int(request.headers["webhook-timestamp"]) - time.time()) < 30
    # The delivery log shows the same message, succeeded after one attempt.
    drain(client)
    (item,) = deliveries(client)
    assert item["id"] == request.headers["webhook-id"]
    assert item["status"] == "SUCCEEDED" and item["executionCount"] == 1
    assert item["body"] == request.text
    assert item["attempts"][0]["responseStatus"] == 200


def test_payment_webhooks_are_valid_payment_webhook_objects(
    server: RunningServer, receiver: Receiver, emit: Emit
) -> None:
    from localportone.webhooks import service

    emit("Transaction.Paid", "order-2")
    receiver.wait_for(1)

    async def read() -> list[dict[str, object]]:
        async with server.runtime.transactions.begin(write=False) as uow:
            return await service.payment_webhooks(uow, TEST_STORE_ID, "order-2")

    deadline = time.monotonic() + 10
    hooks = server.call(read)
    while hooks[0].get("status") is None and time.monotonic() < deadline:
        time.sleep(0.05)
        hooks = server.call(read)
    (hook,) = hooks
    assert_schema("PaymentWebhook", hook)
    assert hook["status"] == "SUCCEEDED"
    assert hook["paymentStatus"] == "PAID"
    assert hook["isAsync"] is False
    assert "trigger" not in hook
    assert hook["currentExecutionCount"] == 1 and hook["maxExecutionCount"] == 6
    assert hook["response"]["code"] == "200"
    assert "webhook-signature: v1," in hook["request"]["header"]
    assert json.loads(hook["request"]["body"])["data"]["paymentId"] == "order-2"

    async def read_many() -> dict[tuple[str, str], list[dict[str, object]]]:
        async with server.runtime.transactions.begin(write=False) as uow:
            return await service.payments_webhooks(uow, [(TEST_STORE_ID, "order-2"), (TEST_STORE_ID, "none")])

    assert server.call(read_many) == {(TEST_STORE_ID, "order-2"): [hook], (TEST_STORE_ID, "none"): []}


@pytest.mark.slow
def test_retries_follow_the_schedule_on_the_sandbox_clock(
    server: RunningServer, client: httpx.Client, receiver: Receiver, emit: Emit
) -> None:
    receiver.fail_next(5, status=503)
    emit("Transaction.Paid", "order-retry")
    first = receiver.wait_for(1)[0]
    assert receiver.settle(0.5) == [first]  # nothing more until the clock says so
    # Delays before executions 2..6: 1, 4, 16, 64, 256 minutes (no jitter in the sandbox by default).
    for n, minutes in enumerate([1, 4, 16, 64, 256], start=2):
        advance(client, minutes * 60 - 5)
        drain(client)
        assert len(receiver.settle(0.3)) == n - 1, f"execution {n} came early"
        advance(client, 5)
        got = receiver.wait_for(n)
        latest = got[-1]
        # Same message id and body (same event timestamp), a fresh real-time signature timestamp.
        assert latest.headers["webhook-id"] == first.headers["webhook-id"]
        assert latest.body == first.body
        sdk_webhook.verify(TEST_WEBHOOK_SECRET, latest.text, latest.headers)
    drain(client)
    (item,) = deliveries(client)
    assert item["status"] == "SUCCEEDED"
    assert item["executionCount"] == 6
    assert [a["result"] for a in item["attempts"]] == ["FAILED_NOT_OK_RESPONSE"] * 5 + ["SUCCEEDED"]
    assert [a["responseStatus"] for a in item["attempts"]] == [503] * 5 + [200]


def test_gives_up_after_six_executions(
    server: RunningServer, client: httpx.Client, receiver: Receiver, emit: Emit
) -> None:
    receiver.status = 500
    emit("Transaction.Paid", "order-doomed")
    receiver.wait_for(1)
    for minutes in [1, 4, 16, 64, 256]:
        advance(client, minutes * 60)
        drain(client)
    advance(client, 7 * 24 * 3600)
    drain(client)
    assert len(receiver.settle(0.3)) == 6
    (item,) = deliveries(client)
    assert item["status"] == "FAILED_NOT_OK_RESPONSE"
    assert item["executionCount"] == 6 and "nextAttemptAt" not in item


def test_rolled_back_change_sends_nothing(
    server: RunningServer, client: httpx.Client, receiver: Receiver, emit: Emit
) -> None:
    with pytest.raises(RuntimeError):
        emit("Transaction.Paid", "order-rolled-back", fail=True)
    drain(client)
    assert receiver.settle(0.4) == []
    assert deliveries(client) == []


def test_legacy_version_sends_flat_snake_case(
    server: RunningServer, client: httpx.Client, receiver: Receiver, emit: Emit
) -> None:
    put = client.put(f"/_sandbox/stores/{TEST_STORE_ID}/webhook", json={"version": "2024-01-01"})
    assert put.status_code == 200, put.text
    emit("Transaction.Paid", "order-legacy", transaction_id="tx-legacy")
    emit("Transaction.Cancelled", "order-legacy", transaction_id="tx-legacy", payment_status="CANCELLED",
         cancellation_id="cancel-1")
    emit("Transaction.DisputeCreated", "order-legacy", transaction_id="tx-legacy")  # no legacy message
    got = receiver.wait_for(2)
    bodies = sorted((json.loads(r.body) for r in receiver.settle(0.3)), key=lambda b: b["status"])
    assert bodies == [
        {"payment_id": "order-legacy", "tx_id": "tx-legacy", "status": "Cancelled"},
        {"payment_id": "order-legacy", "tx_id": "tx-legacy", "status": "Paid"},
    ]
    for request in got:  # Standard Webhooks signatures are sent with the legacy body too
        assert sdk_webhook.verify(TEST_WEBHOOK_SECRET, request.text, request.headers) == json.loads(request.body)


def test_current_version_cancel_carries_the_cancellation_id(
    server: RunningServer, receiver: Receiver, emit: Emit
) -> None:
    emit("Transaction.PartialCancelled", "order-c", transaction_id="tx-c", payment_status="PARTIAL_CANCELLED",
         cancellation_id="cancel-9")
    (request,) = receiver.wait_for(1)
    verified = sdk_webhook.verify(TEST_WEBHOOK_SECRET, request.text, request.headers)
    assert isinstance(verified, sdk_webhook.WebhookTransactionCancelledPartialCancelled)
    assert verified.data.cancellation_id == "cancel-9"


def test_billing_key_event(server: RunningServer, receiver: Receiver) -> None:
    from localportone.auth.principal import StoreContext
    from localportone.webhooks import service

    async def go() -> None:
        async with server.runtime.transactions.begin() as uow:
            assert server.runtime.summary is not None
            store = StoreContext(server.runtime.summary.merchant_id, TEST_STORE_ID)
            await service.enqueue_billing_key_event(uow, store=store, event_type="BillingKey.Issued",
                                                    billing_key="billing-key-1", is_test=True)

    server.call(go)
    (request,) = receiver.wait_for(1)
    verified = sdk_webhook.verify(TEST_WEBHOOK_SECRET, request.text, request.headers)
    assert isinstance(verified, sdk_webhook.WebhookBillingKeyIssued)
    assert verified.data.billing_key == "billing-key-1" and verified.data.store_id == TEST_STORE_ID


def test_notice_urls_replace_the_store_urls(
    server: RunningServer, client: httpx.Client, receiver: Receiver, emit: Emit
) -> None:
    with running_receiver() as first, running_receiver() as second:
        emit("Transaction.Paid", "order-n", notice_urls=[first.url, second.url])
        a = first.wait_for(1)[0]
        b = second.wait_for(1)[0]
        # One delivery per URL, each with its own id.
        assert a.headers["webhook-id"] != b.headers["webhook-id"]
        assert a.body == b.body
    emit("Transaction.Paid", "order-empty", notice_urls=[])  # empty = use the store's URL
    receiver.wait_for(1)
    drain(client)
    assert receiver.settle(0.3)[0].path == "/webhook"
    assert {i["url"] for i in deliveries(client, paymentId="order-n")} == {first.url, second.url}


def test_no_url_means_nothing_sent_and_nothing_recorded(
    server: RunningServer, client: httpx.Client, receiver: Receiver, emit: Emit
) -> None:
    put = client.put(f"/_sandbox/stores/{TEST_STORE_ID}/webhook", json={"urls": []})
    assert put.status_code == 200, put.text
    assert put.json()["testUrls"] == []
    emit("Transaction.Paid", "order-silent")
    drain(client)
    assert receiver.settle(0.3) == []
    assert deliveries(client) == []


def test_two_active_secrets_sign_twice(
    server: RunningServer, client: httpx.Client, receiver: Receiver, emit: Emit
) -> None:
    emit("Transaction.Paid", "order-before-rotation")
    receiver.wait_for(1)
    receiver.requests.clear()
    new_secret = "whsec_" + "bmV3LXNlY3JldC1mb3Itcm90YXRpb24tdGVzdHMtMTIzNA=="
    put = client.put(f"/_sandbox/stores/{TEST_STORE_ID}/webhook",
                     json={"testSecrets": [TEST_WEBHOOK_SECRET, new_secret]})
    assert put.status_code == 200, put.text
    emit("Transaction.Paid", "order-rotate")
    (request,) = receiver.wait_for(1)
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    for secret in (TEST_WEBHOOK_SECRET, new_secret):
        sdk_webhook.verify(secret, request.text, request.headers)
    # Only the new one: the old secret no longer verifies, right away.
    client.put(f"/_sandbox/stores/{TEST_STORE_ID}/webhook", json={"testSecret": new_secret})
    emit("Transaction.Paid", "order-after-rotation")
    latest = receiver.wait_for(2)[-1]
    sdk_webhook.verify(new_secret, latest.text, latest.headers)
    with pytest.raises(sdk_webhook.WebhookVerificationError):
        sdk_webhook.verify(TEST_WEBHOOK_SECRET, latest.text, latest.headers)


def test_redirects_are_not_followed(
    server: RunningServer, client: httpx.Client, receiver: Receiver, emit: Emit
) -> None:
    receiver.fail_next(1, status=302)
    emit("Transaction.Paid", "order-redirect")
    receiver.wait_for(1)
    drain(client)
    assert [r.path for r in receiver.settle(0.3)] == ["/webhook"]
    (item,) = deliveries(client)
    assert item["status"] == "PENDING" and item["lastResult"] == "FAILED_NOT_OK_RESPONSE"
    assert item["attempts"][0]["responseStatus"] == 302


def test_connection_error_is_an_unexpected_error(server: RunningServer, client: httpx.Client, emit: Emit) -> None:
    with running_receiver() as gone:
        dead_url = gone.url
    emit("Transaction.Paid", "order-dead", notice_urls=[dead_url])
    drain(client)
    (item,) = deliveries(client)
    assert item["lastResult"] == "FAILED_UNEXPECTED_ERROR"
    assert item["status"] == "PENDING" and item["executionCount"] == 1
    assert "error" in item["attempts"][0] and "responseStatus" not in item["attempts"][0]
