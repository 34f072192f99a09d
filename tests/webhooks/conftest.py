"""Webhook tests run against a server whose store sends its webhooks to a real receiver on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from localportone.auth.principal import StoreContext
from localportone.kernel.config import Settings
from localportone.webhooks import service as webhooks
from tests.support.server import TEST_API_SECRET, TEST_STORE_ID, TEST_WEBHOOK_SECRET, RunningServer
from tests.webhooks.receiver import Receiver, running_receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as r:
        yield r


@pytest.fixture
def settings(database_url: str, receiver: Receiver) -> Settings:
    """Overrides the shared ``settings``: the same test store, with its webhook URL pointing at ``receiver``."""
    return Settings(
        database_url=database_url,
        api_secret=TEST_API_SECRET,
        store_id=TEST_STORE_ID,
        webhook_url=receiver.url,
        webhook_secret=TEST_WEBHOOK_SECRET,
        job_poll_seconds=0.2,
    )


Emit = Callable[..., None]


@pytest.fixture
def emit(server: RunningServer) -> Emit:
    """Queue a payment event through the service, in its own unit of work on the server's loop."""

    def _emit(event_type: str = "Transaction.Paid", payment_id: str = "payment-1", *,
              transaction_id: str = "tx-1", payment_status: str = "PAID", is_test: bool = True,
              store_id: str = TEST_STORE_ID, fail: bool = False, **extra: Any) -> None:
        async def go() -> None:
            async with server.runtime.transactions.begin() as uow:
                assert server.runtime.summary is not None
                store = StoreContext(server.runtime.summary.merchant_id, store_id)
                await webhooks.enqueue_payment_event(
                    uow, store=store, event_type=event_type, payment_id=payment_id, transaction_id=transaction_id,
                    payment_status=payment_status, is_test=is_test, **extra,
                )
                if fail:
                    raise RuntimeError("the change is rolled back")

        server.call(go)

    return _emit


def drain(client: httpx.Client) -> dict[str, int]:
    response = client.post("/_sandbox/webhooks/drain")
    assert response.status_code == 200, response.text
    body: dict[str, int] = response.json()
    return body


def deliveries(client: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    response = client.get("/_sandbox/webhooks", params={"pageSize": 1000, **params})
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def advance(client: httpx.Client, seconds: int) -> None:
    response = client.post("/_sandbox/clock", json={"advanceSeconds": seconds})
    assert response.status_code == 200, response.text
