"""Every query of the stores domain."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from localportone.stores.models import Channel, ChannelGroup, ChannelGroupMember, Merchant, Store, WebhookSecret


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
