"""Sandbox PG profiles: one per ``pgProvider``, with capabilities, quirks and the seeded test channel.

A profile also decides how its PG's identifiers and raw responses look (``style``), so that payments made on a
KCP channel carry a KCP-shaped ``pgTxId`` and a KCP-shaped ``pgResponse``. The quirks are documented in
``docs/sandbox-pg.md``.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Final, Literal, TypeAlias

import orjson

from ..connector import CardInfo, PgCapabilities
from .cards import kst

__all__ = [
    "DEFAULT_VA_BANKS",
    "PG_COMPANIES",
    "PG_PROVIDERS",
    "PROFILES",
    "SandboxProfile",
    "Style",
    "TxKind",
    "approval_number",
    "cancellation_id",
    "generic_profile",
    "pg_response",
    "tx_id",
    "virtual_account_number",
]

Style: TypeAlias = Literal["TOSS", "KCP", "INICIS", "NICE", "KAKAO", "PAYPAL", "GENERIC"]
TxKind: TypeAlias = Literal["card", "va", "billing"]

#: The spec's ``PgProvider`` values.
PG_PROVIDERS: Final = frozenset(
    [
        "HTML5_INICIS",
        "PAYPAL",
        "PAYPAL_V2",
        "INICIS",
        "DANAL",
        "NICE",
        "DANAL_TPAY",
        "JTNET",
        "UPLUS",
        "NAVERPAY",
        "KAKAO",
        "SETTLE",
        "KCP",
        "MOBILIANS",
        "KAKAOPAY",
        "NAVERCO",
        "SYRUP",
        "KICC",
        "EXIMBAY",
        "SMILEPAY",
        "PAYCO",
        "KCP_BILLING",
        "ALIPAY",
        "PAYPLE",
        "CHAI",
        "BLUEWALNUT",
        "SMARTRO",
        "SMARTRO_V2",
        "PAYMENTWALL",
        "TOSSPAYMENTS",
        "KCP_QUICK",
        "DAOU",
        "GALAXIA",
        "TOSSPAY",
        "KCP_DIRECT",
        "SETTLE_ACC",
        "SETTLE_FIRM",
        "INICIS_UNIFIED",
        "KSNET",
        "PINPAY",
        "NICE_V2",
        "TOSS_BRANDPAY",
        "WELCOME",
        "TOSSPAY_V2",
        "INICIS_V2",
        "KPN",
        "KCP_V2",
        "HYPHEN",
        "EXIMBAY_V2",
        "INICIS_JP",
        "PAYLETTER_GLOBAL",
        "MOBILIANS_V2",
        "TRIPLE_A",
        "KICC_V2",
        "INNOPAY",
        "HECTO_GLOBAL",
    ]
)
#: The spec's ``PgCompany`` values.
PG_COMPANIES: Final = frozenset(
    [
        "INICIS",
        "NICE",
        "KCP",
        "DANAL",
        "TOSSPAYMENTS",
        "MOBILIANS",
        "KICC",
        "SMARTRO",
        "DAOU",
        "BLUEWALNUT",
        "PAYPAL",
        "ALIPAY",
        "EXIMBAY",
        "PAYMENTWALL",
        "SETTLE",
        "GALAXIA",
        "NAVERPAY",
        "KAKAOPAY",
        "SMILEPAY",
        "KAKAO",
        "TOSSPAY",
        "CHAI",
        "PAYCO",
        "PAYPLE",
        "SYRUP",
        "KSNET",
        "WELCOME",
        "JTNET",
        "KPN",
        "HYPHEN",
        "PAYLETTER",
        "TRIPLE_A",
        "INNOPAY",
    ]
)

#: Banks (spec ``Bank``) for which virtual accounts can be issued: Korean retail banks.
DEFAULT_VA_BANKS: Final = frozenset(
    [
        "KDB",
        "IBK",
        "KOOKMIN",
        "SUHYUP",
        "NONGHYUP",
        "LOCAL_NONGHYUP",
        "WOORI",
        "STANDARD_CHARTERED",
        "CITI",
        "DAEGU",
        "BUSAN",
        "KWANGJU",
        "JEJU",
        "JEONBUK",
        "KYONGNAM",
        "KFCC",
        "SHINHYUP",
        "POST",
        "HANA",
        "SHINHAN",
        "K_BANK",
        "KAKAO",
        "TOSS",
    ]
)


@dataclass(frozen=True, slots=True)
class SandboxProfile:
    """A sandbox PG and the TEST channel seeded for it (``channel_name``, ``pg_merchant_id``).

    Quirks: ``currencies`` (None = any), ``va_banks``, ``va_default_valid_hours`` (when the request gives no
    expiry), ``va_partial_refund`` (partial cancels of virtual-account payments), ``billing_key_requires_owner_auth``
    (issuance needs birth date/BRN and the card password), ``remittee_name`` (VA account holder when not given).
    """

    pg_provider: str
    channel_name: str
    pg_merchant_id: str
    capabilities: PgCapabilities
    pg_company: str | None = None
    style: Style = "GENERIC"
    currencies: frozenset[str] | None = None
    va_banks: frozenset[str] = DEFAULT_VA_BANKS
    va_default_valid_hours: int = 168
    va_partial_refund: bool = True
    billing_key_requires_owner_auth: bool = False
    remittee_name: str = "LOCALPORTONE SANDBOX"
    quirks: tuple[str, ...] = field(default=())


_CARD_PG = PgCapabilities(
    card_instant=True,
    billing_key=True,
    virtual_account=True,
    partial_cancel=True,
    capture=True,
    escrow=True,
    async_cancel=False,
)

_PAYPAL_CURRENCIES = frozenset(
    [
        "AUD",
        "BRL",
        "CAD",
        "CNY",
        "CZK",
        "DKK",
        "EUR",
        "HKD",
        "HUF",
        "ILS",
        "JPY",
        "MYR",
        "MXN",
        "TWD",
        "NZD",
        "NOK",
        "PHP",
        "PLN",
        "GBP",
        "SGD",
        "SEK",
        "CHF",
        "THB",
        "USD",
    ]
)

PROFILES: Final = MappingProxyType(
    {
        p.pg_provider: p
        for p in (
            SandboxProfile(
                pg_provider="TOSSPAYMENTS",
                channel_name="Sandbox Toss Payments",
                pg_merchant_id="tvivarepublica",
                capabilities=_CARD_PG,
                pg_company="TOSSPAYMENTS",
                style="TOSS",
                quirks=("Reference profile: every operation is supported.",),
            ),
            SandboxProfile(
                pg_provider="KCP_V2",
                channel_name="Sandbox NHN KCP",
                pg_merchant_id="T0000",
                capabilities=_CARD_PG,
                pg_company="KCP",
                style="KCP",
                va_banks=DEFAULT_VA_BANKS - {"K_BANK", "KAKAO", "TOSS"},
                quirks=(
                    "Virtual accounts cannot be issued at the internet-only banks K_BANK, KAKAO and TOSS.",
                    "pgTxId is a 14-digit number.",
                ),
            ),
            SandboxProfile(
                pg_provider="INICIS_V2",
                channel_name="Sandbox KG Inicis",
                pg_merchant_id="INIpayTest",
                capabilities=_CARD_PG,
                pg_company="INICIS",
                style="INICIS",
                billing_key_requires_owner_auth=True,
                quirks=(
                    "Billing-key issuance needs birthOrBusinessRegistrationNumber and passwordTwoDigits "
                    "(else MISSING_CARD_OWNER_AUTH).",
                ),
            ),
            SandboxProfile(
                pg_provider="NICE_V2",
                channel_name="Sandbox NICEPAY",
                pg_merchant_id="nicepay00m",
                capabilities=_CARD_PG,
                pg_company="NICE",
                style="NICE",
                va_partial_refund=False,
                quirks=("Virtual-account payments can only be refunded in full (partial -> SANDBOX_NOT_SUPPORTED).",),
            ),
            SandboxProfile(
                pg_provider="KAKAOPAY",
                channel_name="Sandbox Kakao Pay",
                pg_merchant_id="TCSUBSCRIP",
                capabilities=PgCapabilities(
                    card_instant=False,
                    billing_key=True,
                    virtual_account=False,
                    partial_cancel=True,
                    capture=False,
                    escrow=False,
                    async_cancel=False,
                    easy_pay_provider="KAKAOPAY",
                ),
                pg_company="KAKAOPAY",
                style="KAKAO",
                quirks=(
                    "Easy pay: no key-in. Cards are only accepted from the (simulated) Kakao Pay window "
                    "(key_in=False); key-in requests get SANDBOX_NOT_SUPPORTED.",
                ),
            ),
            SandboxProfile(
                pg_provider="PAYPAL_V2",
                channel_name="Sandbox PayPal",
                pg_merchant_id="sandbox-paypal-merchant",
                capabilities=PgCapabilities(
                    card_instant=True,
                    billing_key=True,
                    virtual_account=False,
                    partial_cancel=True,
                    capture=True,
                    escrow=False,
                    async_cancel=True,
                    easy_pay_provider="PAYPAL",
                ),
                pg_company="PAYPAL",
                style="PAYPAL",
                currencies=_PAYPAL_CURRENCIES,
                quirks=(
                    "Every cancellation is asynchronous (CancelRequested); complete it through the sandbox control.",
                    "No KRW: only PayPal's currencies (USD, JPY, EUR, ...) -> else UNSUPPORTED_CURRENCY.",
                    "Card approval is accepted from the API too (sandbox simplification) so that it can be scripted.",
                ),
            ),
        )
    }
)


def generic_profile(pg_provider: str) -> SandboxProfile:
    """The profile of a provider without its own: a plain Korean card PG (no escrow)."""
    company = pg_provider.removesuffix("_V2")
    return SandboxProfile(
        pg_provider=pg_provider,
        channel_name=f"Sandbox {pg_provider}",
        pg_merchant_id=f"sandbox-{pg_provider.lower().replace('_', '-')}",
        capabilities=PgCapabilities(
            card_instant=True,
            billing_key=True,
            virtual_account=True,
            partial_cancel=True,
            capture=True,
            escrow=False,
            async_cancel=False,
        ),
        pg_company=company if company in PG_COMPANIES else None,
        style="GENERIC",
    )


# ------------------------------------------------------------------------------------------------ identifiers


def _digest(seed: str) -> bytes:
    return hashlib.sha256(seed.encode()).digest()


def _digits(seed: str, n: int) -> str:
    return str(int.from_bytes(_digest(seed), "big") % 10**n).zfill(n)


def _hex(seed: str, n: int) -> str:
    return _digest(seed).hex()[:n]


def _alnum(seed: str, n: int) -> str:
    return base64.b32encode(_digest(seed)).decode()[:n]


def _mid(profile_mid: str, width: int) -> str:
    return (profile_mid + "0" * width)[:width]


def tx_id(style: Style, kind: TxKind, seed: str, pg_merchant_id: str, now: datetime) -> str:
    """The PG's transaction id for a payment, VA or billing-key issuance, derived from ``seed``."""
    at = kst(now)
    if style == "TOSS":
        return f"tsbx{at:%Y%m%d%H%M%S}{_hex(seed, 10)}"
    if style == "KCP":
        return f"{at:%y%m%d}{_digits(seed, 8)}"
    if style == "INICIS":
        prefix = {"card": "StdpayCARD", "va": "StdpayVBNK", "billing": "INIBillCRD"}[kind]
        return f"{prefix}{_mid(pg_merchant_id, 10)}{at:%Y%m%d%H%M%S}{_digits(seed, 6)}"
    if style == "NICE":
        method = {"card": "01", "va": "03", "billing": "01"}[kind]
        return f"{_mid(pg_merchant_id, 10)}{method}16{at:%y%m%d%H%M%S}{_digits(seed, 4)}"
    if style == "KAKAO":
        return f"T{_digits(seed, 19)}"
    if style == "PAYPAL":
        return _alnum(seed, 17)
    return f"sbx_{_hex(seed, 24)}"


