"""The sandbox PG: a :class:`~localportone.pg.connector.PgConnector` driven by magic values.

Every call is decided in this order (first match wins):

1. a forced outcome queued for the channel (:class:`SandboxOutcomeOverrides`);
2. the profile's capabilities (``SANDBOX_NOT_SUPPORTED``) and quirks (currency, banks, owner auth);
3. the card checks (number, expiry, owner fields) and the card's magic scenario;
4. installment rules, then magic amounts;
5. the SLOW card's delay, the PENDING card, otherwise approval.

Stateless apart from the overrides: billing keys carry their own data, ids are derived from request ids.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, time, timedelta

from ..connector import (
    NOT_SUPPORTED,
    Approved,
    AuthorizeCard,
    AuthorizeOutcome,
    BillingKeyIssued,
    BillingKeyOutcome,
    CancelOutcome,
    CancelPayment,
    CancelRequested,
    CancelSucceeded,
    Capture,
    CardCredential,
    CardInfo,
    ChannelRef,
    ChargeBillingKey,
    CloseVirtualAccount,
    Declined,
    DeleteBillingKey,
    Done,
    DoneOutcome,
    IssueBillingKey,
    IssueVirtualAccount,
    PayPending,
    PgCapabilities,
    PgTransportError,
    VirtualAccountIssued,
    VirtualAccountOutcome,
)
from . import codes
from .billing_keys import BillingKeyData, decode_billing_key, encode_billing_key, new_nonce
from .cards import KST, card_info_from_parts, is_expired, kst
from .overrides import Operation, SandboxOutcomeOverrides
from .profiles import (
    SandboxProfile,
    TxKind,
    approval_number,
    cancellation_id,
    pg_response,
    tx_id,
    virtual_account_number,
)
from .scenarios import (
    CardCheck,
    Scenario,
    amount_effect,
    check_card,
    installment_decline,
    issue_decline,
    payment_decline,
    slow_delay_seconds,
)

__all__ = ["DEFAULT_RECEIPT_BASE_URL", "SandboxPgConnector", "virtual_account_expiry"]

#: Sales slips of the sandbox point here unless the app passes its own public URL.
DEFAULT_RECEIPT_BASE_URL = "https://sandbox-pg.localportone.invalid/receipts"


class SandboxPgConnector:
    """The sandbox implementation of one PG profile."""

    def __init__(
        self,
        profile: SandboxProfile,
        overrides: SandboxOutcomeOverrides | None = None,
        *,
        receipt_base_url: str = DEFAULT_RECEIPT_BASE_URL,
    ) -> None:
        self.profile = profile
        self.overrides = overrides if overrides is not None else SandboxOutcomeOverrides()
        self.receipt_base_url = receipt_base_url.rstrip("/")

    def __repr__(self) -> str:
        return f"SandboxPgConnector({self.profile.pg_provider})"

    @property
    def capabilities(self) -> PgCapabilities:
        return self.profile.capabilities

    # ------------------------------------------------------------------------------------------ helpers

    def _not_supported(self, what: str) -> Declined:
        return codes.decline(NOT_SUPPORTED, f"{self.profile.pg_provider}: {what}")

    def _forced(self, channel: ChannelRef, operation: Operation) -> Declined | bool:
        """A forced DECLINE as a value, True for a forced PENDING, False if nothing is forced; raises if forced."""
        outcome = self.overrides.take(channel.key, operation)
        if outcome is None:
            return False
        if outcome.kind == "TRANSPORT_ERROR":
            raise PgTransportError(f"sandbox: forced transport error on {operation} ({channel.key})")
        if outcome.kind == "PENDING":
            return True
        return Declined(pg_code=outcome.pg_code, pg_message=outcome.pg_message)

    def _currency_decline(self, currency: str) -> Declined | None:
        allowed = self.profile.currencies
        if allowed is not None and currency not in allowed:
            return codes.decline(codes.UNSUPPORTED_CURRENCY, currency)
        return None

    def _receipt_url(self, kind: str, ident: str) -> str:
        return f"{self.receipt_base_url}/{self.profile.pg_provider}/{kind}/{ident}"

    def _tx_id(self, channel: ChannelRef, kind: TxKind, seed_id: str, now: datetime) -> str:
        seed = f"{channel.key}|{kind}|{seed_id}"
        return tx_id(self.profile.style, kind, seed, channel.pg_merchant_id, now)

    async def _pay(
        self,
        *,
        operation: Operation,
        channel: ChannelRef,
        payment_id: str,
        transaction_id: str,
        order_name: str,
        amount: int,
        tax_free_amount: int,
        vat_amount: int,
        currency: str,
        installment_month: int | None,
        now: datetime,
        scenario: Scenario,
        card: CardInfo,
    ) -> AuthorizeOutcome:
        """The part authorize and charge share, after the card is known."""
        declined = payment_decline(scenario)
        if declined is not None:
            return declined
        declined = installment_decline(installment_month, card.type, amount, currency)
        if declined is not None:
            return declined
        effect = amount_effect("pay", amount)
        pg_tx_id = self._tx_id(channel, "card", transaction_id, now)
        if effect is not None:
            if effect.transport_error:
                raise PgTransportError(f"sandbox: simulated PG timeout on {operation} (amount {amount})")
            if effect.declined is not None:
                return effect.declined
            if effect.pending:
                return PayPending(pg_tx_id=pg_tx_id)
        if scenario is Scenario.SLOW:
            await asyncio.sleep(slow_delay_seconds())
        if scenario is Scenario.PENDING:
            return PayPending(pg_tx_id=pg_tx_id)
        approval_no = approval_number(f"{channel.key}|{transaction_id}")
        return Approved(
            pg_tx_id=pg_tx_id,
            amount=amount,
            currency=currency,
            approved_at=now,
            approval_number=approval_no,
            card=card,
            receipt_url=self._receipt_url("payments", pg_tx_id),
            pg_response=pg_response(
                self.profile,
                pg_tx_id=pg_tx_id,
                payment_id=payment_id,
                order_name=order_name,
                amount=amount,
                tax_free_amount=tax_free_amount,
                vat_amount=vat_amount,
                currency=currency,
                approved_at=now,
                approval_no=approval_no,
                card=card,
                installment_month=installment_month,
            ),
        )

    # ------------------------------------------------------------------------------------------ card

    async def authorize_card(self, request: AuthorizeCard) -> AuthorizeOutcome:
        forced = self._forced(request.channel, "authorize_card")
        if isinstance(forced, Declined):
            return forced
        if forced:
            return PayPending(pg_tx_id=self._tx_id(request.channel, "card", request.transaction_id, request.now))
        caps = self.capabilities
        if request.key_in and not caps.card_instant:
            return self._not_supported("key-in card payments")
        if request.amount < 1:
            return codes.decline(codes.INVALID_AMOUNT)
        declined = self._currency_decline(request.currency)
        if declined is not None:
            return declined
        checked = check_card(request.card, request.now)
        if isinstance(checked, Declined):
            return checked
        return await self._pay(
            operation="authorize_card",
            channel=request.channel,
            payment_id=request.payment_id,
            transaction_id=request.transaction_id,
            order_name=request.order_name,
            amount=request.amount,
            tax_free_amount=request.tax_free_amount,
            vat_amount=request.vat_amount,
            currency=request.currency,
            installment_month=request.installment_month,
            now=request.now,
            scenario=checked.scenario,
            card=checked.info,
        )

    # ------------------------------------------------------------------------------------------ billing keys

    async def issue_billing_key(self, request: IssueBillingKey) -> BillingKeyOutcome:
        forced = self._forced(request.channel, "issue_billing_key")
        if isinstance(forced, Declined):
            return forced
        caps = self.capabilities
        if not caps.billing_key:
            return self._not_supported("billing keys")
        if request.key_in and not caps.card_instant:
            return self._not_supported("key-in billing-key issuance (cards are entered in the PG's window)")
        card = request.card
        if self.profile.billing_key_requires_owner_auth and (
            not card.birth_or_business_registration_number or not card.password_two_digits
        ):
            return codes.decline(codes.MISSING_CARD_OWNER_AUTH)
        checked = check_card(card, request.now)
        if isinstance(checked, Declined):
            return checked
        declined = issue_decline(checked.scenario)
        if declined is not None:
            return declined
        if checked.scenario is Scenario.SLOW:
            await asyncio.sleep(slow_delay_seconds())
        nonce = new_nonce()
        key = encode_billing_key(_key_data(self.profile.pg_provider, checked, card, nonce))
        return BillingKeyIssued(
            pg_billing_key=key,
            card=checked.info,
            pg_tx_id=self._tx_id(request.channel, "billing", nonce, request.now),
        )

    def _decode_key(self, pg_billing_key: str) -> BillingKeyData | None:
        data = decode_billing_key(pg_billing_key)
        if data is None or data.pg_provider != self.profile.pg_provider:
            return None
        return data

    async def charge_billing_key(self, request: ChargeBillingKey) -> AuthorizeOutcome:
        forced = self._forced(request.channel, "charge_billing_key")
        if isinstance(forced, Declined):
            return forced
        if forced:
            return PayPending(pg_tx_id=self._tx_id(request.channel, "card", request.transaction_id, request.now))
        if not self.capabilities.billing_key:
            return self._not_supported("billing keys")
        if request.amount < 1:
            return codes.decline(codes.INVALID_AMOUNT)
        declined = self._currency_decline(request.currency)
        if declined is not None:
            return declined
        data = self._decode_key(request.pg_billing_key)
        if data is None:
            return codes.decline(codes.INVALID_BILLING_KEY)
        if is_expired(data.expiry_yymm[:2], data.expiry_yymm[2:], request.now):
            return codes.decline(codes.EXPIRED_CARD)
        return await self._pay(
            operation="charge_billing_key",
            channel=request.channel,
            payment_id=request.payment_id,
            transaction_id=request.transaction_id,
            order_name=request.order_name,
            amount=request.amount,
            tax_free_amount=request.tax_free_amount,
            vat_amount=request.vat_amount,
            currency=request.currency,
            installment_month=request.installment_month,
            now=request.now,
            scenario=data.scenario,
            card=card_info_from_parts(data.bin, data.last4, data.length),
        )

    async def delete_billing_key(self, request: DeleteBillingKey) -> DoneOutcome:
        forced = self._forced(request.channel, "delete_billing_key")
        if isinstance(forced, Declined):
            return forced
        if not self.capabilities.billing_key:
            return self._not_supported("billing keys")
        if self._decode_key(request.pg_billing_key) is None:
            return codes.decline(codes.INVALID_BILLING_KEY)
        return Done(at=request.now)

    # ------------------------------------------------------------------------------------------ virtual accounts

    async def issue_virtual_account(self, request: IssueVirtualAccount) -> VirtualAccountOutcome:
        forced = self._forced(request.channel, "issue_virtual_account")
        if isinstance(forced, Declined):
            return forced
        if not self.capabilities.virtual_account:
            return self._not_supported("virtual accounts")
        if request.amount < 1:
            return codes.decline(codes.INVALID_AMOUNT)
        declined = self._currency_decline(request.currency)
        if declined is not None:
            return declined
        if request.bank not in self.profile.va_banks:
            return codes.decline(codes.UNSUPPORTED_BANK, request.bank)
        expired_at = virtual_account_expiry(
            now=request.now,
            valid_hours=request.valid_hours,
            due_date=request.due_date,
            default_valid_hours=self.profile.va_default_valid_hours,
        )
        if isinstance(expired_at, Declined):
            return expired_at
        channel = request.channel
        if request.account_type == "FIXED":
            if request.fixed_account_number:
                account_number = request.fixed_account_number
            elif request.fixed_pg_account_id:
                account_number = virtual_account_number(f"{channel.key}|fixed|{request.fixed_pg_account_id}")
            else:
                return codes.decline(codes.INVALID_FIXED_ACCOUNT)
        else:
            account_number = virtual_account_number(f"{channel.key}|va|{request.transaction_id}")
        effect = amount_effect("virtual_account", request.amount)
        if effect is not None:
            if effect.transport_error:
                raise PgTransportError(f"sandbox: simulated PG timeout on issue_virtual_account ({request.amount})")
            if effect.declined is not None:
                return effect.declined
        return VirtualAccountIssued(
            pg_tx_id=self._tx_id(channel, "va", request.transaction_id, request.now),
            account_number=account_number,
            bank=request.bank,
            account_type=request.account_type,
            remittee_name=request.remittee_name or self.profile.remittee_name,
            expired_at=expired_at,
            issued_at=request.now,
        )

    async def close_virtual_account(self, request: CloseVirtualAccount) -> DoneOutcome:
        forced = self._forced(request.channel, "close_virtual_account")
        if isinstance(forced, Declined):
            return forced
        if not self.capabilities.virtual_account:
            return self._not_supported("virtual accounts")
        return Done(at=request.now)

    # ------------------------------------------------------------------------------------------ cancel, capture

    async def cancel(self, request: CancelPayment) -> CancelOutcome:
        channel = request.channel
        pg_cancellation_id = cancellation_id(
            self.profile.style,
            f"{channel.key}|cancel|{request.cancellation_id}",
            channel.pg_merchant_id,
            request.now,
        )
        forced = self._forced(channel, "cancel")
        if isinstance(forced, Declined):
            return forced
        if forced:
            return CancelRequested(pg_cancellation_id=pg_cancellation_id)
        if request.amount < 1:
            return codes.decline(codes.INVALID_AMOUNT)
        if request.is_partial and not self.capabilities.partial_cancel:
            return self._not_supported("partial cancellation")
        if request.method == "VIRTUAL_ACCOUNT":
            if request.is_partial and not self.profile.va_partial_refund:
                return self._not_supported("partial refund of a virtual account payment")
            if request.refund_account is None:
                return codes.decline(codes.REFUND_ACCOUNT_REQUIRED)
        effect = amount_effect("cancel", request.amount)
        if effect is not None:
            if effect.transport_error:
                raise PgTransportError(f"sandbox: simulated PG timeout on cancel (amount {request.amount})")
            if effect.declined is not None:
                return effect.declined
            if effect.pending:
                return CancelRequested(pg_cancellation_id=pg_cancellation_id)
        if self.capabilities.async_cancel or request.async_refund:
            return CancelRequested(pg_cancellation_id=pg_cancellation_id)
        return CancelSucceeded(
            pg_cancellation_id=pg_cancellation_id,
            cancelled_at=request.now,
            receipt_url=self._receipt_url("cancellations", pg_cancellation_id),
        )

    async def capture(self, request: Capture) -> DoneOutcome:
        forced = self._forced(request.channel, "capture")
        if isinstance(forced, Declined):
            return forced
        if not self.capabilities.capture:
            return self._not_supported("manual capture")
        return Done(at=request.now)


def _key_data(pg_provider: str, checked: CardCheck, card: CardCredential, nonce: str) -> BillingKeyData:
    return BillingKeyData(
        pg_provider=pg_provider,
        scenario=checked.scenario,
        bin=checked.info.bin,
        last4=card.number[-4:],
        length=len(card.number),
        expiry_yymm=card.expiry_year + card.expiry_month,
        nonce=nonce,
    )


def virtual_account_expiry(
    *, now: datetime, valid_hours: int | None, due_date: datetime | None, default_valid_hours: int
) -> datetime | Declined:
    """When a virtual account expires.

    ``valid_hours`` counts from ``now``; ``due_date`` means the end of that day in KST (23:59:59 KST; a naive
    ``due_date`` is read as KST); neither = ``default_valid_hours``; both, a non-positive ``valid_hours`` or an
    expiry not after ``now`` -> ``INVALID_VIRTUAL_ACCOUNT_EXPIRY``. The result is in ``now``'s timezone.
    """
    if valid_hours is not None and due_date is not None:
        return codes.decline(codes.INVALID_VIRTUAL_ACCOUNT_EXPIRY, "give validHours or dueDate, not both")
    if due_date is not None:
        day = kst(due_date).date()
        expired_at = datetime.combine(day, time(23, 59, 59), tzinfo=KST)
    else:
        hours = default_valid_hours if valid_hours is None else valid_hours
        if hours < 1:
            return codes.decline(codes.INVALID_VIRTUAL_ACCOUNT_EXPIRY, f"validHours {hours}")
        expired_at = now + timedelta(hours=hours)
    if expired_at <= now:
        return codes.decline(codes.INVALID_VIRTUAL_ACCOUNT_EXPIRY, "the expiry is in the past")
    return expired_at.astimezone(now.tzinfo)
