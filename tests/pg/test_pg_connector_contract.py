"""What every PgConnector must satisfy, run against every sandbox profile.

A new PG integration adds a case to ``CASES`` (a factory and the test card/currency it approves with).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest

from localportone.pg.connector import (
    AUTHORIZE_OUTCOMES,
    BILLING_KEY_OUTCOMES,
    CANCEL_OUTCOMES,
    DONE_OUTCOMES,
    NOT_SUPPORTED,
    VIRTUAL_ACCOUNT_OUTCOMES,
    Approved,
    AuthorizeCard,
    BillingKeyIssued,
    CancelPayment,
    CancelRequested,
    CancelSucceeded,
    CardInfo,
    ChargeBillingKey,
    Declined,
    Done,
    IssueVirtualAccount,
    PgCapabilities,
    PgConnector,
    PgTransportError,
    VirtualAccountIssued,
)
from localportone.pg.registry import SANDBOX_PROFILES, get_connector, sandbox_profile
from localportone.pg.sandbox.overrides import ForcedOutcome, SandboxOutcomeOverrides
from localportone.pg.sandbox.scenarios import SandboxCards

from .conftest import Requests

CARD_BRANDS = {"LOCAL", "MASTER", "UNIONPAY", "VISA", "JCB", "AMEX", "DINERS"}
CARD_TYPES = {"CREDIT", "DEBIT", "GIFT"}
CARD_OWNER_TYPES = {"PERSONAL", "CORPORATE"}


@dataclass
class Case:
    pg_provider: str
    make: Callable[[SandboxOutcomeOverrides], PgConnector]
    currency: str
    approve_card: str = SandboxCards.APPROVE
    decline_card: str = SandboxCards.DECLINE


def _sandbox_case(pg_provider: str) -> Case:
    profile = sandbox_profile(pg_provider)
    currencies = profile.currencies
    currency = "KRW" if currencies is None or "KRW" in currencies else "USD"
    return Case(pg_provider, lambda overrides: get_connector(pg_provider, overrides=overrides), currency)


CASES = [_sandbox_case(p) for p in [*(p.pg_provider for p in SANDBOX_PROFILES), "SMARTRO_V2"]]


@pytest.fixture(params=CASES, ids=lambda c: c.pg_provider)
def case(request: pytest.FixtureRequest) -> Case:
    return request.param


@pytest.fixture
def connector(case: Case, overrides: SandboxOutcomeOverrides) -> PgConnector:
    return case.make(overrides)


@pytest.fixture
def rq(case: Case) -> Requests:
    requests = Requests(case.pg_provider, pg_merchant_id=f"mid-{case.pg_provider.lower()}")
    requests.currency = case.currency
    return requests


def _key_in(connector: PgConnector) -> bool:
    return connector.capabilities.card_instant


def _walk(value: Any) -> Iterator[Any]:
    yield value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        for field in dataclasses.fields(value):
            yield from _walk(getattr(value, field.name))
    elif isinstance(value, dict):
        for item in value.values():
            yield from _walk(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _walk(item)


def _no_float_json(_: str) -> Any:
    raise AssertionError("float in pg_response")


def assert_no_float(outcome: object) -> None:
    for value in _walk(outcome):
        assert not isinstance(value, float), f"float in {outcome!r}"
        if isinstance(value, datetime):
            assert value.tzinfo is not None
    if isinstance(outcome, Approved):
        json.loads(outcome.pg_response, parse_float=_no_float_json)


def assert_card_info(card: CardInfo, number: str) -> None:
    assert card.brand in CARD_BRANDS
    assert card.type in CARD_TYPES
    assert card.owner_type in CARD_OWNER_TYPES
    assert number.startswith(card.bin) and len(card.bin) in (6, 8)
    assert card.number.endswith(number[-4:]) and "*" in card.number and len(card.number) == len(number)
    assert number not in repr(card)


def test_capabilities_are_declared(connector: PgConnector) -> None:
    caps = connector.capabilities
    assert isinstance(caps, PgCapabilities)
    for field in dataclasses.fields(caps):
        value = getattr(caps, field.name)
        if field.name == "easy_pay_provider":
            assert value is None or isinstance(value, str)
        else:
            assert isinstance(value, bool), field.name


async def test_authorize_approves_with_request_amount_and_currency(
    case: Case, connector: PgConnector, rq: Requests
) -> None:
    request = rq.authorize(case.approve_card, amount=12345, vat_amount=1122, key_in=_key_in(connector))
    outcome = await connector.authorize_card(request)
    assert isinstance(outcome, Approved), outcome
    assert outcome.amount == request.amount and type(outcome.amount) is int
    assert outcome.currency == request.currency
    assert outcome.approved_at == request.now
    assert outcome.pg_tx_id
    assert outcome.card is not None
    assert_card_info(outcome.card, case.approve_card)
    assert case.approve_card not in outcome.pg_response
    assert isinstance(json.loads(outcome.pg_response), dict)
    assert_no_float(outcome)


async def test_key_in_authorize_without_capability_is_declined(connector: PgConnector, rq: Requests) -> None:
    outcome = await connector.authorize_card(rq.authorize(key_in=True))
    if connector.capabilities.card_instant:
        assert isinstance(outcome, Approved)
    else:
        assert isinstance(outcome, Declined) and outcome.pg_code == NOT_SUPPORTED


async def test_decline_is_a_value(case: Case, connector: PgConnector, rq: Requests) -> None:
    outcome = await connector.authorize_card(rq.authorize(case.decline_card, key_in=_key_in(connector)))
    assert isinstance(outcome, Declined)
    assert outcome.pg_code and outcome.pg_message
    assert isinstance(outcome, AUTHORIZE_OUTCOMES)


async def test_ids_are_deterministic_and_unique(connector: PgConnector, rq: Requests) -> None:
    key_in = _key_in(connector)
    first = await connector.authorize_card(rq.authorize(transaction_id="tx-a", key_in=key_in))
    again = await connector.authorize_card(rq.authorize(transaction_id="tx-a", key_in=key_in))
    other = await connector.authorize_card(rq.authorize(transaction_id="tx-b", key_in=key_in))
    assert isinstance(first, Approved) and isinstance(again, Approved) and isinstance(other, Approved)
    assert first.pg_tx_id == again.pg_tx_id and first.approval_number == again.approval_number
    assert first.pg_tx_id != other.pg_tx_id


async def test_billing_key_lifecycle(case: Case, connector: PgConnector, rq: Requests) -> None:
    issued = await connector.issue_billing_key(rq.issue_key(case.approve_card, key_in=_key_in(connector)))
    assert isinstance(issued, BILLING_KEY_OUTCOMES)
    if not connector.capabilities.billing_key:
        assert isinstance(issued, Declined) and issued.pg_code == NOT_SUPPORTED
        charged = await connector.charge_billing_key(rq.charge("any-key"))
        assert isinstance(charged, Declined) and charged.pg_code == NOT_SUPPORTED
        deleted = await connector.delete_billing_key(rq.delete_key("any-key"))
        assert isinstance(deleted, Declined) and deleted.pg_code == NOT_SUPPORTED
        return
    assert isinstance(issued, BillingKeyIssued), issued
    assert case.approve_card not in issued.pg_billing_key
    assert_card_info(issued.card, case.approve_card)
    charge = rq.charge(issued.pg_billing_key, amount=55000, vat_amount=5000)
    charged = await connector.charge_billing_key(charge)
    assert isinstance(charged, Approved), charged
    assert (charged.amount, charged.currency) == (charge.amount, charge.currency)
    assert charged.card == issued.card
    assert_no_float(charged)
    deleted = await connector.delete_billing_key(rq.delete_key(issued.pg_billing_key))
    assert isinstance(deleted, Done) and deleted.at == rq.now


async def test_virtual_account(connector: PgConnector, rq: Requests) -> None:
    issued = await connector.issue_virtual_account(rq.issue_va())
    closed = await connector.close_virtual_account(rq.close_va())
    assert isinstance(issued, VIRTUAL_ACCOUNT_OUTCOMES) and isinstance(closed, DONE_OUTCOMES)
    if not connector.capabilities.virtual_account:
        assert isinstance(issued, Declined) and issued.pg_code == NOT_SUPPORTED
        assert isinstance(closed, Declined) and closed.pg_code == NOT_SUPPORTED
        return
    assert isinstance(issued, VirtualAccountIssued), issued
    assert issued.bank == "SHINHAN" and issued.account_type == "NORMAL"
    assert issued.account_number.isdigit()
    assert issued.issued_at == rq.now and issued.expired_at > rq.now
    assert issued.remittee_name
    assert_no_float(issued)
    assert closed == Done(at=rq.now)


async def test_full_cancel(connector: PgConnector, rq: Requests) -> None:
    outcome = await connector.cancel(rq.cancel())
    assert isinstance(outcome, CANCEL_OUTCOMES)
    if connector.capabilities.async_cancel:
        assert isinstance(outcome, CancelRequested)
    else:
        assert isinstance(outcome, CancelSucceeded) and outcome.cancelled_at == rq.now
    assert outcome.pg_cancellation_id


async def test_partial_cancel(connector: PgConnector, rq: Requests) -> None:
    outcome = await connector.cancel(rq.cancel(amount=1000, vat_amount=91, is_partial=True))
    if connector.capabilities.partial_cancel:
        assert isinstance(outcome, CancelSucceeded | CancelRequested)
    else:
        assert isinstance(outcome, Declined) and outcome.pg_code == NOT_SUPPORTED


async def test_capture(connector: PgConnector, rq: Requests) -> None:
    outcome = await connector.capture(rq.capture())
    if connector.capabilities.capture:
        assert outcome == Done(at=rq.now)
    else:
        assert isinstance(outcome, Declined) and outcome.pg_code == NOT_SUPPORTED


async def test_only_transport_failures_raise(
    connector: PgConnector, rq: Requests, overrides: SandboxOutcomeOverrides
) -> None:
    overrides.force_next(rq.channel.key, ForcedOutcome(kind="TRANSPORT_ERROR"))
    with pytest.raises(PgTransportError):
        await connector.capture(rq.capture())


def test_requests_refuse_float_money(rq: Requests) -> None:
    request = rq.authorize()
    with pytest.raises(TypeError):
        dataclasses.replace(request, amount=8900.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        dataclasses.replace(request, vat_amount=True)
    with pytest.raises(TypeError):
        ChargeBillingKey(**{**_fields(rq.charge("k")), "amount": 1.5})
    with pytest.raises(TypeError):
        CancelPayment(**{**_fields(rq.cancel()), "tax_free_amount": 0.0})
    with pytest.raises(TypeError):
        IssueVirtualAccount(**{**_fields(rq.issue_va()), "amount": 100.0})


def test_requests_need_an_aware_now(rq: Requests) -> None:
    with pytest.raises(ValueError):
        dataclasses.replace(rq.authorize(), now=datetime(2025, 1, 1))


def test_approved_refuses_float_amount() -> None:
    with pytest.raises(TypeError):
        Approved("tx", 1.0, "KRW", datetime.now().astimezone(), None, None, None, "{}")  # type: ignore[arg-type]


def test_card_credential_repr_masks_the_number(rq: Requests) -> None:
    assert SandboxCards.APPROVE not in repr(rq.card())
    assert SandboxCards.APPROVE not in repr(rq.authorize())


def _fields(obj: Any) -> dict[str, Any]:
    return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}


def test_authorize_card_signature_matches_brief() -> None:
    names = [f.name for f in dataclasses.fields(AuthorizeCard)]
    assert names[:11] == [
        "channel",
        "payment_id",
        "transaction_id",
        "order_name",
        "amount",
        "tax_free_amount",
        "vat_amount",
        "currency",
        "card",
        "installment_month",
        "now",
    ]
