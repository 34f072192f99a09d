"""Virtual accounts: expiry computation, deterministic numbers, NORMAL vs FIXED."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from localportone.pg.connector import Declined, VirtualAccountIssued
from localportone.pg.registry import sandbox_profile
from localportone.pg.sandbox import codes
from localportone.pg.sandbox.cards import KST
from localportone.pg.sandbox.connector import SandboxPgConnector, virtual_account_expiry
from localportone.pg.sandbox.overrides import SandboxOutcomeOverrides

from .conftest import NOW, Requests


@pytest.fixture
def connector(overrides: SandboxOutcomeOverrides) -> SandboxPgConnector:
    return SandboxPgConnector(sandbox_profile("TOSSPAYMENTS"), overrides)


def expiry(**kw: object) -> datetime | Declined:
    return virtual_account_expiry(now=NOW, default_valid_hours=168, **kw)  # type: ignore[arg-type]


def test_valid_hours() -> None:
    assert expiry(valid_hours=24, due_date=None) == NOW + timedelta(hours=24)
    assert expiry(valid_hours=1, due_date=None) == NOW + timedelta(hours=1)


def test_default_validity() -> None:
    assert expiry(valid_hours=None, due_date=None) == NOW + timedelta(hours=168)


def test_due_date_is_end_of_that_day_in_kst() -> None:
    # 2025-03-20 16:00 UTC is 2025-03-21 01:00 KST: the account expires at the end of the 21st, KST
    result = expiry(valid_hours=None, due_date=datetime(2025, 3, 20, 16, 0, tzinfo=UTC))
    assert result == datetime(2025, 3, 21, 23, 59, 59, tzinfo=KST)
    assert result == datetime(2025, 3, 21, 14, 59, 59, tzinfo=UTC)
    assert isinstance(result, datetime) and result.utcoffset() == timedelta(0)  # in now's timezone


def test_due_date_other_offsets_and_naive() -> None:
    pst = timezone(timedelta(hours=-8))
    # 2025-03-20 10:00 PST = 2025-03-21 03:00 KST
    assert expiry(valid_hours=None, due_date=datetime(2025, 3, 20, 10, 0, tzinfo=pst)) == datetime(
        2025, 3, 21, 23, 59, 59, tzinfo=KST
    )
    assert expiry(valid_hours=None, due_date=datetime(2025, 3, 20)) == datetime(2025, 3, 20, 23, 59, 59, tzinfo=KST)


def test_due_date_today_is_still_valid() -> None:
    # NOW is 2025-03-15 12:00 KST
    assert expiry(valid_hours=None, due_date=datetime(2025, 3, 15, 0, 0, tzinfo=KST)) == datetime(
        2025, 3, 15, 23, 59, 59, tzinfo=KST
    )


@pytest.mark.parametrize(
    "kw",
    [
        {"valid_hours": 0, "due_date": None},
        {"valid_hours": -5, "due_date": None},
        {"valid_hours": 24, "due_date": datetime(2025, 3, 20, tzinfo=UTC)},
        {"valid_hours": None, "due_date": datetime(2025, 3, 14, 0, 0, tzinfo=KST)},
    ],
)
def test_invalid_expiry(kw: dict[str, object]) -> None:
    result = expiry(**kw)
    assert isinstance(result, Declined) and result.pg_code == codes.INVALID_VIRTUAL_ACCOUNT_EXPIRY


async def test_issue_uses_expiry(connector: SandboxPgConnector, req: Requests) -> None:
    outcome = await connector.issue_virtual_account(
        req.issue_va(valid_hours=None, due_date=datetime(2025, 3, 20, tzinfo=KST))
    )
    assert isinstance(outcome, VirtualAccountIssued)
    assert outcome.expired_at == datetime(2025, 3, 20, 23, 59, 59, tzinfo=KST)
    assert outcome.issued_at == NOW
    declined = await connector.issue_virtual_account(req.issue_va(valid_hours=0))
    assert isinstance(declined, Declined) and declined.pg_code == codes.INVALID_VIRTUAL_ACCOUNT_EXPIRY


async def test_normal_account_numbers_are_deterministic(connector: SandboxPgConnector, req: Requests) -> None:
    first = await connector.issue_virtual_account(req.issue_va(transaction_id="tx-1"))
    again = await connector.issue_virtual_account(req.issue_va(transaction_id="tx-1"))
    other = await connector.issue_virtual_account(req.issue_va(transaction_id="tx-2"))
    assert isinstance(first, VirtualAccountIssued) and isinstance(again, VirtualAccountIssued)
    assert isinstance(other, VirtualAccountIssued)
    assert first.account_number == again.account_number and first.pg_tx_id == again.pg_tx_id
    assert first.account_number != other.account_number and first.pg_tx_id != other.pg_tx_id
    assert len(first.account_number) == 14 and first.account_number.isdigit()
    assert first.account_type == "NORMAL"
    assert first.remittee_name == sandbox_profile("TOSSPAYMENTS").remittee_name


async def test_fixed_accounts(connector: SandboxPgConnector, req: Requests) -> None:
    given = await connector.issue_virtual_account(
        req.issue_va(account_type="FIXED", fixed_account_number="11122233344455", remittee_name="Shop Inc.")
    )
    assert isinstance(given, VirtualAccountIssued)
    assert (given.account_number, given.account_type, given.remittee_name) == ("11122233344455", "FIXED", "Shop Inc.")
    by_id_1 = await connector.issue_virtual_account(
        req.issue_va(account_type="FIXED", fixed_pg_account_id="acct-7", transaction_id="tx-1")
    )
    by_id_2 = await connector.issue_virtual_account(
        req.issue_va(account_type="FIXED", fixed_pg_account_id="acct-7", transaction_id="tx-2")
    )
    assert isinstance(by_id_1, VirtualAccountIssued) and isinstance(by_id_2, VirtualAccountIssued)
    assert by_id_1.account_number == by_id_2.account_number  # the same account is reused
    assert by_id_1.pg_tx_id != by_id_2.pg_tx_id
    missing = await connector.issue_virtual_account(req.issue_va(account_type="FIXED"))
    assert isinstance(missing, Declined) and missing.pg_code == codes.INVALID_FIXED_ACCOUNT
