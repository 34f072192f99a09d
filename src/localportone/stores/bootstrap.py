"""What ``serve`` does to an empty (or configured) database before it answers: one merchant, one store, an API
secret, a webhook secret and the sandbox test channels; fixed values from ``LOCALPORTONE_*`` are applied."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from localportone.auth.models import ApiSecret
from localportone.auth.tokens import sha256_hex
from localportone.kernel import ids
from localportone.kernel.config import Settings
from localportone.kernel.tables import ServerKey
from localportone.kernel.uow import UnitOfWork
from localportone.stores import repository, service
from localportone.stores.models import Merchant, Store

ACCESS_TOKEN_KEY = "access_token_signing_key"


@dataclass
class StartupSummary:
    merchant_id: str
    store_id: str
    api_secret: str | None
    api_secret_provided: bool
    webhook_secret: str
    webhook_urls: list[str]
    channels: list[service.ChannelInfo] = field(default_factory=list)
    channel_group_ids: list[str] = field(default_factory=list)


async def ensure_server_key(session: AsyncSession, name: str, now: datetime) -> str:
    row = await session.get(ServerKey, name)
    if row is None:
        row = ServerKey(name=name, value=secrets.token_hex(32), created_at=now)
        session.add(row)
        await session.flush()
    return row.value


async def bootstrap(uow: UnitOfWork, settings: Settings) -> StartupSummary:
    session, now = uow.session, uow.now
    await ensure_server_key(session, ACCESS_TOKEN_KEY, now)

    merchant = await repository.first_merchant(session)
    if merchant is None:
        merchant = Merchant(id=ids.merchant_id(), name="localportone merchant", created_at=now)
        session.add(merchant)
        await session.flush()

    store = await _ensure_store(session, merchant, settings, now)
    if settings.webhook_url is not None:
        store.test_webhook_urls = [settings.webhook_url]
        store.live_webhook_urls = [settings.webhook_url]
    await service.seed_test_channels(session, store.id, now)

    webhook_secret = await _ensure_webhook_secret(session, store.id, settings.webhook_secret, now)
    api_secret, provided = await _ensure_api_secret(session, merchant.id, store.id, settings.api_secret, now)
    await session.flush()

    return StartupSummary(
        merchant_id=merchant.id,
        store_id=store.id,
        api_secret=api_secret,
        api_secret_provided=provided,
        webhook_secret=webhook_secret,
        webhook_urls=list(store.test_webhook_urls or []),
        channels=await service.list_channels(session, store.id),
        channel_group_ids=[g.id for g in await service.list_channel_groups(session, store.id)],
    )


async def _ensure_store(session: AsyncSession, merchant: Merchant, settings: Settings, now: datetime) -> Store:
    representative = await repository.representative_store(session, merchant.id)
    if settings.store_id is not None:
        named = await repository.store(session, settings.store_id)
        if named is not None:
            if named.merchant_id != merchant.id:
                raise SystemExit(f"LOCALPORTONE_STORE_ID {settings.store_id} belongs to another merchant")
            return named
        return await service.create_store(
            session, merchant.id, "localportone store", now,
            store_id=settings.store_id, is_representative=representative is None,
        )
    if representative is not None:
        return representative
    return await service.create_store(
        session, merchant.id, "localportone store", now, is_representative=True
    )


async def _ensure_webhook_secret(session: AsyncSession, store_id: str, fixed: str | None, now: datetime) -> str:
    existing = list(await repository.webhook_secrets(session, store_id, is_test=True))
    if fixed is not None:
        for row in existing:
            if row.secret != fixed:
                await session.delete(row)
        if not any(row.secret == fixed for row in existing):
            service.add_webhook_secret(session, store_id, fixed, now, is_test=True)
        return fixed
    if existing:
        return existing[0].secret
    secret = ids.webhook_secret()
    service.add_webhook_secret(session, store_id, secret, now, is_test=True)
    return secret


async def _ensure_api_secret(session: AsyncSession, merchant_id: str, store_id: str, fixed: str | None,
                             now: datetime) -> tuple[str, bool]:
    """The fixed secret when configured; otherwise a new one per start (only hashes are stored, so an earlier
    secret cannot be shown again; earlier secrets keep working)."""
    value = fixed if fixed is not None else ids.api_secret()
    digest = sha256_hex(value)
    from localportone.auth import repository as auth_repository

    row = await auth_repository.secret_by_hash(session, digest)
    if row is None:
        session.add(ApiSecret(
            id=f"api-secret-{ids.uuid7()}",
            merchant_id=merchant_id,
            default_store_id=store_id,
            pinned_to_store=False,
            name="configured" if fixed is not None else "serve start-up",
            secret_hash=digest,
            created_at=now,
        ))
    else:
        row.default_store_id = store_id
        row.deleted_at = None
        row.expires_at = None
    return value, fixed is not None
