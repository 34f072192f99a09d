"""Use cases of the stores domain: what other domains may ask about stores, channels and webhook settings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from localportone.kernel import ids
from localportone.stores import repository
from localportone.stores.models import Channel, ChannelGroup, ChannelGroupMember, Store, WebhookSecret

_store_merchant: dict[str, str] = {}


def forget_caches() -> None:
    """Drop what this process remembers about stores (a new runtime may sit on another database)."""
    _store_merchant.clear()


@dataclass(frozen=True)
class ChannelInfo:
    """A channel as the payment domains see it (``SelectedChannel`` on the wire)."""

    id: str
    key: str
    name: str
    pg_provider: str
    pg_merchant_id: str
    type: str
    store_id: str
    manual_confirm: bool

    def wire(self) -> dict[str, str]:
        return {
            "type": self.type,
            "id": self.id,
            "key": self.key,
            "name": self.name,
            "pgProvider": self.pg_provider,
            "pgMerchantId": self.pg_merchant_id,
        }


@dataclass(frozen=True)
class ChannelGroupInfo:
    id: str
    name: str
    is_for_test: bool
    members: tuple[tuple[ChannelInfo, int], ...]

    def wire(self) -> dict[str, object]:
        return {"id": self.id, "name": self.name, "isForTest": self.is_for_test}


@dataclass(frozen=True)
class WebhookSettings:
    """Where and how a store's webhooks go for one mode (test or live)."""

    urls: tuple[str, ...]
    version: str
    secrets: tuple[str, ...]


def channel_info(channel: Channel) -> ChannelInfo:
    return ChannelInfo(
        id=channel.id,
        key=channel.key,
        name=channel.name,
        pg_provider=channel.pg_provider,
        pg_merchant_id=channel.pg_merchant_id,
        type=channel.type,
        store_id=channel.store_id,
        manual_confirm=channel.manual_confirm,
    )


async def merchant_of_store(session: AsyncSession, store_id: str) -> str | None:
    """The merchant owning a store (stores are never deleted, so the answer is cached for good)."""
    cached = _store_merchant.get(store_id)
    if cached is not None:
        return cached
    store = await repository.store(session, store_id)
    if store is None:
        return None
    _store_merchant[store_id] = store.merchant_id
    return store.merchant_id


async def find_channel(session: AsyncSession, store_id: str, channel_key: str) -> ChannelInfo | None:
    """A live channel of the store by key; ``None`` for unknown keys and keys of other stores."""
    channel = await repository.channel_by_key(session, channel_key)
    if channel is None or channel.is_deleted or channel.store_id != store_id:
        return None
    return channel_info(channel)


async def find_channel_by_id(session: AsyncSession, channel_id: str) -> ChannelInfo | None:
    channel = await repository.channel_by_id(session, channel_id)
    return None if channel is None else channel_info(channel)


async def find_channel_group(session: AsyncSession, store_id: str, group_id: str) -> ChannelGroupInfo | None:
    group = await repository.channel_group(session, group_id)
    if group is None or group.store_id != store_id:
        return None
    members = await repository.group_members(session, group_id)
    return ChannelGroupInfo(
        group.id, group.name, group.is_for_test, tuple((channel_info(c), ratio) for c, ratio in members)
    )


async def list_channels(session: AsyncSession, store_id: str) -> list[ChannelInfo]:
    return [channel_info(c) for c in await repository.channels_of_store(session, store_id)]


async def list_channel_groups(session: AsyncSession, store_id: str) -> list[ChannelGroupInfo]:
    groups = await repository.channel_groups_of_store(session, store_id)
    return [g for g in [await find_channel_group(session, store_id, group.id) for group in groups] if g is not None]


async def webhook_settings(session: AsyncSession, store_id: str, *, is_test: bool) -> WebhookSettings:
    """A store's webhook destination and secrets; a store without its own URLs inherits the representative's."""
    store = await repository.store(session, store_id)
    if store is None:
        return WebhookSettings((), "2024-04-25", ())
    urls = store.test_webhook_urls if is_test else store.live_webhook_urls
    if urls is None and not store.is_representative:
        representative = await repository.representative_store(session, store.merchant_id)
        if representative is not None:
            urls = representative.test_webhook_urls if is_test else representative.live_webhook_urls
    secrets = await repository.webhook_secrets(session, store_id, is_test=is_test)
    if not secrets and not store.is_representative:
        representative = await repository.representative_store(session, store.merchant_id)
        if representative is not None:
            secrets = await repository.webhook_secrets(session, representative.id, is_test=is_test)
    return WebhookSettings(tuple(urls or ()), store.webhook_version, tuple(s.secret for s in secrets[:2]))


async def create_store(session: AsyncSession, merchant_id: str, name: str, now: datetime, *,
                       store_id: str | None = None, is_representative: bool = False,
                       webhook_urls: list[str] | None = None, webhook_version: str = "2024-04-25") -> Store:
    store = Store(
        id=store_id or ids.store_id(),
        merchant_id=merchant_id,
        name=name,
        is_representative=is_representative,
        webhook_version=webhook_version,
        test_webhook_urls=webhook_urls,
        live_webhook_urls=webhook_urls,
        created_at=now,
    )
    session.add(store)
    await session.flush()
    await seed_test_channels(session, store.id, now)
    return store


async def seed_test_channels(session: AsyncSession, store_id: str, now: datetime) -> list[Channel]:
    """One TEST channel per sandbox PG profile, with keys derived from the store id (stable across restarts)."""
    from localportone.pg.registry import SANDBOX_PROFILES  # the profile catalogue is the PG layer's

    existing = {c.pg_provider for c in await repository.channels_of_store(session, store_id)}
    created: list[Channel] = []
    for profile in SANDBOX_PROFILES:
        if profile.pg_provider in existing:
            continue
        channel = Channel(
            id=f"channel-id-{ids.stable_uuid(store_id, profile.pg_provider)}",
            key=ids.channel_key(store_id, profile.pg_provider),
            store_id=store_id,
            name=profile.channel_name,
            pg_provider=profile.pg_provider,
            pg_merchant_id=profile.pg_merchant_id,
            type="TEST",
            manual_confirm=False,
            options={},
            created_at=now,
        )
        session.add(channel)
        created.append(channel)
    await session.flush()
    if created and not await repository.channel_groups_of_store(session, store_id):
        group = ChannelGroup(
            id=ids.channel_group_id(store_id, "sandbox", is_test=True),
            store_id=store_id,
            name="sandbox test group",
            is_for_test=True,
            created_at=now,
        )
        session.add(group)
        await session.flush()
        # The smart-routing group holds the KRW card PGs, so that any draw can pay a KRW key-in payment.
        card_providers = {
            p.pg_provider for p in SANDBOX_PROFILES
            if p.capabilities.card_instant and p.capabilities.easy_pay_provider is None
            and (p.currencies is None or "KRW" in p.currencies)
        }
        for channel in created:
            if channel.pg_provider in card_providers:
                session.add(ChannelGroupMember(group_id=group.id, channel_id=channel.id, ratio=1))
        await session.flush()
    return created


def add_webhook_secret(session: AsyncSession, store_id: str, secret: str, now: datetime, *, is_test: bool) -> None:
    session.add(WebhookSecret(
        id=f"webhook-secret-{ids.uuid7()}", store_id=store_id, is_test=is_test, secret=secret, created_at=now
    ))
