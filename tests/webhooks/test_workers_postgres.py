"""Two ``localportone worker`` processes on one PostgreSQL database deliver 1,000 webhooks: every one exactly
once, none attempted twice."""

from __future__ import annotations

import asyncio
import signal
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select

from localportone.auth.principal import StoreContext
from localportone.kernel.config import Settings
from localportone.runtime import Runtime
from localportone.webhooks import service
from localportone.webhooks.models import WebhookAttempt, WebhookDelivery
from tests.webhooks.processes import clean_env, kill, start
from tests.webhooks.receiver import Receiver

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

EVENTS = 1000


@pytest.fixture
def postgres_settings(settings: Settings) -> Settings:
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("several worker processes need PostgreSQL")
    return settings


async def _enqueue(settings: Settings, count: int) -> None:
    runtime = await Runtime.open(settings)  # a scratch runtime: its jobs are never started
    try:
        assert runtime.summary is not None
        store = StoreContext(runtime.summary.merchant_id, runtime.summary.store_id)
        for start_at in range(0, count, 250):
            async with runtime.transactions.begin() as uow:
                for i in range(start_at, min(count, start_at + 250)):
                    await service.enqueue_payment_event(
                        uow, store=store, event_type="Transaction.Paid", payment_id=f"scale-{i}",
                        transaction_id=f"tx-{i}", payment_status="PAID", is_test=True,
                    )
    finally:
        await runtime.close()


async def _stats(settings: Settings) -> tuple[Counter[str], int, int]:
    runtime = await Runtime.open(settings, seed=False)
    try:
        async with runtime.transactions.begin(write=False) as uow:
            statuses = Counter((await uow.session.scalars(select(WebhookDelivery.status))).all())
            attempts = int(await uow.session.scalar(select(func.count()).select_from(WebhookAttempt)) or 0)
            workers = int(await uow.session.scalar(select(func.count(func.distinct(WebhookAttempt.worker)))) or 0)
        return statuses, attempts, workers
    finally:
        await runtime.close()


def test_two_workers_deliver_1000_webhooks_without_duplicates(
    postgres_settings: Settings, receiver: Receiver, tmp_path: Path
) -> None:
    asyncio.run(_enqueue(postgres_settings, 0))  # seed the store (webhook URL = receiver)
    env = clean_env()
    logs = [tmp_path / f"worker-{i}.log" for i in range(2)]
    workers = [start(["worker", "--database-url", postgres_settings.database_url], env, log) for log in logs]
    try:
        deadline = time.monotonic() + 60
        while not all("worker running" in log.read_text() for log in logs):
            assert time.monotonic() < deadline, "workers did not start"
            assert all(w.poll() is None for w in workers), "\n".join(log.read_text()[-2000:] for log in logs)
            time.sleep(0.1)
        asyncio.run(_enqueue(postgres_settings, EVENTS))
        receiver.wait_for(EVENTS, timeout=120)
        requests = receiver.settle(1.0)
    finally:
        for worker in workers:
            kill(worker, signal.SIGTERM)
    ids = Counter(r.headers["webhook-id"] for r in requests)
    assert len(ids) == EVENTS
    assert max(ids.values()) == 1, [i for i, n in ids.items() if n > 1][:5]
    statuses, attempts, worker_count = asyncio.run(_stats(postgres_settings))
    assert statuses == Counter({"SUCCEEDED": EVENTS})
    assert attempts == EVENTS
    assert worker_count == 2, "both workers should have taken part"
    assert sum(log.read_text().count("localportone.webhooks webhook ") for log in logs) == EVENTS
