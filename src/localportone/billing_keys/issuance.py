"""Issuing billing keys: on one channel, on every channel of a group (a "super billing key"), or held for a
manual-confirm checkout.

The PG is called outside any write transaction: the sandbox PG may take seconds (the slow magic card), and on
SQLite a write transaction holds the database's only write lock. So an issuance is three steps —
:func:`prepare_issue` (read: the channels), :func:`call_pg` (no database), :func:`record_issue` (write: the key,
its channels and its webhook, in one transaction) — composed by :func:`issue_billing_key` and
:func:`issue_pending_billing_key`. A checkout that issues keys can call the steps itself.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from localportone.auth.principal import StoreContext
from localportone.billing_keys import events, presenter, repository, state
from localportone.billing_keys.models import BillingKey, BillingKeyChannel
from localportone.common.customers import customer_wire
from localportone.kernel import ids
from localportone.kernel.clock import to_wire
from localportone.kernel.uow import Transactions, UnitOfWork, keep_changes
from localportone.pg import connector as pg
from localportone.pg.registry import get_connector, sandbox_profile
from localportone.stores import service as stores
from localportone.stores.service import ChannelGroupInfo, ChannelInfo
from localportone.wire import CustomerInput, IssueBillingKeyBody
from localportone.wire.errors import (
    ChannelNotFoundError,
    ChannelSpecificError,
    InvalidRequestError,
    PgProviderError,
    PortOneError,
)

TRANSPORT_ERROR_CODE = "PG_TRANSPORT_ERROR"
TRANSPORT_ERROR_MESSAGE = "The PG did not answer; the outcome is unknown."


@dataclass(frozen=True)
class IssueOptions:
    """How the issuance was requested: the API (key-in) or a (simulated) checkout window."""

    key_in: bool = True
    platform_type: str = "API"
    user_agent: str | None = None
    issue_id: str | None = None
    issue_name: str | None = None


@dataclass(frozen=True)
class PendingPayment:
    """The first payment of an issue-and-pay checkout, verified and made by ``confirm-issue-and-pay``."""

    payment_id: str
    order_name: str
    total_amount: int
    currency: str
    tax_free_amount: int | None = None

    def wire(self) -> dict[str, Any]:
        out: dict[str, Any] = {"paymentId": self.payment_id, "orderName": self.order_name,
                               "totalAmount": self.total_amount, "currency": self.currency}
        if self.tax_free_amount is not None:
            out["taxFreeAmount"] = self.tax_free_amount
        return out


@dataclass(frozen=True)
class IssuePlan:
    store: StoreContext
    body: IssueBillingKeyBody
    channels: tuple[ChannelInfo, ...]
    group: ChannelGroupInfo | None
    customer: dict[str, Any]
    requested_at: datetime
    options: IssueOptions = field(default_factory=IssueOptions)


@dataclass(frozen=True)
class ChannelOutcome:
    channel: ChannelInfo
    outcome: pg.BillingKeyIssued | pg.Declined
    easy_pay_provider: str | None


async def prepare_issue(uow: UnitOfWork, store: StoreContext, body: IssueBillingKeyBody,
                        options: IssueOptions | None = None) -> IssuePlan:
    """Check the input (400 before the PG is called) and resolve the channel or the group's channels (404)."""
    state.check_channel_choice(body.channel_key, body.channel_group_id)
    if body.method.card is None:
        raise InvalidRequestError("method.card is required: only cards can be issued through the API")
    state.check_card_format(body.method.card.credential)
    customer = customer_wire(body.customer)
    group = None
    if body.channel_key is not None:
        channel = await stores.find_channel(uow, store.store_id, body.channel_key)
        if channel is None:
            raise ChannelNotFoundError(f"channel {body.channel_key} not found in store {store.store_id}")
        channels: tuple[ChannelInfo, ...] = (channel,)
    else:
        assert body.channel_group_id is not None
        group = await stores.find_channel_group(uow, store.store_id, body.channel_group_id)
        if group is None or not group.members:
            raise ChannelNotFoundError(f"channel group {body.channel_group_id} not found in store {store.store_id}")
        channels = tuple(channel for channel, _ratio in group.members)
    return IssuePlan(store, body, channels, group, customer, uow.now, options or IssueOptions())


