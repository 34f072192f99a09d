"""Disputes (chargebacks): a sandbox control opens and resolves them, as a card company would.

A dispute never changes the payment's status: it is listed in ``PaidPayment.disputes`` and announced with
``Transaction.DisputeCreated`` / ``Transaction.DisputeResolved`` (triggers ``DISPUTE_CREATED`` /
``DISPUTE_RESOLVED``, asynchronous).
"""

from __future__ import annotations

from typing import Any

from localportone.auth.principal import StoreContext
from localportone.kernel import ids
from localportone.kernel.clock import to_wire
from localportone.kernel.uow import UnitOfWork
from localportone.payments import state
from localportone.payments.common import lock, notify
from localportone.wire.errors import InvalidRequestError, PaymentNotPaidError

DISPUTABLE = (state.PAID, state.PARTIAL_CANCELLED, state.CANCELLED)


async def create_dispute(uow: UnitOfWork, store: StoreContext, payment_id: str, *, reason: str,
                         pg_dispute_id: str | None = None) -> dict[str, Any]:
    locked = await lock(uow, store.store_id, payment_id)
    tx = locked.tx
    if tx.status not in DISPUTABLE:
        raise PaymentNotPaidError(f"a {tx.status} payment cannot be disputed")
    dispute: dict[str, Any] = {
        "status": "UNRESOLVED",
        "reason": reason,
        "createdAt": to_wire(uow.now),
        "pgDisputeId": pg_dispute_id or f"sandbox-dispute-{ids.uuid7()}",
    }
    tx.disputes = [*(tx.disputes or []), dispute]
    tx.updated_at = uow.now
    await notify(uow, tx, is_async=True, trigger="DISPUTE_CREATED", event_type="Transaction.DisputeCreated")
    return dispute


async def resolve_dispute(uow: UnitOfWork, store: StoreContext, payment_id: str, pg_dispute_id: str) -> dict[str, Any]:
    locked = await lock(uow, store.store_id, payment_id)
    tx = locked.tx
    disputes = [dict(d) for d in tx.disputes or []]
    match = next((d for d in disputes if d.get("pgDisputeId") == pg_dispute_id), None)
    if match is None:
        raise InvalidRequestError(f"payment {payment_id} has no dispute {pg_dispute_id}")
    if match["status"] == "RESOLVED":
        raise InvalidRequestError(f"dispute {pg_dispute_id} is already resolved")
    match["status"] = "RESOLVED"
    match["resolvedAt"] = to_wire(uow.now)
    tx.disputes = disputes
    tx.updated_at = uow.now
    await notify(uow, tx, is_async=True, trigger="DISPUTE_RESOLVED", event_type="Transaction.DisputeResolved")
    return match
