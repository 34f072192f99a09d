"""The BillingKey.* webhook events of a key, queued through the webhooks domain in the caller's transaction."""

from __future__ import annotations

from localportone.auth.principal import StoreContext
from localportone.billing_keys.models import BillingKey
from localportone.kernel.uow import UnitOfWork


async def send(uow: UnitOfWork, row: BillingKey, event_type: str, *, skip: bool) -> None:
    """Queue ``event_type`` (``BillingKey.Issued`` ...) for the key, unless the request said ``skipWebhook``."""
    if skip:
        return
    from localportone.webhooks.service import enqueue_billing_key_event  # looked up per call: tests record it

    await enqueue_billing_key_event(
        uow,
        store=StoreContext(row.merchant_id, row.store_id),
        event_type=event_type,
        billing_key=row.billing_key,
        is_test=row.is_test,
        notice_urls=list(row.notice_urls) if row.notice_urls is not None else None,
    )
