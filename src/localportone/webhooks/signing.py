"""Standard Webhooks signatures, exactly as ``portone_server_sdk.webhook.verify`` checks them."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Iterable

PREFIX = "whsec_"


def raw_secret(secret: str, *, strict: bool = False) -> bytes:
    """The key bytes of a ``whsec_<base64>`` secret (the prefix is optional). ValueError when unusable.

    Lenient by default, like the SDK (stray characters are skipped); ``strict`` for validating user input.
    """
    encoded = secret[len(PREFIX):] if secret.startswith(PREFIX) else secret
    try:
        key = base64.b64decode(encoded, validate=strict)
    except (binascii.Error, ValueError):
        raise ValueError("a webhook secret must be whsec_ followed by base64") from None
    if not key:
        raise ValueError("a webhook secret must not be empty")
    return key


def sign(key: bytes, webhook_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>``."""
    message = b"%s.%d.%s" % (webhook_id.encode(), timestamp, body)
    return "v1," + base64.b64encode(hmac.digest(key, message, hashlib.sha256)).decode()


def signature_header(keys: Iterable[bytes], webhook_id: str, timestamp: int, body: bytes) -> str:
    """One entry per active secret (at most two during a rotation), space-separated."""
    return " ".join(sign(key, webhook_id, timestamp, body) for key in keys)


def headers(keys: Iterable[bytes], webhook_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The request headers of one attempt (lower-case names: the Python SDK looks them up case-sensitively)."""
    out = {
        "content-type": "application/json",
        "webhook-id": webhook_id,
        "webhook-timestamp": str(timestamp),
    }
    signature = signature_header(keys, webhook_id, timestamp, body)
    if signature:
        out["webhook-signature"] = signature
    return out
