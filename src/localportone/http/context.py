"""What a route needs from the application: a unit of work, the caller, and the store it acts on."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Request

from localportone.auth.principal import Principal, StoreContext
from localportone.auth.service import Authenticator, resolve_store_filter
from localportone.kernel.uow import Transactions, UnitOfWork


def transactions(request: Request) -> Transactions:
    tx: Transactions = request.app.state.transactions
    return tx


def authenticator(request: Request) -> Authenticator:
    auth: Authenticator = request.app.state.authenticator
    return auth


@asynccontextmanager
async def begin(request: Request, *, write: bool = True) -> AsyncIterator[UnitOfWork]:
    async with transactions(request).begin(write=write) as uow:
        yield uow


async def caller(request: Request, uow: UnitOfWork) -> Principal:
    return await authenticator(request).authenticate(uow, request.headers.get("authorization"))


async def acting_store(request: Request, uow: UnitOfWork, store_id: str | None) -> StoreContext:
    """Authenticate, then resolve ``storeId`` (query or body) to a store the caller may act on (else 403)."""
    return await authenticator(request).acting_store(uow, request.headers.get("authorization"), store_id)


async def store_filter(request: Request, uow: UnitOfWork, store_id: str | None) -> tuple[Principal, list[str] | None]:
    """For merchant-level list filters: the caller and the stores to search (``None``: all of the merchant's)."""
    principal = await caller(request, uow)
    return principal, await resolve_store_filter(uow, principal, store_id)