def cancellation_id(style: Style, seed: str, pg_merchant_id: str, now: datetime) -> str:
    """The PG's id of a cancellation, derived from ``seed``."""
    at = kst(now)
    if style == "TOSS":
        return _hex(seed, 32)
    if style == "KCP":
        return f"{at:%y%m%d}{_digits(seed, 8)}"
    if style == "INICIS":
        return f"StdpayCNCL{_mid(pg_merchant_id, 10)}{at:%Y%m%d%H%M%S}{_digits(seed, 6)}"
    if style == "NICE":
        return f"{_mid(pg_merchant_id, 10)}0116{at:%y%m%d%H%M%S}{_digits(seed, 4)}"
    if style == "KAKAO":
        return f"A{_digits(seed, 19)}"
    if style == "PAYPAL":
        return _alnum(seed, 17)
    return f"sbxc_{_hex(seed, 24)}"


def approval_number(seed: str) -> str:
    """An 8-digit card approval number."""
    return _digits(seed + "|approval", 8)


def virtual_account_number(seed: str) -> str:
    """A 14-digit account number."""
    return _digits(seed + "|account", 14)


# ------------------------------------------------------------------------------------------------ raw responses


def pg_response(
    profile: SandboxProfile,
    *,
    pg_tx_id: str,
    payment_id: str,
    order_name: str,
    amount: int,
    tax_free_amount: int,
    vat_amount: int,
    currency: str,
    approved_at: datetime,
    approval_no: str,
    card: CardInfo | None,
    installment_month: int | None,
) -> str:
    """The raw JSON text the PG would answer to an approval, in the PG's shape (integers only)."""
    at = kst(approved_at)
    months = installment_month or 0
    body: dict[str, object]
    if profile.style == "TOSS":
        body = {
            "mId": profile.pg_merchant_id,
            "paymentKey": pg_tx_id,
            "orderId": payment_id,
            "orderName": order_name,
            "status": "DONE",
            "method": "CARD",
            "currency": currency,
            "totalAmount": amount,
            "balanceAmount": amount,
            "taxFreeAmount": tax_free_amount,
            "vat": vat_amount,
            "suppliedAmount": amount - tax_free_amount - vat_amount,
            "approvedAt": at.isoformat(timespec="seconds"),
            "card": {
                "number": card.number if card else None,
                "approveNo": approval_no,
                "installmentPlanMonths": months,
                "cardType": card.type if card else None,
                "ownerType": card.owner_type if card else None,
            },
        }
    elif profile.style == "KCP":
        body = {
            "res_cd": "0000",
            "res_msg": "SANDBOX APPROVED",
            "tno": pg_tx_id,
            "ordr_idxx": payment_id,
            "amount": amount,
            "card_mny": amount,
            "tax_mny": amount - tax_free_amount - vat_amount,
            "vat_mny": vat_amount,
            "free_mny": tax_free_amount,
            "app_no": approval_no,
            "app_time": f"{at:%Y%m%d%H%M%S}",
            "quota": f"{months:02d}",
            "card_no": card.number if card else None,
        }
    elif profile.style == "INICIS":
        body = {
            "resultCode": "00",
            "resultMsg": "SANDBOX APPROVED",
            "tid": pg_tx_id,
            "mid": profile.pg_merchant_id,
            "MOID": payment_id,
            "goodName": order_name,
            "TotPrice": amount,
            "currency": currency,
            "applDate": f"{at:%Y%m%d}",
            "applTime": f"{at:%H%M%S}",
            "applNum": approval_no,
            "CARD_Quota": f"{months:02d}",
            "CARD_Num": card.number if card else None,
        }
    elif profile.style == "NICE":
        body = {
            "resultCode": "0000",
            "resultMsg": "SANDBOX APPROVED",
            "tid": pg_tx_id,
            "orderId": payment_id,
            "goodsName": order_name,
            "amount": amount,
            "balanceAmt": amount,
            "currency": currency,
            "status": "paid",
            "paidAt": at.isoformat(timespec="seconds"),
            "approveNo": approval_no,
            "card": {"cardNum": card.number if card else None, "cardQuota": months},
        }
    elif profile.style == "KAKAO":
        body = {
            "aid": f"A{pg_tx_id[1:]}",
            "tid": pg_tx_id,
            "cid": profile.pg_merchant_id,
            "partner_order_id": payment_id,
            "item_name": order_name,
            "payment_method_type": "CARD",
            "amount": {"total": amount, "tax_free": tax_free_amount, "vat": vat_amount},
            "card_info": {"bin": card.bin if card else None, "approved_id": approval_no, "install_month": months},
            "approved_at": at.replace(tzinfo=None).isoformat(timespec="seconds"),
        }
    elif profile.style == "PAYPAL":
        body = {
            "id": pg_tx_id,
            "status": "COMPLETED",
            "purchase_units": [
                {
                    "reference_id": payment_id,
                    "description": order_name,
                    "amount": {"currency_code": currency, "value_minor_units": amount},
                }
            ],
            "create_time": approved_at.isoformat(timespec="seconds"),
        }
    else:
        body = {
            "pgTxId": pg_tx_id,
            "paymentId": payment_id,
            "amount": amount,
            "currency": currency,
            "approvalNumber": approval_no,
            "approvedAt": approved_at.isoformat(timespec="seconds"),
        }
    body["sandbox"] = True
    return orjson.dumps(body).decode()
