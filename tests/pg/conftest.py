"""Builders for connector requests, shared by the PG tests."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import pytest

from localportone.pg.connector import (
    AuthorizeCard,
    CancelPayment,
    Capture,
    CardCredential,
    ChannelRef,
    ChargeBillingKey,
    CloseVirtualAccount,
    DeleteBillingKey,
    IssueBillingKey,
    IssueVirtualAccount,
    RefundAccount,
)
from localportone.pg.sandbox.overrides import SandboxOutcomeOverrides
from localportone.pg.sandbox.scenarios import SandboxCards

#: 2025-03-15 12:00 KST.
NOW = datetime(2025, 3, 15, 3, 0, tzinfo=UTC)


class Requests:
    """Valid requests with sensible defaults; keyword arguments replace fields."""

    def __init__(self, pg_provider: str = "TOSSPAYMENTS", pg_merchant_id: str = "sandbox-mid") -> None:
        self.channel = ChannelRef(
            key=f"channel-key-{pg_provider.lower()}", pg_provider=pg_provider, pg_merchant_id=pg_merchant_id
        )
        self.now = NOW
        self.currency = "KRW"

    def card(self, number: str = SandboxCards.APPROVE, **kw: Any) -> CardCredential:
        base = CardCredential(
            number=number,
            expiry_year="30",
            expiry_month="12",
            birth_or_business_registration_number="900101",
            password_two_digits="12",
        )
        return dataclasses.replace(base, **kw)

    def authorize(self, number: str = SandboxCards.APPROVE, **kw: Any) -> AuthorizeCard:
        fields: dict[str, Any] = {
            "channel": self.channel,
            "payment_id": "order-1",
            "transaction_id": "tx-1",
            "order_name": "Monthly plan",
            "amount": 8900,
            "tax_free_amount": 0,
            "vat_amount": 809,
            "currency": self.currency,
            "card": self.card(number),
            "installment_month": None,
            "now": self.now,
        }
        fields.update(kw)
        return AuthorizeCard(**fields)

    def issue_key(self, number: str = SandboxCards.APPROVE, **kw: Any) -> IssueBillingKey:
        fields: dict[str, Any] = {"channel": self.channel, "card": self.card(number), "customer_id": "cust-1"}
        fields["now"] = self.now
        fields.update(kw)
        return IssueBillingKey(**fields)

    def charge(self, pg_billing_key: str, **kw: Any) -> ChargeBillingKey:
        fields: dict[str, Any] = {
            "channel": self.channel,
            "pg_billing_key": pg_billing_key,
            "payment_id": "order-2",
            "transaction_id": "tx-2",
            "order_name": "Monthly plan",
            "amount": 8900,
            "tax_free_amount": 0,
            "vat_amount": 809,
            "currency": self.currency,
            "installment_month": None,
            "now": self.now,
        }
        fields.update(kw)
        return ChargeBillingKey(**fields)

    def delete_key(self, pg_billing_key: str, **kw: Any) -> DeleteBillingKey:
        fields: dict[str, Any] = {"channel": self.channel, "pg_billing_key": pg_billing_key, "now": self.now}
        fields.update(kw)
        return DeleteBillingKey(**fields)

    def issue_va(self, **kw: Any) -> IssueVirtualAccount:
        fields: dict[str, Any] = {
            "channel": self.channel,
            "payment_id": "order-va",
            "transaction_id": "tx-va",
            "amount": 30000,
            "currency": self.currency,
            "bank": "SHINHAN",
            "account_type": "NORMAL",
            "fixed_account_number": None,
            "valid_hours": 24,
            "due_date": None,
            "remittee_name": None,
            "now": self.now,
        }
        fields.update(kw)
        return IssueVirtualAccount(**fields)

    def close_va(self, pg_tx_id: str = "va-tx", **kw: Any) -> CloseVirtualAccount:
        fields: dict[str, Any] = {"channel": self.channel, "pg_tx_id": pg_tx_id, "now": self.now}
        fields.update(kw)
        return CloseVirtualAccount(**fields)

    def cancel(self, pg_tx_id: str = "pg-tx", **kw: Any) -> CancelPayment:
        fields: dict[str, Any] = {
            "channel": self.channel,
            "pg_tx_id": pg_tx_id,
            "cancellation_id": "cancel-1",
            "amount": 8900,
            "tax_free_amount": 0,
            "vat_amount": 809,
            "is_partial": False,
            "method": "CARD",
            "refund_account": None,
            "now": self.now,
        }
        fields.update(kw)
        return CancelPayment(**fields)

    def refund_account(self) -> RefundAccount:
        return RefundAccount(bank="KOOKMIN", number="12345678901234", holder_name="Hong Gildong")

    def capture(self, pg_tx_id: str = "pg-tx", **kw: Any) -> Capture:
        fields: dict[str, Any] = {"channel": self.channel, "pg_tx_id": pg_tx_id, "now": self.now}
        fields.update(kw)
        return Capture(**fields)


@pytest.fixture
def req() -> Requests:
    return Requests()


@pytest.fixture
def overrides() -> SandboxOutcomeOverrides:
    return SandboxOutcomeOverrides()
