"""Sandbox PG billing keys: opaque strings that carry what a charge needs, never the full card number.

Format: ``sbk1_<base64url payload>_<8 hex check>``; the payload is
``provider|scenario|bin|last4|length|expiry YYMM|nonce``. The check catches typos and truncation; it is not a
security feature (the sandbox keeps no secrets). A real PG would keep the card in its vault and return a random
key; the sandbox has no vault, so the key *is* the vault entry, minus the PAN.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
from dataclasses import dataclass

from .scenarios import Scenario

__all__ = ["BillingKeyData", "decode_billing_key", "encode_billing_key", "new_nonce"]

_PREFIX = "sbk1_"


@dataclass(frozen=True, slots=True)
class BillingKeyData:
    pg_provider: str
    scenario: Scenario
    bin: str
    last4: str
    length: int
    expiry_yymm: str
    nonce: str


def _check(payload: str) -> str:
    return hashlib.sha256(payload.encode()).hexdigest()[:8]


def encode_billing_key(data: BillingKeyData) -> str:
    fields = (
        data.pg_provider,
        data.scenario.value,
        data.bin,
        data.last4,
        str(data.length),
        data.expiry_yymm,
        data.nonce,
    )
    payload = "|".join(fields)
    body = base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")
    return f"{_PREFIX}{body}_{_check(payload)}"


def new_nonce() -> str:
    """A random suffix so that two keys for the same card differ."""
    return secrets.token_hex(6)


def decode_billing_key(key: str) -> BillingKeyData | None:
    """The data inside a sandbox billing key, or ``None`` if ``key`` is not one (or was altered)."""
    if not key.startswith(_PREFIX) or key.count("_") < 2:
        return None
    body, _, check = key[len(_PREFIX) :].rpartition("_")
    try:
        payload = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    if not secrets.compare_digest(_check(payload), check):
        return None
    parts = payload.split("|")
    if len(parts) != 7:
        return None
    provider, scenario, bin_, last4, length, expiry, nonce = parts
    try:
        parsed_scenario = Scenario(scenario)
        parsed_length = int(length)
    except ValueError:
        return None
    if not (bin_.isdigit() and last4.isdigit() and len(last4) == 4 and expiry.isdigit() and len(expiry) == 4):
        return None
    if not 13 <= parsed_length <= 19:
        return None
    return BillingKeyData(provider, parsed_scenario, bin_, last4, parsed_length, expiry, nonce)
