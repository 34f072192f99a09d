"""``POST /payments/{id}/cancel``: amounts (§16.5), every error of §6.3, asynchronous cancels and ``/stop``."""

from __future__ import annotations

from typing import Any

import httpx

from tests.payments.conftest import WebhookRecorder
from tests.payments.helpers import DECLINE_CARD, cancel, card_body, error, get, new_id, pay, stable


def _paid(client: httpx.Client, key: str, total: int = 10000, tax_free: int | None = None,
          currency: str = "KRW") -> str:
    payment_id = new_id()
    amount: dict[str, Any] = {"total": total}
    if tax_free is not None:
        amount["taxFree"] = tax_free
    pay(client, payment_id, card_body(key, amount=amount, currency=currency))
    return payment_id


def test_partial_then_full_cancel(client: httpx.Client, channels: dict[str, str], webhooks: WebhookRecorder) -> None:
    payment_id = _paid(client, channels["TOSSPAYMENTS"], 10000, 2000)  # vat 727
    first = cancel(client, payment_id, {"reason": "partial", "amount": 3000, "taxFreeAmount": 1000,
                                        "currentCancellableAmount": 10000, "requester": "CUSTOMER"})["cancellation"]
    assert first["status"] == "SUCCEEDED" and first["trigger"] == "API"
    assert (first["totalAmount"], first["taxFreeAmount"], first["vatAmount"]) == (3000, 1000, 182)
    assert first["pgCancellationId"] and first["receiptUrl"] and first["cancelledAt"]
    payment = get(client, payment_id)
    assert payment["status"] == "PARTIAL_CANCELLED"
    assert payment["amount"]["cancelled"] == 3000 and payment["amount"]["cancelledTaxFree"] == 1000
    assert payment["cancellations"] == [first] and payment["cancelledAt"] == first["cancelledAt"]
    assert "paidAt" in payment and "disputes" not in payment

    rest = cancel(client, payment_id, {"reason": "the rest", "currentCancellableAmount": 7000})["cancellation"]
    assert (rest["totalAmount"], rest["taxFreeAmount"], rest["vatAmount"]) == (7000, 1000, 545)  # §16 item 40
    payment = get(client, payment_id)
    assert payment["status"] == "CANCELLED"
    assert payment["amount"]["cancelled"] == 10000 and payment["amount"]["cancelledTaxFree"] == 2000
    assert [c["id"] for c in payment["cancellations"]] == [first["id"], rest["id"]]
    hooks = webhooks.of(payment_id)
    assert [(h.event_type, h.payment_status, h.cancellation_id) for h in hooks] == [
        ("Transaction.Paid", "PAID", None),
        ("Transaction.PartialCancelled", "PARTIAL_CANCELLED", first["id"]),
        ("Transaction.Cancelled", "CANCELLED", rest["id"]),
    ]
    error(client.post(f"/payments/{payment_id}/cancel", json={"reason": "again"}), 409, "PAYMENT_ALREADY_CANCELLED")
    error(client.post(f"/payments/{payment_id}/instant", json=card_body(channels["TOSSPAYMENTS"])), 409,
          "ALREADY_PAID")

    quiet = _paid(client, channels["TOSSPAYMENTS"])
    cancel(client, quiet, {"reason": "no webhook", "skipWebhook": True})
    assert webhooks.types(quiet) == ["Transaction.Paid"]


