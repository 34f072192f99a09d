"""DELETE /payment-schedules: by ids, by billing key, both; all-or-nothing; every refusal."""

from __future__ import annotations

import httpx
import pytest
from portone_server_sdk import PortOneClient, errors
from portone_server_sdk.payment.payment_schedule import RevokedPaymentSchedule

from tests.schedules.helpers import (
    DECLINING_CARD,
    error,
    get,
    issued_key,
    revoke,
    run_due,
    schedule_rows,
    scheduled_id,
    server_now,
    utc,
)
from tests.support.server import TEST_API_SECRET, RunningServer

LATER = "2099-01-01T00:00:00Z"


def test_revoke_by_ids(client: httpx.Client, billing_key: str) -> None:
    a = scheduled_id(client, "order-a", billing_key, LATER)
    b = scheduled_id(client, "order-b", billing_key, LATER)
    c = scheduled_id(client, "order-c", billing_key, LATER)
    response = revoke(client, scheduleIds=[b, a])
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["revokedScheduleIds"] == [b, a]
    revoked_at = body["revokedAt"]
    assert abs((utc(revoked_at) - server_now(client)).total_seconds()) < 60
    for schedule_id in (a, b):
        schedule = get(client, schedule_id)
        assert schedule["status"] == "REVOKED"
        assert schedule["revokedAt"] == revoked_at
        assert "startedAt" not in schedule and "completedAt" not in schedule
    assert get(client, c)["status"] == "SCHEDULED"


def test_revoke_by_billing_key_takes_only_its_scheduled_ones(quiet: httpx.Client, quiet_channel: str,
                                                              quiet_key: str) -> None:
    other_key = issued_key(quiet, quiet_channel)
    done = scheduled_id(quiet, "order-done", quiet_key, "2000-01-01T00:00:00Z")
    assert run_due(quiet)["succeeded"] == 1
    a = scheduled_id(quiet, "order-a", quiet_key, LATER)
    b = scheduled_id(quiet, "order-b", quiet_key, LATER)
    already = scheduled_id(quiet, "order-already", quiet_key, LATER)
    assert revoke(quiet, scheduleIds=[already]).status_code == 200
    other = scheduled_id(quiet, "order-other", other_key, LATER)

    body = revoke(quiet, billingKey=quiet_key).json()
    assert body["revokedScheduleIds"] == [a, b]
    assert get(quiet, done)["status"] == "SUCCEEDED"
    assert get(quiet, other)["status"] == "SCHEDULED"
    # nothing left to revoke: 200 with an empty list and no revokedAt
    assert revoke(quiet, billingKey=quiet_key).json() == {"revokedScheduleIds": []}
    # and the key can be deleted now that nothing is scheduled on it
    assert quiet.delete(f"/billing-keys/{quiet_key}").status_code == 200


def test_revoke_by_ids_and_key(client: httpx.Client, channel: str, billing_key: str) -> None:
    other_key = issued_key(client, channel)
    mine = scheduled_id(client, "order-mine", billing_key, LATER)
    spare = scheduled_id(client, "order-spare", billing_key, LATER)
    theirs = scheduled_id(client, "order-theirs", other_key, LATER)
    error(revoke(client, billingKey=billing_key, scheduleIds=[mine, theirs]), 400, "INVALID_REQUEST")
    assert get(client, mine)["status"] == "SCHEDULED"
    assert revoke(client, billingKey=billing_key, scheduleIds=[mine]).json()["revokedScheduleIds"] == [mine]
    assert get(client, spare)["status"] == "SCHEDULED"  # only the listed ids, not every schedule of the key
    assert get(client, theirs)["status"] == "SCHEDULED"


def test_all_or_nothing(quiet: httpx.Client, quiet_server: RunningServer, quiet_key: str) -> None:
    a = scheduled_id(quiet, "order-a", quiet_key, LATER)
    ran = scheduled_id(quiet, "order-ran", quiet_key, "2000-01-01T00:00:00Z")
    assert run_due(quiet)["ran"] == 1
    gone = scheduled_id(quiet, "order-gone", quiet_key, LATER)
    assert revoke(quiet, scheduleIds=[gone]).status_code == 200
    before = schedule_rows(quiet_server)

    error(revoke(quiet, scheduleIds=[a, "no-such-schedule"]), 404, "PAYMENT_SCHEDULE_NOT_FOUND")
    error(revoke(quiet, scheduleIds=[a, ran]), 409, "PAYMENT_SCHEDULE_ALREADY_PROCESSED")
    error(revoke(quiet, scheduleIds=[a, gone]), 409, "PAYMENT_SCHEDULE_ALREADY_REVOKED")
    assert schedule_rows(quiet_server) == before


