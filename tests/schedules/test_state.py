"""The pure rules of schedules, edge by edge."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from localportone.schedules.state import (
    Status,
    check_amounts,
    check_revocable,
    list_window,
    result_of_payment,
    status_timestamp,
)
from localportone.wire.errors import (
    InvalidRequestError,
    PaymentScheduleAlreadyProcessedError,
    PaymentScheduleAlreadyRevokedError,
    SumOfPartsExceedsTotalAmountError,
)

NOW = datetime(2030, 6, 1, tzinfo=UTC)


def test_list_window_defaults() -> None:
    assert list_window(NOW, None, None) == (NOW - timedelta(days=90), NOW)
    until = NOW + timedelta(days=365)
    assert list_window(NOW, None, until) == (until - timedelta(days=90), until)
    since = NOW - timedelta(days=1)
    assert list_window(NOW, since, None) == (since, NOW)


@given(total=st.integers(1, 10**12), tax_free=st.integers(0, 10**12), vat=st.integers(0, 10**12))
def test_parts_fit_in_the_total_or_409(total: int, tax_free: int, vat: int) -> None:
    if tax_free + vat > total:
        with pytest.raises(SumOfPartsExceedsTotalAmountError):
            check_amounts(total, tax_free, vat)
    else:
        check_amounts(total, tax_free, vat)


@pytest.mark.parametrize(("total", "tax_free", "vat"), [(0, None, None), (-5, None, None), (10, -1, None),
                                                        (10, None, -1)])
def test_impossible_amounts_are_400(total: int, tax_free: int | None, vat: int | None) -> None:
    with pytest.raises(InvalidRequestError):
        check_amounts(total, tax_free, vat)


def test_only_scheduled_schedules_are_revocable() -> None:
    check_revocable("s", Status.SCHEDULED)
    with pytest.raises(PaymentScheduleAlreadyRevokedError):
        check_revocable("s", Status.REVOKED)
    for status in (Status.STARTED, Status.SUCCEEDED, Status.FAILED, Status.PENDING):
        with pytest.raises(PaymentScheduleAlreadyProcessedError):
            check_revocable("s", status)


@pytest.mark.parametrize(("payment", "schedule"), [
    ("PAID", Status.SUCCEEDED), ("PARTIAL_CANCELLED", Status.SUCCEEDED), ("CANCELLED", Status.SUCCEEDED),
    ("PAY_PENDING", Status.PENDING), ("FAILED", Status.FAILED), ("READY", Status.FAILED), (None, Status.FAILED),
])
def test_a_run_ends_as_its_payment(payment: str | None, schedule: Status) -> None:
    assert result_of_payment(payment).status == schedule


def test_status_timestamp() -> None:
    ttp, started, completed = NOW, NOW + timedelta(seconds=1), NOW + timedelta(seconds=2)
    assert status_timestamp(Status.SCHEDULED, ttp, None, None, None) == ttp
    assert status_timestamp(Status.STARTED, ttp, started, None, None) == started
    assert status_timestamp(Status.SUCCEEDED, ttp, started, completed, None) == completed
    assert status_timestamp(Status.REVOKED, ttp, None, None, started) == started
