"""Pure kernel rules: integer money, the wire time format, id shapes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from localportone.kernel import ids, money
from localportone.kernel.clock import Clock, parse_wire, to_wire
from localportone.kernel.pagination import decode_cursor, encode_cursor


@given(st.integers(min_value=-(10**15), max_value=10**15), st.integers(min_value=1, max_value=10**6))
def test_round_half_up_div_matches_exact_rational_rounding(n: int, d: int) -> None:
    from fractions import Fraction

    exact = Fraction(abs(n), d)
    expected = int(exact) + (1 if exact - int(exact) >= Fraction(1, 2) else 0)
    assert money.round_half_up_div(n, d) == (expected if n >= 0 else -expected)


@given(st.integers(min_value=0, max_value=10**15))
def test_vat_is_an_int_and_supply_adds_up(taxable: int) -> None:
    vat = money.vat_of(taxable)
    assert isinstance(vat, int)
    assert money.supply_of(taxable, 0, vat) + vat == taxable
    assert abs(vat * 11 - taxable) <= 6  # within half of one unit of /11


def test_vat_examples() -> None:
    assert money.vat_of(8900) == 809
    assert money.vat_of(1000) == 91
    assert money.vat_of(11) == 1
    assert money.vat_of(5) == 0
    assert money.vat_of(6) == 1


def test_wire_time_format_and_parse() -> None:
    value = datetime(2025, 1, 2, 3, 4, 5, 678_901, tzinfo=UTC)
    assert to_wire(value) == "2025-01-02T03:04:05.678Z"
    kst = timezone(timedelta(hours=9))
    assert to_wire(datetime(2025, 1, 2, 12, 0, tzinfo=kst)) == "2025-01-02T03:00:00.000Z"
    assert parse_wire("2025-01-02T03:04:05.678Z") == datetime(2025, 1, 2, 3, 4, 5, 678_000, tzinfo=UTC)
    with pytest.raises(ValueError):
        parse_wire("2025-01-02T03:04:05")


def test_clock_offset_and_listeners() -> None:
    clock = Clock(cache_seconds=60)
    woke: list[int] = []
    clock.on_change(lambda: woke.append(1))
    before = clock.now()
    clock.load(3_600_000_000)
    assert clock.now() - before >= timedelta(hours=1)
    assert woke == [1]
    clock.load(3_600_000_000)
    assert woke == [1]  # no change, no wake-up
    assert not clock.is_stale()


def test_ids_have_portone_shapes_and_uuid7_sorts_by_time() -> None:
    assert ids.store_id().startswith("store-")
    assert ids.billing_key().startswith("billing-key-")
    assert ids.channel_key("store-1", "TOSSPAYMENTS") == ids.channel_key("store-1", "TOSSPAYMENTS")
    assert ids.channel_group_id("s", "g", is_test=True).startswith("channel-group-test-")
    values = [ids.uuid7() for _ in range(50)]
    assert all(v[14] == "7" for v in values)
    secret = ids.api_secret()
    assert len(secret) == 80 and secret.isalnum()
    assert ids.webhook_secret().startswith("whsec_")


def test_cursor_round_trip() -> None:
    cursor = encode_cursor("2025-01-01T00:00:00.000Z", "payment-1")
    assert decode_cursor(cursor, 2) == ["2025-01-01T00:00:00.000Z", "payment-1"]
    assert decode_cursor("!!!", 2) is None
    assert decode_cursor(cursor, 3) is None
