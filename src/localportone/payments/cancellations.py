"""Cancellation use cases: cancel (sync or async), stop a pending cancel, and the sandbox's async results.

The payment row is locked first, so two cancels on one payment run one after the other and the second one sees
what the first cancelled (or reserved, for an asynchronous cancel): nothing is ever cancelled twice.
"""

from __future__ import annotations

from typing import Any

from localportone.auth.principal import StoreContext
from localportone.kernel import ids
from localportone.kernel.clock import to_wire
from localportone.kernel.uow import UnitOfWork, keep_changes
from localportone.payments import presenter, repository, state
from localportone.payments.common import Limits, Locked, channel_ref_of, lock, notify, pg_call, record_event, save
from localportone.payments.models import CancellationRow
from localportone.payments.virtual_accounts import expire_if_due
from localportone.pg.connector import CancelPayment, CancelRequested, CancelSucceeded, Declined, RefundAccount
from localportone.pg.registry import get_connector
from localportone.wire import CancelPaymentBody
from localportone.wire.errors import (
    InvalidRequestError,
    PaymentCancellationNotFoundError,
    PaymentCancellationNotPendingError,
    PgProviderError,
)

_CANCEL_METHODS = {"CARD", "TRANSFER", "VIRTUAL_ACCOUNT", "GIFT_CERTIFICATE", "MOBILE", "EASY_PAY",
                   "CONVENIENCE_STORE", "CRYPTO"}


def _plan_of(row: CancellationRow) -> state.CancelPlan:
    return state.CancelPlan(amount=row.total_amount, tax_free=row.tax_free_amount, vat=row.vat_amount,
                            is_partial=True)


async def _cancellations(uow: UnitOfWork, tx_id: str) -> list[CancellationRow]:
    return (await repository.cancellations_of(uow, [tx_id]))[tx_id]


def _refund_account(body: CancelPaymentBody, method_type: str | None) -> RefundAccount | None:
    account = body.refund_account
    if method_type == "VIRTUAL_ACCOUNT" and account is None:
        raise InvalidRequestError("refundAccount is required to refund a virtual-account payment")
    if account is None:
        return None
    if not account.number or not account.number.isdigit():
        raise InvalidRequestError("refundAccount.number must contain digits only")
    if not account.holder_name:
        raise InvalidRequestError("refundAccount.holderName must not be empty")
    return RefundAccount(bank=account.bank, number=account.number, holder_name=account.holder_name,
                         holder_phone_number=account.holder_phone_number)


def _sync_refund_status(locked: Locked, cancellations: list[CancellationRow]) -> None:
    tx = locked.tx
    if tx.method_type != "VIRTUAL_ACCOUNT" or not tx.method:
        return
    status = state.refund_status([c.status for c in cancellations])
    method = {k: v for k, v in tx.method.items() if k != "refundStatus"}
    if status is not None:
        method["refundStatus"] = status
    tx.method = method


async def _succeed(uow: UnitOfWork, locked: Locked, row: CancellationRow, cancellations: list[CancellationRow], *,
                   skip_webhook: bool, is_async: bool) -> None:
    """Book a SUCCEEDED cancellation on the attempt: amounts, status, event, webhook."""
    tx, now = locked.tx, uow.now
    balance = state.apply_cancel(presenter.amounts(tx), _plan_of(row))
    tx.cancelled, tx.cancelled_tax_free, tx.cancelled_vat = (
        balance.cancelled, balance.cancelled_tax_free, balance.cancelled_vat
    )
    status = state.status_after_cancel(balance)
    tx.status = status
    tx.updated_at = now
    tx.status_changed_at = now
    tx.cancelled_at = now
    locked.payment.updated_at = now
    _sync_refund_status(locked, cancellations)
    await save(uow, tx)
    await _add_cancel_terms(uow, tx.id, cancellations)
    record_event(uow, tx, status, -row.total_amount, balance.wire(), row.id)
    await notify(uow, tx, skip=skip_webhook, cancellation_id=row.id, is_async=is_async,
                 trigger="ASYNC_CANCEL_APPROVED" if is_async else None)


async def _add_cancel_terms(uow: UnitOfWork, tx_id: str, cancellations: list[CancellationRow]) -> None:
    terms = [("CANCEL_REASON", c.reason) for c in cancellations]
    terms += [("PG_CANCELLATION_ID", c.pg_cancellation_id or "") for c in cancellations]
    await repository.add_search_terms(uow, tx_id, terms)


