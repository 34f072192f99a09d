"""The scenario engine: which outcome a card number or an amount produces.

Pure functions of their inputs. The public tables (:class:`SandboxCards`, :data:`MAGIC_CARDS`,
:class:`MagicAmounts`) are documented in ``docs/sandbox-pg.md``; changing one is a breaking change for users'
test suites.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Final, Literal

from ..connector import CardCredential, CardInfo, Declined
from . import codes
from .cards import card_info, expiry_format_ok, is_expired, luhn_valid, number_format_ok

__all__ = [
    "DEFAULT_SLOW_MS",
    "MAGIC_CARDS",
    "MIN_INSTALLMENT_AMOUNT_KRW",
    "SLOW_MS_ENV",
    "AmountEffect",
    "CardCheck",
    "MagicAmounts",
    "SandboxCards",
    "Scenario",
    "amount_effect",
    "check_card",
    "installment_decline",
    "issue_decline",
    "payment_decline",
    "slow_delay_seconds",
]


class Scenario(StrEnum):
    """What a magic card does. The value is stored inside billing keys: never rename a member's value."""

    APPROVE = "APPROVE"
    DECLINE = "DECLINE"
    INSUFFICIENT_FUNDS = "INSUFFICIENT_FUNDS"
    EXPIRED = "EXPIRED"
    LOST_OR_STOLEN = "LOST_OR_STOLEN"
    INVALID_EXPIRY = "INVALID_EXPIRY"
    WRONG_PASSWORD = "WRONG_PASSWORD"
    WRONG_BIRTH_OR_BRN = "WRONG_BIRTH_OR_BRN"
    CHARGES_DECLINE = "CHARGES_DECLINE"
    CHARGES_INSUFFICIENT_FUNDS = "CHARGES_INSUFFICIENT_FUNDS"
    SLOW = "SLOW"
    PENDING = "PENDING"


class SandboxCards:
    """Named test card numbers (all Luhn-valid)."""

    # scenario cards (brand VISA, foreign issuer)
    APPROVE: Final = "4242424242424242"
    DECLINE: Final = "4000000000000002"
    INSUFFICIENT_FUNDS: Final = "4000000000009995"
    EXPIRED: Final = "4000000000000069"
    LOST_OR_STOLEN: Final = "4000000000009987"
    INVALID_EXPIRY: Final = "4000000000000101"
    WRONG_BIRTH_OR_BRN: Final = "4000000000000119"
    WRONG_PASSWORD: Final = "4000000000000127"
    CHARGES_DECLINE: Final = "4000000000000341"
    CHARGES_INSUFFICIENT_FUNDS: Final = "4000000000000358"
    SLOW: Final = "4000000000003071"
    PENDING: Final = "4000000000003089"
    # brand / type cards (all approve)
    VISA_DEBIT: Final = "4000056655665556"
    MASTER: Final = "5555555555554444"
    MASTER_2_SERIES: Final = "2223003122003222"
    MASTER_DEBIT: Final = "5200828282828210"
    AMEX: Final = "378282246310005"
    JCB: Final = "3566002020360505"
    UNIONPAY: Final = "6200000000000005"
    DINERS: Final = "36227206271667"
    SHINHAN_CREDIT: Final = "9410000000000005"
    SHINHAN_DEBIT: Final = "9411000000000004"
    SHINHAN_CORPORATE: Final = "9412000000000003"
    SHINHAN_GIFT: Final = "9413000000000002"
    SHINHAN_CORPORATE_DEBIT: Final = "9414000000000001"
    KOOKMIN_CREDIT: Final = "9420000000000003"
    HYUNDAI_CREDIT: Final = "9430000000000001"
    SAMSUNG_CREDIT: Final = "9440000000000009"
    BC_WOORI_CREDIT: Final = "9450000000000006"
    HANA_CREDIT: Final = "9460000000000004"
    LOTTE_CREDIT: Final = "9470000000000002"
    NH_CREDIT: Final = "9480000000000000"


