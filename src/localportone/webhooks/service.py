"""What other domains may ask of webhooks, and the webhook use cases of the API and the sandbox.

Every call takes the caller's unit of work: events are written in the same transaction as the change that
triggers them, so a rolled-back change never sends a webhook. Nothing is sent inside a transaction; after the
commit the delivery job of this process is woken.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from localportone.auth.principal import StoreContext
from localportone.kernel import ids
from localportone.kernel.pagination import Page
from localportone.kernel.uow import UnitOfWork
from localportone.stores import service as stores
from localportone.webhooks import payloads, presenter, repository, state, wakeup
from localportone.webhooks.models import PENDING, DeliveryRecord, WebhookDelivery
from localportone.wire.errors import (
    MaxWebhookRetryCountReachedError,
    PaymentNotFoundError,
    WebhookNotFoundError,
)

#: Webhooks not listed in ``Payment.webhooks`` (sent to the confirm URL, part of the approval itself).
UNLISTED_TYPES = ("Transaction.Confirm",)


async def _destinations(uow: UnitOfWork, store_id: str, is_test: bool,
                        notice_urls: list[str] | None) -> tuple[list[str], str]:
    """``noticeUrls`` when given and non-empty, else the store's URLs for the mode; and the payload version."""
    settings = await stores.webhook_settings(uow, store_id, is_test=is_test)
    urls = list(notice_urls) if notice_urls else list(settings.urls)
    return list(dict.fromkeys(u for u in urls if u)), settings.version


async def _queue(uow: UnitOfWork, urls: list[str], body: str, *, store_id: str, event_type: str, version: str,
                 is_test: bool, payment_id: str | None = None, billing_key: str | None = None,
                 payment_status: str | None = None, trigger: str | None = None, is_async: bool = False,
                 max_executions: int = state.MAX_EXECUTIONS, resend_of: str | None = None,
                 created_at: datetime | None = None, wake: bool = True) -> list[DeliveryRecord]:
    """One PENDING delivery per URL, due now, inserted by the caller's unit of work with its other rows (at its
    flush, before the commit)."""
    now = uow.now
    rows = [
        DeliveryRecord(
            id=ids.uuid7(), store_id=store_id, payment_id=payment_id, billing_key=billing_key,
            event_type=event_type, version=version, is_test=is_test, url=url, body=body,
            payment_status=payment_status, trigger=trigger, is_async=is_async, status=PENDING, last_result=None,
            execution_count=0, max_executions=max_executions, next_attempt_at=now, lease_until=None,
            claimed_by=None, resend_of=resend_of, created_at=created_at or now, updated_at=now,
        )
        for url in urls
    ]
    if rows:
        repository.queue_deliveries(uow, rows)
        if wake:
            wakeup.wake_after_commit(uow)
    return rows


async def enqueue_payment_event(
    uow: UnitOfWork,
    *,
    store: StoreContext,
    event_type: str,
    payment_id: str,
    transaction_id: str,
    payment_status: str,
    is_test: bool,
    notice_urls: list[str] | None = None,
    cancellation_id: str | None = None,
    total_amount: int | None = None,
    is_async: bool = False,
    trigger: str | None = None,
) -> None:
    """Queue a ``Transaction.*`` event (e.g. ``Transaction.Paid``) for the store's URLs or ``notice_urls``."""
    urls, version = await _destinations(uow, store.store_id, is_test, notice_urls)
    if not urls:
        return
    body = payloads.payment_body(
        version, event_type=event_type, timestamp=uow.now, store_id=store.store_id, payment_id=payment_id,
        transaction_id=transaction_id, cancellation_id=cancellation_id, total_amount=total_amount,
    )
    if body is None:  # the legacy version has no message for this event
        return
    await _queue(uow, urls, body, store_id=store.store_id, event_type=event_type, version=version, is_test=is_test,
                 payment_id=payment_id, payment_status=payment_status, trigger=trigger, is_async=is_async)


async def enqueue_billing_key_event(
    uow: UnitOfWork,
    *,
    store: StoreContext,
    event_type: str,
    billing_key: str,
    is_test: bool,
    notice_urls: list[str] | None = None,
) -> None:
    """Queue a ``BillingKey.*`` event (e.g. ``BillingKey.Issued``)."""
    urls, version = await _destinations(uow, store.store_id, is_test, notice_urls)
    if not urls:
        return
    body = payloads.billing_key_body(version, event_type=event_type, timestamp=uow.now, store_id=store.store_id,
                                     billing_key=billing_key)
    if body is None:
        return
    await _queue(uow, urls, body, store_id=store.store_id, event_type=event_type, version=version, is_test=is_test,
                 billing_key=billing_key)


async def payment_webhooks(uow: UnitOfWork, store_id: str, payment_id: str) -> list[dict[str, Any]]:
    """The payment's deliveries as ``PaymentWebhook`` wire objects (for ``Payment.webhooks``), oldest first."""
    rows = await repository.deliveries_with_last_attempt(uow.sql, (store_id,), (payment_id,),
                                                         exclude_types=UNLISTED_TYPES)
    return [presenter.payment_webhook(row, last) for row, last in rows]


