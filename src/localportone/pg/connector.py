"""The PG connector interface: request values, outcome values, capabilities.

A connector is a stateless translator between localportone's payment services and one payment gateway (PG).
The services persist state before and after every call; the connector only answers.

Rules every connector follows (the contract suite in ``tests/pg`` checks them):

* **Outcomes are data.** A PG refusal is returned as :class:`Declined` with the PG's code and message; only a
  transport failure (timeout, connection reset, unreadable answer) raises :class:`PgTransportError`.
* **Money is ``int``** in the currency's minor unit, in requests and outcomes alike. Request constructors reject
  ``float`` and ``bool`` amounts with ``TypeError`` (a programming error, not a PG outcome).
* **Time comes in.** Every request carries ``now`` (an aware datetime); a connector never reads a clock.
* **An approval echoes the request.** ``Approved.amount``/``currency`` equal the request's; the service checks
  this after every call.
* **An operation the PG does not offer** is answered with ``Declined(pg_code="SANDBOX_NOT_SUPPORTED", ...)``
  (real integrations use their PG's own code). The service turns every ``Declined`` into PortOne's
  ``502 PG_PROVIDER`` error carrying ``pgCode``/``pgMessage``, as the real service relays a PG's refusal.
* **No full card number** (PAN) is ever kept or returned: outcomes carry a masked number and the BIN only.

Which PortOne error a service should produce for an outcome:

==========================  ==================================================================================
Outcome                     Service behaviour
==========================  ==================================================================================
``Approved``                PAID (pgTxId, paidAt = approved_at, method.card from ``card``, receiptUrl, pgResponse)
``PayPending``              PAY_PENDING; the result arrives later through a sandbox control / PG webhook
``Declined`` (pay)          commit the FAILED transaction (+ Transaction.Failed), then ``502 PG_PROVIDER``
``Declined`` (billing key)  ``502 PG_PROVIDER`` (single channel) or a ``CHANNEL_SPECIFIC`` failure (group)
``Declined`` (cancel)       FAILED cancellation record, then ``502 PG_PROVIDER``
``Declined`` (other)        ``502 PG_PROVIDER`` (close VA, delete billing key, capture)
``CancelSucceeded``         SUCCEEDED cancellation, status PARTIAL_CANCELLED / CANCELLED
``CancelRequested``         REQUESTED cancellation + Transaction.CancelPending; status unchanged
``PgTransportError``        outcome unknown: ``502 PG_PROVIDER`` (suggested pgCode ``PG_TRANSPORT_ERROR``)
==========================  ==================================================================================
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol, TypeAlias

__all__ = [
    "AUTHORIZE_OUTCOMES",
    "BILLING_KEY_OUTCOMES",
    "CANCEL_OUTCOMES",
    "DONE_OUTCOMES",
    "NOT_SUPPORTED",
    "VIRTUAL_ACCOUNT_OUTCOMES",
    "AccountType",
    "Approved",
    "AuthorizeCard",
    "AuthorizeOutcome",
    "BillingKeyIssued",
    "BillingKeyOutcome",
    "CancelMethod",
    "CancelOutcome",
    "CancelPayment",
    "CancelRequested",
    "CancelSucceeded",
    "Capture",
    "CardCredential",
    "CardInfo",
    "ChannelRef",
    "ChannelType",
    "ChargeBillingKey",
    "CloseVirtualAccount",
    "Declined",
    "DeleteBillingKey",
    "Done",
    "DoneOutcome",
    "IssueBillingKey",
    "IssueVirtualAccount",
    "PayPending",
    "PgCapabilities",
    "PgConnector",
    "PgTransportError",
    "RefundAccount",
    "VirtualAccountIssued",
    "VirtualAccountOutcome",
]

#: The pgCode every connector uses for an operation its PG does not offer. Service: ``502 PG_PROVIDER``.
NOT_SUPPORTED = "SANDBOX_NOT_SUPPORTED"

ChannelType: TypeAlias = Literal["TEST", "LIVE"]
AccountType: TypeAlias = Literal["NORMAL", "FIXED"]
#: The spec's ``PaymentMethodType`` values: what kind of payment is being cancelled.
CancelMethod: TypeAlias = Literal[
    "CARD", "TRANSFER", "VIRTUAL_ACCOUNT", "GIFT_CERTIFICATE", "MOBILE", "EASY_PAY", "CONVENIENCE_STORE", "CRYPTO"
]


class PgTransportError(Exception):
    """The PG could not be reached or answered unreadably: the outcome of the call is unknown."""


def _require_money(owner: object, **values: int | None) -> None:
    for name, value in values.items():
        if value is not None and type(value) is not int:
            raise TypeError(f"{type(owner).__name__}.{name} must be an int (minor units), got {value!r}")


def _require_aware(owner: object, **values: datetime | None) -> None:
    for name, value in values.items():
        if value is not None and (value.tzinfo is None or value.utcoffset() is None):
            raise ValueError(f"{type(owner).__name__}.{name} must be a timezone-aware datetime")


# --------------------------------------------------------------------------------------------------- requests


@dataclass(frozen=True, slots=True)
class ChannelRef:
    """The channel a call goes through: its key, PG, the merchant id at the PG and LIVE/TEST."""

    key: str
    pg_provider: str
    pg_merchant_id: str
    type: ChannelType = "TEST"


@dataclass(frozen=True, slots=True)
class CardCredential:
    """A card as typed by the buyer (spec ``CardCredential``). Never stored; ``repr`` masks the number."""

    number: str
    expiry_year: str
    expiry_month: str
    birth_or_business_registration_number: str | None = None
    password_two_digits: str | None = None

    def __repr__(self) -> str:
        masked = (
            self.number[:6] + "*" * (len(self.number) - 10) + self.number[-4:] if len(self.number) >= 13 else "****"
        )
        return f"CardCredential(number={masked!r}, expiry={self.expiry_month}/{self.expiry_year})"


@dataclass(frozen=True, slots=True)
class RefundAccount:
    """Where a virtual-account refund goes (spec ``CancelRequestRefundAccount``)."""

    bank: str
    number: str
    holder_name: str
    holder_phone_number: str | None = None


@dataclass(frozen=True, slots=True)
class AuthorizeCard:
    """Approve a card payment now (key-in / instant, or the hosted checkout's card step).

    ``installment_month``: ``None``/0/1 = lump sum. ``key_in``: True when the card number was sent through the
    API (``POST /payments/{id}/instant``); False when it was entered in a (simulated) PG window. PGs without a
    key-in contract (easy-pay wallets) refuse ``key_in=True``.
    """

    channel: ChannelRef
    payment_id: str
    transaction_id: str
    order_name: str
    amount: int
    tax_free_amount: int
    vat_amount: int
    currency: str
    card: CardCredential
    installment_month: int | None
    now: datetime
    key_in: bool = True

    def __post_init__(self) -> None:
        _require_money(self, amount=self.amount, tax_free_amount=self.tax_free_amount, vat_amount=self.vat_amount)
        _require_aware(self, now=self.now)


@dataclass(frozen=True, slots=True)
class IssueBillingKey:
    """Issue a billing key for a card (``key_in`` as in :class:`AuthorizeCard`)."""

    channel: ChannelRef
    card: CardCredential
    customer_id: str | None
    now: datetime
    key_in: bool = True

    def __post_init__(self) -> None:
        _require_aware(self, now=self.now)


@dataclass(frozen=True, slots=True)
class ChargeBillingKey:
    """Charge a billing key issued earlier by the same PG (``pg_billing_key`` from :class:`BillingKeyIssued`)."""

    channel: ChannelRef
    pg_billing_key: str
    payment_id: str
    transaction_id: str
    order_name: str
    amount: int
    tax_free_amount: int
    vat_amount: int
    currency: str
    installment_month: int | None
    now: datetime

    def __post_init__(self) -> None:
        _require_money(self, amount=self.amount, tax_free_amount=self.tax_free_amount, vat_amount=self.vat_amount)
        _require_aware(self, now=self.now)


@dataclass(frozen=True, slots=True)
class DeleteBillingKey:
    channel: ChannelRef
    pg_billing_key: str
    now: datetime

    def __post_init__(self) -> None:
        _require_aware(self, now=self.now)


@dataclass(frozen=True, slots=True)
class IssueVirtualAccount:
    """Issue a virtual account waiting for a deposit of ``amount``.

    Expiry: ``valid_hours`` from ``now``, or the end (23:59:59 KST) of ``due_date``'s day in KST; exactly one of
    them (the sandbox uses its profile default when both are absent). FIXED accounts reuse
    ``fixed_account_number``, or the account the PG keeps under ``fixed_pg_account_id``.
    """

    channel: ChannelRef
    payment_id: str
    transaction_id: str
    amount: int
    currency: str
    bank: str
    account_type: AccountType
    fixed_account_number: str | None
    valid_hours: int | None
    due_date: datetime | None
    remittee_name: str | None
    now: datetime
    fixed_pg_account_id: str | None = None

    def __post_init__(self) -> None:
        _require_money(self, amount=self.amount)
        if self.valid_hours is not None and type(self.valid_hours) is not int:
            raise TypeError(f"IssueVirtualAccount.valid_hours must be an int, got {self.valid_hours!r}")
        _require_aware(self, now=self.now)


@dataclass(frozen=True, slots=True)
class CloseVirtualAccount:
    channel: ChannelRef
    pg_tx_id: str
    now: datetime

    def __post_init__(self) -> None:
        _require_aware(self, now=self.now)


@dataclass(frozen=True, slots=True)
class CancelPayment:
    """Cancel (refund) ``amount`` of an approved payment.

    ``is_partial``: the cancel leaves a balance (or follows an earlier partial cancel). ``async_refund``: the
    channel is configured for asynchronous refunds (the PG answers REQUESTED and reports the result later).
    """

    channel: ChannelRef
    pg_tx_id: str
    cancellation_id: str
    amount: int
    tax_free_amount: int
    vat_amount: int
    is_partial: bool
    method: CancelMethod
    refund_account: RefundAccount | None
    now: datetime
    async_refund: bool = False

    def __post_init__(self) -> None:
        _require_money(self, amount=self.amount, tax_free_amount=self.tax_free_amount, vat_amount=self.vat_amount)
        _require_aware(self, now=self.now)


@dataclass(frozen=True, slots=True)
class Capture:
    """Manual capture (매입) of an approved payment."""

    channel: ChannelRef
    pg_tx_id: str
    now: datetime

    def __post_init__(self) -> None:
        _require_aware(self, now=self.now)


# --------------------------------------------------------------------------------------------------- outcomes


@dataclass(frozen=True, slots=True)
class CardInfo:
    """What the PG reports about a card (spec ``Card``); enum strings are the spec's.

    ``brand``: CardBrand (LOCAL/MASTER/UNIONPAY/VISA/JCB/AMEX/DINERS); ``type``: CardType (CREDIT/DEBIT/GIFT);
    ``owner_type``: CardOwnerType (PERSONAL/CORPORATE); ``issuer``/``publisher``: card-company codes such as
    ``SHINHAN_CARD`` (the values of the spec's ``PgPromotionCardCompany``), ``None`` for foreign-issued cards;
    ``bin``: first 8 digits (first 6 for numbers shorter than 16 digits); ``number``: masked, e.g.
    ``42424242****4242``.
    """

    brand: str
    type: str
    owner_type: str
    bin: str
    number: str
    issuer: str | None = None
    publisher: str | None = None
    name: str | None = None


@dataclass(frozen=True, slots=True)
class Approved:
    """The PG approved the payment. ``pg_response`` is the raw JSON text the PG answered."""

    pg_tx_id: str
    amount: int
    currency: str
    approved_at: datetime
    approval_number: str | None
    card: CardInfo | None
    receipt_url: str | None
    pg_response: str

    def __post_init__(self) -> None:
        _require_money(self, amount=self.amount)


@dataclass(frozen=True, slots=True)
class Declined:
    """The PG refused. ``pg_code``/``pg_message`` go into ``failure.pgCode``/``pgMessage`` and the 502 body."""

    pg_code: str
    pg_message: str


@dataclass(frozen=True, slots=True)
class PayPending:
    """The PG accepted the request but approval is pending (PAY_PENDING)."""

    pg_tx_id: str


@dataclass(frozen=True, slots=True)
class BillingKeyIssued:
    """``pg_billing_key`` is the PG's opaque key: store it, pass it back to charge/delete, never show it."""

    pg_billing_key: str
    card: CardInfo
    pg_tx_id: str | None


@dataclass(frozen=True, slots=True)
class VirtualAccountIssued:
    pg_tx_id: str
    account_number: str
    bank: str
    account_type: AccountType
    remittee_name: str
    expired_at: datetime
    issued_at: datetime


@dataclass(frozen=True, slots=True)
class CancelSucceeded:
    pg_cancellation_id: str
    cancelled_at: datetime
    receipt_url: str | None


@dataclass(frozen=True, slots=True)
class CancelRequested:
    """Asynchronous cancel: the PG will report success or failure later."""

    pg_cancellation_id: str


@dataclass(frozen=True, slots=True)
class Done:
    """Close-VA, capture and delete-billing-key succeeded ``at`` that time."""

    at: datetime


AuthorizeOutcome: TypeAlias = Approved | Declined | PayPending
BillingKeyOutcome: TypeAlias = BillingKeyIssued | Declined
VirtualAccountOutcome: TypeAlias = VirtualAccountIssued | Declined
CancelOutcome: TypeAlias = CancelSucceeded | CancelRequested | Declined
DoneOutcome: TypeAlias = Done | Declined

#: Runtime tuples for ``isinstance`` checks (contract tests, defensive services).
AUTHORIZE_OUTCOMES = (Approved, Declined, PayPending)
BILLING_KEY_OUTCOMES = (BillingKeyIssued, Declined)
VIRTUAL_ACCOUNT_OUTCOMES = (VirtualAccountIssued, Declined)
CANCEL_OUTCOMES = (CancelSucceeded, CancelRequested, Declined)
DONE_OUTCOMES = (Done, Declined)


# --------------------------------------------------------------------------------------------------- interface


@dataclass(frozen=True, slots=True)
class PgCapabilities:
    """What a PG (as contracted on a channel) offers.

    ``card_instant``: key-in card approval through the API; it also gates key-in billing-key issuance (a PG
    without key-in only takes cards entered in its own window: requests with ``key_in=False``).
    ``billing_key``: issue/charge/delete billing keys.
    ``virtual_account``: issue/close virtual accounts. ``partial_cancel``: cancels that leave a balance.
    ``capture``: manual capture. ``escrow``: escrow payments. ``async_cancel``: cancels are answered
    ``CancelRequested`` and completed later. ``easy_pay_provider``: set for wallet PGs (spec
    ``EasyPayProvider``): payments are shown as ``PaymentMethodEasyPay`` and nothing is key-in.
    """

    card_instant: bool
    billing_key: bool
    virtual_account: bool
    partial_cancel: bool
    capture: bool
    escrow: bool
    async_cancel: bool
    easy_pay_provider: str | None = None


class PgConnector(Protocol):
    """One PG integration. Every method returns an outcome value; only transport failures raise."""

    @property
    def capabilities(self) -> PgCapabilities: ...

    async def authorize_card(self, request: AuthorizeCard) -> AuthorizeOutcome: ...

    async def issue_billing_key(self, request: IssueBillingKey) -> BillingKeyOutcome: ...

    async def charge_billing_key(self, request: ChargeBillingKey) -> AuthorizeOutcome: ...

    async def delete_billing_key(self, request: DeleteBillingKey) -> DoneOutcome: ...

    async def issue_virtual_account(self, request: IssueVirtualAccount) -> VirtualAccountOutcome: ...

    async def close_virtual_account(self, request: CloseVirtualAccount) -> DoneOutcome: ...

    async def cancel(self, request: CancelPayment) -> CancelOutcome: ...

    async def capture(self, request: Capture) -> DoneOutcome: ...
