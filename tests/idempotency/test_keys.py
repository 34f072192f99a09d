"""Pure rules of the Idempotency-Key header and of stored records."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from localportone.idempotency import keys

NOW = datetime(2025, 1, 1, tzinfo=UTC)
TOKEN = st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters='"\\'),
                min_size=16, max_size=256)


@given(TOKEN)
def test_bare_and_quoted_forms_agree(key: str) -> None:
    assert keys.parse_key(key.encode()) == key
    assert keys.parse_key(f'"{key}"'.encode()) == key


@pytest.mark.parametrize("raw", [b"a" * 15, b"a" * 257, b'"' + b"a" * 15 + b'"', b'"abc', b"\xea\xb0\x80" * 8,
                                 b"has space in the middle", b'"' + b"a" * 16 + b'"tail'])
def test_rejected(raw: bytes) -> None:
    with pytest.raises(keys.InvalidKey):
        keys.parse_key(raw)


def test_escapes_in_quoted_strings() -> None:
    assert keys.parse_key(rb'"a\"b\\c-0123456789abc"') == 'a"b\\c-0123456789abc'


def test_fingerprint_separates_its_parts() -> None:
    assert keys.fingerprint("POST", "/a", b"", b"b") != keys.fingerprint("POST", "/ab", b"", b"")
    assert keys.fingerprint("POST", "/a", b"x=1", b"") != keys.fingerprint("POST", "/a", b"", b"x=1")
    assert keys.fingerprint("POST", "/a", b"", b"{}") == keys.fingerprint("POST", "/a", b"", b"{}")


def _stored(state: str = keys.DONE, created: datetime = NOW, lease: timedelta = keys.LEASE) -> keys.Stored:
    return keys.Stored("h", state, created + keys.RETENTION, created + lease)


@pytest.mark.parametrize(("stored", "request_hash", "now", "verdict"), [
    (None, "h", NOW, keys.Verdict.CLAIM),
    (_stored(), "h", NOW, keys.Verdict.REPLAY),
    (_stored(), "other", NOW, keys.Verdict.MISMATCH),
    (_stored(), "other", NOW + keys.RETENTION, keys.Verdict.CLAIM),
    (_stored(), "h", NOW + keys.RETENTION - timedelta(microseconds=1), keys.Verdict.REPLAY),
    (_stored(keys.IN_FLIGHT), "h", NOW + keys.LEASE - timedelta(seconds=1), keys.Verdict.OUTSTANDING),
    (_stored(keys.IN_FLIGHT), "h", NOW + keys.LEASE, keys.Verdict.CLAIM),
    (_stored(keys.IN_FLIGHT), "other", NOW + keys.LEASE, keys.Verdict.MISMATCH),
])
def test_judge(stored: keys.Stored | None, request_hash: str, now: datetime, verdict: keys.Verdict) -> None:
    assert keys.judge(stored, request_hash, now) is verdict
