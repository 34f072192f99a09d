"""Lists: ``GET /payments`` (pages, ``PaymentFilterInput``), ``/payments-by-cursor``, ``/payment-events-by-cursor``."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from localportone.auth.principal import StoreContext
from localportone.kernel.clock import parse_wire
from localportone.kernel.pagination import MAX_PAGE_SIZE, Page, decode_cursor, encode_cursor
from localportone.kernel.uow import UnitOfWork
from localportone.payments import presenter, repository, state
from localportone.payments.common import ExpiryDue
from localportone.payments.models import TransactionRow
from localportone.payments.virtual_accounts import due_virtual_accounts_exist, expire_due_virtual_accounts
from localportone.webhooks import service as webhooks
from localportone.wire import GetAllPaymentEventsByCursorBody, GetAllPaymentsByCursorBody, GetPaymentsBody
from localportone.wire.errors import InvalidRequestError

#: Default look-back of every list (§5.7: ``from`` defaults to ``until - 90 days``).
DEFAULT_RANGE = timedelta(days=90)
#: ``PaymentClientType`` → the stored ``PaymentOrigin.platformType``.
PLATFORM_TYPES = {"SDK_MOBILE": "MOBILE", "SDK_PC": "PC", "API": "API"}


def _range(now: datetime, since: datetime | None, until: datetime | None) -> tuple[datetime, datetime]:
    until = until or now
    since = since or until - DEFAULT_RANGE
    if since > until:
        raise InvalidRequestError("from must not be after until")
    return since, until


def _page(number: int | None, size: int | None) -> Page:
    page = Page(0 if number is None else number, 10 if size is None else size)
    if page.number < 0:
        raise InvalidRequestError("page.number must not be negative")
    if not 1 <= page.size <= MAX_PAGE_SIZE:
        raise InvalidRequestError(f"page.size must be between 1 and {MAX_PAGE_SIZE}")
    return page


async def _present(uow: UnitOfWork, rows: list[TransactionRow]) -> list[dict[str, Any]]:
    cancellations = await repository.cancellations_of(uow, [r.id for r in rows])
    hooks = await webhooks.payments_webhooks(uow, [(r.store_id, r.payment_id) for r in rows])
    return [presenter.payment(row, cancellations[row.id], hooks[(row.store_id, row.payment_id)]) for row in rows]


async def _check_expiry(uow: UnitOfWork, store_ids: list[str] | None) -> None:
    """Lists show expired virtual accounts as FAILED: a read-only unit asks the caller to retry in a write unit,
    which expires them first."""
    if uow.write:
        await expire_due_virtual_accounts(uow, store_ids)
    elif await due_virtual_accounts_exist(uow, store_ids):
        raise ExpiryDue()


def _webhook_status(hooks: list[dict[str, Any]], status: str) -> str | None:
    """The delivery status of the webhook that announced the payment's current status."""
    for hook in reversed(hooks):
        if hook.get("paymentStatus") == status:
            value = hook.get("status")
            return value if isinstance(value, str) else None
    return None


async def get_payments(uow: UnitOfWork, merchant_id: str, store_ids: list[str] | None, body: GetPaymentsBody
                       ) -> dict[str, Any]:
    """``GET /payments``: page-based, newest first by default (§16 items 14-16, 36-37)."""
    page = _page(body.page.number if body.page else None, body.page.size if body.page else None)
    f = body.filter
    timestamp_type = (f.timestamp_type if f else None) or "STATUS_CHANGED_AT"
    time_column = "requested_at" if timestamp_type == "CREATED_AT" else "status_changed_at"
    sort_by = f.sort_by if f and f.sort_by else ("REQUESTED_AT" if timestamp_type == "CREATED_AT" else
                                                 "STATUS_CHANGED_AT")
    since, until = _range(uow.now, f.from_ if f else None, f.until if f else None)
    q = repository.PaymentQuery(
        merchant_id=merchant_id, store_ids=store_ids, time_column=time_column, since=since, until=until,
        sort_column="requested_at" if sort_by == "REQUESTED_AT" else "status_changed_at",
        descending=not (f and f.sort_order == "ASC"),
    )
    if f is not None:
        _apply_filter(q, f, merchant_id)
    await _check_expiry(uow, store_ids)
    if f is not None and f.webhook_status is not None:
        rows, _ = await repository.list_payments(uow, q, None, None)
        items = [p for p in await _present(uow, rows)
                 if _webhook_status(p.get("webhooks", []), p["status"]) == f.webhook_status]
        return {"items": items[page.offset:page.offset + page.size], "page": page.info(len(items))}
    rows, total = await repository.list_payments(uow, q, page.offset, page.size)
    return {"items": await _present(uow, rows), "page": page.info(total)}


