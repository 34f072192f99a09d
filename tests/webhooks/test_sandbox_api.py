"""The sandbox webhook controls: the delivery log, replay, test calls, drain and store webhook settings."""

from __future__ import annotations

import json

import httpx
from portone_server_sdk import webhook as sdk_webhook

from tests.support.server import TEST_STORE_ID, TEST_WEBHOOK_SECRET, RunningServer
from tests.webhooks.conftest import Emit, advance, deliveries, drain
from tests.webhooks.receiver import Receiver, running_receiver


def test_log_filters_and_pages(server: RunningServer, client: httpx.Client, receiver: Receiver, emit: Emit) -> None:
    receiver.fail_next(1, status=500)
    emit("Transaction.Paid", "p-1")
    receiver.wait_for(1)
    emit("Transaction.Cancelled", "p-1", payment_status="CANCELLED", cancellation_id="c-1")
    emit("Transaction.Paid", "p-2")
    receiver.wait_for(3)
    drain(client)
    assert len(deliveries(client)) == 3
    assert {d["type"] for d in deliveries(client, paymentId="p-1")} == {"Transaction.Paid", "Transaction.Cancelled"}
    assert [d["paymentId"] for d in deliveries(client, type="Transaction.Paid")] == ["p-2", "p-1"]  # newest first
    (failed,) = deliveries(client, status="PENDING")
    assert failed["paymentId"] == "p-1" and failed["lastResult"] == "FAILED_NOT_OK_RESPONSE"
    assert failed["nextAttemptAt"] > failed["createdAt"]
    attempt = failed["attempts"][0]
    assert attempt["number"] == 1 and attempt["responseStatus"] == 500
    assert attempt["requestHeaders"]["webhook-id"] == failed["id"]
    assert ["X-Receiver", "tests"] in attempt["responseHeaders"]
    assert attempt["responseBody"] == '{"ok":true}'
    assert len(deliveries(client, status="SUCCEEDED")) == 2
    page = client.get("/_sandbox/webhooks", params={"pageSize": 2, "pageNumber": 1}).json()
    assert page["page"] == {"number": 1, "size": 2, "totalCount": 3} and len(page["items"]) == 1
    # One of them, by id.
    one = client.get(f"/_sandbox/webhooks/{failed['id']}")
    assert one.status_code == 200 and one.json()["webhook"]["id"] == failed["id"]
    # Bad filters and unknown ids.
    for params in ({"status": "NOPE"}, {"pageSize": 0}, {"pageNumber": -1}, {"pageSize": "x"}):
        response = client.get("/_sandbox/webhooks", params=params)
        assert response.status_code == 400 and response.json()["type"] == "INVALID_REQUEST", params
    missing = client.get("/_sandbox/webhooks/unknown")
    assert missing.status_code == 404 and missing.json()["type"] == "WEBHOOK_NOT_FOUND"


def test_log_is_scoped_to_the_store(client: httpx.Client, receiver: Receiver, emit: Emit) -> None:
    other = client.post("/_sandbox/stores", json={"name": "other", "webhookUrls": [receiver.url]}).json()["store"]["id"]
    emit("Transaction.Paid", "theirs", store_id=other)
    receiver.wait_for(1)
    drain(client)
    assert deliveries(client) == []
    (theirs,) = deliveries(client, storeId=other)
    assert theirs["storeId"] == other
    assert client.get(f"/_sandbox/webhooks/{theirs['id']}").status_code == 404
    assert client.get(f"/_sandbox/webhooks/{theirs['id']}", params={"storeId": other}).status_code == 200
    assert client.get("/_sandbox/webhooks", params={"storeId": "store-unknown"}).status_code == 403


def test_replay_makes_an_attempt_now(client: httpx.Client, receiver: Receiver, emit: Emit) -> None:
    receiver.fail_next(1)
    emit("Transaction.Paid", "p-replay")
    receiver.wait_for(1)
    drain(client)
    (item,) = deliveries(client)
    # A pending retry: replay does not wait for its due time.
    replayed = client.post(f"/_sandbox/webhooks/{item['id']}/replay")
    assert replayed.status_code == 200, replayed.text
    view = replayed.json()["webhook"]
    assert view["status"] == "SUCCEEDED" and view["executionCount"] == 2
    assert len(receiver.wait_for(2)) == 2
    # A finished delivery gets one more execution.
    again = client.post(f"/_sandbox/webhooks/{item['id']}/replay").json()["webhook"]
    assert again["status"] == "SUCCEEDED" and again["executionCount"] == 3
    assert [a["number"] for a in again["attempts"]] == [1, 2, 3]
    requests = receiver.wait_for(3)
    assert {r.headers["webhook-id"] for r in requests} == {item["id"]}
    assert client.post("/_sandbox/webhooks/unknown/replay").status_code == 404


