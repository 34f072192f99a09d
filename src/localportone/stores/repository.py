"""Every query of the stores domain.

The lookups the payment paths make on every request (a channel, a channel group, a store's webhook settings) are
hand-written SQL on the unit of work's connection (:mod:`localportone.kernel.sql`); the console and bootstrap
paths use the ORM.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from localportone.kernel.sql import Sql
from localportone.stores.models import Channel, ChannelGroup, ChannelGroupMember, Merchant, Store, WebhookSecret

#: The columns a ``ChannelInfo`` is built from, in this order (``service.channel_from_row``).
CHANNEL_COLUMNS = ("id", "key", "name", "pg_provider", "pg_merchant_id", "type", "store_id", "manual_confirm")
_CHANNEL_LIST = ", ".join(CHANNEL_COLUMNS)
_CHANNEL_LIST_C = ", ".join(f"c.{c}" for c in CHANNEL_COLUMNS)


async def first_merchant(session: AsyncSession) -> Merchant | None:
    return await session.scalar(select(Merchant).order_by(Merchant.created_at).limit(1))


async def store(session: AsyncSession, store_id: str) -> Store | None:
    return await session.get(Store, store_id)


async def representative_store(session: AsyncSession, merchant_id: str) -> Store | None:
    stmt = select(Store).where(Store.merchant_id == merchant_id, Store.is_representative.is_(True))
    return await session.scalar(stmt)


async def stores_of_merchant(session: AsyncSession, merchant_id: str) -> Sequence[Store]:
    return (await session.scalars(select(Store).where(Store.merchant_id == merchant_id))).all()


async def channels_of_store(session: AsyncSession, store_id: str) -> Sequence[Channel]:
    stmt = select(Channel).where(Channel.store_id == store_id, Channel.is_deleted.is_(False)).order_by(Channel.name)
    return (await session.scalars(stmt)).all()


async def channel_by_key(session: AsyncSession, key: str) -> Channel | None:
    return await session.scalar(select(Channel).where(Channel.key == key))


async def channel_by_id(session: AsyncSession, channel_id: str) -> Channel | None:
    return await session.get(Channel, channel_id)


async def channel_group(session: AsyncSession, group_id: str) -> ChannelGroup | None:
    return await session.get(ChannelGroup, group_id)


async def channel_groups_of_store(session: AsyncSession, store_id: str) -> Sequence[ChannelGroup]:
    return (await session.scalars(select(ChannelGroup).where(ChannelGroup.store_id == store_id))).all()


async def group_members(session: AsyncSession, group_id: str) -> Sequence[tuple[Channel, int]]:
    stmt = (
        select(Channel, ChannelGroupMember.ratio)
        .join(ChannelGroupMember, ChannelGroupMember.channel_id == Channel.id)
        .where(ChannelGroupMember.group_id == group_id, Channel.is_deleted.is_(False))
        .order_by(Channel.name)
    )
    return [(row[0], row[1]) for row in (await session.execute(stmt)).all()]


async def webhook_secrets(session: AsyncSession, store_id: str, *, is_test: bool) -> Sequence[WebhookSecret]:
    stmt = (
        select(WebhookSecret)
        .where(WebhookSecret.store_id == store_id, WebhookSecret.is_test.is_(is_test))
        .order_by(WebhookSecret.created_at.desc())
    )
    return (await session.scalars(stmt)).all()


# ------------------------------------------------------------------------------------- hand-written hot lookups


async def merchant_of_store(sql: Sql, store_id: str) -> str | None:
    value: str | None = await sql.value("SELECT merchant_id FROM stores WHERE id = ?", store_id)
    return value


async def channel_row_by_key(sql: Sql, key: str) -> Sequence[Any] | None:
    """``CHANNEL_COLUMNS`` then ``is_deleted``."""
    return await sql.one(f"SELECT {_CHANNEL_LIST}, is_deleted FROM channels WHERE key = ?", key)


async def group_rows(sql: Sql, group_id: str) -> list[Sequence[Any]]:
    """The group (``id, name, is_for_test, store_id``) joined to its live member channels (``CHANNEL_COLUMNS``,
    ``ratio``), ordered by channel name as the console lists them; one row with NULL channel columns when the
    group has no live member, none when there is no such group."""
    return await sql.all(
        f"SELECT g.id, g.name, g.is_for_test, g.store_id, {_CHANNEL_LIST_C}, m.ratio "
        "FROM channel_groups g "
        "LEFT JOIN channel_group_members m ON m.group_id = g.id "
        "LEFT JOIN channels c ON c.id = m.channel_id AND c.is_deleted = ? "
        "WHERE g.id = ? ORDER BY c.name",
        False, group_id,
    )


async def webhook_store_rows(sql: Sql, store_id: str, *, is_test: bool) -> Sequence[Any] | None:
    """``merchant_id, is_representative, webhook_version, <mode's urls>, <representative id>,
    <representative's urls for the mode>`` (the last two NULL for a representative store or without one)."""
    urls = "test_webhook_urls" if is_test else "live_webhook_urls"
    return await sql.one(
        f"SELECT s.merchant_id, s.is_representative, s.webhook_version, s.{urls}, r.id, r.{urls} "
        "FROM stores s LEFT JOIN stores r "
        "ON r.merchant_id = s.merchant_id AND r.is_representative = ? AND s.is_representative = ? "
        "WHERE s.id = ?",
        True, False, store_id,
    )


async def webhook_secret_values(sql: Sql, store_id: str, *, is_test: bool) -> list[str]:
    """The store's secrets for the mode, newest first (the statement :func:`webhook_secrets` runs)."""
    rows = await sql.all(
        "SELECT secret FROM webhook_secrets WHERE store_id = ? AND is_test = ? ORDER BY created_at DESC",
        store_id, is_test,
    )
    return [row[0] for row in rows]