#: Card number -> scenario. Any other Luhn-valid number behaves like ``APPROVE``.
MAGIC_CARDS: Final = MappingProxyType(
    {
        SandboxCards.APPROVE: Scenario.APPROVE,
        SandboxCards.DECLINE: Scenario.DECLINE,
        SandboxCards.INSUFFICIENT_FUNDS: Scenario.INSUFFICIENT_FUNDS,
        SandboxCards.EXPIRED: Scenario.EXPIRED,
        SandboxCards.LOST_OR_STOLEN: Scenario.LOST_OR_STOLEN,
        SandboxCards.INVALID_EXPIRY: Scenario.INVALID_EXPIRY,
        SandboxCards.WRONG_BIRTH_OR_BRN: Scenario.WRONG_BIRTH_OR_BRN,
        SandboxCards.WRONG_PASSWORD: Scenario.WRONG_PASSWORD,
        SandboxCards.CHARGES_DECLINE: Scenario.CHARGES_DECLINE,
        SandboxCards.CHARGES_INSUFFICIENT_FUNDS: Scenario.CHARGES_INSUFFICIENT_FUNDS,
        SandboxCards.SLOW: Scenario.SLOW,
        SandboxCards.PENDING: Scenario.PENDING,
    }
)

# Scenarios that decline wherever the card is used (the PG verifies the card when issuing a billing key too).
_ALWAYS: Final = {
    Scenario.DECLINE: codes.REJECT_CARD_COMPANY,
    Scenario.INSUFFICIENT_FUNDS: codes.INSUFFICIENT_FUNDS,
    Scenario.EXPIRED: codes.EXPIRED_CARD,
    Scenario.LOST_OR_STOLEN: codes.LOST_OR_STOLEN_CARD,
    Scenario.INVALID_EXPIRY: codes.INVALID_CARD_EXPIRATION,
    Scenario.WRONG_PASSWORD: codes.INVALID_PASSWORD,
    Scenario.WRONG_BIRTH_OR_BRN: codes.INVALID_BIRTH_OR_BUSINESS_NUMBER,
}
# Scenarios whose billing keys issue fine but whose money movements (instant payments, charges) decline.
_ON_PAYMENT_ONLY: Final = {
    Scenario.CHARGES_DECLINE: codes.REJECT_CARD_COMPANY,
    Scenario.CHARGES_INSUFFICIENT_FUNDS: codes.INSUFFICIENT_FUNDS,
}


def issue_decline(scenario: Scenario) -> Declined | None:
    """The decline a billing-key issuance gets for this scenario, if any."""
    code = _ALWAYS.get(scenario)
    return codes.decline(code) if code else None


def payment_decline(scenario: Scenario) -> Declined | None:
    """The decline an authorization or billing-key charge gets for this scenario, if any."""
    code = _ALWAYS.get(scenario) or _ON_PAYMENT_ONLY.get(scenario)
    return codes.decline(code) if code else None


@dataclass(frozen=True, slots=True)
class CardCheck:
    """A card that passed the checks every PG makes: its scenario and what the PG reports about it."""

    scenario: Scenario
    info: CardInfo


def _birth_or_brn_ok(value: str) -> bool:
    if not (value.isascii() and value.isdigit()):
        return False
    if len(value) == 10:  # business registration number
        return True
    if len(value) != 6:
        return False
    yy, mm, dd = int(value[:2]), int(value[2:4]), int(value[4:])
    for century in (1900, 2000):
        try:
            date(century + yy, mm, dd)
        except ValueError:
            continue
        return True
    return False


def check_card(card: CardCredential, now: datetime) -> Declined | CardCheck:
    """Number, expiry and owner checks, in the order a PG makes them, then the card's scenario.

    The service rejects pure format errors (non-digits, month outside 01-12, year not two digits) with
    ``400 INVALID_REQUEST`` before calling; the sandbox declines them too so that it is safe on its own.
    """
    number = card.number
    if not number_format_ok(number) or not luhn_valid(number):
        return codes.decline(codes.INVALID_CARD_NUMBER)
    if not expiry_format_ok(card.expiry_year, card.expiry_month):
        return codes.decline(codes.INVALID_CARD_EXPIRATION)
    if is_expired(card.expiry_year, card.expiry_month, now):
        return codes.decline(codes.EXPIRED_CARD)
    owner = card.birth_or_business_registration_number
    if owner is not None and not _birth_or_brn_ok(owner):
        return codes.decline(codes.INVALID_BIRTH_OR_BUSINESS_NUMBER)
    password = card.password_two_digits
    if password is not None and not (len(password) == 2 and password.isascii() and password.isdigit()):
        return codes.decline(codes.INVALID_PASSWORD)
    return CardCheck(scenario=MAGIC_CARDS.get(number, Scenario.APPROVE), info=card_info(number))


