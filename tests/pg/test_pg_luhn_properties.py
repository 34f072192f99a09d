"""Property tests: Luhn-valid numbers approve, any one-digit change of a valid number is refused as invalid."""

from __future__ import annotations

import asyncio

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from localportone.pg.connector import Approved, Declined
from localportone.pg.registry import sandbox_profile
from localportone.pg.sandbox import codes
from localportone.pg.sandbox.cards import luhn_check_digit, luhn_valid
from localportone.pg.sandbox.connector import SandboxPgConnector
from localportone.pg.sandbox.overrides import SandboxOutcomeOverrides
from localportone.pg.sandbox.scenarios import MAGIC_CARDS

from .conftest import Requests

CONNECTOR = SandboxPgConnector(sandbox_profile("TOSSPAYMENTS"), SandboxOutcomeOverrides())
REQ = Requests()


@st.composite
def luhn_numbers(draw: st.DrawFn) -> str:
    length = draw(st.integers(min_value=13, max_value=19))
    first = draw(st.sampled_from("123456789"))
    body = draw(st.text(alphabet="0123456789", min_size=length - 2, max_size=length - 2))
    partial = first + body
    return partial + luhn_check_digit(partial)


def authorize(number: str) -> object:
    return asyncio.run(CONNECTOR.authorize_card(REQ.authorize(card=REQ.card(number))))


@settings(max_examples=150, deadline=None)
@given(luhn_numbers())
def test_luhn_valid_numbers_approve(number: str) -> None:
    assume(number not in MAGIC_CARDS)
    assert luhn_valid(number)
    outcome = authorize(number)
    assert isinstance(outcome, Approved), outcome
    assert outcome.card is not None and outcome.card.number.endswith(number[-4:])


@settings(max_examples=150, deadline=None)
@given(luhn_numbers(), st.data())
def test_one_digit_change_is_invalid(number: str, data: st.DataObject) -> None:
    position = data.draw(st.integers(min_value=0, max_value=len(number) - 1))
    replacement = data.draw(st.sampled_from([d for d in "0123456789" if d != number[position]]))
    changed = number[:position] + replacement + number[position + 1 :]
    assert not luhn_valid(changed)
    outcome = authorize(changed)
    assert isinstance(outcome, Declined) and outcome.pg_code == codes.INVALID_CARD_NUMBER


def test_known_numbers() -> None:
    assert all(luhn_valid(number) for number in MAGIC_CARDS)
    assert luhn_valid("4242424242424242") and not luhn_valid("4242424242424241")
    assert not luhn_valid("") and not luhn_valid("42a2")
