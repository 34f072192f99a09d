"""What other domains may ask of webhooks. (Interface first; the outbox and delivery implement it.)

Every call takes the caller's unit of work: events are written in the same transaction as the change that
triggers them, so a rolled-back change never sends a webhook.
"""

from __future__ import annotations

from typing import Any

from localportone.auth.principal import StoreContext
from localportone.kernel.uow import UnitOfWork


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


async def payment_webhooks(uow: UnitOfWork, store_id: str, payment_id: str) -> list[dict[str, Any]]:
    """The payment's deliveries as ``PaymentWebhook`` wire objects (for ``Payment.webhooks``), oldest first."""
    return []