def _apply_filter(q: repository.PaymentQuery, f: Any, merchant_id: str) -> None:
    if f.merchant_id is not None and f.merchant_id != merchant_id:
        q.impossible = True
    if f.status is not None:
        q.statuses = [state.FILTER_STATUS.get(s, s) for s in f.status]
    q.methods = list(f.methods) if f.methods is not None else None
    q.pg_providers = list(f.pg_provider) if f.pg_provider is not None else None
    q.is_test, q.is_scheduled, q.is_escrow = f.is_test, f.is_scheduled, f.is_escrow
    if f.version == "V1":
        q.impossible = True
    if f.platform_type is not None:
        q.platform_types = [PLATFORM_TYPES[f.platform_type]]
    q.currency, q.escrow_status = f.currency, f.escrow_status
    q.card_brand, q.card_type, q.card_owner_type = f.card_brand, f.card_type, f.card_owner_type
    q.cash_receipt_type = f.cash_receipt_type
    # Gift certificates and embedded cash receipts are never stored by this server: such filters match nothing.
    if (f.gift_certificate_type is not None or f.cash_receipt_status is not None
            or f.cash_receipt_issued_at_range is not None or f.cash_receipt_cancelled_at_range is not None):
        q.impossible = True
    for search in f.text_search or []:
        q.text_search.append((search.field, search.value))


def _cursor_size(size: int | None) -> int:
    size = 10 if size is None else size
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise InvalidRequestError(f"size must be between 1 and {MAX_PAGE_SIZE}")
    return size


def _after(cursor: str | None) -> tuple[datetime, str] | None:
    if cursor is None:
        return None
    parts = decode_cursor(cursor, 2)
    try:
        if parts is None:
            raise ValueError(cursor)
        return parse_wire(parts[0]), parts[1]
    except ValueError:
        raise InvalidRequestError("cursor is not one this server returned") from None


def _cursor(at: datetime, row_id: str) -> str:
    """Microsecond timestamps (not the wire's milliseconds), so that ties resume exactly."""
    return encode_cursor(at.isoformat(), row_id)


async def get_all_payments_by_cursor(uow: UnitOfWork, store: StoreContext, body: GetAllPaymentsByCursorBody
                                     ) -> dict[str, Any]:
    """Payments created in the range, oldest first; pass the last item's cursor to continue."""
    since, until = _range(uow.now, body.from_, body.until)
    size, after = _cursor_size(body.size), _after(body.cursor)
    await _check_expiry(uow, [store.store_id])
    rows = await repository.payments_by_cursor(uow, store.store_id, since, until, after, size)
    presented = await _present(uow, [tx for _, tx in rows])
    return {"items": [{"payment": p, "cursor": _cursor(row.created_at, row.id)}
                      for (row, _), p in zip(rows, presented, strict=True)]}


async def get_all_payment_events_by_cursor(uow: UnitOfWork, merchant_id: str, store_ids: list[str] | None,
                                           body: GetAllPaymentEventsByCursorBody) -> dict[str, Any]:
    """PAID / PARTIAL_CANCELLED / CANCELLED events in the range, oldest first."""
    since, until = _range(uow.now, body.from_, body.until)
    size, after = _cursor_size(body.size), _after(body.cursor)
    rows = await repository.events_by_cursor(uow, merchant_id, store_ids, since, until, after, size)
    cancellations = await repository.cancellations_of(uow, {tx.id for _, tx in rows})
    items = []
    for ev, tx in rows:
        cancelled = next((c for c in cancellations[tx.id] if c.id == ev.cancellation_id), None)
        items.append({"paymentEvent": presenter.event(ev, tx, cancelled), "cursor": _cursor(ev.created_at, ev.id)})
    return {"items": items}

