"""What happens at timeToPay: the payment, its webhook, declines, pending approvals, ordering and latency."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from portone_server_sdk import PortOneClient, errors
from portone_server_sdk.payment import PaidPayment
from portone_server_sdk.payment.payment_schedule import FailedPaymentSchedule, SucceededPaymentSchedule

from tests.schedules.conftest import Receiver
from tests.schedules.helpers import (
    DECLINING_CARD,
    PENDING_CARD,
    advance,
    at,
    error,
    get,
    inspect,
    issued_key,
    payment,
    run_due,
    schedule,
    scheduled_id,
    server_now,
    transactions,
    utc,
    wait_for,
    wait_status,
)
from tests.support.server import TEST_API_SECRET, TEST_WEBHOOK_SECRET, RunningServer

PAST = "2000-01-01T00:00:00Z"


def test_clock_move_runs_the_schedule_and_makes_a_normal_payment(client: httpx.Client, billing_key: str) -> None:
    time_to_pay = at(server_now(client), hours=1)
    schedule_id = scheduled_id(client, "order-1", billing_key, time_to_pay,
                               amount={"total": 8900, "taxFree": 900}, customData="sub-7")
    time.sleep(0.3)
    assert get(client, schedule_id)["status"] == "SCHEDULED"
    advance(client, 2 * 3600)
    done = wait_status(client, schedule_id, "SUCCEEDED", timeout=5)
    started, completed = utc(done["startedAt"]), utc(done["completedAt"])
    assert utc(time_to_pay) <= started <= completed

    response = payment(client, "order-1")
    assert response.status_code == 200, response.text
    paid = response.json()
    assert paid["status"] == "PAID"
    assert paid["scheduleId"] == schedule_id
    assert paid["billingKey"] == billing_key
    assert paid["amount"]["total"] == 8900 and paid["amount"]["taxFree"] == 900
    assert paid["customData"] == "sub-7"
    assert paid["orderName"] == "Monthly plan"
    assert [t["status"] for t in transactions(client, "order-1")] == ["PAID"]


def test_sdk_sees_the_scheduled_payment_and_can_cancel_it(quiet: httpx.Client,
                                                          quiet_server: RunningServer, quiet_key: str) -> None:
    schedule_id = scheduled_id(quiet, "order-sdk", quiet_key, PAST)
    assert run_due(quiet)["succeeded"] == 1
    sdk = PortOneClient(secret=TEST_API_SECRET, base_url=quiet_server.base_url)
    paid = sdk.payment.get_payment(payment_id="order-sdk")
    assert isinstance(paid, PaidPayment)
    assert paid.schedule_id == schedule_id
    assert isinstance(sdk.payment.payment_schedule.get_payment_schedule(payment_schedule_id=schedule_id),
                      SucceededPaymentSchedule)
    cancelled = quiet.post("/payments/order-sdk/cancel", json={"reason": "customer left"})
    assert cancelled.status_code == 200, cancelled.text
    assert payment(quiet, "order-sdk").json()["status"] == "CANCELLED"
    assert get(quiet, schedule_id)["status"] == "SUCCEEDED"
    # the paymentId is paid (then cancelled): it cannot be scheduled again
    with pytest.raises(errors.AlreadyPaidOrWaitingError):
        from portone_server_sdk.common import PaymentAmountInput
        from portone_server_sdk.payment.payment_schedule import BillingKeyPaymentScheduleInput

        sdk.payment.payment_schedule.create_payment_schedule(
            payment_id="order-sdk", time_to_pay=PAST,
            payment=BillingKeyPaymentScheduleInput(billing_key=quiet_key, order_name="again", currency="KRW",
                                                   amount=PaymentAmountInput(total=100)))


def test_the_scheduled_payment_sends_its_webhook(client: httpx.Client, billing_key: str,
                                                 receiver: Receiver) -> None:
    from portone_server_sdk import webhook

    schedule_id = scheduled_id(client, "order-hook", billing_key, at(server_now(client), minutes=5),
                               noticeUrls=[receiver.url])
    advance(client, 600)
    wait_status(client, schedule_id, "SUCCEEDED", timeout=5)
    headers, body = wait_for(lambda: receiver.received[0] if receiver.received else None, timeout=10)
    event = webhook.verify(TEST_WEBHOOK_SECRET, body.decode(), headers)
    assert isinstance(event, webhook.WebhookTransactionPaid)
    assert event.data.payment_id == "order-hook"
    paid = payment(client, "order-hook").json()
    assert any(w.get("paymentStatus") == "PAID" and w["url"] == receiver.url for w in paid.get("webhooks", []))
    assert json.loads(body)["data"]["transactionId"] == paid["transactionId"]


def test_declined_card_fails_the_schedule_with_the_pgs_failure(quiet: httpx.Client, quiet_channel: str) -> None:
    key = issued_key(quiet, quiet_channel, DECLINING_CARD)
    schedule_id = scheduled_id(quiet, "order-declined", key, PAST)
    assert run_due(quiet) == {"ran": 1, "succeeded": 0, "failed": 1, "pending": 0, "errors": 0, "stillRunning": 0,
                              "settled": 0}
    failed = get(quiet, schedule_id)
    assert failed["status"] == "FAILED"
    assert "startedAt" in failed and "completedAt" in failed
    failure = inspect(quiet, schedule_id)["failure"]
    assert failure["pgCode"] == "REJECT_CARD_COMPANY"
    paid = payment(quiet, "order-declined").json()
    assert paid["status"] == "FAILED"
    assert paid["scheduleId"] == schedule_id
    assert paid["failure"]["pgCode"] == failure["pgCode"]
    assert paid["failure"]["pgMessage"] == failure["pgMessage"]
    # a failed schedule frees the paymentId: the merchant may schedule it again
    scheduled_id(quiet, "order-declined", key, "2099-01-01T00:00:00Z")


def test_sdk_reads_a_failed_schedule(quiet: httpx.Client, quiet_server: RunningServer, quiet_channel: str) -> None:
    key = issued_key(quiet, quiet_channel, DECLINING_CARD)
    schedule_id = scheduled_id(quiet, "order-declined", key, PAST)
    run_due(quiet)
    sdk = PortOneClient(secret=TEST_API_SECRET, base_url=quiet_server.base_url).payment.payment_schedule
    failed = sdk.get_payment_schedule(payment_schedule_id=schedule_id)
    assert isinstance(failed, FailedPaymentSchedule)
    assert failed.completed_at


def test_pending_approval_leaves_the_schedule_pending(quiet: httpx.Client, quiet_channel: str) -> None:
    key = issued_key(quiet, quiet_channel, PENDING_CARD)
    schedule_id = scheduled_id(quiet, "order-pending", key, PAST)
    assert run_due(quiet)["pending"] == 1
    pending = get(quiet, schedule_id)
    assert pending["status"] == "PENDING"
    assert "completedAt" in pending
    assert payment(quiet, "order-pending").json()["status"] == "PAY_PENDING"
    # a PENDING schedule still holds the paymentId
    error(schedule(quiet, "order-pending", key, PAST), 409, "PAYMENT_SCHEDULE_ALREADY_EXISTS")


def test_a_pending_schedule_follows_its_payment_when_the_pg_settles_it(
        quiet: httpx.Client, quiet_server: RunningServer, quiet_channel: str) -> None:
    from sqlalchemy import update

    from localportone.payments.models import transactions_table

    key = issued_key(quiet, quiet_channel, PENDING_CARD)
    settles = scheduled_id(quiet, "order-settles", key, PAST)
    stays = scheduled_id(quiet, "order-stays", key, PAST)
    assert run_due(quiet)["pending"] == 2

    async def pg_approves_later() -> None:  # what the payments domain does when the PG approves
        async with quiet_server.runtime.transactions.begin() as uow:
            t = transactions_table
            await uow.session.execute(update(t).where(t.c.payment_id == "order-settles")
                                      .values(status="PAID", paid_at=uow.now))

    quiet_server.call(pg_approves_later)
    assert run_due(quiet)["settled"] == 1
    assert get(quiet, settles)["status"] == "SUCCEEDED"
    assert get(quiet, stays)["status"] == "PENDING"


def test_deleted_key_makes_the_run_fail(quiet: httpx.Client, quiet_server: RunningServer, quiet_key: str) -> None:
    """The API refuses to delete a key with SCHEDULED schedules; a key deleted anyway makes the run FAIL (§8.5)."""
    from sqlalchemy import update

    from localportone.billing_keys.models import BillingKey

    schedule_id = scheduled_id(quiet, "order-1", quiet_key, PAST)

    async def delete_key() -> None:
        async with quiet_server.runtime.transactions.begin() as uow:
            await uow.session.execute(update(BillingKey).where(BillingKey.billing_key == quiet_key)
                                      .values(status="DELETED", deleted_at=uow.now))

    quiet_server.call(delete_key)
    assert run_due(quiet)["failed"] == 1
    assert get(quiet, schedule_id)["status"] == "FAILED"
    assert "BILLING_KEY_ALREADY_DELETED" in inspect(quiet, schedule_id)["failure"]["reason"]
    assert payment(quiet, "order-1").status_code == 404


def test_live_schedule_blocks_direct_payment_of_its_payment_id(quiet: httpx.Client, quiet_key: str) -> None:
    body = {"billingKey": quiet_key, "orderName": "direct", "amount": {"total": 1000}, "currency": "KRW"}
    scheduled_id(quiet, "order-1", quiet_key, PAST)
    error(quiet.post("/payments/order-1/billing-key", json=body), 409, "PAYMENT_SCHEDULE_ALREADY_EXISTS")
    run_due(quiet)
    error(quiet.post("/payments/order-1/billing-key", json=body), 409, "ALREADY_PAID")


def test_run_due_runs_only_what_is_due(quiet: httpx.Client, quiet_key: str) -> None:
    now = server_now(quiet)
    due = [scheduled_id(quiet, f"order-{i}", quiet_key, at(now, minutes=-i)) for i in range(2)]
    later = scheduled_id(quiet, "order-later", quiet_key, at(now, hours=1))
    assert run_due(quiet) == {"ran": 2, "succeeded": 2, "failed": 0, "pending": 0, "errors": 0, "stillRunning": 0,
                              "settled": 0}
    assert run_due(quiet)["ran"] == 0
    assert [get(quiet, s)["status"] for s in due] == ["SUCCEEDED", "SUCCEEDED"]
    assert get(quiet, later)["status"] == "SCHEDULED"
    advance(quiet, 3600)
    assert run_due(quiet)["succeeded"] == 1


def test_time_travel_runs_schedules_in_the_order_they_fell_due(client: httpx.Client, billing_key: str) -> None:
    now = server_now(client)
    # created in reverse order of timeToPay; the last one is not reached by the clock move
    third = scheduled_id(client, "order-3", billing_key, at(now, minutes=30))
    second = scheduled_id(client, "order-2", billing_key, at(now, minutes=20))
    first = scheduled_id(client, "order-1", billing_key, at(now, minutes=10))
    tie = scheduled_id(client, "order-1b", billing_key, at(now, minutes=10))
    not_yet = scheduled_id(client, "order-4", billing_key, at(now, hours=2))
    advance(client, 3600)
    for schedule_id in (first, tie, second, third):
        wait_status(client, schedule_id, "SUCCEEDED", timeout=5)
    paid_at = [utc(payment(client, pid).json()["paidAt"]) for pid in ("order-1", "order-1b", "order-2", "order-3")]
    assert paid_at == sorted(paid_at)
    assert len(set(paid_at)) == 4
    assert get(client, not_yet)["status"] == "SCHEDULED"


@pytest.mark.slow
def test_a_schedule_runs_within_a_second_of_becoming_due(client: httpx.Client, billing_key: str) -> None:
    time_to_pay = server_now(client).timestamp() + 2.0
    from datetime import UTC, datetime

    schedule_id = scheduled_id(client, "order-soon", billing_key,
                               at(datetime.fromtimestamp(time_to_pay, UTC)))
    done = wait_status(client, schedule_id, "SUCCEEDED", timeout=6)
    lag = (utc(done["startedAt"]) - utc(done["timeToPay"])).total_seconds()
    assert 0 <= lag < 1.0, lag


def test_a_past_time_to_pay_runs_at_once(client: httpx.Client, billing_key: str) -> None:
    schedule_id = scheduled_id(client, "order-past", billing_key, PAST)
    wait_status(client, schedule_id, "SUCCEEDED", timeout=3)


def test_scheduled_payments_use_the_configured_attempt_limit(database_url: str) -> None:
    """LOCALPORTONE_MAX_TRANSACTION_COUNT applies to scheduled charges as to direct ones."""
    from localportone.kernel.config import Settings
    from localportone.schedules.job import job_of
    from tests.support.server import TEST_API_SECRET, TEST_STORE_ID, run_server

    settings = Settings(database_url=database_url, api_secret=TEST_API_SECRET, store_id=TEST_STORE_ID,
                        max_transaction_count=3, run_jobs=False)
    with run_server(settings) as running:
        assert job_of(running.runtime).limits.max_transaction_count == 3


def test_one_bad_schedule_does_not_fail_its_batch(quiet: httpx.Client, quiet_server: RunningServer,
                                                   quiet_key: str, quiet_channel: str) -> None:
    """Due schedules run in batches (one transaction): a run refused before the PG answered (a key deleted after
    scheduling) rolls the batch back and its schedules run one by one; the others still succeed, declines keep
    their FAILED attempt, and each schedule makes exactly one attempt."""
    from sqlalchemy import update

    from localportone.billing_keys.models import BillingKey

    gone = issued_key(quiet, quiet_channel)
    declining = issued_key(quiet, quiet_channel, DECLINING_CARD)
    good = [scheduled_id(quiet, f"order-good-{i}", quiet_key, PAST) for i in range(3)]
    bad = scheduled_id(quiet, "order-gone", gone, PAST)
    declined = scheduled_id(quiet, "order-declined", declining, PAST)
    good.append(scheduled_id(quiet, "order-good-3", quiet_key, PAST))

    async def delete_key() -> None:
        async with quiet_server.runtime.transactions.begin() as uow:
            await uow.session.execute(update(BillingKey).where(BillingKey.billing_key == gone)
                                      .values(status="DELETED", deleted_at=uow.now))

    quiet_server.call(delete_key)
    assert run_due(quiet) == {"ran": 6, "succeeded": 4, "failed": 2, "pending": 0, "errors": 0, "stillRunning": 0,
                              "settled": 0}
    assert [get(quiet, s)["status"] for s in good] == ["SUCCEEDED"] * 4
    assert get(quiet, bad)["status"] == "FAILED"
    assert get(quiet, declined)["status"] == "FAILED"
    assert payment(quiet, "order-gone").status_code == 404
    assert payment(quiet, "order-declined").json()["status"] == "FAILED"
    for i in range(4):
        paid = payment(quiet, f"order-good-{i}").json()
        assert paid["status"] == "PAID"
        assert paid["scheduleId"] == good[i]
        assert [t["status"] for t in transactions(quiet, f"order-good-{i}")] == ["PAID"]
    # the four payments of one key were made in schedule order, each at its own time
    paid_at = [payment(quiet, f"order-good-{i}").json()["paidAt"] for i in range(4)]
    assert paid_at == sorted(paid_at) and len(set(paid_at)) == 4
