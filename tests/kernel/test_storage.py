"""Storage on SQLite and PostgreSQL: types round-trip, and state survives a restart of the server."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from sqlalchemy import select

from localportone.kernel.config import Settings
from localportone.kernel.tables import ClockRow, ServerKey
from localportone.runtime import Runtime
from localportone.stores.models import Store
from tests.support.server import TEST_API_SECRET, make_client, run_server


def test_state_survives_restart(settings: Settings) -> None:
    with run_server(settings) as first, make_client(first.base_url) as client:
        store = client.post("/_sandbox/stores", json={"name": "persisted"}).json()["store"]["id"]
        moved = client.post("/_sandbox/clock", json={"advanceSeconds": 7200}).json()
        token = httpx.post(f"{first.base_url}/login/api-secret", json={"apiSecret": TEST_API_SECRET}).json()
    with run_server(settings) as second, make_client(second.base_url) as client:
        channels = client.get("/_sandbox/channels", params={"storeId": store})
        assert channels.status_code == 200
        assert channels.json()["storeId"] == store
        clock = client.get("/_sandbox/clock").json()
        assert clock["offsetSeconds"] >= moved["offsetSeconds"] - 1
        # Tokens signed by the first process are valid in the second (the key lives in the database).
        with httpx.Client(base_url=second.base_url,
                          headers={"Authorization": f"Bearer {token['accessToken']}"}) as bearer:
            assert bearer.get("/_sandbox/channels").status_code == 200


def test_types_round_trip(settings: Settings) -> None:
    import asyncio

    async def _run() -> None:
        runtime = await Runtime.open(settings)
        try:
            async with runtime.transactions.begin() as uow:
                row = await uow.session.get(ServerKey, "access_token_signing_key")
                assert row is not None
                assert row.created_at.tzinfo is not None
                stores = (await uow.session.scalars(select(Store))).all()
                assert [s.test_webhook_urls for s in stores] == [None]
                stores[0].test_webhook_urls = ["http://127.0.0.1:9/hook"]
                uow.session.add(ClockRow(id=1, offset_us=2**40, updated_at=datetime(2030, 1, 1, tzinfo=UTC)))
            async with runtime.transactions.begin(write=False) as uow:
                clock = await uow.session.get(ClockRow, 1)
                assert clock is not None and clock.offset_us == 2**40
                assert clock.updated_at == datetime(2030, 1, 1, tzinfo=UTC)
                store = (await uow.session.scalars(select(Store))).one()
                assert store.test_webhook_urls == ["http://127.0.0.1:9/hook"]
        finally:
            await runtime.close()

    asyncio.run(_run())


def test_a_failed_unit_of_work_writes_nothing(settings: Settings) -> None:
    import asyncio

    from localportone.kernel.uow import keep_changes
    from localportone.wire.errors import InvalidRequestError

    async def _run() -> None:
        runtime = await Runtime.open(settings)
        try:
            try:
                async with runtime.transactions.begin() as uow:
                    uow.session.add(ServerKey(name="rolled-back", value="x", created_at=uow.now))
                    await uow.session.flush()
                    raise InvalidRequestError("no")
            except InvalidRequestError:
                pass
            try:
                async with runtime.transactions.begin() as uow:
                    uow.session.add(ServerKey(name="kept", value="y", created_at=uow.now))
                    await uow.session.flush()
                    raise keep_changes(InvalidRequestError("kept anyway"))
            except InvalidRequestError:
                pass
            async with runtime.transactions.begin(write=False) as uow:
                assert await uow.session.get(ServerKey, "rolled-back") is None
                assert await uow.session.get(ServerKey, "kept") is not None
        finally:
            await runtime.close()

    asyncio.run(_run())
