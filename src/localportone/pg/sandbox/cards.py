"""Card arithmetic of the sandbox PG: Luhn, the BIN table, masking, expiry.

Everything here is pure and deterministic. The BIN table is the sandbox's own (a few real brand ranges plus
fictional Korean local BINs ``94XY``); it is documented in ``docs/sandbox-pg.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from ..connector import CardInfo

__all__ = [
    "BIN_TABLE",
    "KST",
    "BinRow",
    "bin_of",
    "card_info",
    "card_info_from_parts",
    "expiry_format_ok",
    "is_expired",
    "kst",
    "lookup_bin",
    "luhn_check_digit",
    "luhn_valid",
    "mask",
    "number_format_ok",
]

KST = timezone(timedelta(hours=9), "KST")


def kst(moment: datetime) -> datetime:
    """``moment`` in Korea Standard Time (naive datetimes are taken to be KST already)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=KST)
    return moment.astimezone(KST)


# ------------------------------------------------------------------------------------------------------ Luhn


def luhn_valid(number: str) -> bool:
    """True if ``number`` (digits only) passes the Luhn (mod 10) check."""
    if not number.isdigit():
        return False
    total = 0
    for index, char in enumerate(reversed(number)):
        digit = int(char)
        if index % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def luhn_check_digit(partial: str) -> str:
    """The digit that makes ``partial + digit`` Luhn-valid."""
    for digit in "0123456789":
        if luhn_valid(partial + digit):
            return digit
    raise ValueError(f"not a digit string: {partial!r}")  # pragma: no cover - unreachable for digit strings


def number_format_ok(number: str) -> bool:
    """Digits only, 13 to 19 of them (ISO/IEC 7812 lengths)."""
    return number.isascii() and number.isdigit() and 13 <= len(number) <= 19


# ------------------------------------------------------------------------------------------------------ expiry


def expiry_format_ok(expiry_year: str, expiry_month: str) -> bool:
    """Two-digit year and a month 01-12 written with two digits."""
    return (
        len(expiry_year) == 2
        and expiry_year.isascii()
        and expiry_year.isdigit()
        and len(expiry_month) == 2
        and expiry_month.isascii()
        and expiry_month.isdigit()
        and 1 <= int(expiry_month) <= 12
    )


def is_expired(expiry_year: str, expiry_month: str, now: datetime) -> bool:
    """A card is valid through the last day of its expiry month (KST); ``YY`` means ``20YY``."""
    today = kst(now)
    return (today.year, today.month) > (2000 + int(expiry_year), int(expiry_month))


# ------------------------------------------------------------------------------------------------------ BINs


@dataclass(frozen=True, slots=True)
class BinRow:
    brand: str
    type: str = "CREDIT"
    owner_type: str = "PERSONAL"
    issuer: str | None = None
    publisher: str | None = None
    label: str | None = None


def _brand_rows() -> dict[str, BinRow]:
    rows: dict[str, BinRow] = {"4": BinRow("VISA", label="Visa")}
    for start, end in ((51, 55), (2221, 2720)):
        for prefix in range(start, end + 1):
            rows[str(prefix)] = BinRow("MASTER", label="Mastercard")
    rows["34"] = rows["37"] = BinRow("AMEX", label="American Express")
    for prefix in range(3528, 3589 + 1):
        rows[str(prefix)] = BinRow("JCB", label="JCB")
    rows["62"] = BinRow("UNIONPAY", label="UnionPay")
    rows["36"] = BinRow("DINERS", label="Diners Club")
    for prefix in range(300, 305 + 1):
        rows[str(prefix)] = BinRow("DINERS", label="Diners Club")
    # foreign debit cards (Stripe-style test numbers 4000056655665556, 5200828282828210)
    rows["400005"] = BinRow("VISA", type="DEBIT", label="Visa")
    rows["520082"] = BinRow("MASTER", type="DEBIT", label="Mastercard")
    return rows