def test_every_cancel_error_changes_nothing(client: httpx.Client, channels: dict[str, str],
                                            webhooks: WebhookRecorder) -> None:
    key = channels["TOSSPAYMENTS"]
    error(client.post(f"/payments/{new_id()}/cancel", json={"reason": "x"}), 404, "PAYMENT_NOT_FOUND")
    failed = new_id()
    pay(client, failed, card_body(key, card=DECLINE_CARD), 502)
    error(client.post(f"/payments/{failed}/cancel", json={"reason": "x"}), 409, "PAYMENT_NOT_PAID")

    payment_id = _paid(client, key, 100000, 20000)
    before = get(client, payment_id)
    url = f"/payments/{payment_id}/cancel"
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"amount": 100}, 400, "INVALID_REQUEST"),  # reason is required
        ({"reason": "x", "amount": 0}, 400, "INVALID_REQUEST"),
        ({"reason": "x", "amount": -10}, 400, "INVALID_REQUEST"),
        ({"reason": "x", "amount": 100, "currentCancellableAmount": 99999}, 409,
         "CANCELLABLE_AMOUNT_CONSISTENCY_BROKEN"),
        ({"reason": "x", "amount": 100001}, 409, "CANCEL_AMOUNT_EXCEEDS_CANCELLABLE_AMOUNT"),
        ({"reason": "x", "amount": 1000, "taxFreeAmount": 600, "vatAmount": 500}, 409,
         "SUM_OF_PARTS_EXCEEDS_CANCEL_AMOUNT"),
        ({"reason": "x", "amount": 30000, "taxFreeAmount": 20001}, 409,
         "CANCEL_TAX_FREE_AMOUNT_EXCEEDS_CANCELLABLE_TAX_FREE_AMOUNT"),
        ({"reason": "x", "amount": 90000}, 409, "CANCEL_TAX_AMOUNT_EXCEEDS_CANCELLABLE_TAX_AMOUNT"),
        ({"reason": "x", "amount": 8000, "vatAmount": 7274}, 409, "CANCEL_TAX_AMOUNT_EXCEEDS_CANCELLABLE_TAX_AMOUNT"),
        ({"reason": "x", "amount": "100"}, 400, "INVALID_REQUEST"),
        ({"reason": "x", "requester": "NOBODY"}, 400, "INVALID_REQUEST"),
    ]
    for body, status, type_ in cases:
        error(client.post(url, json=body), status, type_)
    assert stable(get(client, payment_id)) == stable(before)
    # the PG refuses the cancel: a FAILED cancellation is kept, the payment stays PAID
    refused = error(client.post(url, json={"reason": "refused", "amount": 40005}), 502, "PG_PROVIDER")
    assert refused["pgCode"] == "CANCEL_REJECTED"
    after = get(client, payment_id)
    assert after["status"] == "PAID" and after["amount"] == before["amount"]
    [failed_cancel] = after["cancellations"]
    assert (failed_cancel["status"], failed_cancel["totalAmount"], failed_cancel["reason"]) == (
        "FAILED", 40005, "refused")
    timeout = error(client.post(url, json={"reason": "timeout", "amount": 40504}), 502, "PG_PROVIDER")
    assert timeout["pgCode"] == "PG_TRANSPORT_ERROR"
    assert get(client, payment_id)["cancellations"] == after["cancellations"]
    assert webhooks.types(payment_id) == ["Transaction.Paid"]


