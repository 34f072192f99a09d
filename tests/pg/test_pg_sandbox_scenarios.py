"""Each magic card number, magic amount, quirk and forced outcome of the sandbox PG."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from datetime import UTC, datetime

import pytest

from localportone.pg.connector import (
    NOT_SUPPORTED,
    Approved,
    BillingKeyIssued,
    CancelRequested,
    CancelSucceeded,
    Declined,
    Done,
    PayPending,
    PgTransportError,
)
from localportone.pg.registry import (
    SANDBOX_OVERRIDES,
    SANDBOX_PROFILES,
    UnknownPgProvider,
    get_connector,
    sandbox_profile,
)
from localportone.pg.sandbox import codes
from localportone.pg.sandbox.cards import card_info, lookup_bin, mask
from localportone.pg.sandbox.connector import SandboxPgConnector
from localportone.pg.sandbox.overrides import ForcedOutcome, SandboxOutcomeOverrides
from localportone.pg.sandbox.scenarios import MAGIC_CARDS, SLOW_MS_ENV, MagicAmounts, SandboxCards

from .conftest import Requests

C = SandboxCards


def toss(overrides: SandboxOutcomeOverrides) -> SandboxPgConnector:
    return SandboxPgConnector(sandbox_profile("TOSSPAYMENTS"), overrides)


# (card, pgCode on authorize / charge, pgCode on billing-key issuance)
SCENARIOS = [
    (C.APPROVE, None, None),
    (C.DECLINE, codes.REJECT_CARD_COMPANY, codes.REJECT_CARD_COMPANY),
    (C.INSUFFICIENT_FUNDS, codes.INSUFFICIENT_FUNDS, codes.INSUFFICIENT_FUNDS),
    (C.EXPIRED, codes.EXPIRED_CARD, codes.EXPIRED_CARD),
    (C.LOST_OR_STOLEN, codes.LOST_OR_STOLEN_CARD, codes.LOST_OR_STOLEN_CARD),
    (C.INVALID_EXPIRY, codes.INVALID_CARD_EXPIRATION, codes.INVALID_CARD_EXPIRATION),
    (C.WRONG_BIRTH_OR_BRN, codes.INVALID_BIRTH_OR_BUSINESS_NUMBER, codes.INVALID_BIRTH_OR_BUSINESS_NUMBER),
    (C.WRONG_PASSWORD, codes.INVALID_PASSWORD, codes.INVALID_PASSWORD),
    (C.CHARGES_DECLINE, codes.REJECT_CARD_COMPANY, None),
    (C.CHARGES_INSUFFICIENT_FUNDS, codes.INSUFFICIENT_FUNDS, None),
]


def test_every_magic_card_is_covered() -> None:
    assert {row[0] for row in SCENARIOS} | {C.SLOW, C.PENDING} == set(MAGIC_CARDS)


@pytest.mark.parametrize(("number", "pay_code", "issue_code"), SCENARIOS)
async def test_magic_card_authorize(
    number: str, pay_code: str | None, issue_code: str | None, req: Requests, overrides: SandboxOutcomeOverrides
) -> None:
    outcome = await toss(overrides).authorize_card(req.authorize(number))
    if pay_code is None:
        assert isinstance(outcome, Approved)
    else:
        assert isinstance(outcome, Declined) and outcome.pg_code == pay_code
        assert outcome.pg_message == codes.MESSAGES[pay_code]


@pytest.mark.parametrize(("number", "pay_code", "issue_code"), SCENARIOS)
async def test_magic_card_billing_key(
    number: str, pay_code: str | None, issue_code: str | None, req: Requests, overrides: SandboxOutcomeOverrides
) -> None:
    connector = toss(overrides)
    issued = await connector.issue_billing_key(req.issue_key(number))
    if issue_code is not None:
        assert isinstance(issued, Declined) and issued.pg_code == issue_code
        return
    assert isinstance(issued, BillingKeyIssued)
    for attempt in range(3):  # every charge behaves the same
        charged = await connector.charge_billing_key(req.charge(issued.pg_billing_key, transaction_id=f"t{attempt}"))
        if pay_code is None:
            assert isinstance(charged, Approved)
        else:
            assert isinstance(charged, Declined) and charged.pg_code == pay_code


async def test_luhn_invalid_number(req: Requests, overrides: SandboxOutcomeOverrides) -> None:
    outcome = await toss(overrides).authorize_card(req.authorize("4242424242424241"))
    assert isinstance(outcome, Declined) and outcome.pg_code == codes.INVALID_CARD_NUMBER


@pytest.mark.parametrize("number", ["", "4242", "42424242424242424242", "4242-4242-4242-4242", "\uff14\uff12" * 8])
async def test_malformed_numbers(number: str, req: Requests, overrides: SandboxOutcomeOverrides) -> None:
    outcome = await toss(overrides).authorize_card(req.authorize(card=req.card(number)))
    assert isinstance(outcome, Declined) and outcome.pg_code == codes.INVALID_CARD_NUMBER


@pytest.mark.parametrize(("year", "month"), [("30", "13"), ("30", "00"), ("2030", "12"), ("3", "12"), ("30", "1")])
async def test_malformed_expiry(year: str, month: str, req: Requests, overrides: SandboxOutcomeOverrides) -> None:
    card = req.card(expiry_year=year, expiry_month=month)
    outcome = await toss(overrides).authorize_card(req.authorize(card=card))
    assert isinstance(outcome, Declined) and outcome.pg_code == codes.INVALID_CARD_EXPIRATION


@pytest.mark.parametrize(
    ("year", "month", "expired"),
    [("25", "02", True), ("24", "12", True), ("25", "03", False), ("25", "04", False)],
)
async def test_expiry_relative_to_now(
    year: str, month: str, expired: bool, req: Requests, overrides: SandboxOutcomeOverrides
) -> None:
    # now = 2025-03-15 KST: a card is valid through the end of its expiry month
    card = req.card(expiry_year=year, expiry_month=month)
    outcome = await toss(overrides).authorize_card(req.authorize(card=card))
    if expired:
        assert isinstance(outcome, Declined) and outcome.pg_code == codes.EXPIRED_CARD
    else:
        assert isinstance(outcome, Approved)


async def test_expiry_month_ends_in_kst(req: Requests, overrides: SandboxOutcomeOverrides) -> None:
    # 2025-03-31 15:30 UTC is already April 1st in Korea
    card = req.card(expiry_year="25", expiry_month="03")
    late = req.authorize(card=card, now=datetime(2025, 3, 31, 15, 30, tzinfo=UTC))
    early = req.authorize(card=card, now=datetime(2025, 3, 31, 14, 30, tzinfo=UTC))
    assert isinstance(await toss(overrides).authorize_card(late), Declined)
    assert isinstance(await toss(overrides).authorize_card(early), Approved)


@pytest.mark.parametrize(
    ("owner", "ok"),
    [("900101", True), ("000229", True), ("1234567890", True), ("901301", False), ("9001", False), ("90o101", False)],
)
async def test_birth_or_brn_format(owner: str, ok: bool, req: Requests, overrides: SandboxOutcomeOverrides) -> None:
    card = req.card(birth_or_business_registration_number=owner)
    outcome = await toss(overrides).authorize_card(req.authorize(card=card))
    if ok:
        assert isinstance(outcome, Approved)
    else:
        assert isinstance(outcome, Declined) and outcome.pg_code == codes.INVALID_BIRTH_OR_BUSINESS_NUMBER


@pytest.mark.parametrize(("password", "ok"), [("12", True), ("1", False), ("123", False), ("ab", False)])
async def test_password_format(password: str, ok: bool, req: Requests, overrides: SandboxOutcomeOverrides) -> None:
    outcome = await toss(overrides).authorize_card(req.authorize(card=req.card(password_two_digits=password)))
    assert isinstance(outcome, Approved) if ok else outcome == codes.decline(codes.INVALID_PASSWORD)


async def test_owner_fields_are_optional(req: Requests, overrides: SandboxOutcomeOverrides) -> None:
    card = req.card(birth_or_business_registration_number=None, password_two_digits=None)
    assert isinstance(await toss(overrides).authorize_card(req.authorize(card=card)), Approved)


# ------------------------------------------------------------------------------------------- brands and types


@pytest.mark.parametrize(
    ("number", "brand", "card_type", "owner_type", "issuer", "publisher"),
    [
        (C.APPROVE, "VISA", "CREDIT", "PERSONAL", None, None),
        (C.VISA_DEBIT, "VISA", "DEBIT", "PERSONAL", None, None),
        (C.MASTER, "MASTER", "CREDIT", "PERSONAL", None, None),
        (C.MASTER_2_SERIES, "MASTER", "CREDIT", "PERSONAL", None, None),
        (C.MASTER_DEBIT, "MASTER", "DEBIT", "PERSONAL", None, None),
        (C.AMEX, "AMEX", "CREDIT", "PERSONAL", None, None),
        (C.JCB, "JCB", "CREDIT", "PERSONAL", None, None),
        (C.UNIONPAY, "UNIONPAY", "CREDIT", "PERSONAL", None, None),
        (C.DINERS, "DINERS", "CREDIT", "PERSONAL", None, None),
        ("3056930009020004", "DINERS", "CREDIT", "PERSONAL", None, None),
        (C.SHINHAN_CREDIT, "LOCAL", "CREDIT", "PERSONAL", "SHINHAN_CARD", "SHINHAN_CARD"),
        (C.SHINHAN_DEBIT, "LOCAL", "DEBIT", "PERSONAL", "SHINHAN_CARD", "SHINHAN_CARD"),
        (C.SHINHAN_CORPORATE, "LOCAL", "CREDIT", "CORPORATE", "SHINHAN_CARD", "SHINHAN_CARD"),
        (C.SHINHAN_GIFT, "LOCAL", "GIFT", "PERSONAL", "SHINHAN_CARD", "SHINHAN_CARD"),
        (C.SHINHAN_CORPORATE_DEBIT, "LOCAL", "DEBIT", "CORPORATE", "SHINHAN_CARD", "SHINHAN_CARD"),
        (C.KOOKMIN_CREDIT, "LOCAL", "CREDIT", "PERSONAL", "KOOKMIN_CARD", "KOOKMIN_CARD"),
        (C.HYUNDAI_CREDIT, "LOCAL", "CREDIT", "PERSONAL", "HYUNDAI_CARD", "HYUNDAI_CARD"),
        (C.SAMSUNG_CREDIT, "LOCAL", "CREDIT", "PERSONAL", "SAMSUNG_CARD", "SAMSUNG_CARD"),
        (C.BC_WOORI_CREDIT, "LOCAL", "CREDIT", "PERSONAL", "WOORI_CARD", "BC_CARD"),
        (C.HANA_CREDIT, "LOCAL", "CREDIT", "PERSONAL", "HANA_CARD", "HANA_CARD"),
        (C.LOTTE_CREDIT, "LOCAL", "CREDIT", "PERSONAL", "LOTTE_CARD", "LOTTE_CARD"),
        (C.NH_CREDIT, "LOCAL", "CREDIT", "PERSONAL", "NH_CARD", "NH_CARD"),
        ("1234567812345670", "LOCAL", "CREDIT", "PERSONAL", None, None),
    ],
)
async def test_card_info_from_bin(
    number: str,
    brand: str,
    card_type: str,
    owner_type: str,
    issuer: str | None,
    publisher: str | None,
    req: Requests,
    overrides: SandboxOutcomeOverrides,
) -> None:
    outcome = await toss(overrides).authorize_card(req.authorize(number))
    assert isinstance(outcome, Approved) and outcome.card is not None
    card = outcome.card
    assert (card.brand, card.type, card.owner_type, card.issuer, card.publisher) == (
        brand,
        card_type,
        owner_type,
        issuer,
        publisher,
    )
    assert card.name


def test_masking_and_bin() -> None:
    assert mask("4242424242424242") == "42424242****4242"
    assert card_info("4242424242424242").bin == "42424242"
    assert mask("378282246310005") == "378282*****0005"
    assert card_info("378282246310005").bin == "378282"
    assert mask("36227206271667") == "362272****1667"
    assert lookup_bin("2720990000000000").brand == "MASTER"
    assert lookup_bin("2721000000000000").brand == "LOCAL"
    assert lookup_bin("3589000000000000").brand == "JCB"
    assert lookup_bin("3590000000000000").brand == "LOCAL"


# ------------------------------------------------------------------------------------------- installments


@pytest.mark.parametrize(
    ("number", "months", "amount", "ok"),
    [
        (C.APPROVE, None, 1000, True),
        (C.APPROVE, 0, 1000, True),
        (C.APPROVE, 1, 1000, True),
        (C.APPROVE, 3, 50000, True),
        (C.APPROVE, 3, 49999, False),
        (C.APPROVE, 37, 100000, False),
        (C.APPROVE, -1, 100000, False),
        (C.SHINHAN_DEBIT, 3, 100000, False),
        (C.SHINHAN_GIFT, 2, 100000, False),
        (C.SHINHAN_DEBIT, 0, 100000, True),
    ],
)
async def test_installments(
    number: str, months: int | None, amount: int, ok: bool, req: Requests, overrides: SandboxOutcomeOverrides
) -> None:
    request = req.authorize(number, amount=amount, vat_amount=0, installment_month=months)
    outcome = await toss(overrides).authorize_card(request)
    if ok:
        assert isinstance(outcome, Approved)
    else:
        assert isinstance(outcome, Declined) and outcome.pg_code == codes.INVALID_INSTALLMENT_PLAN


async def test_installment_minimum_is_krw_only(req: Requests, overrides: SandboxOutcomeOverrides) -> None:
    request = req.authorize(amount=1000, vat_amount=0, installment_month=3, currency="USD")
    assert isinstance(await toss(overrides).authorize_card(request), Approved)


# ------------------------------------------------------------------------------------------- magic amounts


@pytest.mark.parametrize(
    ("amount", "code"),
    [
        (MagicAmounts.DECLINE, codes.REJECT_CARD_COMPANY),
        (MagicAmounts.INSUFFICIENT_FUNDS, codes.INSUFFICIENT_FUNDS),
        (MagicAmounts.EXCEED_LIMIT, codes.EXCEED_MAX_AMOUNT),
    ],
)
async def test_magic_amount_declines_payment(
    amount: int, code: str, req: Requests, overrides: SandboxOutcomeOverrides
) -> None:
    connector = toss(overrides)
    outcome = await connector.authorize_card(req.authorize(amount=amount, vat_amount=0))
    assert isinstance(outcome, Declined) and outcome.pg_code == code
    issued = await connector.issue_billing_key(req.issue_key())
    assert isinstance(issued, BillingKeyIssued)
    charged = await connector.charge_billing_key(req.charge(issued.pg_billing_key, amount=amount, vat_amount=0))
    assert isinstance(charged, Declined) and charged.pg_code == code


async def test_magic_amount_pending_and_timeout(req: Requests, overrides: SandboxOutcomeOverrides) -> None:
    connector = toss(overrides)
    pending = await connector.authorize_card(req.authorize(amount=MagicAmounts.PENDING, vat_amount=0))
    assert isinstance(pending, PayPending) and pending.pg_tx_id
    with pytest.raises(PgTransportError):
        await connector.authorize_card(req.authorize(amount=MagicAmounts.TRANSPORT_ERROR, vat_amount=0))
    with pytest.raises(PgTransportError):
        await connector.issue_virtual_account(req.issue_va(amount=MagicAmounts.TRANSPORT_ERROR))
    with pytest.raises(PgTransportError):
        await connector.cancel(req.cancel(amount=MagicAmounts.TRANSPORT_ERROR, vat_amount=0))


async def test_magic_amount_card_problems_come_first(req: Requests, overrides: SandboxOutcomeOverrides) -> None:
    outcome = await toss(overrides).authorize_card(req.authorize(C.DECLINE, amount=MagicAmounts.PENDING))
    assert isinstance(outcome, Declined) and outcome.pg_code == codes.REJECT_CARD_COMPANY


async def test_magic_amount_virtual_account(req: Requests, overrides: SandboxOutcomeOverrides) -> None:
    outcome = await toss(overrides).issue_virtual_account(req.issue_va(amount=MagicAmounts.DECLINE))
    assert isinstance(outcome, Declined) and outcome.pg_code == codes.VIRTUAL_ACCOUNT_ISSUE_REJECTED


async def test_magic_amount_cancel(req: Requests, overrides: SandboxOutcomeOverrides) -> None:
    connector = toss(overrides)
    rejected = await connector.cancel(req.cancel(amount=MagicAmounts.DECLINE, vat_amount=0, is_partial=True))
    assert isinstance(rejected, Declined) and rejected.pg_code == codes.CANCEL_REJECTED
    requested = await connector.cancel(req.cancel(amount=MagicAmounts.PENDING, vat_amount=0))
    assert isinstance(requested, CancelRequested)
    normal = await connector.cancel(req.cancel(amount=40_000, vat_amount=0))
    assert isinstance(normal, CancelSucceeded)


# ------------------------------------------------------------------------------------------- slow and pending cards


async def test_slow_card_sleeps_for_env_delay(
    req: Requests, overrides: SandboxOutcomeOverrides, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SLOW_MS_ENV, "5")
    connector = toss(overrides)
    slept: list[float] = []
    real_sleep = asyncio.sleep

    async def spy(delay: float) -> None:
        slept.append(delay)
        await real_sleep(0)

    monkeypatch.setattr("localportone.pg.sandbox.connector.asyncio.sleep", spy)
    assert isinstance(await connector.authorize_card(req.authorize(C.SLOW)), Approved)
    issued = await connector.issue_billing_key(req.issue_key(C.SLOW))
    assert isinstance(issued, BillingKeyIssued)
    assert isinstance(await connector.charge_billing_key(req.charge(issued.pg_billing_key)), Approved)
    assert slept == [0.005, 0.005, 0.005]
    monkeypatch.delenv(SLOW_MS_ENV)
    await connector.authorize_card(req.authorize(C.SLOW))
    assert slept[-1] == 3.0  # the default, read at call time
    monkeypatch.setenv(SLOW_MS_ENV, "not-a-number")
    await connector.authorize_card(req.authorize(C.SLOW))
    assert slept[-1] == 3.0
    await connector.authorize_card(req.authorize(C.APPROVE))
    assert len(slept) == 5  # other cards never sleep


async def test_slow_card_really_waits(
    req: Requests, overrides: SandboxOutcomeOverrides, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SLOW_MS_ENV, "30")
    started = time.monotonic()
    assert isinstance(await toss(overrides).authorize_card(req.authorize(C.SLOW)), Approved)
    assert time.monotonic() - started >= 0.025


async def test_pending_card(req: Requests, overrides: SandboxOutcomeOverrides) -> None:
    connector = toss(overrides)
    outcome = await connector.authorize_card(req.authorize(C.PENDING))
    assert isinstance(outcome, PayPending)
    issued = await connector.issue_billing_key(req.issue_key(C.PENDING))
    assert isinstance(issued, BillingKeyIssued)
    assert isinstance(await connector.charge_billing_key(req.charge(issued.pg_billing_key)), PayPending)


# ------------------------------------------------------------------------------------------- overrides


async def test_forced_decline_applies_once(req: Requests, overrides: SandboxOutcomeOverrides) -> None:
    connector = toss(overrides)
    overrides.force_next(req.channel.key, ForcedOutcome(pg_code="X1", pg_message="forced"))
    assert await connector.authorize_card(req.authorize()) == Declined("X1", "forced")
    assert isinstance(await connector.authorize_card(req.authorize()), Approved)


async def test_forced_outcome_per_operation_and_channel(req: Requests, overrides: SandboxOutcomeOverrides) -> None:
    connector = toss(overrides)
    overrides.force_next(req.channel.key, ForcedOutcome(operation="cancel"), times=2)
    overrides.force_next("other-channel", ForcedOutcome())
    assert isinstance(await connector.authorize_card(req.authorize()), Approved)  # not a cancel
    first = await connector.cancel(req.cancel())
    assert isinstance(first, Declined) and first.pg_code == codes.FORCED_DECLINE
    assert isinstance(await connector.cancel(req.cancel()), Declined)
    assert isinstance(await connector.cancel(req.cancel()), CancelSucceeded)
    assert len(overrides.pending("other-channel")) == 1
    overrides.clear()
    assert overrides.pending("other-channel") == ()


async def test_forced_pending_only_where_it_applies(req: Requests, overrides: SandboxOutcomeOverrides) -> None:
    connector = toss(overrides)
    overrides.force_next(req.channel.key, ForcedOutcome(kind="PENDING"), times=2)
    assert isinstance(await connector.capture(req.capture()), Done)
    assert len(overrides.pending(req.channel.key)) == 2  # capture cannot be pending: not consumed
    assert isinstance(await connector.authorize_card(req.authorize()), PayPending)
    assert isinstance(await connector.cancel(req.cancel()), CancelRequested)


async def test_forced_transport_error(req: Requests, overrides: SandboxOutcomeOverrides) -> None:
    overrides.force_next(req.channel.key, ForcedOutcome(kind="TRANSPORT_ERROR", operation="issue_billing_key"))
    with pytest.raises(PgTransportError):
        await toss(overrides).issue_billing_key(req.issue_key())


def test_force_next_needs_positive_times(overrides: SandboxOutcomeOverrides) -> None:
    with pytest.raises(ValueError):
        overrides.force_next("k", ForcedOutcome(), times=0)


# ------------------------------------------------------------------------------------------- profiles and quirks


def test_registry() -> None:
    providers = [p.pg_provider for p in SANDBOX_PROFILES]
    assert set(providers) >= {"TOSSPAYMENTS", "KCP_V2", "INICIS_V2", "NICE_V2", "KAKAOPAY", "PAYPAL_V2"}
    assert len(providers) == len(set(providers))
    assert any(p.capabilities.async_cancel for p in SANDBOX_PROFILES)
    for profile in SANDBOX_PROFILES:
        assert sandbox_profile(profile.pg_provider) is profile and profile.channel_name and profile.pg_merchant_id
    generic = sandbox_profile("SMARTRO_V2")
    assert generic.pg_company == "SMARTRO" and generic.capabilities.card_instant
    with pytest.raises(UnknownPgProvider):
        get_connector("NOT_A_PG")
    connector = get_connector("TOSSPAYMENTS")
    assert isinstance(connector, SandboxPgConnector) and connector.overrides is SANDBOX_OVERRIDES


async def test_kakaopay_has_no_key_in(overrides: SandboxOutcomeOverrides) -> None:
    req = Requests("KAKAOPAY")
    connector = get_connector("KAKAOPAY", overrides=overrides)
    assert connector.capabilities.easy_pay_provider == "KAKAOPAY"
    for outcome in (
        await connector.authorize_card(req.authorize()),
        await connector.issue_billing_key(req.issue_key()),
        await connector.issue_virtual_account(req.issue_va()),
        await connector.capture(req.capture()),
    ):
        assert isinstance(outcome, Declined) and outcome.pg_code == NOT_SUPPORTED
    assert isinstance(await connector.authorize_card(req.authorize(key_in=False)), Approved)
    issued = await connector.issue_billing_key(req.issue_key(key_in=False))
    assert isinstance(issued, BillingKeyIssued)
    charged = await connector.charge_billing_key(req.charge(issued.pg_billing_key))
    assert isinstance(charged, Approved) and charged.pg_tx_id.startswith("T")


async def test_paypal_cancels_are_async_and_krw_is_refused(overrides: SandboxOutcomeOverrides) -> None:
    req = Requests("PAYPAL_V2")
    connector = get_connector("PAYPAL_V2", overrides=overrides)
    refused = await connector.authorize_card(req.authorize())
    assert isinstance(refused, Declined) and refused.pg_code == codes.UNSUPPORTED_CURRENCY
    approved = await connector.authorize_card(req.authorize(currency="USD", amount=1999, vat_amount=0))
    assert isinstance(approved, Approved) and approved.currency == "USD"
    cancelled = await connector.cancel(req.cancel(amount=1999, vat_amount=0))
    assert isinstance(cancelled, CancelRequested)


async def test_async_refund_switch(req: Requests, overrides: SandboxOutcomeOverrides) -> None:
    request = req.cancel(method="VIRTUAL_ACCOUNT", refund_account=req.refund_account(), async_refund=True)
    assert isinstance(await toss(overrides).cancel(request), CancelRequested)


async def test_va_refund_needs_account(req: Requests, overrides: SandboxOutcomeOverrides) -> None:
    outcome = await toss(overrides).cancel(req.cancel(method="VIRTUAL_ACCOUNT"))
    assert isinstance(outcome, Declined) and outcome.pg_code == codes.REFUND_ACCOUNT_REQUIRED
    ok = await toss(overrides).cancel(req.cancel(method="VIRTUAL_ACCOUNT", refund_account=req.refund_account()))
    assert isinstance(ok, CancelSucceeded)


async def test_nice_refunds_virtual_accounts_only_in_full(overrides: SandboxOutcomeOverrides) -> None:
    req = Requests("NICE_V2")
    connector = get_connector("NICE_V2", overrides=overrides)
    account = req.refund_account()
    partial = await connector.cancel(req.cancel(method="VIRTUAL_ACCOUNT", refund_account=account, is_partial=True))
    assert isinstance(partial, Declined) and partial.pg_code == NOT_SUPPORTED
    full = await connector.cancel(req.cancel(method="VIRTUAL_ACCOUNT", refund_account=account))
    assert isinstance(full, CancelSucceeded)
    card_partial = await connector.cancel(req.cancel(is_partial=True))
    assert isinstance(card_partial, CancelSucceeded)


async def test_inicis_billing_key_needs_owner_auth(overrides: SandboxOutcomeOverrides) -> None:
    req = Requests("INICIS_V2")
    connector = get_connector("INICIS_V2", overrides=overrides)
    bare = req.card(birth_or_business_registration_number=None)
    outcome = await connector.issue_billing_key(req.issue_key(card=bare))
    assert isinstance(outcome, Declined) and outcome.pg_code == codes.MISSING_CARD_OWNER_AUTH
    assert isinstance(await connector.issue_billing_key(req.issue_key()), BillingKeyIssued)
    assert isinstance(await connector.authorize_card(req.authorize(card=bare)), Approved)


async def test_kcp_refuses_internet_bank_virtual_accounts(overrides: SandboxOutcomeOverrides) -> None:
    req = Requests("KCP_V2")
    connector = get_connector("KCP_V2", overrides=overrides)
    outcome = await connector.issue_virtual_account(req.issue_va(bank="KAKAO"))
    assert isinstance(outcome, Declined) and outcome.pg_code == codes.UNSUPPORTED_BANK
    assert not isinstance(await toss(overrides).issue_virtual_account(req.issue_va(bank="KAKAO")), Declined)


@pytest.mark.parametrize("bank", ["BANK_OF_KOREA", "KB_SECURITIES", "NOT_A_BANK"])
async def test_unsupported_banks(bank: str, req: Requests, overrides: SandboxOutcomeOverrides) -> None:
    outcome = await toss(overrides).issue_virtual_account(req.issue_va(bank=bank))
    assert isinstance(outcome, Declined) and outcome.pg_code == codes.UNSUPPORTED_BANK


@pytest.mark.parametrize("provider", [p.pg_provider for p in SANDBOX_PROFILES])
async def test_pg_response_shape(provider: str, overrides: SandboxOutcomeOverrides) -> None:
    req = Requests(provider)
    req.currency = "USD"
    outcome = await get_connector(provider, overrides=overrides).authorize_card(req.authorize(key_in=False))
    assert isinstance(outcome, Approved)
    body = json.loads(outcome.pg_response)
    assert body["sandbox"] is True
    assert outcome.pg_tx_id in outcome.pg_response
    assert outcome.receipt_url and provider in outcome.receipt_url


async def test_zero_amount_is_declined(req: Requests, overrides: SandboxOutcomeOverrides) -> None:
    outcome = await toss(overrides).authorize_card(dataclasses.replace(req.authorize(), amount=0, vat_amount=0))
    assert isinstance(outcome, Declined) and outcome.pg_code == codes.INVALID_AMOUNT
