"""Pure rules: signatures against the official SDK and the standardwebhooks library, payload shapes, the retry
schedule."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from portone_server_sdk import webhook as sdk_webhook
from standardwebhooks.webhooks import Webhook as StandardWebhook

from localportone.webhooks import payloads, signing, state
from localportone.webhooks.models import FAILED_NOT_OK_RESPONSE, FAILED_UNEXPECTED_ERROR, SUCCEEDED
from tests.support.server import TEST_WEBHOOK_SECRET

NOW = datetime(2025, 3, 15, 3, 0, 0, 123456, tzinfo=UTC)


def _body() -> str:
    body = payloads.payment_body(payloads.CURRENT, event_type="Transaction.Paid", timestamp=NOW, store_id="store-1",
                                 payment_id="결제-1", transaction_id="tx-1")
    assert body is not None
    return body


def test_signature_verifies_with_the_sdk_and_standard_webhooks() -> None:
    body = _body()
    ts = int(time.time())
    headers = signing.headers([signing.raw_secret(TEST_WEBHOOK_SECRET)], "msg-1", ts, body.encode())
    assert list(headers) == ["content-type", "webhook-id", "webhook-timestamp", "webhook-signature"]
    verified = sdk_webhook.verify(TEST_WEBHOOK_SECRET, body, headers)
    assert isinstance(verified, sdk_webhook.WebhookTransactionPaid)
    assert verified.data.payment_id == "결제-1"  # non-ASCII bodies sign the UTF-8 bytes
    assert StandardWebhook(TEST_WEBHOOK_SECRET).verify(body, headers)["data"]["paymentId"] == "결제-1"


@given(st.binary(min_size=1, max_size=64), st.text(min_size=1, max_size=40), st.text(max_size=200))
def test_signature_matches_the_sdk_for_any_key_id_and_body(key: bytes, message_id: str, text: str) -> None:
    import base64

    secret = "whsec_" + base64.b64encode(key).decode()
    body = json.dumps({"type": "X", "timestamp": "t", "data": {"v": text}}, ensure_ascii=False, separators=(",", ":"))
    ts = int(time.time())
    headers = signing.headers([signing.raw_secret(secret)], message_id, ts, body.encode())
    assert sdk_webhook.verify(secret, body, headers) is not None


def test_wrong_secret_or_stale_timestamp_is_rejected_by_the_sdk() -> None:
    body = _body()
    headers = signing.headers([signing.raw_secret("whsec_b3RoZXI=")], "m", int(time.time()), body.encode())
    with pytest.raises(sdk_webhook.WebhookVerificationError):
        sdk_webhook.verify(TEST_WEBHOOK_SECRET, body, headers)
    key = signing.raw_secret(TEST_WEBHOOK_SECRET)
    stale = signing.headers([key], "m", int(time.time()) - 600, body.encode())
    with pytest.raises(sdk_webhook.WebhookVerificationError) as info:
        sdk_webhook.verify(TEST_WEBHOOK_SECRET, body, stale)
    assert info.value.reason == "TIMESTAMP_TOO_OLD"


def test_no_secret_means_no_signature_header() -> None:
    assert "webhook-signature" not in signing.headers([], "m", 1, b"{}")


@pytest.mark.parametrize("secret", ["whsec_", "", "whsec_!!!!"])
def test_unusable_secrets(secret: str) -> None:
    with pytest.raises(ValueError):
        signing.raw_secret(secret, strict=True)


def test_current_payloads() -> None:
    assert json.loads(_body()) == {
        "type": "Transaction.Paid", "timestamp": "2025-03-15T03:00:00.123Z",
        "data": {"storeId": "store-1", "paymentId": "결제-1", "transactionId": "tx-1"},
    }
    assert "\n" not in _body() and ", " not in _body()
    cancelled = payloads.payment_body(payloads.CURRENT, event_type="Transaction.Cancelled", timestamp=NOW,
                                      store_id="s", payment_id="p", transaction_id="t", cancellation_id="c")
    assert json.loads(cancelled or "")["data"]["cancellationId"] == "c"
    paid_with_cancel = payloads.payment_body(payloads.CURRENT, event_type="Transaction.Paid", timestamp=NOW,
                                             store_id="s", payment_id="p", transaction_id="t", cancellation_id="c")
    assert "cancellationId" not in json.loads(paid_with_cancel or "")["data"]
    confirm = payloads.payment_body(payloads.CURRENT, event_type="Transaction.Confirm", timestamp=NOW,
                                    store_id="s", payment_id="p", transaction_id="t", total_amount=1000)
    data = json.loads(confirm or "")["data"]
    assert data["totalAmount"] == 1000 and isinstance(data["totalAmount"], int)
    key = payloads.billing_key_body(payloads.CURRENT, event_type="BillingKey.Deleted", timestamp=NOW,
                                    store_id="s", billing_key="bk")
    assert json.loads(key or "") == {"type": "BillingKey.Deleted", "timestamp": "2025-03-15T03:00:00.123Z",
                                     "data": {"storeId": "s", "billingKey": "bk"}}


def test_legacy_payloads() -> None:
    def legacy(event_type: str, **extra: object) -> object:
        body = payloads.payment_body(payloads.LEGACY, event_type=event_type, timestamp=NOW, store_id="s",
                                     payment_id="p", transaction_id="t", **extra)  # type: ignore[arg-type]
        return None if body is None else json.loads(body)

    assert legacy("Transaction.Paid") == {"payment_id": "p", "tx_id": "t", "status": "Paid"}
    assert legacy("Transaction.VirtualAccountIssued")["status"] == "VirtualAccountIssued"  # type: ignore[index]
    assert legacy("Transaction.Cancelled", cancellation_id="c") == {"payment_id": "p", "tx_id": "t",
                                                                   "status": "Cancelled"}
    assert legacy("Transaction.Confirm", total_amount=500) == {"payment_id": "p", "tx_id": "t", "total_amount": 500}
    assert legacy("Transaction.DisputeCreated") is None
    assert payloads.billing_key_body(payloads.LEGACY, event_type="BillingKey.Issued", timestamp=NOW, store_id="s",
                                     billing_key="bk") is None


def test_retry_schedule() -> None:
    assert [state.delay_before(n) for n in range(1, 7)] == [
        timedelta(0), timedelta(minutes=1), timedelta(minutes=4), timedelta(minutes=16), timedelta(minutes=64),
        timedelta(minutes=256),
    ]
    jitter = state.no_jitter
    assert state.next_attempt(NOW, 1, 6, FAILED_NOT_OK_RESPONSE, jitter) == NOW + timedelta(minutes=1)
    assert state.next_attempt(NOW, 5, 6, FAILED_UNEXPECTED_ERROR, jitter) == NOW + timedelta(minutes=256)
    assert state.next_attempt(NOW, 6, 6, FAILED_NOT_OK_RESPONSE, jitter) is None
    assert state.next_attempt(NOW, 1, 6, SUCCEEDED, jitter) is None
    full = state.jitter_policy("full")
    for _ in range(50):
        assert timedelta(0) <= full(timedelta(minutes=4)) <= timedelta(minutes=4)
    with pytest.raises(ValueError):
        state.jitter_policy("sometimes")


@pytest.mark.parametrize(("code", "result"), [
    (200, SUCCEEDED), (204, SUCCEEDED), (299, SUCCEEDED), (301, FAILED_NOT_OK_RESPONSE),
    (404, FAILED_NOT_OK_RESPONSE), (500, FAILED_NOT_OK_RESPONSE), (None, FAILED_UNEXPECTED_ERROR),
])
def test_results(code: int | None, result: str) -> None:
    assert state.result_of(code) == result


def test_delivery_settings() -> None:
    from localportone.webhooks.delivery import DeliveryConfig

    config = DeliveryConfig.from_settings({"webhook_lease_seconds": 10, "webhook_concurrency": 8})
    assert config.lease_seconds == 10 and config.timeout_seconds == 5 and config.concurrency == 8
    assert DeliveryConfig.from_settings({}).timeout_seconds == 30
    for bad in ({"webhook_jitter": "maybe"}, {"webhook_concurrency": "x"}, {"webhook_lease_seconds": 0}):
        with pytest.raises(SystemExit):
            DeliveryConfig.from_settings(bad)
