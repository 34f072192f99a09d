"""SIGKILL while webhooks are pending or in flight: after a restart every event is delivered at least once."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import pytest
from portone_server_sdk import webhook as sdk_webhook

from tests.support.server import TEST_API_SECRET, TEST_STORE_ID, TEST_WEBHOOK_SECRET, make_client
from tests.webhooks.processes import clean_env, free_port, kill, start, wait_healthy
from tests.webhooks.receiver import Receiver, running_receiver

pytestmark = pytest.mark.slow

EVENTS = 40


def _configure(receiver: Receiver) -> None:
    receiver.delay = 0.4  # slow enough that the kill catches deliveries in flight


def test_sigkill_loses_no_webhook(tmp_path: Path) -> None:
    database = tmp_path / "crash.db"
    log = tmp_path / "serve.log"
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    with running_receiver(_configure) as receiver:
        env = clean_env(
            DATABASE_URL=f"sqlite:///{database}", API_SECRET=TEST_API_SECRET, STORE_ID=TEST_STORE_ID,
            WEBHOOK_URL=receiver.url, WEBHOOK_SECRET=TEST_WEBHOOK_SECRET,
            # A few in flight, the rest pending; short leases so that a dead process's claims expire quickly.
            WEBHOOK_CONCURRENCY="4", WEBHOOK_LEASE_SECONDS="3",
        )
        serve = ["serve", "--port", str(port)]
        process = start(serve, env, log)
        try:
            wait_healthy(base_url, process, log)
            with make_client(base_url) as client:
                channel = {c["pgProvider"]: c["key"] for c in client.get("/_sandbox/channels").json()["channels"]}
                payment_ids = [f"crash-{i}" for i in range(EVENTS)]
                for payment_id in payment_ids:
                    response = client.post(f"/payments/{payment_id}/instant", json={
                        "channelKey": channel["TOSSPAYMENTS"], "orderName": "crash", "amount": {"total": 1000},
                        "currency": "KRW",
                        "method": {"card": {"credential": {"number": "4242424242424242", "expiryYear": "30",
                                                           "expiryMonth": "12"}}},
                    })
                    assert response.status_code == 200, response.text
            deadline = time.monotonic() + 10
            while receiver.arrivals < 2 and time.monotonic() < deadline:
                time.sleep(0.01)
            assert receiver.arrivals >= 2
        finally:
            kill(process, signal.SIGKILL)
        delivered_before = {json.loads(r.body)["data"]["paymentId"] for r in receiver.requests}
        assert len(delivered_before) < EVENTS, "the kill came too late to prove anything"

        receiver.delay = 0
        process = start(serve, env, log)
        try:
            wait_healthy(base_url, process, log)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                seen = {json.loads(r.body)["data"]["paymentId"] for r in receiver.requests}
                if seen == set(payment_ids):
                    break
                time.sleep(0.1)
            assert seen == set(payment_ids), f"missing after restart: {sorted(set(payment_ids) - seen)}"
            for request in receiver.requests:
                sdk_webhook.verify(TEST_WEBHOOK_SECRET, request.text, request.headers)
            with make_client(base_url) as client:
                assert client.post("/_sandbox/webhooks/drain").status_code == 200
                items = client.get("/_sandbox/webhooks", params={"pageSize": 1000}).json()["items"]
            assert len(items) == EVENTS
            assert {i["status"] for i in items} == {"SUCCEEDED"}
            # At least once: a message cut off by the kill may arrive twice, always with its own webhook-id.
            ids_by_payment: dict[str, set[str]] = {}
            for request in receiver.requests:
                ids_by_payment.setdefault(json.loads(request.body)["data"]["paymentId"], set()).add(
                    request.headers["webhook-id"])
            assert all(len(ids) == 1 for ids in ids_by_payment.values())
        finally:
            kill(process, signal.SIGTERM)
        assert "webhook " in log.read_text()  # one log line per attempt in the serve log
