"""Settling a PAY_PENDING payment: the PG's later answer, delivered by a sandbox control.

Approval → PAID with ``Transaction.Paid`` (trigger ``ASYNC_PAY_APPROVED``); refusal → FAILED with
``Transaction.Failed`` (trigger ``ASYNC_PAY_FAILED``). Both webhooks are asynchronous.
"""

from __future__ import annotations

from typing import Any

from localportone.auth.principal import StoreContext
from localportone.kernel.uow import UnitOfWork
from localportone.payments import presenter, state
from localportone.payments.common import lock, notify, record_event, save, set_status
from localportone.wire.errors import InvalidRequestError


async def settle_pending_payment(uow: UnitOfWork, store: StoreContext, payment_id: str, *, approve: bool,
                                 pg_code: str | None = None, pg_message: str | None = None) -> dict[str, Any]:
    locked = await lock(uow, store.store_id, payment_id)
    tx, now = locked.tx, uow.now
    if tx.status != state.PAY_PENDING:
        raise InvalidRequestError(f"a {tx.status} payment is not waiting for the PG's approval")
    if approve:
        balance = presenter.amounts(tx)
        set_status(tx, state.PAID, now)
        tx.paid_at = now
        await save(uow, tx)
        record_event(uow, tx, state.PAID, balance.paid, balance.wire())
        await notify(uow, tx, is_async=True, trigger="ASYNC_PAY_APPROVED")
    else:
        set_status(tx, state.FAILED, now)
        tx.failed_at = now
        tx.failure_pg_code = pg_code or "SANDBOX_PAY_REJECTED"
        tx.failure_pg_message = pg_message or "the PG refused the pending payment"
        tx.failure_reason = tx.failure_pg_message
        await save(uow, tx)
        await notify(uow, tx, is_async=True, trigger="ASYNC_PAY_FAILED")
    locked.payment.updated_at = now
    return presenter.payment(tx)