#: Fictional Korean local BINs ``94XY``: X picks the card company, Y the product.
_LOCAL_ISSUERS: dict[str, tuple[str, str, str]] = {
    # X: (issuer, publisher, label)
    "1": ("SHINHAN_CARD", "SHINHAN_CARD", "Shinhan"),
    "2": ("KOOKMIN_CARD", "KOOKMIN_CARD", "KB Kookmin"),
    "3": ("HYUNDAI_CARD", "HYUNDAI_CARD", "Hyundai"),
    "4": ("SAMSUNG_CARD", "SAMSUNG_CARD", "Samsung"),
    "5": ("WOORI_CARD", "BC_CARD", "BC (Woori)"),
    "6": ("HANA_CARD", "HANA_CARD", "Hana"),
    "7": ("LOTTE_CARD", "LOTTE_CARD", "Lotte"),
    "8": ("NH_CARD", "NH_CARD", "NH"),
}
#: Y: (CardType, CardOwnerType); digits 5-9 are personal credit like 0.
_LOCAL_PRODUCTS: dict[str, tuple[str, str]] = {
    "0": ("CREDIT", "PERSONAL"),
    "1": ("DEBIT", "PERSONAL"),
    "2": ("CREDIT", "CORPORATE"),
    "3": ("GIFT", "PERSONAL"),
    "4": ("DEBIT", "CORPORATE"),
}


def _local_rows() -> dict[str, BinRow]:
    rows: dict[str, BinRow] = {}
    for x, (issuer, publisher, label) in _LOCAL_ISSUERS.items():
        for y in "0123456789":
            card_type, owner_type = _LOCAL_PRODUCTS.get(y, ("CREDIT", "PERSONAL"))
            rows[f"94{x}{y}"] = BinRow("LOCAL", card_type, owner_type, issuer, publisher, label)
    return rows


BIN_TABLE: dict[str, BinRow] = {**_brand_rows(), **_local_rows()}
_UNKNOWN = BinRow("LOCAL")
_LONGEST_PREFIX = max(len(prefix) for prefix in BIN_TABLE)


def lookup_bin(number: str) -> BinRow:
    """The row of the longest matching prefix; unknown ranges are a LOCAL personal credit card, no issuer."""
    for length in range(min(_LONGEST_PREFIX, len(number)), 0, -1):
        row = BIN_TABLE.get(number[:length])
        if row is not None:
            return row
    return _UNKNOWN


def bin_of(number: str) -> str:
    """First 8 digits for numbers of 16+ digits, else the first 6."""
    return number[:8] if len(number) >= 16 else number[:6]


def mask(number: str) -> str:
    """BIN, then ``*`` for the middle, then the last four digits: ``42424242****4242``."""
    bin_ = bin_of(number)
    return bin_ + "*" * (len(number) - len(bin_) - 4) + number[-4:]


_TYPE_LABEL = {"CREDIT": "Credit", "DEBIT": "Debit", "GIFT": "Gift"}


def card_info_from_parts(bin_: str, last4: str, length: int) -> CardInfo:
    """CardInfo from what a billing key remembers (BIN, last four digits, length): no full number needed."""
    row = lookup_bin(bin_)
    masked = bin_ + "*" * (length - len(bin_) - 4) + last4
    name = f"Sandbox {row.label or 'Local'} {_TYPE_LABEL.get(row.type, row.type)}"
    if row.owner_type == "CORPORATE":
        name += " Corporate"
    return CardInfo(
        brand=row.brand,
        type=row.type,
        owner_type=row.owner_type,
        bin=bin_,
        number=masked,
        issuer=row.issuer,
        publisher=row.publisher,
        name=name,
    )


def card_info(number: str) -> CardInfo:
    """The CardInfo the sandbox reports for a (format-valid) card number."""
    return card_info_from_parts(bin_of(number), number[-4:], len(number))
