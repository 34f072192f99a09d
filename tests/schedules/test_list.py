"""GET /payment-schedules: the default window (future schedules are hidden), filters, sorting and paging."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from portone_server_sdk import PortOneClient, errors
from portone_server_sdk.common import PageInput
from portone_server_sdk.payment.payment_schedule import PaymentScheduleFilterInput, PaymentScheduleSortInput

from tests.schedules.helpers import (
    DECLINING_CARD,
    at,
    error,
    everything,
    issued_key,
    listed_ids,
    listing,
    revoke,
    run_due,
    scheduled_id,
    server_now,
)
from tests.support.server import TEST_API_SECRET, RunningServer


def test_default_window_hides_future_schedules(client: httpx.Client, billing_key: str) -> None:
    """The trap the spec warns about: from/until default to the 90 days *before now*, on timeToPay."""
    future = scheduled_id(client, "order-future", billing_key, at(server_now(client), days=7))
    response = listing(client)
    assert response.status_code == 200
    assert response.json() == {"items": [], "page": {"number": 0, "size": 10, "totalCount": 0}}
    now = server_now(client)
    assert listed_ids(client, {"filter": {"until": at(now, days=8)}}) == [future]
    # from defaults to 90 days before until: a window ending 100 days later no longer reaches back to it.
    assert listed_ids(client, {"filter": {"until": at(now, days=100)}}) == []


def test_default_window_shows_the_last_90_days(quiet: httpx.Client, quiet_key: str) -> None:
    now = server_now(quiet)
    recent = scheduled_id(quiet, "order-recent", quiet_key, at(now, days=-10))
    scheduled_id(quiet, "order-old", quiet_key, at(now, days=-91))
    assert listed_ids(quiet) == [recent]


def test_filters(quiet: httpx.Client, quiet_channel: str, quiet_key: str) -> None:
    other_key = issued_key(quiet, quiet_channel, DECLINING_CARD)
    now = server_now(quiet)
    a = scheduled_id(quiet, "order-a", quiet_key, at(now, days=-3))
    b = scheduled_id(quiet, "order-b", other_key, at(now, days=-2))
    c = scheduled_id(quiet, "order-c", quiet_key, at(now, days=5))
    d = scheduled_id(quiet, "order-d", quiet_key, at(now, days=6))
    assert revoke(quiet, scheduleIds=[d]).status_code == 200
    assert run_due(quiet)["ran"] == 2  # a succeeds, b fails (declining card)

    def ids(**flt: Any) -> set[str]:
        return set(listed_ids(quiet, everything(flt)))

    assert ids() == {a, b, c, d}
    assert ids(billingKey=quiet_key) == {a, c, d}
    assert ids(billingKey=other_key) == {b}
    assert ids(billingKey="billing-key-unknown") == set()
    assert ids(status=["SUCCEEDED"]) == {a}
    assert ids(status=["FAILED", "REVOKED"]) == {b, d}
    assert ids(status=["SCHEDULED"]) == {c}
    assert ids(status=[]) == {a, b, c, d}
    assert ids(isForTest=True) == {a, b, c, d}
    assert ids(isForTest=False) == set()
    window = {"from": at(now, days=-2, seconds=-1), "until": at(now, days=5)}
    assert set(listed_ids(quiet, {"filter": window})) == {b, c}
    assert set(listed_ids(quiet, {"filter": {**window, "status": ["SCHEDULED"]}})) == {c}


def test_sorting(quiet: httpx.Client, quiet_key: str) -> None:
    now = server_now(quiet)
    # created in this order; timeToPay in another order
    s1 = scheduled_id(quiet, "order-1", quiet_key, at(now, days=-1))
    s2 = scheduled_id(quiet, "order-2", quiet_key, at(now, days=3))
    s3 = scheduled_id(quiet, "order-3", quiet_key, at(now, days=-5))
    s4 = scheduled_id(quiet, "order-4", quiet_key, at(now, days=1))
    assert run_due(quiet)["ran"] == 2  # s3 then s1
    assert revoke(quiet, scheduleIds=[s4]).status_code == 200

    def order(by: str | None = None, direction: str | None = None) -> list[str]:
        sort = {k: v for k, v in (("by", by), ("order", direction)) if v is not None}
        return listed_ids(quiet, everything(sort=sort) if sort else everything())

    assert order() == [s2, s4, s1, s3]  # TIME_TO_PAY DESC by default
    assert order("TIME_TO_PAY", "ASC") == [s3, s1, s4, s2]
    assert order("CREATED_AT") == [s4, s3, s2, s1]
    assert order("CREATED_AT", "ASC") == [s1, s2, s3, s4]
    # completed ones by completion (s3 ran before s1), never-completed ones last
    assert order("COMPLETED_AT", "ASC")[:2] == [s3, s1]
    assert order("COMPLETED_AT")[:2] == [s1, s3]
    assert set(order("COMPLETED_AT")[2:]) == {s2, s4}
    # STATUS_TIMESTAMP: revokedAt (now), completedAt (now), timeToPay (+3 days) for the SCHEDULED one
    assert order("STATUS_TIMESTAMP")[0] == s2
    assert order("STATUS_TIMESTAMP", "ASC")[-1] == s2


def test_paging(quiet: httpx.Client, quiet_key: str) -> None:
    now = server_now(quiet)
    created = [scheduled_id(quiet, f"order-{i}", quiet_key, at(now, days=-i - 1)) for i in range(5)]
    first = listing(quiet, everything(page={"number": 0, "size": 2})).json()
    assert [i["id"] for i in first["items"]] == created[:2]
    assert first["page"] == {"number": 0, "size": 2, "totalCount": 5}
    last = listing(quiet, everything(page={"number": 2, "size": 2})).json()
    assert [i["id"] for i in last["items"]] == created[4:]
    beyond = listing(quiet, everything(page={"number": 9, "size": 2})).json()
    assert beyond == {"items": [], "page": {"number": 9, "size": 2, "totalCount": 5}}


@pytest.mark.parametrize("body", [
    {"page": {"number": -1}},
    {"page": {"size": 0}},
    {"page": {"size": 1001}},
    {"sort": {"by": "AMOUNT"}},
    {"sort": {"order": "UP"}},
    {"filter": {"status": ["DONE"]}},
    {"filter": {"from": "yesterday"}},
    {"filter": {"from": "2030-01-02T00:00:00Z", "until": "2030-01-01T00:00:00Z"}},
    {"filter": {"isForTest": "yes"}},
])
def test_bad_list_bodies_are_400(client: httpx.Client, body: dict[str, Any]) -> None:
    error(listing(client, body), 400, "INVALID_REQUEST")


def test_malformed_request_body_parameter_is_400(client: httpx.Client) -> None:
    error(client.get("/payment-schedules", params={"requestBody": "{"}), 400, "INVALID_REQUEST")


def test_list_is_scoped_to_the_store(client: httpx.Client, billing_key: str) -> None:
    scheduled_id(client, "order-1", billing_key, "2099-01-01T00:00:00Z")
    sub = client.post("/_sandbox/stores", json={"name": "sub"}).json()["store"]["id"]
    assert listed_ids(client, everything({"storeId": sub})) == []
    assert len(listed_ids(client, everything())) == 1
    error(listing(client, everything({"storeId": "store-unknown"})), 403, "FORBIDDEN")


def test_sdk_lists_with_filters(server: RunningServer, client: httpx.Client, billing_key: str) -> None:
    schedule_id = scheduled_id(client, "order-sdk", billing_key, "2099-01-01T00:00:00Z")
    sdk = PortOneClient(secret=TEST_API_SECRET, base_url=server.base_url)
    found = sdk.payment.payment_schedule.get_payment_schedules(
        page=PageInput(number=0, size=5),
        sort=PaymentScheduleSortInput(by="CREATED_AT", order="ASC"),
        filter=PaymentScheduleFilterInput(until="2099-02-01T00:00:00Z", billing_key=billing_key,
                                          status=["SCHEDULED"]),
    )
    assert [s.id for s in found.items if not isinstance(s, dict)] == [schedule_id]
    assert found.page.total_count == 1
    assert sdk.payment.payment_schedule.get_payment_schedules().items == []  # the default window again
    with pytest.raises(errors.InvalidRequestError):
        sdk.payment.payment_schedule.get_payment_schedules(page=PageInput(size=0))