async def call_pg(plan: IssuePlan) -> list[ChannelOutcome]:
    """Ask every channel's PG for a key, concurrently; a transport failure counts as a refusal."""
    assert plan.body.method.card is not None
    credential = plan.body.method.card.credential
    card = pg.CardCredential(
        number=credential.number,
        expiry_year=credential.expiry_year,
        expiry_month=credential.expiry_month,
        birth_or_business_registration_number=credential.birth_or_business_registration_number,
        password_two_digits=credential.password_two_digits,
    )
    customer_id = plan.body.customer.id if plan.body.customer is not None else None

    async def one(channel: ChannelInfo) -> ChannelOutcome:
        conn = get_connector(channel.pg_provider)
        request = pg.IssueBillingKey(channel=_ref(channel), card=card, customer_id=customer_id,
                                     now=plan.requested_at, key_in=plan.options.key_in)
        try:
            outcome = await conn.issue_billing_key(request)
        except pg.PgTransportError:
            outcome = pg.Declined(TRANSPORT_ERROR_CODE, TRANSPORT_ERROR_MESSAGE)
        wallet = None if plan.options.key_in else conn.capabilities.easy_pay_provider
        return ChannelOutcome(channel, outcome, wallet)

    return list(await asyncio.gather(*(one(c) for c in plan.channels)))


def _ref(channel: ChannelInfo) -> pg.ChannelRef:
    kind: pg.ChannelType = "LIVE" if channel.type == "LIVE" else "TEST"
    return pg.ChannelRef(channel.key, channel.pg_provider, channel.pg_merchant_id, kind)


def _pg_company(pg_provider: str) -> str | None:
    try:
        return sandbox_profile(pg_provider).pg_company
    except ValueError:
        return None


def _channel_row(billing_key: str, position: int, result: ChannelOutcome, now: datetime) -> BillingKeyChannel:
    channel, outcome = result.channel, result.outcome
    row = BillingKeyChannel(
        billing_key=billing_key, position=position, channel_id=channel.id, channel_key=channel.key,
        channel_name=channel.name, channel_type=channel.type, pg_provider=channel.pg_provider,
        pg_company=_pg_company(channel.pg_provider), pg_merchant_id=channel.pg_merchant_id,
        store_id=channel.store_id, manual_confirm=channel.manual_confirm,
    )
    if isinstance(outcome, pg.BillingKeyIssued):
        row.outcome = state.ISSUED
        row.pg_billing_key = outcome.pg_billing_key
        row.pg_tx_id = outcome.pg_tx_id
        row.method = presenter.method_wire(outcome.card, result.easy_pay_provider)
    else:
        row.outcome = state.FAILED
        row.failure = {"failedAt": to_wire(now), "message": "the PG refused to issue the billing key",
                       "pgCode": outcome.pg_code, "pgMessage": outcome.pg_message}
    return row


