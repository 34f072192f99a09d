"""Alembic environment: async engines for SQLite and PostgreSQL, one migration run at a time per database."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import Connection, text

from localportone.kernel.db import Database
from localportone.migrations.metadata import metadata

config = context.config
target_metadata = metadata()
_LOCK_ID = 7_402_117_001  # PostgreSQL advisory lock: concurrent starts never migrate twice


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    if connection.dialect.name == "postgresql":
        connection.execute(text(f"SELECT pg_advisory_xact_lock({_LOCK_ID})"))
    with context.begin_transaction():
        context.run_migrations()


async def _online() -> None:
    url = config.attributes.get("database_url") or config.get_main_option("sqlalchemy.url")
    db = Database.connect(str(url))
    try:
        async with db.write_engine.connect() as connection:
            await connection.run_sync(_run)
            await connection.commit()
    finally:
        await db.dispose()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `localportone migrate`")
asyncio.run(_online())