async def payments_webhooks(uow: UnitOfWork, payments: Sequence[tuple[str, str]]) -> dict[tuple[str, str],
                                                                                        list[dict[str, Any]]]:
    """``payment_webhooks`` for many ``(store_id, payment_id)`` at once (payment lists): one query in all."""
    wanted = set(payments)
    out: dict[tuple[str, str], list[dict[str, Any]]] = {key: [] for key in wanted}
    if not wanted:
        return out
    rows = await repository.deliveries_with_last_attempt(
        uow.sql, sorted({s for s, _ in wanted}), sorted({p for _, p in wanted}), exclude_types=UNLISTED_TYPES
    )
    for row, last in rows:
        key = (row.store_id, str(row.payment_id))
        if key in wanted:
            out[key].append(presenter.payment_webhook(row, last))
    return out


async def _payment_exists(uow: UnitOfWork, store_id: str, payment_id: str) -> bool:
    try:
        from localportone.payments.service import payment_exists
    except ImportError:  # the payments domain is not there yet: a payment we sent webhooks for exists
        return await repository.has_payment_deliveries(uow.sql, store_id, payment_id)
    return bool(await payment_exists(uow, store_id, payment_id))


async def resend_webhook(uow: UnitOfWork, store: StoreContext, payment_id: str, webhook_id: str | None, *,
                         max_resends: int) -> dict[str, Any]:
    """``POST /payments/{paymentId}/resend-webhook``: a new delivery (new id, trigger MANUAL, same body) of one
    of the payment's webhooks (default: its most recent); manual resends are counted per original webhook."""
    if not await _payment_exists(uow, store.store_id, payment_id):
        raise PaymentNotFoundError("payment not found")
    rows = await repository.payment_deliveries(uow.sql, store.store_id, payment_id, exclude_types=UNLISTED_TYPES)
    if webhook_id is None:
        if not rows:
            raise WebhookNotFoundError("the payment has no webhook to resend")
        target = rows[-1]
    else:
        found = [row for row in rows if row.id == webhook_id]
        if not found:
            raise WebhookNotFoundError("webhook not found for this payment")
        target = found[0]
    original = target.resend_of or target.id
    if await repository.resend_count(uow.session, original) >= max_resends:
        raise MaxWebhookRetryCountReachedError(
            f"webhook {original} was already resent {max_resends} times (the maximum)"
        )
    (row,) = await _queue(
        uow, [target.url], target.body, store_id=target.store_id, event_type=target.event_type,
        version=target.version, is_test=target.is_test, payment_id=target.payment_id,
        payment_status=target.payment_status, trigger="MANUAL", is_async=True, resend_of=original,
    )
    return presenter.payment_webhook(row, None)


# ------------------------------------------------------------------------------------------------ sandbox use cases


@dataclass(frozen=True)
class DeliveryQuery:
    payment_id: str | None = None
    billing_key: str | None = None
    event_type: str | None = None
    status: str | None = None


async def list_deliveries(uow: UnitOfWork, store: StoreContext, query: DeliveryQuery,
                          page: Page) -> dict[str, Any]:
    flt = repository.DeliveryFilter(store.store_id, query.payment_id, query.billing_key, query.event_type,
                                    query.status)
    rows, total = await repository.list_deliveries(uow.session, flt, offset=page.offset, limit=page.size)
    attempts = await repository.attempts_of(uow.session, [r.id for r in rows])
    return {"items": [presenter.sandbox_delivery(r, attempts[r.id]) for r in rows], "page": page.info(total)}


async def get_delivery(uow: UnitOfWork, store: StoreContext, delivery_id: str) -> dict[str, Any]:
    row = await _own_delivery(uow, store, delivery_id)
    attempts = await repository.attempts_of(uow.session, [row.id])
    return presenter.sandbox_delivery(row, attempts[row.id])


async def _own_delivery(uow: UnitOfWork, store: StoreContext, delivery_id: str, *,
                        for_update: bool = False) -> WebhookDelivery:
    row = await repository.delivery(uow.session, delivery_id, for_update=for_update)
    if row is None or row.store_id != store.store_id:
        raise WebhookNotFoundError("webhook not found")
    return row


async def prepare_replay(uow: UnitOfWork, store: StoreContext, delivery_id: str) -> str:
    """Make a delivery due now; a finished one gets one more execution (beyond the automatic schedule)."""
    row = await _own_delivery(uow, store, delivery_id, for_update=True)
    if row.status != PENDING:
        row.status = PENDING
        row.max_executions = max(row.max_executions, row.execution_count + 1)
    row.next_attempt_at = uow.now
    row.updated_at = uow.now
    return row.id


async def queue_test_call(uow: UnitOfWork, store: StoreContext, url: str, event_type: str) -> str:
    """The console's "test call": a sample 2024-04-25 message to ``url``, attempted once, kept in the log."""
    body = payloads.sample_body(event_type, uow.now, store.store_id)
    (row,) = await _queue(uow, [url], body, store_id=store.store_id, event_type=event_type, version=payloads.TEST_CALL,
                    is_test=True, max_executions=1, wake=False)
    return row.id


async def pending_count(uow: UnitOfWork) -> int:
    return await repository.pending_count(uow.session)
