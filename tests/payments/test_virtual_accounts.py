"""Virtual accounts: issue, deposit (sandbox control), refund, close, expiry on the sandbox clock."""

from __future__ import annotations

from dataclasses import replace

import httpx
import pytest

from localportone.kernel.config import Settings
from localportone.payments.job import VirtualAccountExpiryJob
from tests.payments.conftest import WebhookRecorder
from tests.payments.helpers import REFUND_ACCOUNT, cancel, card_body, error, get, new_id, pay, va_body
from tests.support.server import TEST_STORE_ID, RunningServer


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """No background jobs here: these tests drive the expiry job by hand to observe each step."""
    return replace(settings, run_jobs=False)


def test_the_running_job_expires_accounts_when_the_clock_moves(database_url: str) -> None:
    """With jobs on (as in `serve`), a clock move alone expires the account: nobody reads the payment."""
    import time

    from sqlalchemy import select

    from localportone.payments.models import transactions_table
    from tests.support.server import TEST_API_SECRET, make_client, run_server

    settings = Settings(database_url=database_url, api_secret=TEST_API_SECRET, store_id=TEST_STORE_ID,
                        job_poll_seconds=0.2)
    with run_server(settings) as running, make_client(running.base_url) as c:
        toss = next(ch["key"] for ch in c.get("/_sandbox/channels").json()["channels"]
                    if ch["pgProvider"] == "TOSSPAYMENTS")
        payment_id = new_id()
        pay(c, payment_id, va_body(toss, valid_hours=1))

        async def stored_status() -> str:
            async with running.runtime.transactions.begin(write=False) as uow:
                rows = await uow.session.scalars(select(transactions_table.c.status)
                                                 .where(transactions_table.c.payment_id == payment_id))
                return rows.one()

        _advance(c, 2 * 3600)
        deadline = time.monotonic() + 10
        status = running.call(stored_status)
        while status != "FAILED" and time.monotonic() < deadline:
            time.sleep(0.1)
            status = running.call(stored_status)
        assert status == "FAILED"


def _advance(client: httpx.Client, seconds: int) -> None:
    assert client.post("/_sandbox/clock", json={"advanceSeconds": seconds}).status_code == 200


def test_issue_deposit_and_refund(client: httpx.Client, channels: dict[str, str], webhooks: WebhookRecorder) -> None:
    payment_id = new_id()
    body = va_body(channels["TOSSPAYMENTS"], 30000)
    body["method"]["virtualAccount"]["remitteeName"] = "Sandbox Shop"
    summary = pay(client, payment_id, body)["payment"]
    payment = get(client, payment_id)
    assert payment["status"] == "VIRTUAL_ACCOUNT_ISSUED" and payment["pgTxId"] == summary["pgTxId"]
    method = payment["method"]
    assert method["type"] == "PaymentMethodVirtualAccount" and method["bank"] == "KOOKMIN"
    assert method["accountType"] == "NORMAL" and len(method["accountNumber"]) == 14
    assert method["remitteeName"] == "Sandbox Shop" and method["issuedAt"] == summary["paidAt"]
    assert "paidAt" not in payment and "disputes" not in payment
    assert webhooks.types(payment_id) == ["Transaction.VirtualAccountIssued"]
    error(client.post(f"/payments/{payment_id}/instant", json=card_body(channels["TOSSPAYMENTS"])), 409,
          "ALREADY_PAID")  # §16 item 23: waiting for a deposit holds the paymentId
    error(client.post(f"/payments/{payment_id}/cancel", json={"reason": "x"}), 409, "PAYMENT_NOT_PAID")

    deposit_url = f"/_sandbox/payments/{payment_id}/deposit"
    error(client.post(deposit_url, json={"amount": 29999}), 400, "INVALID_REQUEST")
    error(client.post(f"/_sandbox/payments/{new_id()}/deposit", json={}), 404, "PAYMENT_NOT_FOUND")
    deposited = client.post(deposit_url, params={"storeId": TEST_STORE_ID},
                            json={"amount": 30000, "remitterName": "Hong"})
    assert deposited.status_code == 200, deposited.text
    payment = get(client, payment_id)
    assert deposited.json()["payment"]["status"] == "PAID"
    assert payment["status"] == "PAID" and payment["method"]["remitterName"] == "Hong" and payment["disputes"] == []
    hook = webhooks.of(payment_id)[-1]
    assert (hook.event_type, hook.trigger, hook.is_async) == ("Transaction.Paid", "VIRTUAL_ACCOUNT_DEPOSIT", True)
    error(client.post(deposit_url, json={}), 409, "PAYMENT_NOT_WAITING_FOR_DEPOSIT")

    # a refund needs the buyer's bank account
    error(client.post(f"/payments/{payment_id}/cancel", json={"reason": "refund", "amount": 10000}), 400,
          "INVALID_REQUEST")
    refunded = cancel(client, payment_id, {"reason": "refund", "amount": 10000, "refundAccount": REFUND_ACCOUNT})
    assert refunded["cancellation"]["status"] == "SUCCEEDED"
    payment = get(client, payment_id)
    assert payment["status"] == "PARTIAL_CANCELLED" and payment["method"]["refundStatus"] == "COMPLETED"