def test_asynchronous_cancel_reserves_until_completed_failed_or_stopped(
    client: httpx.Client, channels: dict[str, str], webhooks: WebhookRecorder
) -> None:
    payment_id = _paid(client, channels["TOSSPAYMENTS"], 100000)
    requested = cancel(client, payment_id, {"reason": "async", "amount": 40202})["cancellation"]
    assert requested["status"] == "REQUESTED" and "cancelledAt" not in requested
    payment = get(client, payment_id)
    assert payment["status"] == "PAID" and payment["amount"]["cancelled"] == 0
    assert payment["cancellations"] == [requested]
    hook = webhooks.of(payment_id)[-1]
    assert (hook.event_type, hook.payment_status, hook.cancellation_id) == (
        "Transaction.CancelPending", "PAID", requested["id"])
    # the pending amount cannot be cancelled twice
    error(client.post(f"/payments/{payment_id}/cancel", json={"reason": "x", "amount": 60000}), 409,
          "CANCEL_AMOUNT_EXCEEDS_CANCELLABLE_AMOUNT")
    error(client.post(f"/payments/{payment_id}/cancel", json={"reason": "x", "currentCancellableAmount": 100000}),
          409, "CANCELLABLE_AMOUNT_CONSISTENCY_BROKEN")

    base = f"/_sandbox/payments/{payment_id}/cancellations"
    done = client.post(f"{base}/{requested['id']}/complete")
    assert done.status_code == 200, done.text
    assert done.json()["cancellation"]["status"] == "SUCCEEDED"
    payment = get(client, payment_id)
    assert payment["status"] == "PARTIAL_CANCELLED" and payment["amount"]["cancelled"] == 40202
    hook = webhooks.of(payment_id)[-1]
    assert (hook.event_type, hook.trigger, hook.is_async, hook.cancellation_id) == (
        "Transaction.PartialCancelled", "ASYNC_CANCEL_APPROVED", True, requested["id"])
    error(client.post(f"{base}/{requested['id']}/complete"), 409, "PAYMENT_CANCELLATION_NOT_PENDING")

    failing = cancel(client, payment_id, {"reason": "async 2", "amount": 40202})["cancellation"]
    failed = client.post(f"{base}/{failing['id']}/fail", json={"pgCode": "NOPE", "pgMessage": "no"})
    assert failed.status_code == 200 and failed.json()["cancellation"]["status"] == "FAILED"
    hook = webhooks.of(payment_id)[-1]
    assert (hook.event_type, hook.payment_status, hook.trigger, hook.is_async) == (
        "Transaction.PartialCancelled", "PARTIAL_CANCELLED", "ASYNC_CANCEL_FAILED", True)
    assert get(client, payment_id)["amount"]["cancelled"] == 40202

    stopping = cancel(client, payment_id, {"reason": "async 3", "amount": 40202})["cancellation"]
    count = len(webhooks.of(payment_id))
    stop_url = f"/payments/{payment_id}/cancellations/{stopping['id']}/stop"
    stopped = client.post(stop_url, json={})
    assert stopped.status_code == 200 and set(stopped.json()) == {"stoppedAt"}
    error(client.post(stop_url, json={}), 409, "PAYMENT_CANCELLATION_NOT_PENDING")
    error(client.post(f"/payments/{payment_id}/cancellations/nope/stop", json={}), 404,
          "PAYMENT_CANCELLATION_NOT_FOUND")
    error(client.post(f"/payments/{new_id()}/cancellations/nope/stop", json={}), 404, "PAYMENT_NOT_FOUND")
    assert len(webhooks.of(payment_id)) == count  # no webhook for a stop (§16 item 46)
    payment = get(client, payment_id)
    assert [c["status"] for c in payment["cancellations"]] == ["SUCCEEDED", "FAILED", "FAILED"]
    assert payment["status"] == "PARTIAL_CANCELLED" and payment["amount"]["cancelled"] == 40202
    assert cancel(client, payment_id, {"reason": "rest"})["cancellation"]["totalAmount"] == 100000 - 40202
    assert get(client, payment_id)["status"] == "CANCELLED"


def test_paypal_cancels_are_asynchronous(client: httpx.Client, channels: dict[str, str],
                                         webhooks: WebhookRecorder) -> None:
    payment_id = _paid(client, channels["PAYPAL_V2"], 2500, currency="USD")
    requested = cancel(client, payment_id, {"reason": "refund"})["cancellation"]
    assert requested["status"] == "REQUESTED" and requested["totalAmount"] == 2500
    assert client.post(f"/_sandbox/payments/{payment_id}/cancellations/{requested['id']}/complete").status_code == 200
    payment = get(client, payment_id)
    assert payment["status"] == "CANCELLED" and payment["currency"] == "USD"
    assert webhooks.types(payment_id) == ["Transaction.Paid", "Transaction.CancelPending", "Transaction.Cancelled"]
