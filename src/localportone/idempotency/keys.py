"""Pure rules of ``Idempotency-Key``: header syntax, request fingerprint, and what a stored record means now."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Final

#: How long a key is remembered (on the sandbox clock), as PortOne documents.
RETENTION: Final = timedelta(hours=3)
#: How long an in-flight claim blocks retries before another process may take it over (crashed owner).
LEASE: Final = timedelta(seconds=60)
MIN_LENGTH: Final = 16
MAX_LENGTH: Final = 256
METHODS: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})

IN_FLIGHT: Final = "IN_FLIGHT"
DONE: Final = "DONE"


class InvalidKey(ValueError):
    """The header is not a 16 to 256 character ASCII key (bare, or an RFC 8941 quoted string)."""


def parse_key(raw: bytes) -> str:
    """The key of an ``Idempotency-Key`` header: ``"abc..."`` (RFC 8941 sf-string) or a bare token."""
    try:
        text = raw.decode("ascii").strip(" \t")
    except UnicodeDecodeError:
        raise InvalidKey("Idempotency-Key must be ASCII") from None
    quoted = text.startswith('"')
    if quoted:
        text = _unquote(text)  # an sf-string may hold spaces
    elif '"' in text or "\\" in text:
        raise InvalidKey("Idempotency-Key is neither a token nor a quoted string")
    if not MIN_LENGTH <= len(text) <= MAX_LENGTH:
        raise InvalidKey(f"Idempotency-Key must be {MIN_LENGTH} to {MAX_LENGTH} characters long")
    lowest = 0x20 if quoted else 0x21
    if any(not lowest <= ord(ch) < 0x7F for ch in text):
        raise InvalidKey("Idempotency-Key must consist of printable ASCII characters")
    return text


def _unquote(text: str) -> str:
    out: list[str] = []
    i = 1
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            if i + 1 >= len(text) or text[i + 1] not in '"\\':
                raise InvalidKey("Idempotency-Key has a bad escape in its quoted string")
            out.append(text[i + 1])
            i += 2
            continue
        if ch == '"':
            if i != len(text) - 1:
                raise InvalidKey("Idempotency-Key has characters after its closing quote")
            return "".join(out)
        out.append(ch)
        i += 1
    raise InvalidKey("Idempotency-Key has no closing quote")


def fingerprint(method: str, path: str, query: bytes, body: bytes) -> str:
    """What makes two requests "the same": method, path, query string and the exact body bytes."""
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode("latin-1"), query, body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


class Verdict(Enum):
    CLAIM = "claim"  # nothing usable is stored: run the request
    REPLAY = "replay"  # the same request completed: answer what it answered
    OUTSTANDING = "outstanding"  # the same request is still running
    MISMATCH = "mismatch"  # the key belongs to another request


@dataclass(frozen=True)
class Stored:
    request_hash: str
    state: str
    expires_at: datetime
    lease_until: datetime


def judge(stored: Stored | None, request_hash: str, now: datetime) -> Verdict:
    if stored is None or stored.expires_at <= now:
        return Verdict.CLAIM
    if stored.request_hash != request_hash:
        return Verdict.MISMATCH
    if stored.state == DONE:
        return Verdict.REPLAY
    if stored.lease_until > now:
        return Verdict.OUTSTANDING
    return Verdict.CLAIM  # its process died (or is far too slow): take the claim over
