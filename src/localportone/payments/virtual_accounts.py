"""Virtual-account lifecycle after issuance: deposit (sandbox control), close (API) and expiry (§16 items 33-34)."""

from __future__ import annotations

from typing import Any

from localportone.auth.principal import StoreContext
from localportone.kernel.clock import to_wire
from localportone.kernel.uow import UnitOfWork, keep_changes
from localportone.payments import presenter, repository, state
from localportone.payments.common import (
    Locked,
    channel_ref_of,
    lock,
    notify,
    pg_call,
    record_event,
    save,
    set_status,
    va_expiry_due,
)
from localportone.pg.connector import CloseVirtualAccount, Declined
from localportone.pg.registry import get_connector
from localportone.wire.errors import InvalidRequestError, PaymentNotWaitingForDepositError, PgProviderError

EXPIRED_REASON = "virtual account expired"
CLOSED_REASON = "virtual account closed"


def _fail(locked: Locked, now: Any, reason: str) -> None:
    tx = locked.tx
    set_status(tx, state.FAILED, now)
    tx.failed_at = now
    tx.failure_reason = reason
    tx.va_expired_at = None
    locked.payment.updated_at = now


async def expire_if_due(uow: UnitOfWork, locked: Locked) -> bool:
    """Expire the locked payment's virtual account if its time has come (FAILED + Transaction.Failed)."""
    if not va_expiry_due(locked.tx, uow.now):
        return False
    _fail(locked, uow.now, EXPIRED_REASON)
    await save(uow, locked.tx)
    await notify(uow, locked.tx, is_async=True)
    return True


async def expire_due_virtual_accounts(uow: UnitOfWork, store_ids: list[str] | None = None) -> int:
    """Expire every virtual account past ``expiredAt`` on the sandbox clock; returns how many (for a job)."""
    count = 0
    while True:
        batch = await repository.due_virtual_accounts(uow, uow.now, store_ids)
        expired = 0
        for store_id, payment_id in batch:
            payment = await repository.lock_payment(uow, store_id, payment_id)
            tx = None if payment is None else await repository.current_transaction(uow, payment)
            if payment is not None and tx is not None and await expire_if_due(uow, Locked(payment, tx)):
                expired += 1
        count += expired
        if not batch or expired == 0:
            return count


async def due_virtual_accounts_exist(uow: UnitOfWork, store_ids: list[str] | None) -> bool:
    return bool(await repository.due_virtual_accounts(uow, uow.now, store_ids, limit=1))


async def deposit(uow: UnitOfWork, store: StoreContext, payment_id: str, *, amount: int | None,
                  remitter_name: str | None) -> dict[str, Any]:
    """Sandbox: the buyer pays into the account. PAID + Transaction.Paid (trigger VIRTUAL_ACCOUNT_DEPOSIT)."""
    locked = await lock(uow, store.store_id, payment_id)
    if await expire_if_due(uow, locked):
        raise keep_changes(PaymentNotWaitingForDepositError("the virtual account has expired"))
    tx = locked.tx
    if tx.status != state.VIRTUAL_ACCOUNT_ISSUED:
        raise PaymentNotWaitingForDepositError(f"a {tx.status} payment is not waiting for a deposit")
    balance = presenter.amounts(tx)
    if amount is not None and amount != balance.paid:
        raise InvalidRequestError(f"amount {amount} must equal the amount due {balance.paid}")
    now = uow.now
    set_status(tx, state.PAID, now)
    tx.paid_at = now
    tx.va_expired_at = None
    method = dict(tx.method or {})
    if remitter_name:
        method["remitterName"] = remitter_name
    tx.method = method
    locked.payment.updated_at = now
    await save(uow, tx)
    record_event(uow, tx, state.PAID, balance.paid, balance.wire())
    await notify(uow, tx, is_async=True, trigger="VIRTUAL_ACCOUNT_DEPOSIT")
    return presenter.payment(tx)


async def close_virtual_account(uow: UnitOfWork, store: StoreContext, payment_id: str) -> dict[str, Any]:
    """``POST /payments/{id}/virtual-account/close``: FAILED + Transaction.Failed (§16 item 33)."""
    locked = await lock(uow, store.store_id, payment_id)
    if await expire_if_due(uow, locked):
        raise keep_changes(PaymentNotWaitingForDepositError("the virtual account has already expired"))
    tx = locked.tx
    if tx.status != state.VIRTUAL_ACCOUNT_ISSUED:
        raise PaymentNotWaitingForDepositError(f"a {tx.status} payment is not waiting for a deposit")
    ref = channel_ref_of(tx)
    outcome = await pg_call(get_connector(ref.pg_provider).close_virtual_account(
        CloseVirtualAccount(channel=ref, pg_tx_id=tx.pg_tx_id or "", now=uow.now)
    ))
    if isinstance(outcome, Declined):
        raise PgProviderError(outcome.pg_message, pg_code=outcome.pg_code, pg_message=outcome.pg_message)
    _fail(locked, uow.now, CLOSED_REASON)
    await save(uow, tx)
    await notify(uow, tx)
    return {"closedAt": to_wire(outcome.at)}
