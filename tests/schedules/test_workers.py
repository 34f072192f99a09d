"""Several `localportone worker` processes on one PostgreSQL database run each due schedule exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from localportone.kernel.config import Settings
from localportone.payments.models import transactions_table
from localportone.schedules.models import PaymentScheduleRow
from tests.schedules.helpers import advance, at, issued_key, scheduled_id, server_now, wait_for
from tests.support.server import RunningServer

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

SCHEDULES = 500
KEYS = 25
WORKER = [str(Path(sys.executable).with_name("localportone")), "worker"]


@pytest.fixture
def postgres_settings(settings: Settings) -> Settings:
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("several worker processes need PostgreSQL")
    return settings


def _start_workers(url: str, count: int, logs: Path) -> Iterator[subprocess.Popen[bytes]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCALPORTONE_")}
    for i in range(count):
        log = (logs / f"worker-{i}.log").open("wb")
        yield subprocess.Popen([*WORKER, "--database-url", url], env=env, stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=True)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def test_two_workers_run_500_due_schedules_exactly_once(postgres_settings: Settings, quiet: httpx.Client,
                                                        quiet_server: RunningServer, quiet_channel: str,
                                                        tmp_path: Path) -> None:
    keys = [issued_key(quiet, quiet_channel) for _ in range(KEYS)]
    due = at(server_now(quiet), hours=1)
    with ThreadPoolExecutor(8) as pool:
        ids = set(pool.map(lambda i: scheduled_id(quiet, f"order-{i:04d}", keys[i % KEYS], due), range(SCHEDULES)))
    assert len(ids) == SCHEDULES

    workers = list(_start_workers(postgres_settings.database_url, 2, tmp_path))
    try:
        time.sleep(2)  # let both open their runtimes, so that both see the clock move
        assert all(w.poll() is None for w in workers), "a worker died at start"
        advance(quiet, 2 * 3600)

        async def remaining() -> int:
            async with quiet_server.runtime.transactions.begin(write=False) as uow:
                return int(await uow.session.scalar(
                    select(func.count()).select_from(PaymentScheduleRow)
                    .where(PaymentScheduleRow.status.in_(["SCHEDULED", "STARTED"]))) or 0)

        wait_for(lambda: quiet_server.call(remaining) == 0, timeout=120, interval=0.5)
    finally:
        for worker in workers:
            _stop(worker)
    logs = "\n".join((tmp_path / f"worker-{i}.log").read_text() for i in range(2))
    assert "Traceback" not in logs, logs

    async def outcome() -> tuple[dict[str, str], dict[str | None, int]]:
        t = transactions_table.c
        async with quiet_server.runtime.transactions.begin(write=False) as uow:
            statuses = dict((await uow.session.execute(
                select(PaymentScheduleRow.id, PaymentScheduleRow.status))).tuples().all())
            attempts = dict((await uow.session.execute(
                select(t.schedule_id, func.count()).where(t.schedule_id.is_not(None))
                .group_by(t.schedule_id))).tuples().all())
            return statuses, attempts

    statuses, attempts = quiet_server.call(outcome)
    assert set(statuses.values()) == {"SUCCEEDED"}
    assert attempts == {schedule_id: 1 for schedule_id in ids}
    paid = quiet.get(f"/payments/order-{SCHEDULES - 1:04d}").json()
    assert paid["status"] == "PAID" and paid["scheduleId"] in ids