async def record_issue(uow: UnitOfWork, plan: IssuePlan, outcomes: Sequence[ChannelOutcome], *,
                       pending: bool = False, payment: PendingPayment | None = None) -> BillingKey:
    """Store the key (ISSUED, or PENDING for a manual-confirm checkout) and queue its webhook.

    When every channel refused, the FAILED record and ``BillingKey.Failed`` are committed and the error is raised:
    ``PG_PROVIDER`` for one channel, ``CHANNEL_SPECIFIC`` for a group.
    """
    now, body = state.to_millis(uow.now), plan.body
    key = ids.billing_key()
    channels = [_channel_row(key, i, result, now) for i, result in enumerate(outcomes)]
    issued = [r for r in outcomes if isinstance(r.outcome, pg.BillingKeyIssued)]
    first = issued[0] if issued else None
    card = first.outcome.card if first is not None and isinstance(first.outcome, pg.BillingKeyIssued) else None
    customer = plan.customer
    address = customer.get("address")
    status = (state.PENDING if pending else state.ISSUED) if issued else state.FAILED
    row = BillingKey(
        billing_key=key,
        merchant_id=plan.store.merchant_id,
        store_id=plan.store.store_id,
        status=status,
        is_test=all(c.type != "LIVE" for c in plan.channels),
        method_type="EASY_PAY" if first is not None and first.easy_pay_provider else "CARD",
        easy_pay_provider=first.easy_pay_provider if first is not None else None,
        card=presenter.card_wire(card) if card is not None else None,
        card_bin=card.bin if card is not None else None,
        card_number=card.number if card is not None else None,
        customer=customer,
        customer_id=customer.get("id"),
        customer_name=customer.get("name"),
        customer_email=customer.get("email"),
        customer_phone_number=customer.get("phoneNumber"),
        customer_address=address.get("oneLine") if isinstance(address, dict) else None,
        customer_zipcode=customer.get("zipcode"),
        custom_data=body.custom_data,
        issue_id=plan.options.issue_id,
        issue_name=plan.options.issue_name,
        channel_group_id=plan.group.id if plan.group is not None else None,
        channel_group_name=plan.group.name if plan.group is not None else None,
        channel_group_is_for_test=plan.group.is_for_test if plan.group is not None else None,
        platform_type=plan.options.platform_type,
        user_agent=plan.options.user_agent,
        notice_urls=list(body.notice_urls) if body.notice_urls is not None else None,
        requested_at=state.to_millis(plan.requested_at),
        issued_at=now if status == state.ISSUED else None,
        status_at=now,
        billing_issue_token=f"billing-issue-token-{ids.uuid7()}" if status == state.PENDING else None,
        pending_payment=_pending_payment(payment, body.customer) if status == state.PENDING else None,
    )
    repository.add(uow.session, row, channels)
    await uow.session.flush()
    skip = bool(body.skip_webhook)
    if status == state.FAILED:
        await events.send(uow, row, "BillingKey.Failed", skip=skip)
        raise keep_changes(_issue_error(plan, channels))
    await events.send(uow, row, "BillingKey.Ready" if pending else "BillingKey.Issued", skip=skip)
    return row


def _pending_payment(payment: PendingPayment | None, customer: CustomerInput | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if payment is not None:
        out["payment"] = payment.wire()
    if customer is not None:
        out["customerInput"] = customer.to_wire()
    return out


def _issue_error(plan: IssuePlan, channels: Sequence[BillingKeyChannel]) -> PortOneError:
    if plan.group is None:
        failure = channels[0].failure or {}
        return PgProviderError(
            "the PG refused to issue the billing key",
            pg_code=str(failure.get("pgCode", "")), pg_message=str(failure.get("pgMessage", "")),
        )
    return ChannelSpecificError(
        "every channel of the group refused to issue the billing key",
        failures=[presenter.channel_specific_failure(c) for c in channels],
        succeeded_channels=[],
    )


async def issue_billing_key(transactions: Transactions, store: StoreContext, body: IssueBillingKeyBody,
                            options: IssueOptions | None = None) -> dict[str, Any]:
    """``POST /billing-keys``: issue on one channel, or on every channel of a group (a "super billing key")."""
    async with transactions.begin(write=False) as uow:
        plan = await prepare_issue(uow, store, body, options)
    outcomes = await call_pg(plan)
    async with transactions.begin() as uow:
        row = await record_issue(uow, plan, outcomes)
        channels = await repository.channels_of(uow.session, row.billing_key)
        return presenter.issue_response(row, channels)


async def issue_pending_billing_key(transactions: Transactions, store: StoreContext, body: IssueBillingKeyBody,
                                    options: IssueOptions | None = None,
                                    payment: PendingPayment | None = None) -> dict[str, Any]:
    """A manual-confirm checkout: the PG issues the key now, PortOne holds it until ``/billing-keys/confirm``
    (or ``confirm-issue-and-pay`` when ``payment`` is given). Answers ``{billingIssueToken, billingKey}``."""
    async with transactions.begin(write=False) as uow:
        plan = await prepare_issue(uow, store, body, options)
    outcomes = await call_pg(plan)
    async with transactions.begin() as uow:
        row = await record_issue(uow, plan, outcomes, pending=True, payment=payment)
        assert row.billing_issue_token is not None
        return {"billingIssueToken": row.billing_issue_token, "billingKey": row.billing_key}
