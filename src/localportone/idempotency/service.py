"""Claiming, completing and releasing idempotency keys, each in its own short committed transaction, so that
other processes see an in-flight request at once and a crashed one stops blocking when its lease runs out."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError

from localportone.idempotency import keys, repository
from localportone.idempotency.models import IdempotencyRecord
from localportone.kernel.uow import Transactions

_CLAIM_ATTEMPTS = 3


@dataclass(frozen=True)
class Claim:
    verdict: keys.Verdict
    record_id: int | None = None
    owner: str | None = None
    status: int | None = None
    content_type: str | None = None
    body: bytes | None = None


def _settled(verdict: keys.Verdict, row: IdempotencyRecord | None) -> Claim:
    if verdict is keys.Verdict.REPLAY:
        assert row is not None
        return Claim(verdict, status=row.response_status, content_type=row.response_content_type,
                     body=row.response_body or b"")
    return Claim(verdict)


async def claim(tx: Transactions, scope: str, key: str, request_hash: str) -> Claim:
    """Decide what to do with a request carrying ``key``; on ``CLAIM`` the caller owns the key until it
    completes or releases it."""
    for _ in range(_CLAIM_ATTEMPTS):
        # A read first: replays and 409s need no write lock (on SQLite a writer may be busy for seconds).
        async with tx.begin(write=False) as uow:
            row = await repository.find(uow.session, scope, key)
            verdict = keys.judge(repository.stored(row), request_hash, uow.now)
            if verdict is not keys.Verdict.CLAIM:
                return _settled(verdict, row)
        owner = secrets.token_hex(16)
        try:
            async with tx.begin() as uow:
                row = await repository.find(uow.session, scope, key, for_update=True)
                verdict = keys.judge(repository.stored(row), request_hash, uow.now)
                if verdict is not keys.Verdict.CLAIM:
                    return _settled(verdict, row)
                if row is None:
                    await repository.purge_expired(uow.session, uow.now)
                    row = repository.insert(uow.session, scope, key, request_hash, owner, uow.now)
                else:
                    repository.take_over(row, request_hash, owner, uow.now)
                await uow.session.flush()
                record_id = row.id
        except IntegrityError:
            continue  # another process inserted the same key first: look again
        return Claim(keys.Verdict.CLAIM, record_id=record_id, owner=owner)
    raise RuntimeError("could not claim the idempotency key")  # pragma: no cover - three lost races in a row


async def complete(tx: Transactions, claimed: Claim, status: int, content_type: str | None, body: bytes) -> None:
    assert claimed.record_id is not None and claimed.owner is not None
    async with tx.begin() as uow:
        await repository.complete(uow.session, claimed.record_id, claimed.owner, status, content_type, body)


async def release(tx: Transactions, claimed: Claim) -> None:
    assert claimed.record_id is not None and claimed.owner is not None
    async with tx.begin() as uow:
        await repository.release(uow.session, claimed.record_id, claimed.owner)
