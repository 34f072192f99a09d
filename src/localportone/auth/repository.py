"""Every query of the auth domain. The credential lookup behind every request is hand-written SQL."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from localportone.auth.models import ApiSecret, RefreshToken
from localportone.kernel.sql import Sql

_SECRET_COLUMNS = "id, merchant_id, default_store_id, pinned_to_store, expires_at, deleted_at"


async def secret_row_by_hash(sql: Sql, secret_hash: str) -> Sequence[Any] | None:
    """``id, merchant_id, default_store_id, pinned_to_store, expires_at, deleted_at`` (datetimes as stored)."""
    return await sql.one(f"SELECT {_SECRET_COLUMNS} FROM api_secrets WHERE secret_hash = ?", secret_hash)


async def secret_row_by_id(sql: Sql, secret_id: str) -> Sequence[Any] | None:
    """The same columns as :func:`secret_row_by_hash`."""
    return await sql.one(f"SELECT {_SECRET_COLUMNS} FROM api_secrets WHERE id = ?", secret_id)


async def secret_by_hash(session: AsyncSession, secret_hash: str) -> ApiSecret | None:
    return await session.scalar(select(ApiSecret).where(ApiSecret.secret_hash == secret_hash))


async def secret_by_id(session: AsyncSession, secret_id: str) -> ApiSecret | None:
    return await session.get(ApiSecret, secret_id)


async def refresh_token_for_update(session: AsyncSession, token_hash: str) -> RefreshToken | None:
    stmt = select(RefreshToken).where(RefreshToken.token_hash == token_hash).with_for_update()
    return await session.scalar(stmt)


async def revoke_refresh_tokens(session: AsyncSession, secret_id: str, now: datetime) -> None:
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.api_secret_id == secret_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def add_refresh_token(session: AsyncSession, token: RefreshToken) -> None:
    session.add(token)
