"""Authentication as PortOne does it: ``PortOne <API secret>`` or ``Bearer <access token>`` on every secured call.

Secrets and tokens are checked against the sandbox clock, so advancing the clock expires tokens. Secrets are cached
for a few seconds per process and store owners for good: the hot path of a request does no query (a miss is one
hand-written ``SELECT``).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from localportone.auth import repository
from localportone.auth.models import ApiSecret, RefreshToken
from localportone.auth.principal import Principal, StoreContext
from localportone.auth.tokens import AccessClaims, issue_access_token, new_refresh_token, read_access_token, sha256_hex
from localportone.kernel.records import decode_datetime
from localportone.kernel.uow import UnitOfWork
from localportone.stores import service as stores
from localportone.wire.errors import ForbiddenError, UnauthorizedError

_CACHE_SECONDS = 5.0
#: Distinct ``Authorization`` headers remembered per process (the cache starts over when full).
_HEADERS_CACHED = 1024


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str


@dataclass(frozen=True)
class _CachedSecret:
    principal: Principal
    expires_at: datetime | None


def _principal(secret: ApiSecret) -> Principal:
    return Principal(
        secret_id=secret.id,
        merchant_id=secret.merchant_id,
        default_store_id=secret.default_store_id,
        pinned=secret.pinned_to_store,
    )


def _entry(row: Sequence[Any] | None) -> _CachedSecret | None:
    """A live secret from ``repository.secret_row_by_*`` (``None`` for unknown or deleted secrets)."""
    if row is None or row[5] is not None:
        return None
    return _CachedSecret(Principal(row[0], row[1], row[2], bool(row[3])), decode_datetime(row[4]))


class Authenticator:
    def __init__(self, signing_key: bytes, access_seconds: int, refresh_seconds: int) -> None:
        self._key = signing_key
        self._access_seconds = access_seconds
        self._refresh_seconds = refresh_seconds
        #: (monotonic time loaded, secret or None) by secret hash and by secret id.
        self._by_hash: dict[str, tuple[float, _CachedSecret | None]] = {}
        self._by_id: dict[str, tuple[float, _CachedSecret | None]] = {}
        #: (monotonic time the secret was loaded, live secret) by the exact ``Authorization`` header of a
        #: ``PortOne`` call: a hit skips parsing and hashing; it expires with the secret's own cache entry.
        self._by_header: dict[str, tuple[float, _CachedSecret]] = {}

    def forget(self) -> None:
        self._by_hash.clear()
        self._by_id.clear()
        self._by_header.clear()

    async def _secret(self, uow: UnitOfWork, *, secret_hash: str | None = None,
                      secret_id: str | None = None) -> _CachedSecret | None:
        """The secret from this process's cache (no query on a hit), else one hand-written ``SELECT``."""
        cache, key = (self._by_hash, secret_hash) if secret_hash is not None else (self._by_id, secret_id)
        assert key is not None
        now = time.monotonic()
        hit = cache.get(key)
        if hit is not None and now - hit[0] < _CACHE_SECONDS:
            return hit[1]
        row = (await repository.secret_row_by_hash(uow.sql, key) if secret_hash is not None
               else await repository.secret_row_by_id(uow.sql, key))
        entry = _entry(row)
        cache[key] = (now, entry)
        return entry

    async def acting_store(self, uow: UnitOfWork, authorization: str | None, store_id: str | None) -> StoreContext:
        """Authenticate, then resolve ``storeId`` to a store the caller may act on (:func:`resolve_store`)."""
        return await resolve_store(uow, await self.authenticate(uow, authorization), store_id)

    async def authenticate(self, uow: UnitOfWork, authorization: str | None) -> Principal:
        """The caller of a request, checked against the unit of work's (sandbox) time."""
        if not authorization:
            raise UnauthorizedError("missing Authorization header: use 'PortOne <API secret>' or 'Bearer <token>'")
        known = self._by_header.get(authorization)
        if known is not None and time.monotonic() - known[0] < _CACHE_SECONDS and (
                known[1].expires_at is None or known[1].expires_at > uow.now):
            return known[1].principal
        scheme, _, credential = authorization.strip().partition(" ")
        credential = credential.strip()
        if not credential:
            raise UnauthorizedError("malformed Authorization header")
        scheme = scheme.lower()
        now = uow.now
        if scheme == "portone":
            secret_hash = sha256_hex(credential)
            entry = await self._secret(uow, secret_hash=secret_hash)
            if entry is None or (entry.expires_at is not None and entry.expires_at <= now):
                raise UnauthorizedError("unknown or expired API secret")
            if len(self._by_header) >= _HEADERS_CACHED:
                self._by_header.clear()
            self._by_header[authorization] = (self._by_hash[secret_hash][0], entry)
            return entry.principal
        if scheme == "bearer":
            claims = read_access_token(self._key, credential)
            if claims is None:
                raise UnauthorizedError("invalid access token")
            if claims.expires_at <= now.timestamp():
                raise UnauthorizedError("access token expired")
            entry = await self._secret(uow, secret_id=claims.secret_id)
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

    async def login_via_api_secret(self, uow: UnitOfWork, api_secret: str) -> TokenPair:
        principal = await self.authenticate(uow, f"PortOne {api_secret}")
        return await self._issue_pair(uow.session, principal, uow.now)

    async def refresh_token(self, uow: UnitOfWork, refresh_token: str) -> TokenPair:
        session, now = uow.session, uow.now
        row = await repository.refresh_token_for_update(session, sha256_hex(refresh_token))
        if row is None or row.revoked_at is not None or row.expires_at <= now:
            raise UnauthorizedError("unknown, used or expired refresh token")
        secret = await repository.secret_by_id(session, row.api_secret_id)
        if secret is None or secret.deleted_at is not None or (secret.expires_at and secret.expires_at <= now):
            raise UnauthorizedError("the API secret of this token no longer exists")
        return await self._issue_pair(session, _principal(secret), now)


async def resolve_store(uow: UnitOfWork, principal: Principal, store_id: str | None) -> StoreContext:
    """The store a request acts on: the one named, if the credential may access it, else its default store.
    Answered from the principal, or from the stores domain's cache of store owners (a query only the first time
    a store is named)."""
    if store_id is None or store_id == principal.default_store_id:
        return StoreContext(principal.merchant_id, principal.default_store_id)
    if principal.pinned:
        raise ForbiddenError(f"this API secret may not access store {store_id}")
    merchant = await stores.merchant_of_store(uow, store_id)
    if merchant != principal.merchant_id:
        raise ForbiddenError(f"store {store_id} is not accessible with these credentials")
    return StoreContext(principal.merchant_id, store_id)


async def resolve_store_filter(uow: UnitOfWork, principal: Principal, store_id: str | None) -> list[str] | None:
    """For merchant-level list filters: the named store, or every store of the merchant (``None``)."""
    if principal.pinned:
        return [(await resolve_store(uow, principal, store_id)).store_id]
    if store_id is None:
        return None
    return [(await resolve_store(uow, principal, store_id)).store_id]
