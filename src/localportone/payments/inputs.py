"""Wire inputs → the values a payment stores (customer, products, method objects, search terms)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from localportone.kernel.clock import to_wire
from localportone.pg.connector import CardInfo, VirtualAccountIssued
from localportone.wire import PaymentProduct
from localportone.wire.errors import InvalidRequestError


def products(value: list[PaymentProduct] | None) -> list[dict[str, Any]] | None:
    if value is None:
        return None
    for i, product in enumerate(value):
        if product.amount < 0:
            raise InvalidRequestError(f"products.{i}.amount must not be negative")
        if product.quantity < 0:
            raise InvalidRequestError(f"products.{i}.quantity must not be negative")
    return [p.to_wire() for p in value]


def notice_urls(value: list[str] | None) -> list[str] | None:
    """An empty list means "use the store's webhook URLs" (§13.4)."""
    return list(value) if value else None


def card(info: CardInfo | None) -> dict[str, Any] | None:
    """``Card`` from what the PG reported."""
    if info is None:
        return None
    out: dict[str, Any] = {"brand": info.brand, "type": info.type, "ownerType": info.owner_type, "bin": info.bin,
                           "number": info.number}
    for key, item in (("publisher", info.publisher), ("issuer", info.issuer), ("name", info.name)):
        if item is not None:
            out[key] = item
    return out


def card_method(info: CardInfo | None, approval_number: str | None, installment_month: int | None,
                interest_free: bool, easy_pay_provider: str | None) -> dict[str, Any]:
    """``PaymentMethodCard``, wrapped in ``PaymentMethodEasyPay`` for wallet PGs."""
    method: dict[str, Any] = {"type": "PaymentMethodCard"}
    card_wire = card(info)
    if card_wire is not None:
        method["card"] = card_wire
    if approval_number is not None:
        method["approvalNumber"] = approval_number
    month = installment_month if installment_month and installment_month > 1 else 0
    method["installment"] = {"month": month, "isInterestFree": bool(interest_free and month)}
    if easy_pay_provider is not None:
        return {"type": "PaymentMethodEasyPay", "provider": easy_pay_provider, "easyPayMethod": method}
    return method


def virtual_account_method(issued: VirtualAccountIssued) -> dict[str, Any]:
    return {
        "type": "PaymentMethodVirtualAccount",
        "bank": issued.bank,
        "accountNumber": issued.account_number,
        "accountType": issued.account_type,
        "remitteeName": issued.remittee_name,
        "expiredAt": to_wire(issued.expired_at),
        "issuedAt": to_wire(issued.issued_at),
    }


METHOD_TYPES = {
    "PaymentMethodCard": "CARD",
    "PaymentMethodVirtualAccount": "VIRTUAL_ACCOUNT",
    "PaymentMethodEasyPay": "EASY_PAY",
    "PaymentMethodTransfer": "TRANSFER",
    "PaymentMethodMobile": "MOBILE",
    "PaymentMethodGiftCertificate": "GIFT_CERTIFICATE",
    "PaymentMethodConvenienceStore": "CONVENIENCE_STORE",
    "PaymentMethodCrypto": "CRYPTO",
}


def method_card(method: dict[str, Any] | None) -> dict[str, Any]:
    """The ``Card`` inside a method (directly or inside an easy-pay method), ``{}`` if none."""
    if not method:
        return {}
    inner = method.get("easyPayMethod") if method.get("type") == "PaymentMethodEasyPay" else method
    card_wire = (inner or {}).get("card")
    return card_wire if isinstance(card_wire, dict) else {}


def search_terms(row: Any) -> Iterator[tuple[str, str]]:
    """``PaymentTextSearchField`` → value pairs of an attempt (cancellation fields are added per cancel)."""
    method = row.method or {}
    inner = method.get("easyPayMethod") if method.get("type") == "PaymentMethodEasyPay" else method
    inner = inner or {}
    card_wire = method_card(method)
    channel = row.channel or {}
    cust = row.customer or {}
    origin = row.origin or {}
    pairs: list[tuple[str, Any]] = [
        ("PAYMENT_ID", row.payment_id), ("TX_ID", row.id), ("SCHEDULE_ID", row.schedule_id),
        ("FAIL_REASON", row.failure_reason), ("CARD_ISSUER", card_wire.get("issuer")),
        ("CARD_ACQUIRER", card_wire.get("publisher")), ("CARD_BIN", card_wire.get("bin")),
        ("CARD_NUMBER", card_wire.get("number")), ("CARD_APPROVAL_NUMBER", inner.get("approvalNumber")),
        ("CARD_RECEIPT_NAME", card_wire.get("name")),
        ("CARD_INSTALLMENT", str(inner["installment"]["month"]) if inner.get("installment") else None),
        ("VIRTUAL_ACCOUNT_HOLDER_NAME", method.get("remitteeName")), ("VIRTUAL_ACCOUNT_BANK", method.get("bank")),
        ("VIRTUAL_ACCOUNT_NUMBER", method.get("accountNumber")), ("PG_MERCHANT_ID", channel.get("pgMerchantId")),
        ("PG_TX_ID", row.pg_tx_id), ("ORDER_NAME", row.order_name), ("CUSTOMER_NAME", cust.get("name")),
        ("CUSTOMER_EMAIL", cust.get("email")), ("CUSTOMER_PHONE_NUMBER", cust.get("phoneNumber")),
        ("CUSTOMER_ADDRESS", (cust.get("address") or {}).get("oneLine")), ("CUSTOMER_ZIPCODE", cust.get("zipcode")),
        ("USER_AGENT", origin.get("userAgent")), ("BILLING_KEY", row.billing_key),
        ("PROMOTION_ID", row.promotion_id),
    ]
    for field_name, value in pairs:
        if isinstance(value, str) and value:
            yield field_name, value
