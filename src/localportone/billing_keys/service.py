"""Use cases of the billing-keys domain, and the interface the payments and schedules domains charge keys through.

Issuance lives in :mod:`localportone.billing_keys.issuance` (it calls the PG between two transactions) and is
re-exported here; every other use case is one function on the caller's unit of work.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from localportone.auth.principal import Principal, StoreContext
from localportone.billing_keys import events, presenter, repository, state
from localportone.billing_keys.issuance import (
    TRANSPORT_ERROR_CODE,
    TRANSPORT_ERROR_MESSAGE,
    ChannelOutcome,
    IssueOptions,
    IssuePlan,
    PendingPayment,
    call_pg,
    issue_billing_key,
    issue_pending_billing_key,
    prepare_issue,
    record_issue,
)
from localportone.billing_keys.models import BillingKey, BillingKeyChannel
from localportone.kernel.clock import to_wire
from localportone.kernel.uow import UnitOfWork
from localportone.payments.common import Limits
from localportone.pg import connector as pg
from localportone.pg.connector import CardInfo
from localportone.pg.registry import get_connector
from localportone.stores import service as stores
from localportone.stores.service import ChannelGroupInfo, ChannelInfo
from localportone.wire import (
    BillingKeyPaymentInput,
    ConfirmBillingKeyBody,
    ConfirmBillingKeyIssueAndPayBody,
    GetBillingKeyInfosBody,
)
from localportone.wire.errors import (
    BillingKeyAlreadyIssuedError,
    BillingKeyNotFoundError,
    ChannelSpecificError,
    InformationMismatchError,
    InvalidRequestError,
    PaymentScheduleAlreadyExistsError,
    PgProviderError,
)

__all__ = [
    "BillingKeyForPayment",
    "ChannelOutcome",
    "IssueOptions",
    "IssuePlan",
    "KeyLookup",
    "PendingPayment",
    "billing_key_for_payment",
    "call_pg",
    "confirm_billing_key",
    "confirm_billing_key_issue_and_pay",
    "delete_billing_key",
    "fire_billing_key_updated",
    "get_billing_key_info",
    "get_billing_key_infos",
    "issue_billing_key",
    "issue_pending_billing_key",
    "prepare_issue",
    "record_issue",
]

LIST_DEFAULT_DAYS = 90


# --------------------------------------------------------------------------------------------- payment interface


@dataclass(frozen=True)
class BillingKeyForPayment:
    """What the payments and schedules services need to charge a billing key."""

    billing_key: str
    channels: tuple[ChannelInfo, ...]  # channels the key was issued on, in issue order
    pg_billing_keys: dict[str, str]  # channel key -> pg_billing_key (for pg ChargeBillingKey)
    channel_group: ChannelGroupInfo | None
    card: CardInfo | None  # localportone.pg.connector.CardInfo
    method_type: str  # "CARD" | "EASY_PAY" | ...
    easy_pay_provider: str | None
    customer: dict[str, Any]  # Customer wire dict


_UNKNOWN: Any = object()
_CHARGEABLE = "chargeable-billing-key"


async def load_for_payments(uow: UnitOfWork, store_id: str, billing_keys: Sequence[str]) -> None:
    """Read many keys at once for payments about to be made in this unit of work (the scheduler's batches);
    :func:`billing_key_for_payment` then answers from what was read."""
    found = await repository.chargeable_many(uow.sql, store_id, billing_keys)
    for billing_key in billing_keys:
        uow.memo[(_CHARGEABLE, store_id, billing_key)] = found.get(billing_key)


@dataclass(frozen=True)
class KeyLookup:
    """The read behind :func:`billing_key_for_payment`, carried by a statement of another domain: it adds
    ``columns`` and ``joins`` (``args`` in place of their placeholders) to a statement of one row, which then has
    one row per channel of the key, in ``order``, and hands the rows to :meth:`take`. The payments domain folds it
    into the statement that creates the payment (PostgreSQL), so that a payment does not read its key alone."""

    store_id: str
    billing_key: str
    columns: str = repository.CHARGEABLE_COLUMNS
    joins: str = repository.CHARGEABLE_JOINS
    order: str = "c.position"

    @property
    def args(self) -> tuple[str, str, str]:
        return self.billing_key, self.store_id, state.ISSUED

    def take(self, uow: UnitOfWork, rows: Sequence[Sequence[Any]], offset: int) -> None:
        """Keep what the statement read (its rows, the columns from ``offset`` on) for billing_key_for_payment."""
        uow.memo[(_CHARGEABLE, self.store_id, self.billing_key)] = repository.load_chargeable(uow.sql, rows, offset)

    def taken(self, uow: UnitOfWork) -> bool:
        """Whether the key was read already in this unit of work (by :meth:`take` or :func:`load_for_payments`)."""
        return (_CHARGEABLE, self.store_id, self.billing_key) in uow.memo


async def billing_key_for_payment(uow: UnitOfWork, store: StoreContext, billing_key: str) -> BillingKeyForPayment:
    """The ISSUED billing key of the store, ready to charge.

    Raises ``BillingKeyNotFoundError`` (404), ``BillingKeyAlreadyDeletedError`` (409) and
    ``BillingKeyNotIssuedError`` (404, a key still awaiting manual confirmation).
    """
    found = uow.memo.get((_CHARGEABLE, store.store_id, billing_key), _UNKNOWN)
    if found is _UNKNOWN:
        found = await repository.chargeable(uow.sql, store.store_id, billing_key)
    if found is None:
        raise BillingKeyNotFoundError(f"billing key {billing_key} not found")
    row, issued = found
    state.require_issued(row.status, billing_key)
    group = None
    if row.channel_group_id is not None:
        group = await stores.find_channel_group(uow, row.store_id, row.channel_group_id)
    return BillingKeyForPayment(
        billing_key=row.billing_key,
        channels=tuple(_channel_info(c) for c in issued),
        pg_billing_keys={c.channel_key: c.pg_billing_key for c in issued if c.pg_billing_key is not None},
        channel_group=group,
        card=presenter.card_info(row.card),
        method_type=row.method_type,
        easy_pay_provider=row.easy_pay_provider,
        customer=dict(row.customer or {}),
    )


def _channel_info(channel: repository.ChargeableChannel) -> ChannelInfo:
    return ChannelInfo(
        id=channel.channel_id, key=channel.channel_key, name=channel.channel_name, pg_provider=channel.pg_provider,
        pg_merchant_id=channel.pg_merchant_id, type=channel.channel_type, store_id=channel.store_id,
        manual_confirm=channel.manual_confirm,
    )


# -------------------------------------------------------------------------------------------------------- reads


async def get_billing_key_info(uow: UnitOfWork, store: StoreContext, billing_key: str) -> dict[str, Any]:
    row = await repository.get(uow.session, store.store_id, billing_key)
    if row is None:
        raise BillingKeyNotFoundError(f"billing key {billing_key} not found")
    state.visible_or_not_found(row.status, billing_key)
    return presenter.billing_key_info(row, await repository.channels_of(uow.session, billing_key))


async def get_billing_key_infos(uow: UnitOfWork, principal: Principal, store_ids: list[str] | None,
                                body: GetBillingKeyInfosBody) -> dict[str, Any]:
    """``GET /billing-keys``: ``store_ids`` None searches every store of the caller's merchant."""
    page = body.page
    number, size = state.check_page(page.number if page else None, page.size if page else None)
    filt = body.filter
    until = filt.until if filt is not None and filt.until is not None else uow.now
    since = filt.from_ if filt is not None and filt.from_ is not None else until - timedelta(days=LIST_DEFAULT_DAYS)
    sort = body.sort
    query = repository.ListQuery(
        merchant_id=principal.merchant_id,
        store_ids=store_ids,
        time_field=(filt.time_range_field if filt is not None and filt.time_range_field else "REQUESTED_AT"),
        since=since,
        until=until,
        statuses=list(filt.status) if filt is not None and filt.status is not None else None,
        channel_group_ids=filt.channel_group_ids if filt is not None else None,
        customer_id=filt.customer_id if filt is not None else None,
        platform_type=filt.platform_type if filt is not None else None,
        text_field=filt.text_search.field if filt is not None and filt.text_search is not None else None,
        text_value=filt.text_search.value if filt is not None and filt.text_search is not None else None,
        pg_providers=list(filt.pg_providers) if filt is not None and filt.pg_providers is not None else None,
        pg_companies=list(filt.pg_companies) if filt is not None and filt.pg_companies is not None else None,
        methods=list(filt.methods) if filt is not None and filt.methods is not None else None,
        version=filt.version if filt is not None else None,
        sort_by=(sort.by if sort is not None and sort.by else "REQUESTED_AT"),
        descending=not (sort is not None and sort.order == "ASC"),
        offset=number * size,
        limit=size,
    )
    rows, total = await repository.search(uow.session, query)
    channels = await repository.channels_of_many(uow.session, [r.billing_key for r in rows])
    return {
        "items": [presenter.billing_key_info(r, channels[r.billing_key]) for r in rows],
        "page": {"number": number, "size": size, "totalCount": total},
    }


# ------------------------------------------------------------------------------------------------------ changes


async def delete_billing_key(uow: UnitOfWork, store: StoreContext, billing_key: str, *, reason: str | None = None,
                             requester: str | None = None, skip_webhook: bool = False) -> dict[str, Any]:
    """``DELETE /billing-keys/{billingKey}``: delete at every PG the key was issued on, then mark it DELETED."""
    row = await repository.get(uow.session, store.store_id, billing_key, for_update=True)
    if row is None:
        raise BillingKeyNotFoundError(f"billing key {billing_key} not found")
    state.require_issued(row.status, billing_key)
    if await _has_scheduled_payments(uow, store.store_id, billing_key):
        raise PaymentScheduleAlreadyExistsError(
            f"billing key {billing_key} has scheduled payments: revoke them first"
        )
    issued = presenter.issued_channels(await repository.channels_of(uow.session, billing_key))
    if any(c.pg_provider == "NAVERPAY" for c in issued) and (reason is None or requester is None):
        raise InvalidRequestError("reason and requester are required to delete a Naver Pay billing key")
    failures: list[BillingKeyChannel] = []
    succeeded: list[BillingKeyChannel] = []
    for channel in issued:
        outcome = await _delete_at_pg(channel, uow.now)
        if isinstance(outcome, pg.Declined):
            failures.append(_failed_copy(channel, outcome, uow.now))
        else:
            succeeded.append(channel)
    if failures:
        if row.channel_group_id is None and len(issued) == 1:
            failure = failures[0].failure or {}
            raise PgProviderError("the PG refused to delete the billing key",
                                  pg_code=str(failure["pgCode"]), pg_message=str(failure["pgMessage"]))
        raise ChannelSpecificError(
            "the billing key could not be deleted on every channel",
            failures=[presenter.channel_specific_failure(c) for c in failures],
            succeeded_channels=[presenter.channel_wire(c) for c in succeeded],
        )
    now = state.to_millis(uow.now)
    row.status = state.DELETED
    row.deleted_at = now
    row.status_at = now
    row.delete_reason = reason
    row.delete_requester = requester
    await uow.session.flush()
    await events.send(uow, row, "BillingKey.Deleted", skip=skip_webhook)
    return {"deletedAt": to_wire(now)}


async def _delete_at_pg(channel: BillingKeyChannel, now: datetime) -> pg.DoneOutcome:
    assert channel.pg_billing_key is not None
    ref = pg.ChannelRef(channel.channel_key, channel.pg_provider, channel.pg_merchant_id,
                        "LIVE" if channel.channel_type == "LIVE" else "TEST")
    try:
        return await get_connector(channel.pg_provider).delete_billing_key(
            pg.DeleteBillingKey(channel=ref, pg_billing_key=channel.pg_billing_key, now=now)
        )
    except pg.PgTransportError:
        return pg.Declined(TRANSPORT_ERROR_CODE, TRANSPORT_ERROR_MESSAGE)


def _failed_copy(channel: BillingKeyChannel, outcome: pg.Declined, now: datetime) -> BillingKeyChannel:
    """A detached copy of the channel carrying the refusal, for the error body (the stored row is unchanged)."""
    copy = BillingKeyChannel(
        billing_key=channel.billing_key, position=channel.position, channel_id=channel.channel_id,
        channel_key=channel.channel_key, channel_name=channel.channel_name, channel_type=channel.channel_type,
        pg_provider=channel.pg_provider, pg_merchant_id=channel.pg_merchant_id, store_id=channel.store_id,
        outcome=state.FAILED,
    )
    copy.failure = {"failedAt": to_wire(now), "message": "the PG refused to delete the billing key",
                    "pgCode": outcome.pg_code, "pgMessage": outcome.pg_message}
    return copy


async def _has_scheduled_payments(uow: UnitOfWork, store_id: str, billing_key: str) -> bool:
    """Asks the schedules domain; before it exists, no key has schedules."""
    try:
        from localportone.schedules.service import has_scheduled_payments
    except ImportError:
        return False
    return bool(await has_scheduled_payments(uow, store_id, billing_key))


async def _pending_by_token(uow: UnitOfWork, store: StoreContext, token: str, is_test: bool | None) -> BillingKey:
    row = await repository.by_issue_token(uow.session, token, for_update=True)
    if row is None or row.store_id != store.store_id:
        raise BillingKeyNotFoundError("no billing key issuance with this billingIssueToken")
    if row.status != state.PENDING:
        raise BillingKeyAlreadyIssuedError(f"billing key {row.billing_key} was already confirmed")
    if is_test is not None and is_test != row.is_test:
        raise InformationMismatchError(f"isTest is {str(row.is_test).lower()} for this issuance")
    return row


async def _confirm(uow: UnitOfWork, row: BillingKey, *, skip_webhook: bool) -> None:
    now = state.to_millis(uow.now)
    row.status = state.ISSUED
    row.issued_at = now
    row.status_at = now
    row.confirmed_at = now
    await uow.session.flush()
    await events.send(uow, row, "BillingKey.Issued", skip=skip_webhook)


async def confirm_billing_key(uow: UnitOfWork, store: StoreContext, body: ConfirmBillingKeyBody) -> dict[str, Any]:
    """``POST /billing-keys/confirm``: a manual-confirm issuance becomes ISSUED."""
    row = await _pending_by_token(uow, store, body.billing_issue_token, body.is_test)
    if (row.pending_payment or {}).get("payment") is not None:
        raise InvalidRequestError("this issuance includes a payment: use /billing-keys/confirm-issue-and-pay")
    await _confirm(uow, row, skip_webhook=bool(body.skip_webhook))
    return {"billingKey": row.billing_key}


async def confirm_billing_key_issue_and_pay(uow: UnitOfWork, store: StoreContext,
                                            body: ConfirmBillingKeyIssueAndPayBody, *,
                                            client_ip: str = "127.0.0.1",
                                            limits: Limits | None = None) -> dict[str, Any]:
    """``POST /billing-keys/confirm-issue-and-pay``: confirm the key, then pay the checkout's first payment.

    A PG refusal of the payment keeps the key ISSUED (the payment is FAILED) and answers ``PG_PROVIDER``.
    """
    row = await _pending_by_token(uow, store, body.billing_issue_token, body.is_test)
    pending = row.pending_payment or {}
    payment = pending.get("payment")
    if payment is None:
        raise InvalidRequestError("this issuance has no payment: use /billing-keys/confirm")
    expected = {"paymentId": payment["paymentId"], "currency": payment["currency"],
                "totalAmount": payment["totalAmount"], "taxFreeAmount": payment.get("taxFreeAmount", 0)}
    mismatch = state.pending_payment_mismatch(expected, {
        "paymentId": body.payment_id, "currency": body.currency,
        "totalAmount": body.total_amount, "taxFreeAmount": body.tax_free_amount,
    })
    if mismatch is not None:
        raise InformationMismatchError(f"{mismatch} does not match the checkout's {mismatch}")
    await _confirm(uow, row, skip_webhook=bool(body.skip_webhook))
    from localportone.payments.service import pay_with_billing_key

    amount: dict[str, Any] = {"total": payment["totalAmount"]}
    if payment.get("taxFreeAmount") is not None:
        amount["taxFree"] = payment["taxFreeAmount"]
    channels = presenter.issued_channels(await repository.channels_of(uow.session, row.billing_key))
    request: dict[str, Any] = {
        "storeId": row.store_id,
        "billingKey": row.billing_key,
        "orderName": payment["orderName"],
        "amount": amount,
        "currency": payment["currency"],
    }
    if row.channel_group_id is None and len(channels) == 1:
        request["channelKey"] = channels[0].channel_key
    if pending.get("customerInput") is not None:
        request["customer"] = pending["customerInput"]
    if row.custom_data is not None:
        request["customData"] = row.custom_data
    if row.notice_urls is not None:
        request["noticeUrls"] = row.notice_urls
    if body.skip_webhook is not None:
        request["skipWebhook"] = body.skip_webhook
    pay_input = BillingKeyPaymentInput.model_validate(request)
    await pay_with_billing_key(uow, store, payment["paymentId"], pay_input, client_ip=client_ip, limits=limits)
    return {"billingKey": row.billing_key, "paymentId": payment["paymentId"]}


async def fire_billing_key_updated(uow: UnitOfWork, store: StoreContext, billing_key: str) -> dict[str, Any]:
    """Sandbox: ``BillingKey.Updated`` (the card behind an ISSUED key changed at the PG)."""
    row = await repository.get(uow.session, store.store_id, billing_key)
    if row is None:
        raise BillingKeyNotFoundError(f"billing key {billing_key} not found")
    state.require_issued(row.status, billing_key)
    await events.send(uow, row, "BillingKey.Updated", skip=False)
    return {"billingKey": billing_key, "eventType": "BillingKey.Updated"}
