"""Exactly-once runs when processes die or race: claims, leases, stale claims and interrupted runs (white-box)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import update

from localportone.kernel.clock import wall_now
from localportone.schedules import service
from localportone.schedules.models import PaymentScheduleRow
from localportone.schedules.repository import Claim
from tests.schedules.helpers import get, inspect, payment, run_due, scheduled_id, transactions
from tests.support.server import RunningServer

PAST = "2000-01-01T00:00:00Z"
LEASE = timedelta(seconds=30)


def claim(server: RunningServer) -> list[Claim]:
    """What a process does first: claim the due schedules (committed), before running them."""

    async def go() -> list[Claim]:
        async with server.runtime.transactions.begin() as uow:
            return await service.claim_due_schedules(uow, limit=100, lease=LEASE, wall_now=wall_now())

    result: list[Claim] = server.call(go)
    return result


def run(server: RunningServer, claimed: Claim) -> Any:
    async def go() -> Any:
        async with server.runtime.transactions.begin() as uow:
            return await service.run_claimed_schedule(uow, claimed)

    return server.call(go)


def expire_leases(server: RunningServer) -> None:
    """What time does to the claims of a process that died."""

    async def go() -> None:
        async with server.runtime.transactions.begin() as uow:
            await uow.session.execute(update(PaymentScheduleRow).where(PaymentScheduleRow.status == "STARTED")
                                      .values(lease_until=wall_now() - timedelta(seconds=1)))

    server.call(go)


def test_a_claim_holds_the_schedule_started(quiet: httpx.Client, quiet_server: RunningServer, quiet_key: str) -> None:
    schedule_id = scheduled_id(quiet, "order-1", quiet_key, PAST)
    [claimed] = claim(quiet_server)
    assert claimed.id == schedule_id
    started = get(quiet, schedule_id)
    assert started["status"] == "STARTED"
    assert "startedAt" in started and "completedAt" not in started
    assert claim(quiet_server) == []  # nobody else gets it while the lease runs


def test_a_crashed_claim_is_taken_over_after_its_lease(quiet: httpx.Client, quiet_server: RunningServer,
                                                       quiet_key: str) -> None:
    schedule_id = scheduled_id(quiet, "order-1", quiet_key, PAST)
    claim(quiet_server)  # ... and the process dies before running it
    expire_leases(quiet_server)
    counts = run_due(quiet)
    assert counts["succeeded"] == 1
    assert get(quiet, schedule_id)["status"] == "SUCCEEDED"
    assert inspect(quiet, schedule_id)["runCount"] == 2
    assert [t["status"] for t in transactions(quiet, "order-1")] == ["PAID"]


def test_a_retry_never_charges_twice(quiet: httpx.Client, quiet_server: RunningServer, quiet_key: str) -> None:
    """The payment went through but the schedule still says STARTED: the retry completes it from the payment."""
    from localportone.auth.principal import StoreContext
    from localportone.payments import service as payments
    from localportone.payments.common import Limits
    from localportone.wire import BillingKeyPaymentInput

    schedule_id = scheduled_id(quiet, "order-1", quiet_key, PAST)
    [claimed] = claim(quiet_server)

    async def pay_without_completing() -> None:
        async with quiet_server.runtime.transactions.begin() as uow:
            row = await uow.session.get(PaymentScheduleRow, claimed.seq)
            assert row is not None
            await payments.pay_scheduled(uow, StoreContext(row.merchant_id, row.store_id), row.payment_id,
                                         BillingKeyPaymentInput.model_validate(row.payment_input),
                                         schedule_id=row.id, limits=Limits())

    quiet_server.call(pay_without_completing)
    expire_leases(quiet_server)
    assert run_due(quiet)["succeeded"] == 1
    assert get(quiet, schedule_id)["status"] == "SUCCEEDED"
    assert [t["status"] for t in transactions(quiet, "order-1")] == ["PAID"]


def test_a_stale_claim_does_nothing(quiet: httpx.Client, quiet_server: RunningServer, quiet_key: str) -> None:
    """A slow process whose lease ran out finds its claim taken over, and leaves the schedule alone."""
    scheduled_id(quiet, "order-1", quiet_key, PAST)
    [slow] = claim(quiet_server)
    expire_leases(quiet_server)
    [fresh] = claim(quiet_server)
    assert fresh.seq == slow.seq and fresh.token != slow.token
    assert run(quiet_server, slow) is None
    assert transactions(quiet, "order-1") == []
    assert run(quiet_server, fresh) is not None
    assert run(quiet_server, fresh) is None  # a second run of the same claim finds it done
    assert [t["status"] for t in transactions(quiet, "order-1")] == ["PAID"]


def test_two_runs_of_one_claim_at_the_same_time_pay_once(quiet: httpx.Client, quiet_server: RunningServer,
                                                         quiet_key: str) -> None:
    scheduled_id(quiet, "order-1", quiet_key, PAST)
    [claimed] = claim(quiet_server)

    async def both() -> list[Any]:
        async def one() -> Any:
            async with quiet_server.runtime.transactions.begin() as uow:
                return await service.run_claimed_schedule(uow, claimed)

        return list(await asyncio.gather(one(), one()))

    outcomes = quiet_server.call(both)
    assert sorted(o is None for o in outcomes) == [False, True]
    assert [t["status"] for t in transactions(quiet, "order-1")] == ["PAID"]


def test_a_schedule_interrupted_three_times_fails(quiet: httpx.Client, quiet_server: RunningServer,
                                                  quiet_key: str) -> None:
    schedule_id = scheduled_id(quiet, "order-1", quiet_key, PAST)
    for _ in range(3):
        claim(quiet_server)
        expire_leases(quiet_server)
    assert run_due(quiet)["failed"] == 1
    assert "interrupted" in inspect(quiet, schedule_id)["failure"]["reason"]
    assert payment(quiet, "order-1").status_code == 404


def test_concurrent_claims_split_the_work(quiet: httpx.Client, quiet_server: RunningServer, quiet_key: str) -> None:
    ids = {scheduled_id(quiet, f"order-{i}", quiet_key, PAST) for i in range(20)}

    async def race() -> list[list[Claim]]:
        async def one() -> list[Claim]:
            async with quiet_server.runtime.transactions.begin() as uow:
                return await service.claim_due_schedules(uow, limit=7, lease=LEASE, wall_now=wall_now())

        return list(await asyncio.gather(*(one() for _ in range(5))))

    batches = quiet_server.call(race)
    claimed = [c.id for batch in batches for c in batch]
    assert len(claimed) == len(set(claimed)) == 20
    assert set(claimed) == ids