def test_failed_and_pending_schedules_count_as_processed(quiet: httpx.Client, quiet_channel: str) -> None:
    from tests.schedules.helpers import PENDING_CARD

    failing = scheduled_id(quiet, "order-f", issued_key(quiet, quiet_channel, DECLINING_CARD), "2000-01-01T00:00:00Z")
    pending = scheduled_id(quiet, "order-p", issued_key(quiet, quiet_channel, PENDING_CARD), "2000-01-01T00:00:00Z")
    assert run_due(quiet)["ran"] == 2
    assert get(quiet, failing)["status"] == "FAILED"
    assert get(quiet, pending)["status"] == "PENDING"
    for schedule_id in (failing, pending):
        error(revoke(quiet, scheduleIds=[schedule_id]), 409, "PAYMENT_SCHEDULE_ALREADY_PROCESSED")


def test_billing_key_refusals(client: httpx.Client, channel: str, billing_key: str, server: RunningServer) -> None:
    error(revoke(client, billingKey="billing-key-unknown"), 404, "BILLING_KEY_NOT_FOUND")
    deleted = issued_key(client, channel)
    assert client.delete(f"/billing-keys/{deleted}").status_code == 200
    error(revoke(client, billingKey=deleted), 409, "BILLING_KEY_ALREADY_DELETED")
    a = scheduled_id(client, "order-a", billing_key, LATER)
    error(revoke(client, billingKey="billing-key-unknown", scheduleIds=[a]), 404, "BILLING_KEY_NOT_FOUND")
    assert get(client, a)["status"] == "SCHEDULED"


@pytest.mark.parametrize("body", [{}, {"scheduleIds": []}, {"scheduleIds": "abc"}, {"billingKey": 5}])
def test_bad_revoke_bodies_are_400(client: httpx.Client, body: dict[str, object]) -> None:
    error(revoke(client, **body), 400, "INVALID_REQUEST")


def test_revoke_is_scoped_to_the_store(client: httpx.Client, billing_key: str) -> None:
    a = scheduled_id(client, "order-a", billing_key, LATER)
    sub = client.post("/_sandbox/stores", json={"name": "sub"}).json()["store"]["id"]
    error(revoke(client, storeId=sub, scheduleIds=[a]), 404, "PAYMENT_SCHEDULE_NOT_FOUND")
    error(revoke(client, storeId="store-unknown", scheduleIds=[a]), 403, "FORBIDDEN")
    assert get(client, a)["status"] == "SCHEDULED"


def test_deleting_a_key_with_scheduled_payments_is_refused(client: httpx.Client, billing_key: str) -> None:
    scheduled_id(client, "order-a", billing_key, LATER)
    error(client.delete(f"/billing-keys/{billing_key}"), 409, "PAYMENT_SCHEDULE_ALREADY_EXISTS")


def test_sdk_revokes_with_typed_errors(server: RunningServer, client: httpx.Client, billing_key: str) -> None:
    sdk = PortOneClient(secret=TEST_API_SECRET, base_url=server.base_url).payment.payment_schedule
    a = scheduled_id(client, "order-a", billing_key, LATER)
    b = scheduled_id(client, "order-b", billing_key, LATER)
    result = sdk.revoke_payment_schedules(schedule_ids=[a])
    assert result.revoked_schedule_ids == [a]
    assert result.revoked_at is not None
    with pytest.raises(errors.PaymentScheduleAlreadyRevokedError):
        sdk.revoke_payment_schedules(schedule_ids=[a])
    with pytest.raises(errors.PaymentScheduleNotFoundError):
        sdk.revoke_payment_schedules(schedule_ids=["nope"])
    with pytest.raises(errors.BillingKeyNotFoundError):
        sdk.revoke_payment_schedules(billing_key="billing-key-nope")
    with pytest.raises(errors.InvalidRequestError):
        sdk.revoke_payment_schedules()
    assert sdk.revoke_payment_schedules(billing_key=billing_key).revoked_schedule_ids == [b]
    assert isinstance(sdk.get_payment_schedule(payment_schedule_id=b), RevokedPaymentSchedule)