async def cancel_payment(uow: UnitOfWork, store: StoreContext, payment_id: str, body: CancelPaymentBody, *,
                         limits: Limits | None = None) -> dict[str, Any]:
    """``POST /payments/{id}/cancel``, validated in the order of §6.3 (amounts per §16.5)."""
    limits = limits or Limits()
    locked = await lock(uow, store.store_id, payment_id)
    expired = await expire_if_due(uow, locked)
    tx = locked.tx
    cancellations = await _cancellations(uow, tx.id)
    live = [c for c in cancellations if c.status in (state.SUCCEEDED, state.REQUESTED)]
    try:
        state.check_cancellable(tx.status, len(live), limits.max_cancel_count)
        plan = state.plan_cancel(presenter.amounts(tx, cancellations), state.CancelRequest(
            amount=body.amount, tax_free_amount=body.tax_free_amount, vat_amount=body.vat_amount,
            current_cancellable_amount=body.current_cancellable_amount,
        ))
        if not body.reason:
            raise InvalidRequestError("reason must not be empty")
        refund_account = _refund_account(body, tx.method_type)
    except Exception as exc:
        raise (keep_changes(exc) if expired else exc) from None
    now = uow.now
    row = CancellationRow(
        id=ids.uuid7(), transaction_id=tx.id, store_id=tx.store_id, payment_id=tx.payment_id,
        seq=len(cancellations) + 1, status=state.REQUESTED, total_amount=plan.amount, tax_free_amount=plan.tax_free,
        vat_amount=plan.vat, reason=body.reason, requester=body.requester, trigger="API", requested_at=now,
        refund_account=None if refund_account is None else {
            "bank": refund_account.bank, "holderName": refund_account.holder_name,
            "number": "*" * max(len(refund_account.number) - 4, 0) + refund_account.number[-4:],
        },
    )
    repository.add(uow, row)
    cancellations.append(row)
    ref = channel_ref_of(tx)
    method = tx.method_type if tx.method_type in _CANCEL_METHODS else "CARD"
    outcome = await pg_call(get_connector(ref.pg_provider).cancel(CancelPayment(
        channel=ref, pg_tx_id=tx.pg_tx_id or "", cancellation_id=row.id, amount=plan.amount,
        tax_free_amount=plan.tax_free, vat_amount=plan.vat, is_partial=plan.is_partial,
        method=method,  # type: ignore[arg-type]
        refund_account=refund_account, now=now,
    )))
    skip = bool(body.skip_webhook)
    if isinstance(outcome, Declined):
        row.status = "FAILED"
        row.failure_pg_code, row.failure_pg_message = outcome.pg_code, outcome.pg_message
        tx.updated_at = now
        _sync_refund_status(locked, cancellations)
        await save(uow, tx)
        await _add_cancel_terms(uow, tx.id, cancellations)
        raise keep_changes(PgProviderError(outcome.pg_message, pg_code=outcome.pg_code, pg_message=outcome.pg_message))
    row.pg_cancellation_id = outcome.pg_cancellation_id
    if isinstance(outcome, CancelSucceeded):
        row.status = state.SUCCEEDED
        row.cancelled_at = outcome.cancelled_at
        row.receipt_url = outcome.receipt_url
        await _succeed(uow, locked, row, cancellations, skip_webhook=skip, is_async=False)
    else:
        assert isinstance(outcome, CancelRequested)
        tx.updated_at = now
        _sync_refund_status(locked, cancellations)
        await save(uow, tx)
        await _add_cancel_terms(uow, tx.id, cancellations)
        await notify(uow, tx, skip=skip, cancellation_id=row.id, event_type="Transaction.CancelPending")
    return {"cancellation": presenter.cancellation(row)}


async def _pending(uow: UnitOfWork, store: StoreContext, payment_id: str, cancellation_id: str
                   ) -> tuple[Locked, CancellationRow, list[CancellationRow]]:
    locked = await lock(uow, store.store_id, payment_id)
    cancellations = await _cancellations(uow, locked.tx.id)
    row = next((c for c in cancellations if c.id == cancellation_id), None)
    if row is None:
        raise PaymentCancellationNotFoundError(f"cancellation {cancellation_id} not found")
    if row.status != state.REQUESTED:
        raise PaymentCancellationNotPendingError(f"cancellation {cancellation_id} is {row.status}")
    return locked, row, cancellations


async def stop_payment_cancellation(uow: UnitOfWork, store: StoreContext, payment_id: str, cancellation_id: str
                                    ) -> dict[str, Any]:
    """A REQUESTED cancellation becomes FAILED; the payment is unchanged; no webhook (§16 item 46)."""
    locked, row, cancellations = await _pending(uow, store, payment_id, cancellation_id)
    row.status = "FAILED"
    locked.tx.updated_at = uow.now
    _sync_refund_status(locked, cancellations)
    await save(uow, locked.tx)
    return {"stoppedAt": to_wire(uow.now)}


async def complete_cancellation(uow: UnitOfWork, store: StoreContext, payment_id: str, cancellation_id: str
                                ) -> dict[str, Any]:
    """Sandbox: the PG reports that an asynchronous cancel succeeded (trigger ASYNC_CANCEL_APPROVED)."""
    locked, row, cancellations = await _pending(uow, store, payment_id, cancellation_id)
    row.status = state.SUCCEEDED
    row.cancelled_at = uow.now
    await _succeed(uow, locked, row, cancellations, skip_webhook=False, is_async=True)
    return {"cancellation": presenter.cancellation(row)}


async def fail_cancellation(uow: UnitOfWork, store: StoreContext, payment_id: str, cancellation_id: str, *,
                            pg_code: str | None = None, pg_message: str | None = None) -> dict[str, Any]:
    """Sandbox: an asynchronous cancel failed. The webhook matches the payment's status (§16 item 45)."""
    locked, row, cancellations = await _pending(uow, store, payment_id, cancellation_id)
    row.status = "FAILED"
    row.failure_pg_code = pg_code or "CANCEL_REJECTED"
    row.failure_pg_message = pg_message or "The PG refused the cancellation."
    tx = locked.tx
    tx.updated_at = uow.now
    _sync_refund_status(locked, cancellations)
    await save(uow, tx)
    await notify(uow, tx, cancellation_id=row.id if tx.status == state.PARTIAL_CANCELLED else None,
                 is_async=True, trigger="ASYNC_CANCEL_FAILED")
    return {"cancellation": presenter.cancellation(row)}
