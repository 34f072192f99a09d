"""Every query of the auth domain."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from localportone.auth.models import ApiSecret, RefreshToken


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
