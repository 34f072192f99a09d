"""Every query on ``idempotency_keys``. Claims are "insert, or update the row if it may be taken over": a unique
(scope, key) constraint decides races on both engines."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from localportone.idempotency import keys
from localportone.idempotency.models import IdempotencyRecord


async def find(session: AsyncSession, scope: str, key: str, *, for_update: bool = False) -> IdempotencyRecord | None:
    query = select(IdempotencyRecord).where(IdempotencyRecord.scope == scope, IdempotencyRecord.key == key)
    if for_update:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


def stored(row: IdempotencyRecord | None) -> keys.Stored | None:
    if row is None:
        return None
    return keys.Stored(row.request_hash, row.state, row.expires_at, row.lease_until)


async def purge_expired(session: AsyncSession, now: datetime) -> None:
    await session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.expires_at <= now))


def insert(session: AsyncSession, scope: str, key: str, request_hash: str, owner: str,
           now: datetime) -> IdempotencyRecord:
    row = IdempotencyRecord(
        scope=scope, key=key, request_hash=request_hash, owner=owner, state=keys.IN_FLIGHT, created_at=now,
        expires_at=now + keys.RETENTION, lease_until=now + keys.LEASE,
    )
    session.add(row)
    return row


def take_over(row: IdempotencyRecord, request_hash: str, owner: str, now: datetime) -> None:
    """Reuse an expired record (a new request) or a dead claim (the same request)."""
    if row.expires_at <= now:
        row.created_at = now
        row.expires_at = now + keys.RETENTION
    row.request_hash = request_hash
    row.owner = owner
    row.state = keys.IN_FLIGHT
    row.lease_until = now + keys.LEASE
    row.response_status = None
    row.response_content_type = None
    row.response_body = None


async def complete(session: AsyncSession, record_id: int, owner: str, status: int, content_type: str | None,
                   body: bytes) -> None:
    await session.execute(
        update(IdempotencyRecord)
        .where(IdempotencyRecord.id == record_id, IdempotencyRecord.owner == owner)
        .values(state=keys.DONE, response_status=status, response_content_type=content_type, response_body=body)
    )


async def release(session: AsyncSession, record_id: int, owner: str) -> None:
    await session.execute(
        delete(IdempotencyRecord).where(IdempotencyRecord.id == record_id, IdempotencyRecord.owner == owner)
    )
