"""Authentication as PortOne does it: ``PortOne <API secret>`` or ``Bearer <access token>`` on every secured call.

Secrets and tokens are checked against the sandbox clock, so advancing the clock expires tokens. Lookups of
secrets and stores are cached for a few seconds per process: the hot path of a request does no extra query.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from localportone.auth import repository
from localportone.auth.models import ApiSecret, RefreshToken
from localportone.auth.principal import Principal, StoreContext
from localportone.auth.tokens import AccessClaims, issue_access_token, new_refresh_token, read_access_token, sha256_hex
from localportone.stores import service as stores
from localportone.wire.errors import ForbiddenError, UnauthorizedError

_CACHE_SECONDS = 5.0


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str


@dataclass(frozen=True)
class _CachedSecret:
    principal: Principal
    expires_at: datetime | None
    loaded_at: float


def _principal(secret: ApiSecret) -> Principal:
    return Principal(
        secret_id=secret.id,
        merchant_id=secret.merchant_id,
        default_store_id=secret.default_store_id,
        pinned=secret.pinned_to_store,
    )


class Authenticator:
    def __init__(self, signing_key: bytes, access_seconds: int, refresh_seconds: int) -> None:
        self._key = signing_key
        self._access_seconds = access_seconds
        self._refresh_seconds = refresh_seconds
        self._by_hash: dict[str, _CachedSecret | None] = {}
        self._by_id: dict[str, _CachedSecret | None] = {}
        self._hash_loaded: dict[str, float] = {}

    def forget(self) -> None:
        self._by_hash.clear()
        self._by_id.clear()
        self._hash_loaded.clear()

    async def _secret(self, session: AsyncSession, *, secret_hash: str | None = None,
                      secret_id: str | None = None) -> _CachedSecret | None:
        cache, key = (self._by_hash, secret_hash) if secret_hash is not None else (self._by_id, secret_id)
        assert key is not None
        now = time.monotonic()
        if key in cache and now - self._hash_loaded.get(f"{id(cache)}:{key}", 0) < _CACHE_SECONDS:
            return cache[key]
        row = (await repository.secret_by_hash(session, key) if secret_hash is not None
               else await repository.secret_by_id(session, key))
        entry = None
        if row is not None and row.deleted_at is None:
            entry = _CachedSecret(_principal(row), row.expires_at, now)
        cache[key] = entry
        self._hash_loaded[f"{id(cache)}:{key}"] = now
        return entry

    async def authenticate(self, session: AsyncSession, authorization: str | None, now: datetime) -> Principal:
        if not authorization:
            raise UnauthorizedError("missing Authorization header: use 'PortOne <API secret>' or 'Bearer <token>'")
        scheme, _, credential = authorization.strip().partition(" ")
        credential = credential.strip()
        if not credential:
            raise UnauthorizedError("malformed Authorization header")
        scheme = scheme.lower()
        if scheme == "portone":
            entry = await self._secret(session, secret_hash=sha256_hex(credential))
            if entry is None or (entry.expires_at is not None and entry.expires_at <= now):
                raise UnauthorizedError("unknown or expired API secret")
            return entry.principal
        if scheme == "bearer":
            claims = read_access_token(self._key, credential)
            if claims is None:
                raise UnauthorizedError("invalid access token")
            if claims.expires_at <= now.timestamp():
                raise UnauthorizedError("access token expired")
            entry = await self._secret(session, secret_id=claims.secret_id)
            if entry is None or (entry.expires_at is not None and entry.expires_at <= now):
                raise UnauthorizedError("the API secret of this token no longer exists")
            return Principal(claims.secret_id, claims.merchant_id, claims.store_id, claims.pinned)
        raise UnauthorizedError("unsupported Authorization scheme: use 'PortOne' or 'Bearer'")

    async def _issue_pair(self, session: AsyncSession, principal: Principal, now: datetime) -> TokenPair:
        await repository.revoke_refresh_tokens(session, principal.secret_id, now)
        refresh = new_refresh_token()
        repository.add_refresh_token(session, RefreshToken(
            token_hash=sha256_hex(refresh),
            api_secret_id=principal.secret_id,
            issued_at=now,
            expires_at=now + timedelta(seconds=self._refresh_seconds),
        ))
        claims = AccessClaims(
            secret_id=principal.secret_id,
            merchant_id=principal.merchant_id,
            store_id=principal.default_store_id,
            pinned=principal.pinned,
            expires_at=int((now + timedelta(seconds=self._access_seconds)).timestamp()),
        )
        return TokenPair(issue_access_token(self._key, claims, now), refresh)

    async def login_via_api_secret(self, session: AsyncSession, api_secret: str, now: datetime) -> TokenPair:
        principal = await self.authenticate(session, f"PortOne {api_secret}", now)
        return await self._issue_pair(session, principal, now)

    async def refresh_token(self, session: AsyncSession, refresh_token: str, now: datetime) -> TokenPair:
        row = await repository.refresh_token_for_update(session, sha256_hex(refresh_token))
        if row is None or row.revoked_at is not None or row.expires_at <= now:
            raise UnauthorizedError("unknown, used or expired refresh token")
        secret = await repository.secret_by_id(session, row.api_secret_id)
        if secret is None or secret.deleted_at is not None or (secret.expires_at and secret.expires_at <= now):
            raise UnauthorizedError("the API secret of this token no longer exists")
        return await self._issue_pair(session, _principal(secret), now)


async def resolve_store(session: AsyncSession, principal: Principal, store_id: str | None) -> StoreContext:
    """The store a request acts on: the one named, if the credential may access it, else its default store."""
    if store_id is None or store_id == principal.default_store_id:
        return StoreContext(principal.merchant_id, principal.default_store_id)
    if principal.pinned:
        raise ForbiddenError(f"this API secret may not access store {store_id}")
    merchant = await stores.merchant_of_store(session, store_id)
    if merchant != principal.merchant_id:
        raise ForbiddenError(f"store {store_id} is not accessible with these credentials")
    return StoreContext(principal.merchant_id, store_id)


async def resolve_store_filter(session: AsyncSession, principal: Principal, store_id: str | None) -> list[str] | None:
    """For merchant-level list filters: the named store, or every store of the merchant (``None``)."""
    if principal.pinned:
        return [(await resolve_store(session, principal, store_id)).store_id]
    if store_id is None:
        return None
    return [(await resolve_store(session, principal, store_id)).store_id]