def test_test_call_sends_a_sample_to_any_url(client: httpx.Client, receiver: Receiver) -> None:
    with running_receiver() as target:
        response = client.post("/_sandbox/webhooks/test", json={"url": target.url, "type": "Transaction.Cancelled"})
        assert response.status_code == 200, response.text
        view = response.json()["webhook"]
        (request,) = target.wait_for(1)
    verified = sdk_webhook.verify(TEST_WEBHOOK_SECRET, request.text, request.headers)
    assert isinstance(verified, sdk_webhook.WebhookTransactionCancelledCancelled)
    assert view["status"] == "SUCCEEDED" and view["maxExecutionCount"] == 1 and view["url"] == target.url
    assert view["testCall"] is True and view["version"] == "2024-04-25"
    assert receiver.settle(0.2) == []
    # Failing target: attempted once, no retries.
    with running_receiver() as failing:
        failing.status = 500
        failed = client.post("/_sandbox/webhooks/test", json={"url": failing.url}).json()["webhook"]
    assert failed["status"] == "FAILED_NOT_OK_RESPONSE" and failed["executionCount"] == 1
    assert json.loads(failed["body"])["type"] == "Transaction.Paid"
    bad_bodies: list[dict[str, object]] = [{}, {"url": "ftp://x"}, {"url": target.url, "type": "Nope"}, {"url": 5}]
    for bad in bad_bodies:
        response = client.post("/_sandbox/webhooks/test", json=bad)
        assert response.status_code == 400 and response.json()["type"] == "INVALID_REQUEST", bad


def test_drain_counts(client: httpx.Client, receiver: Receiver, server: RunningServer, emit: Emit) -> None:
    server.call(server.runtime.runner.stop)  # no background job: the drain alone delivers
    receiver.fail_next(1)
    emit("Transaction.Paid", "d-1")
    emit("Transaction.Paid", "d-2")
    assert drain(client) == {"attempted": 2, "succeeded": 1, "failed": 1, "pending": 1}
    assert drain(client) == {"attempted": 0, "succeeded": 0, "failed": 0, "pending": 1}
    advance(client, 60)
    assert drain(client) == {"attempted": 1, "succeeded": 1, "failed": 0, "pending": 0}
    assert len(receiver.requests) == 3


def test_store_webhook_settings(client: httpx.Client, receiver: Receiver) -> None:
    shown = client.get(f"/_sandbox/stores/{TEST_STORE_ID}/webhook").json()
    assert shown == {"storeId": TEST_STORE_ID, "version": "2024-04-25", "testUrls": [receiver.url],
                     "liveUrls": [receiver.url], "testSecrets": [TEST_WEBHOOK_SECRET]}
    updated = client.put(f"/_sandbox/stores/{TEST_STORE_ID}/webhook",
                         json={"urls": ["http://127.0.0.1:9/a"], "version": "2024-01-01",
                               "testSecret": "whsec_c2VjcmV0"})
    assert updated.status_code == 200, updated.text
    assert updated.json() == {"storeId": TEST_STORE_ID, "version": "2024-01-01", "testUrls": ["http://127.0.0.1:9/a"],
                              "liveUrls": ["http://127.0.0.1:9/a"], "testSecrets": ["whsec_c2VjcmV0"]}
    bad_settings: list[dict[str, object]] = [
        {"version": "2023-01-01"}, {"testSecret": "whsec_!!"}, {"testSecret": "whsec_"}, {"testSecrets": []},
        {"testSecrets": ["whsec_c2VjcmV0"] * 3}, {"urls": "x"},
        {"testSecret": "whsec_c2VjcmV0", "testSecrets": ["whsec_c2VjcmV0"]},
    ]
    for bad in bad_settings:
        response = client.put(f"/_sandbox/stores/{TEST_STORE_ID}/webhook", json=bad)
        assert response.status_code == 400 and response.json()["type"] == "INVALID_REQUEST", bad
    assert client.get(f"/_sandbox/stores/{TEST_STORE_ID}/webhook").json() == updated.json()
    forbidden = client.put("/_sandbox/stores/store-unknown/webhook", json={"urls": []})
    assert forbidden.status_code == 403
    # A sub-store without URLs of its own inherits the representative store's.
    sub = client.post("/_sandbox/stores", json={"name": "sub"}).json()["store"]["id"]
    assert client.get(f"/_sandbox/stores/{sub}/webhook").json()["testUrls"] == ["http://127.0.0.1:9/a"]
    client.put(f"/_sandbox/stores/{sub}/webhook", json={"urls": ["http://127.0.0.1:9/sub"]})
    assert client.get(f"/_sandbox/stores/{sub}/webhook").json()["testUrls"] == ["http://127.0.0.1:9/sub"]
    client.put(f"/_sandbox/stores/{sub}/webhook", json={"urls": None})
    assert client.get(f"/_sandbox/stores/{sub}/webhook").json()["testUrls"] == ["http://127.0.0.1:9/a"]


def test_sandbox_controls_need_credentials(anonymous: httpx.Client) -> None:
    for method, path in (("GET", "/_sandbox/webhooks"), ("POST", "/_sandbox/webhooks/drain"),
                         ("POST", "/_sandbox/webhooks/test"), ("GET", f"/_sandbox/stores/{TEST_STORE_ID}/webhook")):
        response = anonymous.request(method, path, json={"url": "http://127.0.0.1:9/"} if method == "POST" else None)
        assert response.status_code == 401, (method, path, response.text)