#: Installments (2+ months) are only allowed from this amount on for KRW (Korean card rules).
MIN_INSTALLMENT_AMOUNT_KRW: Final = 50_000
MAX_INSTALLMENT_MONTHS: Final = 36


def installment_decline(installment_month: int | None, card_type: str, amount: int, currency: str) -> Declined | None:
    """Installment rules: 0/1/None = lump sum; 2..36 months on CREDIT cards only, and >= 50,000 KRW."""
    if installment_month is None or installment_month in (0, 1):
        return None
    if installment_month < 0 or installment_month > MAX_INSTALLMENT_MONTHS:
        return codes.decline(codes.INVALID_INSTALLMENT_PLAN, f"{installment_month} months")
    if card_type != "CREDIT":
        return codes.decline(codes.INVALID_INSTALLMENT_PLAN, f"{card_type} cards are paid in one lump sum")
    if currency == "KRW" and amount < MIN_INSTALLMENT_AMOUNT_KRW:
        return codes.decline(codes.INVALID_INSTALLMENT_PLAN, "installments need at least 50000 KRW")
    return None


class MagicAmounts:
    """Exact amounts (minor units, any currency) that trigger an outcome whatever the card."""

    DECLINE: Final = 40_005
    INSUFFICIENT_FUNDS: Final = 40_051
    EXCEED_LIMIT: Final = 40_061
    PENDING: Final = 40_202
    TRANSPORT_ERROR: Final = 40_504


AmountOperation = Literal["pay", "virtual_account", "cancel"]


@dataclass(frozen=True, slots=True)
class AmountEffect:
    """``declined`` to return, or ``pending`` (PayPending / CancelRequested), or ``transport_error`` to raise."""

    declined: Declined | None = None
    pending: bool = False
    transport_error: bool = False


_PAY_AMOUNTS: Final = {
    MagicAmounts.DECLINE: codes.REJECT_CARD_COMPANY,
    MagicAmounts.INSUFFICIENT_FUNDS: codes.INSUFFICIENT_FUNDS,
    MagicAmounts.EXCEED_LIMIT: codes.EXCEED_MAX_AMOUNT,
}


def amount_effect(operation: AmountOperation, amount: int) -> AmountEffect | None:
    """The magic-amount effect of ``amount`` for an operation (``pay`` = authorize or charge)."""
    if amount == MagicAmounts.TRANSPORT_ERROR:
        return AmountEffect(transport_error=True)
    if operation == "pay":
        if amount == MagicAmounts.PENDING:
            return AmountEffect(pending=True)
        code = _PAY_AMOUNTS.get(amount)
        return AmountEffect(declined=codes.decline(code)) if code else None
    if operation == "virtual_account":
        if amount == MagicAmounts.DECLINE:
            return AmountEffect(declined=codes.decline(codes.VIRTUAL_ACCOUNT_ISSUE_REJECTED))
        return None
    # cancel: the amount of this cancellation
    if amount == MagicAmounts.PENDING:
        return AmountEffect(pending=True)
    if amount == MagicAmounts.DECLINE:
        return AmountEffect(declined=codes.decline(codes.CANCEL_REJECTED))
    return None


SLOW_MS_ENV: Final = "LOCALPORTONE_SANDBOX_SLOW_MS"
DEFAULT_SLOW_MS: Final = 3000


def slow_delay_seconds() -> float:
    """Delay of the SLOW card, read from ``LOCALPORTONE_SANDBOX_SLOW_MS`` at call time (default 3000 ms).

    (A duration for ``asyncio.sleep``, not money: the only non-integer in the package.)
    """
    raw = os.environ.get(SLOW_MS_ENV, "").strip()
    try:
        millis = int(raw) if raw else DEFAULT_SLOW_MS
    except ValueError:
        millis = DEFAULT_SLOW_MS
    return max(millis, 0) / 1000
