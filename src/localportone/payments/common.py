"""What every payments use case shares: limits, loading a locked payment, saving an attempt, webhooks, PG calls."""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any, TypeVar

from localportone.auth.principal import StoreContext
from localportone.kernel import ids
from localportone.kernel.config import Settings
from localportone.kernel.uow import UnitOfWork
from localportone.payments import inputs, repository, state
from localportone.payments.models import TRANSACTIONS, PaymentEventRow, PaymentRow, TransactionRow
from localportone.pg.connector import ChannelRef, PgTransportError
from localportone.stores.service import ChannelInfo
from localportone.webhooks import service as webhooks
from localportone.wire.errors import PaymentNotFoundError, PgProviderError

#: The pgCode of a PG call whose outcome is unknown (timeout, connection error).
PG_TRANSPORT_ERROR = "PG_TRANSPORT_ERROR"

T = TypeVar("T")


@dataclass(frozen=True)
class Limits:
    """Business limits PortOne does not publish (§16 items 4 and 26).

    ``max_cancel_count`` is off (``None``) unless ``Settings.extra["max_cancel_count"]`` is set: SDK 0.21.0
    cannot type ``MAX_CANCEL_COUNT_REACHED``.
    """

    max_transaction_count: int = 10
    max_cancel_count: int | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        raw = settings.extra.get("max_cancel_count")
        return cls(max_transaction_count=settings.max_transaction_count,
                   max_cancel_count=int(raw) if raw is not None else None)


class ExpiryDue(Exception):
    """A read-only unit of work found a virtual account past its expiry: retry the read in a write unit."""


@dataclass
class Locked:
    """A payment locked for change, with its current attempt."""

    payment: PaymentRow
    tx: TransactionRow


def store_of(tx: TransactionRow) -> StoreContext:
    return StoreContext(merchant_id=tx.merchant_id, store_id=tx.store_id)


def channel_ref(channel: ChannelInfo) -> ChannelRef:
    return ChannelRef(key=channel.key, pg_provider=channel.pg_provider, pg_merchant_id=channel.pg_merchant_id,
                      type="LIVE" if channel.type == "LIVE" else "TEST")


def channel_ref_of(tx: TransactionRow) -> ChannelRef:
    channel = tx.channel or {}
    return ChannelRef(key=str(channel.get("key", "")), pg_provider=str(channel.get("pgProvider", "")),
                      pg_merchant_id=str(channel.get("pgMerchantId", "")),
                      type="LIVE" if channel.get("type") == "LIVE" else "TEST")


async def lock(uow: UnitOfWork, store_id: str, payment_id: str) -> Locked:
    """The payment locked for change, or 404 PAYMENT_NOT_FOUND."""
    payment = await repository.lock_payment(uow, store_id, payment_id)
    tx = None if payment is None else await repository.current_transaction(uow, payment)
    if payment is None or tx is None:
        raise PaymentNotFoundError(f"payment {payment_id} not found")
    return Locked(payment, tx)


async def pg_call(call: Awaitable[T]) -> T:
    """Run a connector call; a transport failure (outcome unknown) is 502 PG_PROVIDER, nothing is kept."""
    try:
        return await call
    except PgTransportError as exc:
        raise PgProviderError("the PG did not answer", pg_code=PG_TRANSPORT_ERROR, pg_message=str(exc)) from None


async def save(uow: UnitOfWork, tx: TransactionRow) -> None:
    """Derive the filter columns from the method and refresh the attempt's search terms (written at the flush)."""
    if tx.method:
        tx.method_type = inputs.METHOD_TYPES.get(str(tx.method.get("type")), tx.method_type)
        card = inputs.method_card(tx.method)
        tx.card_brand, tx.card_type, tx.card_owner_type = card.get("brand"), card.get("type"), card.get("ownerType")
    # Nothing is written here: the attempt, its terms and its event go out with the unit of work's next flush.
    # An attempt made by this unit of work has no terms yet, unless an earlier save of this unit wrote some.
    fresh = uow.created(TRANSACTIONS, tx) and not repository.search_terms_known(uow, tx.id)
    await repository.replace_search_terms(uow, tx.id, inputs.search_terms(tx), fresh=fresh)


def set_status(tx: TransactionRow, status: str, now: Any) -> None:
    tx.status = status
    tx.updated_at = now
    tx.status_changed_at = now


async def notify(uow: UnitOfWork, tx: TransactionRow, *, status: str | None = None, skip: bool = False,
                 cancellation_id: str | None = None, is_async: bool = False, trigger: str | None = None,
                 event_type: str | None = None) -> None:
    """Queue the ``Transaction.*`` webhook announcing the attempt's (new) status, unless skipWebhook."""
    if skip:
        return
    status = status or tx.status
    await webhooks.enqueue_payment_event(
        uow,
        store=store_of(tx),
        event_type=event_type or state.event_type_for(status),
        payment_id=tx.payment_id,
        transaction_id=tx.id,
        payment_status=status,
        is_test=tx.is_test,
        notice_urls=tx.notice_urls or None,
        cancellation_id=cancellation_id,
        is_async=is_async,
        trigger=trigger,
    )


def record_event(uow: UnitOfWork, tx: TransactionRow, event_type: str, event_amount: int,
                 amount: dict[str, int], cancellation_id: str | None = None) -> None:
    """A row for ``/payment-events-by-cursor``."""
    repository.add(uow, PaymentEventRow(
        id=ids.uuid7(), store_id=tx.store_id, merchant_id=tx.merchant_id, payment_id=tx.payment_id,
        transaction_id=tx.id, type=event_type, created_at=uow.now, event_amount=event_amount, amount=amount,
        cancellation_id=cancellation_id,
    ))


def va_expiry_due(tx: TransactionRow, now: Any) -> bool:
    return tx.status == state.VIRTUAL_ACCOUNT_ISSUED and tx.va_expired_at is not None and tx.va_expired_at <= now
