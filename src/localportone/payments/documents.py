"""The payment document: ``Payment`` rendered once per change, so that ``GET /payments/{id}`` is one lookup.

Every write unit of work that locks a payment re-renders it just before the commit (after the last change is
flushed), into ``payments.document``; the fast GET route (:func:`payment_json`) then reads that text, adds the
``webhooks`` field (deliveries change without the payment changing) and answers. A document that may have become
false with time alone (a virtual account past its expiry) or that is missing (rows written by other means) makes
the fast route decline, and the regular route renders the payment as before.
"""

from __future__ import annotations

from datetime import datetime

import orjson

from localportone.kernel.records import decode_datetime
from localportone.kernel.sql import Sql
from localportone.kernel.uow import UnitOfWork
from localportone.payments import presenter, repository, state
from localportone.payments.models import TRANSACTIONS, PaymentRow
from localportone.webhooks import service as webhooks

_DOCUMENT = (
    "SELECT {document}, p.document_expires_at, EXISTS (SELECT 1 FROM webhook_deliveries d "
    "WHERE d.store_id = p.store_id AND d.payment_id = p.payment_id) FROM payments p "
    "WHERE p.store_id = ? AND p.payment_id = ?"
)
_DOCUMENT_TEXT = _DOCUMENT.format(document="p.document")
#: The document as the UTF-8 bytes a response sends (the driver neither decodes it nor the route encodes it).
_DOCUMENT_SQLITE_BYTES = _DOCUMENT.format(document="CAST(p.document AS BLOB)")
_DOCUMENT_POSTGRES_BYTES = _DOCUMENT.format(document="convert_to(p.document, 'UTF8')")


def refresh_before_commit(uow: UnitOfWork, payment: PaymentRow) -> None:
    """Have ``payment``'s document rewritten before ``uow`` commits."""

    async def refresh() -> None:
        tx = (uow.tracked(TRANSACTIONS, payment.current_transaction_id)
              or await repository.current_transaction(uow, payment))
        if tx is None:
            return
        # an attempt this unit of work created has no stored cancellations (nothing to read)
        cancellations = [] if uow.created(TRANSACTIONS, tx) else await repository.current_cancellations(uow, tx.id)
        payment.document = orjson.dumps(presenter.payment(tx, cancellations)).decode()
        payment.document_expires_at = tx.va_expired_at if tx.status == state.VIRTUAL_ACCOUNT_ISSUED else None

    uow.before_commit(("payment-document", payment.id), refresh)


async def stored_document(sql: Sql, store_id: str, payment_id: str, now: datetime) -> tuple[str, bool] | None:
    """The payment's document, if there is one that is still true at ``now``, and whether the payment has
    webhook deliveries (one statement: a read without a snapshot still sees one consistent row)."""
    row = await sql.one(_DOCUMENT_TEXT, store_id, payment_id)
    if row is None or row[0] is None:
        return None
    expires_at = decode_datetime(row[1])
    if expires_at is not None and expires_at <= now:
        return None
    return str(row[0]), bool(row[2])


async def payment_json(uow: UnitOfWork, store_id: str, payment_id: str) -> bytes | None:
    """``Payment`` as JSON: the stored document, with its ``webhooks`` when it has any; ``None`` when there is
    no document that is still true (the regular route then renders the payment, or the error)."""
    sql = uow.sql
    row = await sql.one(_DOCUMENT_SQLITE_BYTES if sql.is_sqlite else _DOCUMENT_POSTGRES_BYTES, store_id, payment_id)
    if row is None or row[0] is None:
        return None
    if row[1] is not None:
        expires_at = decode_datetime(row[1])
        if expires_at is not None and expires_at <= uow.now:
            return None
    document: bytes = row[0]
    hooks = await webhooks.payment_webhooks(uow, store_id, payment_id) if row[2] else None
    if not hooks:
        return document
    return b"".join((document[:-1], b',"webhooks":', orjson.dumps(hooks), b"}"))
