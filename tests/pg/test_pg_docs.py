"""docs/sandbox-pg.md lists every magic value the sandbox PG knows."""

from __future__ import annotations

from pathlib import Path

import pytest

from localportone.pg.registry import SANDBOX_PROFILES
from localportone.pg.sandbox import codes
from localportone.pg.sandbox.scenarios import SLOW_MS_ENV, MagicAmounts, SandboxCards

DOC = Path(__file__).resolve().parents[2] / "docs" / "sandbox-pg.md"


@pytest.fixture(scope="module")
def doc() -> str:
    return DOC.read_text(encoding="utf-8")


def test_every_test_card_is_documented(doc: str) -> None:
    numbers = [v for k, v in vars(SandboxCards).items() if k.isupper()]
    assert numbers and [n for n in numbers if f"`{n}`" not in doc] == []


def test_every_magic_amount_is_documented(doc: str) -> None:
    amounts = [v for k, v in vars(MagicAmounts).items() if k.isupper()]
    assert [a for a in amounts if f"`{a}`" not in doc] == []


def test_every_code_and_message_is_documented(doc: str) -> None:
    assert [c for c, m in codes.MESSAGES.items() if f"| `{c}` | {m} |" not in doc] == []


def test_every_profile_is_documented(doc: str) -> None:
    for profile in SANDBOX_PROFILES:
        assert f"| `{profile.pg_provider}` | {profile.channel_name} | `{profile.pg_merchant_id}` |" in doc
    assert SLOW_MS_ENV in doc
