"""Shared fixtures: a fresh database per test (SQLite always, PostgreSQL when LOCALPORTONE_TEST_POSTGRES_URL is set),
a live server on it, and HTTP clients whose every response is checked against the official spec."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import URL, make_url

from localportone.kernel.config import Settings
from localportone.migrations import upgrade
from tests.support.contract import validate_response
from tests.support.server import (
    TEST_API_SECRET,
    TEST_STORE_ID,
    TEST_WEBHOOK_SECRET,
    RunningServer,
    copy_sqlite,
    make_client,
    run_server,
)

POSTGRES_URL = os.environ.get("LOCALPORTONE_TEST_POSTGRES_URL")


def _share_default_ssl_context() -> None:
    """The official SDK builds ~50 httpx clients per PortOneClient, each loading the CA bundle (~60 ms): tests
    reuse one default SSL context instead (every test talks plain HTTP to 127.0.0.1 anyway)."""
    import functools

    import httpx._transports.default as transports

    original = transports.create_ssl_context
    shared = functools.cache(lambda: original())

    def create_ssl_context(verify: object = True, cert: object = None, trust_env: bool = True) -> object:
        if verify is True and cert is None and trust_env:
            return shared()
        return original(verify=verify, cert=cert, trust_env=trust_env)  # type: ignore[arg-type]

    transports.create_ssl_context = create_ssl_context  # type: ignore[assignment]


_share_default_ssl_context()
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)] if POSTGRES_URL else ["sqlite"]


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """One scratch database per test session, migrated once; tests truncate it."""
    assert POSTGRES_URL is not None
    name = f"localportone_test_{uuid.uuid4().hex[:10]}"
    base = make_url(POSTGRES_URL)
    _admin_sql(base, f'CREATE DATABASE "{name}"')
    url = base.set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    try:
        yield url
    finally:
        _admin_sql(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _admin_sql(url: URL, sql: str) -> None:
    import asyncpg  # the async driver is what the project ships; no sync PostgreSQL driver needed

    async def _run() -> None:
        conn = await asyncpg.connect(
            host=url.host or "127.0.0.1", port=url.port or 5432, user=url.username or "postgres",
            password=url.password, database=url.database or "postgres",
        )
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(_run())


def _truncate_postgres(url: str) -> None:
    import asyncpg

    parsed = make_url(url)

    async def _run() -> None:
        conn = await asyncpg.connect(host=parsed.host, port=parsed.port or 5432, user=parsed.username,
                                     password=parsed.password, database=parsed.database)
        try:
            tables = await conn.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
            )
            if tables:
                names = ", ".join(f'"{t["tablename"]}"' for t in tables)
                await conn.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
        finally:
            await conn.close()

    asyncio.run(_run())


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        target = tmp_path / "localportone.db"
        copy_sqlite(request.getfixturevalue("sqlite_template"), target)
        return f"sqlite:///{target}"
    url: str = request.getfixturevalue("postgres_database")
    _truncate_postgres(url)
    return url


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        api_secret=TEST_API_SECRET,
        store_id=TEST_STORE_ID,
        webhook_secret=TEST_WEBHOOK_SECRET,
        job_poll_seconds=0.2,
    )


@pytest.fixture
def server(settings: Settings) -> Iterator[RunningServer]:
    from localportone.pg.registry import SANDBOX_OVERRIDES

    SANDBOX_OVERRIDES.clear()  # forced PG outcomes live in process memory: none may leak between tests
    with run_server(settings) as running:
        yield running
    SANDBOX_OVERRIDES.clear()


@pytest.fixture
def client(server: RunningServer) -> Iterator[httpx.Client]:
    """Authenticated with the test API secret; every response is validated against the official spec."""
    with make_client(server.base_url, hooks=[validate_response]) as c:
        yield c


@pytest.fixture
def anonymous(server: RunningServer) -> Iterator[httpx.Client]:
    with make_client(server.base_url, secret=None, hooks=[validate_response]) as c:
        yield c


@pytest.fixture
def channels(client: httpx.Client) -> dict[str, str]:
    """pgProvider → channel key of the test store's sandbox channels."""
    body = client.get("/_sandbox/channels").json()
    return {c["pgProvider"]: c["key"] for c in body["channels"]}