def test_close_fails_the_payment_and_frees_the_payment_id(client: httpx.Client, channels: dict[str, str],
                                                          webhooks: WebhookRecorder) -> None:
    payment_id = new_id()
    pay(client, payment_id, va_body(channels["KCP_V2"]))
    closed = client.post(f"/payments/{payment_id}/virtual-account/close", params={"storeId": TEST_STORE_ID})
    assert closed.status_code == 200, closed.text
    payment = get(client, payment_id)
    assert payment["status"] == "FAILED" and payment["failure"] == {"reason": "virtual account closed"}
    assert payment["failedAt"] == closed.json()["closedAt"]
    assert webhooks.types(payment_id) == ["Transaction.VirtualAccountIssued", "Transaction.Failed"]
    error(client.post(f"/payments/{payment_id}/virtual-account/close"), 409, "PAYMENT_NOT_WAITING_FOR_DEPOSIT")
    error(client.post(f"/payments/{new_id()}/virtual-account/close"), 404, "PAYMENT_NOT_FOUND")
    pay(client, payment_id, card_body(channels["KCP_V2"]))  # a FAILED payment may be paid again
    assert len(client.get(f"/payments/{payment_id}/transactions").json()["items"]) == 2


def test_expiry_on_the_sandbox_clock(server: RunningServer, client: httpx.Client, channels: dict[str, str],
                                     webhooks: WebhookRecorder) -> None:
    lazy, job = new_id(), new_id()
    pay(client, lazy, va_body(channels["TOSSPAYMENTS"], valid_hours=1))
    pay(client, job, va_body(channels["TOSSPAYMENTS"], valid_hours=1))
    _advance(client, 30 * 60)
    assert get(client, lazy)["status"] == "VIRTUAL_ACCOUNT_ISSUED"
    _advance(client, 31 * 60)
    payment = get(client, lazy)  # expired when read
    assert payment["status"] == "FAILED" and payment["failure"]["reason"] == "virtual account expired"
    hook = webhooks.of(lazy)[-1]
    assert (hook.event_type, hook.is_async) == ("Transaction.Failed", True)
    error(client.post(f"/_sandbox/payments/{lazy}/deposit", json={}), 409, "PAYMENT_NOT_WAITING_FOR_DEPOSIT")
    expired = client.post("/_sandbox/payments/expire-virtual-accounts", json={})
    assert expired.status_code == 200 and expired.json() == {"expiredCount": 1}
    assert webhooks.types(job) == ["Transaction.VirtualAccountIssued", "Transaction.Failed"]
    assert client.post("/_sandbox/payments/expire-virtual-accounts", json={}).json() == {"expiredCount": 0}
    assert get(client, job)["status"] == "FAILED"

    # lists show expired accounts as FAILED too, and a deposit after expiry is refused even if nobody looked
    listed = new_id()
    pay(client, listed, va_body(channels["TOSSPAYMENTS"], valid_hours=1))
    _advance(client, 2 * 3600)
    error(client.post(f"/_sandbox/payments/{listed}/deposit", json={}), 409, "PAYMENT_NOT_WAITING_FOR_DEPOSIT")
    statuses = {p["id"]: p["status"] for p in client.get("/payments").json()["items"]}
    assert statuses[listed] == "FAILED"
    pay(client, listed, va_body(channels["TOSSPAYMENTS"]))  # an expired account frees the paymentId
    assert get(client, listed)["status"] == "VIRTUAL_ACCOUNT_ISSUED"

    # the background job does the same when nobody looks
    by_job = new_id()
    pay(client, by_job, va_body(channels["TOSSPAYMENTS"], valid_hours=1))
    expiry_job = VirtualAccountExpiryJob(server.runtime.transactions)
    assert server.call(expiry_job.run_once) == 0
    _advance(client, 2 * 3600)
    assert server.call(expiry_job.run_once) == 1
    assert webhooks.types(by_job) == ["Transaction.VirtualAccountIssued", "Transaction.Failed"]
