"""Use cases of the stores domain: what other domains may ask about stores, channels and webhook settings.

What the payment paths ask on every request is read with hand-written SQL in the caller's transaction, and a
store's webhook settings are cached per process (:data:`WEBHOOK_SETTINGS_SECONDS`): a change made through
:func:`update_webhook_settings` applies at once in the process that made it, and within that time elsewhere.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from localportone.kernel import ids
from localportone.kernel.uow import UnitOfWork
from localportone.stores import repository
from localportone.stores.models import Channel, ChannelGroup, ChannelGroupMember, Store, WebhookSecret

#: How long another process may keep using a store's webhook settings after they changed.
WEBHOOK_SETTINGS_SECONDS = 1.0
DEFAULT_WEBHOOK_VERSION = "2024-04-25"


class _Caches:
    """What this process remembers about stores. ``generation`` moves on every :func:`forget_caches`: a lookup
    that was under way meanwhile may have read the old values, so it does not keep them."""

    def __init__(self) -> None:
        self.store_merchant: dict[str, str] = {}
        self.webhooks: dict[tuple[str, bool], tuple[float, WebhookSettings]] = {}
        self.generation = 0


_caches = _Caches()


def forget_caches() -> None:
    """Drop what this process remembers about stores (a new runtime may sit on another database; a store's
    webhook settings changed)."""
    _caches.store_merchant.clear()
    _caches.webhooks.clear()
    _caches.generation += 1


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


def channel_from_row(row: Sequence[Any], offset: int = 0) -> ChannelInfo:
    """A ``ChannelInfo`` from ``repository.CHANNEL_COLUMNS`` starting at ``offset`` of a hand-written row."""
    return ChannelInfo(
        id=row[offset], key=row[offset + 1], name=row[offset + 2], pg_provider=row[offset + 3],
        pg_merchant_id=row[offset + 4], type=row[offset + 5], store_id=row[offset + 6],
        manual_confirm=bool(row[offset + 7]),
    )


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


async def merchant_of_store(uow: UnitOfWork, store_id: str) -> str | None:
    """The merchant owning a store (stores are never deleted, so the answer is cached for good)."""
    cached = _caches.store_merchant.get(store_id)
    if cached is not None:
        return cached
    merchant = await repository.merchant_of_store(uow.sql, store_id)
    if merchant is not None:
        _caches.store_merchant[store_id] = merchant
    return merchant


async def find_channel(uow: UnitOfWork, store_id: str, channel_key: str) -> ChannelInfo | None:
    """A live channel of the store by key; ``None`` for unknown keys and keys of other stores."""
    row = await repository.channel_row_by_key(uow.sql, channel_key)
    if row is None or row[len(repository.CHANNEL_COLUMNS)] or row[6] != store_id:
        return None
    return channel_from_row(row)


async def find_channel_by_id(session: AsyncSession, channel_id: str) -> ChannelInfo | None:
    channel = await repository.channel_by_id(session, channel_id)
    return None if channel is None else channel_info(channel)


async def find_channel_group(uow: UnitOfWork, store_id: str, group_id: str) -> ChannelGroupInfo | None:
    """The store's channel group with its live member channels and their ratios (one query)."""
    rows = await repository.group_rows(uow.sql, group_id)
    if not rows or rows[0][3] != store_id:
        return None
    first = rows[0]
    members = tuple((channel_from_row(row, 4), int(row[12])) for row in rows if row[4] is not None)
    return ChannelGroupInfo(first[0], first[1], bool(first[2]), members)


async def _orm_channel_group(session: AsyncSession, store_id: str, group_id: str) -> ChannelGroupInfo | None:
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
    return [g for g in [await _orm_channel_group(session, store_id, group.id) for group in groups] if g is not None]


async def webhook_settings(uow: UnitOfWork, store_id: str, *, is_test: bool, fresh: bool = False) -> WebhookSettings:
    """A store's webhook destination and secrets; a store without its own URLs (or secrets) inherits the
    representative store's. Cached for :data:`WEBHOOK_SETTINGS_SECONDS`; ``fresh`` reads the database and
    leaves the cache alone (what a change of the settings shows, inside its own transaction)."""
    key = (store_id, is_test)
    if not fresh:
        hit = _caches.webhooks.get(key)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
    generation = _caches.generation
    settings = await _load_webhook_settings(uow, store_id, is_test)
    if settings is None:  # not cached: the store may be created a moment later
        return WebhookSettings((), DEFAULT_WEBHOOK_VERSION, ())
    # Only what a read could not have taken from before a change committed in this process is kept: on SQLite a
    # read-only transaction may hold an older snapshot (writers are serialised in-process, PostgreSQL statements
    # see every earlier commit).
    if not fresh and generation == _caches.generation and (uow.write or not uow.sql.is_sqlite):
        _caches.webhooks[key] = (time.monotonic() + WEBHOOK_SETTINGS_SECONDS, settings)
    return settings


async def _load_webhook_settings(uow: UnitOfWork, store_id: str, is_test: bool) -> WebhookSettings | None:
    row = await repository.webhook_store_rows(uow.sql, store_id, is_test=is_test)
    if row is None:
        return None
    is_representative, version, urls, representative_id, representative_urls = (
        bool(row[1]), row[2], _json(row[3]), row[4], _json(row[5])
    )
    if urls is None and representative_id is not None:
        urls = representative_urls
    secrets = await repository.webhook_secret_values(uow.sql, store_id, is_test=is_test)
    if not secrets and not is_representative and representative_id is not None:
        secrets = await repository.webhook_secret_values(uow.sql, representative_id, is_test=is_test)
    return WebhookSettings(tuple(urls or ()), version, tuple(secrets[:2]))


def _json(value: Any) -> Any:
    """A JSON array column as hand-written SQL returns it: text on SQLite, already decoded on PostgreSQL."""
    return json.loads(value) if isinstance(value, str) else value


_UNCHANGED: Any = object()


async def update_webhook_settings(uow: UnitOfWork, store_id: str, *, urls: list[str] | None = _UNCHANGED,
                                  version: str | None = None, test_secrets: list[str] | None = None) -> None:
    """Change where and how a store's webhooks go (``urls``: both modes, ``None`` inherits the representative's;
    ``test_secrets`` replace the test-mode secrets). This process forgets its cached settings at the commit;
    other processes see the change within :data:`WEBHOOK_SETTINGS_SECONDS`."""
    store = await repository.store(uow.session, store_id)
    if store is None:
        raise LookupError(f"no store {store_id}")
    if urls is not _UNCHANGED:
        store.test_webhook_urls = list(urls) if urls is not None else None
        store.live_webhook_urls = list(urls) if urls is not None else None
    if version is not None:
        store.webhook_version = version
    if test_secrets is not None:
        for old in await repository.webhook_secrets(uow.session, store_id, is_test=True):
            await uow.session.delete(old)
        await uow.session.flush()
        for secret in test_secrets:
            add_webhook_secret(uow.session, store_id, secret, uow.now, is_test=True)
    await uow.session.flush()
    _caches.generation += 1  # lookups under way in other transactions keep nothing they read
    uow.after_commit(forget_caches)


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
