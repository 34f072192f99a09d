"""A graceful stop (SIGTERM → the runner's stop()) finishes or releases in-flight deliveries."""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from localportone.webhooks import job as job_module
from localportone.webhooks import repository
from tests.support.server import RunningServer
from tests.webhooks.conftest import Emit, deliveries, drain
from tests.webhooks.receiver import Receiver


def _row(server: RunningServer, delivery_id: str) -> Any:
    async def read() -> Any:
        async with server.runtime.transactions.begin(write=False) as uow:
            row = await repository.delivery(uow.session, delivery_id)
            assert row is not None
            return SimpleNamespace(status=row.status, execution_count=row.execution_count,
                                   lease_until=row.lease_until, claimed_by=row.claimed_by)

    return server.call(read)


def _wait_arrival(receiver: Receiver, count: int = 1) -> None:
    deadline = time.monotonic() + 10
    while receiver.arrivals < count:
        assert time.monotonic() < deadline, "the webhook never arrived"
        time.sleep(0.01)


@pytest.mark.slow
def test_stop_releases_attempts_still_in_flight(
    server: RunningServer, client: httpx.Client, receiver: Receiver, emit: Emit, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(job_module, "STOP_GRACE_SECONDS", 0.3)
    receiver.delay = 2.0
    emit("Transaction.Paid", "in-flight")
    _wait_arrival(receiver)
    (item,) = deliveries(client)
    server.call(server.runtime.runner.stop)
    row = _row(server, item["id"])
    # Released, not recorded: due again at once, with the same id.
    assert row.status == "PENDING" and row.execution_count == 0
    assert row.lease_until is None and row.claimed_by is None
    receiver.delay = 0
    server.call(server.runtime.runner.start)
    requests = receiver.wait_for(2)
    assert {r.headers["webhook-id"] for r in requests} == {item["id"]}
    drain(client)
    (after,) = deliveries(client)
    assert after["status"] == "SUCCEEDED" and after["executionCount"] == 1


def test_stop_lets_short_attempts_finish(
    server: RunningServer, client: httpx.Client, receiver: Receiver, emit: Emit
) -> None:
    receiver.delay = 0.5
    emit("Transaction.Paid", "finishing")
    _wait_arrival(receiver)
    (item,) = deliveries(client)
    server.call(server.runtime.runner.stop)
    row = _row(server, item["id"])
    assert row.status == "SUCCEEDED" and row.execution_count == 1 and row.lease_until is None
    assert len(receiver.requests) == 1
