"""Shared bits of the schedule tests: billing keys, schedule bodies, calls, and white-box reads."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from localportone.kernel.clock import to_wire
from tests.support.server import RunningServer

GOOD_CARD = "4242424242424242"
#: The billing key issues fine and every charge declines with REJECT_CARD_COMPANY.
DECLINING_CARD = "4000000000000341"
#: Every charge ends PAY_PENDING.
PENDING_CARD = "4000000000003089"
PROVIDER = "TOSSPAYMENTS"


def issued_key(client: httpx.Client, channel_key: str, number: str = GOOD_CARD, **fields: Any) -> str:
    body = {"method": {"card": {"credential": {"number": number, "expiryYear": "30", "expiryMonth": "12"}}},
            "channelKey": channel_key, **fields}
    response = client.post("/billing-keys", json=body)
    assert response.status_code == 200, response.text
    key: str = response.json()["billingKeyInfo"]["billingKey"]
    return key


def server_now(client: httpx.Client) -> datetime:
    return datetime.fromisoformat(client.get("/_sandbox/clock").json()["now"].replace("Z", "+00:00"))


def at(base: datetime, **delta: float) -> str:
    return to_wire(base + timedelta(**delta))


def payment_input(billing_key: str, **fields: Any) -> dict[str, Any]:
    return {"billingKey": billing_key, "orderName": "Monthly plan", "amount": {"total": 8900}, "currency": "KRW",
            **fields}


def schedule(client: httpx.Client, payment_id: str, billing_key: str, time_to_pay: str,
             **fields: Any) -> httpx.Response:
    return client.post(f"/payments/{payment_id}/schedule",
                       json={"payment": payment_input(billing_key, **fields), "timeToPay": time_to_pay})


def scheduled_id(client: httpx.Client, payment_id: str, billing_key: str, time_to_pay: str, **fields: Any) -> str:
    response = schedule(client, payment_id, billing_key, time_to_pay, **fields)
    assert response.status_code == 200, response.text
    assert set(response.json()) == {"schedule"}
    schedule_id: str = response.json()["schedule"]["id"]
    return schedule_id


def get(client: httpx.Client, schedule_id: str, **params: str) -> dict[str, Any]:
    response = client.get(f"/payment-schedules/{schedule_id}", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def listing(client: httpx.Client, body: dict[str, Any] | None = None) -> httpx.Response:
    return client.get("/payment-schedules", params={"requestBody": json.dumps(body or {})})


def listed_ids(client: httpx.Client, body: dict[str, Any] | None = None) -> list[str]:
    response = listing(client, body)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


def everything(extra_filter: dict[str, Any] | None = None, **body: Any) -> dict[str, Any]:
    """A list body whose window covers every schedule of the tests (past and future)."""
    return {"filter": {"from": "2000-01-01T00:00:00Z", "until": "2100-01-01T00:00:00Z", **(extra_filter or {})},
            "page": {"size": 1000}, **body}


def revoke(client: httpx.Client, **body: Any) -> httpx.Response:
    return client.delete("/payment-schedules", params={"requestBody": json.dumps(body)})


def error(response: httpx.Response, status: int, type_: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["type"] == type_, body
    assert isinstance(body.get("message", ""), str)
    return body


def advance(client: httpx.Client, seconds: int) -> None:
    response = client.post("/_sandbox/clock", json={"advanceSeconds": seconds})
    assert response.status_code == 200, response.text


def run_due(client: httpx.Client) -> dict[str, int]:
    response = client.post("/_sandbox/schedules/run-due")
    assert response.status_code == 200, response.text
    body: dict[str, int] = response.json()
    return body


def inspect(client: httpx.Client, schedule_id: str) -> dict[str, Any]:
    response = client.get(f"/_sandbox/schedules/{schedule_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def wait_for(condition: Callable[[], Any], timeout: float = 10.0, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(interval)


def wait_status(client: httpx.Client, schedule_id: str, *statuses: str, timeout: float = 10.0) -> dict[str, Any]:
    def reached() -> dict[str, Any] | None:
        body = get(client, schedule_id)
        return body if body["status"] in statuses else None

    result: dict[str, Any] = wait_for(reached, timeout)
    return result


def payment(client: httpx.Client, payment_id: str) -> httpx.Response:
    return client.get(f"/payments/{payment_id}")


def transactions(client: httpx.Client, payment_id: str) -> list[dict[str, Any]]:
    response = client.get(f"/payments/{payment_id}/transactions")
    if response.status_code == 404:
        return []
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def schedule_rows(server: RunningServer) -> list[tuple[str, str, int]]:
    """(id, status, run_count) of every stored schedule, in creation order."""
    from sqlalchemy import select

    from localportone.schedules.models import PaymentScheduleRow as T

    async def read() -> list[tuple[str, str, int]]:
        async with server.runtime.transactions.begin(write=False) as uow:
            rows = (await uow.session.execute(select(T.id, T.status, T.run_count).order_by(T.seq))).all()
            return [(r[0], r[1], r[2]) for r in rows]

    result: list[tuple[str, str, int]] = server.call(read)
    return result


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
