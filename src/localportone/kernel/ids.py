"""Identifiers in the shapes PortOne uses (``store-<uuid>``, ``billing-key-<uuid>``, UUIDv7 transaction ids)."""

from __future__ import annotations

import os
import secrets
import time
import uuid

_NAMESPACE = uuid.UUID("6f1c2b1e-7d0e-4d57-9a1e-5b0c6f3a9d21")


def uuid7() -> str:
    """Time-ordered UUID (RFC 9562 v7): ids sort by creation, which keeps indexes and cursors cheap."""
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= ((rand >> 62) & 0xFFF) << 64
    value |= 0b10 << 62
    value |= rand & ((1 << 62) - 1)
    return str(uuid.UUID(int=value))


def stable_uuid(*parts: str) -> str:
    """Deterministic UUID from names, so seeded ids stay the same for the same configuration."""
    return str(uuid.uuid5(_NAMESPACE, "\x1f".join(parts)))


def merchant_id() -> str:
    return f"merchant-{uuid.uuid4()}"


def store_id() -> str:
    return f"store-{uuid.uuid4()}"


def channel_key(store: str, name: str) -> str:
    return f"channel-key-{stable_uuid(store, name)}"


def channel_group_id(store: str, name: str, *, is_test: bool) -> str:
    return f"channel-group-{'test' if is_test else 'live'}-{stable_uuid(store, 'group', name)}"


def billing_key() -> str:
    return f"billing-key-{uuid7()}"


def api_secret() -> str:
    """An API secret as the console shows it once: long, random, letters and digits."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(secrets.choice(alphabet) for _ in range(80))


def webhook_secret() -> str:
    import base64

    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
