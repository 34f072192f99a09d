"""Billing keys: the subscription round trip, opacity, and what a key remembers."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest

from localportone.pg.connector import Approved, BillingKeyIssued, Declined, Done
from localportone.pg.registry import get_connector, sandbox_profile
from localportone.pg.sandbox import codes
from localportone.pg.sandbox.billing_keys import decode_billing_key
from localportone.pg.sandbox.connector import SandboxPgConnector
from localportone.pg.sandbox.overrides import SandboxOutcomeOverrides
from localportone.pg.sandbox.scenarios import SandboxCards, Scenario

from .conftest import Requests


@pytest.fixture
def connector(overrides: SandboxOutcomeOverrides) -> SandboxPgConnector:
    return SandboxPgConnector(sandbox_profile("TOSSPAYMENTS"), overrides)


async def issue(connector: SandboxPgConnector, req: Requests, number: str, **kw: object) -> BillingKeyIssued:
    issued = await connector.issue_billing_key(req.issue_key(number, **kw))
    assert isinstance(issued, BillingKeyIssued), issued
    return issued


async def test_round_trip_approves(connector: SandboxPgConnector, req: Requests) -> None:
    issued = await issue(connector, req, SandboxCards.APPROVE)
    assert issued.card.number == "42424242****4242"
    for month in range(1, 4):  # a monthly subscription
        charge = req.charge(
            issued.pg_billing_key, transaction_id=f"tx-{month}", now=datetime(2025, month + 3, 1, tzinfo=UTC)
        )
        outcome = await connector.charge_billing_key(charge)
        assert isinstance(outcome, Approved) and outcome.amount == charge.amount
        assert outcome.card == issued.card


async def test_charges_decline_card_issues_but_every_charge_declines(
    connector: SandboxPgConnector, req: Requests
) -> None:
    issued = await issue(connector, req, SandboxCards.CHARGES_DECLINE)
    for month in range(1, 4):
        outcome = await connector.charge_billing_key(req.charge(issued.pg_billing_key, transaction_id=f"tx-{month}"))
        assert isinstance(outcome, Declined) and outcome.pg_code == codes.REJECT_CARD_COMPANY


async def test_charges_insufficient_funds_card(connector: SandboxPgConnector, req: Requests) -> None:
    issued = await issue(connector, req, SandboxCards.CHARGES_INSUFFICIENT_FUNDS)
    outcome = await connector.charge_billing_key(req.charge(issued.pg_billing_key))
    assert isinstance(outcome, Declined) and outcome.pg_code == codes.INSUFFICIENT_FUNDS


async def test_key_is_opaque_and_holds_no_pan(connector: SandboxPgConnector, req: Requests) -> None:
    number = SandboxCards.SHINHAN_CORPORATE
    first = await issue(connector, req, number)
    second = await issue(connector, req, number)
    assert first.pg_billing_key != second.pg_billing_key  # a random part
    for key in (first.pg_billing_key, second.pg_billing_key):
        assert number not in key
        body = key.removeprefix("sbk1_").rpartition("_")[0]
        decoded = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode()
        assert number not in decoded
    data = decode_billing_key(first.pg_billing_key)
    assert data is not None
    assert (data.pg_provider, data.scenario, data.bin, data.last4, data.length, data.expiry_yymm) == (
        "TOSSPAYMENTS",
        Scenario.APPROVE,
        number[:8],
        number[-4:],
        16,
        "3012",
    )
    charged = await connector.charge_billing_key(req.charge(first.pg_billing_key))
    assert isinstance(charged, Approved) and charged.card is not None
    assert (charged.card.owner_type, charged.card.issuer) == ("CORPORATE", "SHINHAN_CARD")


@pytest.mark.parametrize("key", ["", "billing-key-123", "sbk1_", "sbk1_abc_def", "sbk1_!!!_00000000"])
async def test_garbage_keys_are_declined(key: str, connector: SandboxPgConnector, req: Requests) -> None:
    outcome = await connector.charge_billing_key(req.charge(key))
    assert isinstance(outcome, Declined) and outcome.pg_code == codes.INVALID_BILLING_KEY
    deleted = await connector.delete_billing_key(req.delete_key(key))
    assert isinstance(deleted, Declined) and deleted.pg_code == codes.INVALID_BILLING_KEY


async def test_altered_key_is_declined(connector: SandboxPgConnector, req: Requests) -> None:
    issued = await issue(connector, req, SandboxCards.CHARGES_DECLINE)
    data = decode_billing_key(issued.pg_billing_key)
    assert data is not None
    body, _, check = issued.pg_billing_key.removeprefix("sbk1_").rpartition("_")
    payload = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode().replace("CHARGES_DECLINE", "APPROVE")
    forged = "sbk1_" + base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=") + "_" + check
    outcome = await connector.charge_billing_key(req.charge(forged))
    assert isinstance(outcome, Declined) and outcome.pg_code == codes.INVALID_BILLING_KEY


async def test_key_of_another_pg_is_declined(req: Requests, overrides: SandboxOutcomeOverrides) -> None:
    issued = await issue(SandboxPgConnector(sandbox_profile("TOSSPAYMENTS"), overrides), req, SandboxCards.APPROVE)
    kcp = get_connector("KCP_V2", overrides=overrides)
    outcome = await kcp.charge_billing_key(Requests("KCP_V2").charge(issued.pg_billing_key))
    assert isinstance(outcome, Declined) and outcome.pg_code == codes.INVALID_BILLING_KEY


async def test_charge_after_card_expiry_declines(connector: SandboxPgConnector, req: Requests) -> None:
    card = req.card(expiry_year="25", expiry_month="06")
    issued = await issue(connector, req, SandboxCards.APPROVE, card=card)
    june = await connector.charge_billing_key(req.charge(issued.pg_billing_key, now=datetime(2025, 6, 30, tzinfo=UTC)))
    assert isinstance(june, Approved)
    july = await connector.charge_billing_key(req.charge(issued.pg_billing_key, now=datetime(2025, 7, 1, tzinfo=UTC)))
    assert isinstance(july, Declined) and july.pg_code == codes.EXPIRED_CARD


async def test_delete(connector: SandboxPgConnector, req: Requests) -> None:
    issued = await issue(connector, req, SandboxCards.APPROVE)
    assert await connector.delete_billing_key(req.delete_key(issued.pg_billing_key)) == Done(at=req.now)
