"""Which BillingKey.* events the billing-key use cases queue (recorded at the webhooks service's interface)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.billing_keys.helpers import DECLINE_CARD, card, error, issue, issued_key, make_group, stored_rows
from tests.support.server import TEST_STORE_ID, RunningServer


@pytest.fixture
def events(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Every enqueue_billing_key_event call (the server runs in this process, so the patch reaches it)."""
    from localportone.webhooks import service as webhooks

    calls: list[dict[str, Any]] = []

    async def record(uow: Any, **kwargs: Any) -> None:
        calls.append({**kwargs, "store": (kwargs["store"].merchant_id, kwargs["store"].store_id)})

    monkeypatch.setattr(webhooks, "enqueue_billing_key_event", record)
    return calls


def _types(events: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(e["event_type"], e["billing_key"]) for e in events]


def test_issue_queues_issued(client: httpx.Client, channels: dict[str, str], events: list[dict[str, Any]]) -> None:
    key = issued_key(client, channels["TOSSPAYMENTS"], noticeUrls=["https://example.com/hook"])
    [event] = events
    assert event["event_type"] == "BillingKey.Issued"
    assert event["billing_key"] == key
    assert event["is_test"] is True
    assert event["notice_urls"] == ["https://example.com/hook"]
    assert event["store"][1] == TEST_STORE_ID


def test_skip_webhook(client: httpx.Client, channels: dict[str, str], events: list[dict[str, Any]]) -> None:
    key = issued_key(client, channels["TOSSPAYMENTS"], skipWebhook=True)
    assert client.delete(f"/billing-keys/{key}", params={"skipWebhook": "true"}).status_code == 200
    assert events == []


def test_decline_queues_failed(client: httpx.Client, channels: dict[str, str], server: RunningServer,
                               events: list[dict[str, Any]]) -> None:
    error(issue(client, channels["TOSSPAYMENTS"], DECLINE_CARD), 502, "PG_PROVIDER")
    group = make_group(server, ["TOSSPAYMENTS", "KCP_V2"])
    error(client.post("/billing-keys", json={"method": card(DECLINE_CARD), "channelGroupId": group}),
          502, "CHANNEL_SPECIFIC")
    assert _types(events) == [("BillingKey.Failed", key) for key, _status in stored_rows(server)]


def test_partial_group_success_queues_issued(client: httpx.Client, server: RunningServer,
                                             events: list[dict[str, Any]]) -> None:
    group = make_group(server, ["TOSSPAYMENTS", "KAKAOPAY"])
    response = client.post("/billing-keys", json={"method": card(), "channelGroupId": group})
    assert _types(events) == [("BillingKey.Issued", response.json()["billingKeyInfo"]["billingKey"])]


def test_delete_queues_deleted(client: httpx.Client, channels: dict[str, str], events: list[dict[str, Any]]) -> None:
    key = issued_key(client, channels["TOSSPAYMENTS"], skipWebhook=True)
    client.delete(f"/billing-keys/{key}", params={"skipWebhook": "false"})
    assert _types(events) == [("BillingKey.Deleted", key)]


def test_manual_confirm_queues_ready_then_issued(client: httpx.Client, channels: dict[str, str],
                                                events: list[dict[str, Any]]) -> None:
    pending = client.post("/_sandbox/billing-keys/issue-pending",
                          json={"method": card(), "channelKey": channels["TOSSPAYMENTS"]}).json()
    assert _types(events) == [("BillingKey.Ready", pending["billingKey"])]
    client.post("/billing-keys/confirm", json={"billingIssueToken": pending["billingIssueToken"]})
    assert _types(events)[1:] == [("BillingKey.Issued", pending["billingKey"])]


def test_sandbox_update_queues_updated(client: httpx.Client, channels: dict[str, str],
                                       events: list[dict[str, Any]]) -> None:
    key = issued_key(client, channels["TOSSPAYMENTS"], skipWebhook=True)
    response = client.post(f"/_sandbox/billing-keys/{key}/update")
    assert response.status_code == 200, response.text
    assert response.json() == {"billingKey": key, "eventType": "BillingKey.Updated"}
    assert _types(events) == [("BillingKey.Updated", key)]
    client.delete(f"/billing-keys/{key}", params={"skipWebhook": "true"})
    error(client.post(f"/_sandbox/billing-keys/{key}/update"), 409, "BILLING_KEY_ALREADY_DELETED")
    error(client.post("/_sandbox/billing-keys/billing-key-nope/update"), 404, "BILLING_KEY_NOT_FOUND")
    assert len(events) == 1


def test_rejected_requests_queue_nothing(client: httpx.Client, channels: dict[str, str],
                                         events: list[dict[str, Any]]) -> None:
    error(issue(client, "channel-key-nope"), 404, "CHANNEL_NOT_FOUND")
    method = card()
    method["card"]["credential"]["expiryMonth"] = "13"
    error(client.post("/billing-keys", json={"method": method, "channelKey": channels["TOSSPAYMENTS"]}),
          400, "INVALID_REQUEST")
    error(client.delete("/billing-keys/billing-key-nope"), 404, "BILLING_KEY_NOT_FOUND")
    assert events == []


def test_events_are_delivered_signed(client: httpx.Client, channels: dict[str, str]) -> None:
    """End to end through the webhooks domain: the receiver verifies with the official SDK."""
    import threading
    import time
    from http.server import BaseHTTPRequestHandler, HTTPServer

    from portone_server_sdk import webhook

    from tests.support.server import TEST_WEBHOOK_SECRET

    received: list[Any] = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"])).decode()
            headers = {k.lower(): v for k, v in self.headers.items()}
            received.append(webhook.verify(TEST_WEBHOOK_SECRET, body, headers))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    receiver = HTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=receiver.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{receiver.server_port}/hook"
        key = issued_key(client, channels["TOSSPAYMENTS"], noticeUrls=[url])
        client.post("/_sandbox/webhooks/drain")
        deadline = time.monotonic() + 10
        while not received and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        receiver.shutdown()
    if not received and client.get("/_sandbox/webhooks").status_code == 404:
        pytest.skip("webhook delivery is not implemented yet")
    [event] = received
    assert type(event).__name__ == "WebhookBillingKeyIssued"
    assert event.data.billing_key == key
    assert event.data.store_id == TEST_STORE_ID
