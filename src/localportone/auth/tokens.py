"""Access tokens: JWT-shaped (HS256) strings carrying the principal and an expiry on the sandbox clock.

They are checked without a database read on every request; the signing key lives in the database so that every
process of a deployment accepts every other's tokens. Refresh tokens are random and stored as hashes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

import orjson


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(data: str) -> bytes:
    return base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))


_HEADER = _b64(orjson.dumps({"alg": "HS256", "typ": "JWT"}))


@dataclass(frozen=True)
class AccessClaims:
    secret_id: str
    merchant_id: str
    store_id: str
    pinned: bool
    expires_at: int  # epoch seconds on the sandbox clock


def issue_access_token(key: bytes, claims: AccessClaims, issued_at: datetime) -> str:
    payload = {
        "sub": claims.secret_id,
        "mid": claims.merchant_id,
        "sid": claims.store_id,
        "pin": claims.pinned,
        "iat": int(issued_at.timestamp()),
        "exp": claims.expires_at,
        "jti": secrets.token_hex(8),
    }
    body = f"{_HEADER}.{_b64(orjson.dumps(payload))}"
    signature = hmac.new(key, body.encode(), hashlib.sha256).digest()
    return f"{body}.{_b64(signature)}"


def read_access_token(key: bytes, token: str) -> AccessClaims | None:
    """The claims of a well-formed, correctly signed token (expiry is checked by the caller)."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        expected = hmac.new(key, f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(expected, _unb64(parts[2])):
            return None
        payload = orjson.loads(_unb64(parts[1]))
        return AccessClaims(
            secret_id=str(payload["sub"]),
            merchant_id=str(payload["mid"]),
            store_id=str(payload["sid"]),
            pinned=bool(payload["pin"]),
            expires_at=int(payload["exp"]),
        )
    except (ValueError, KeyError, TypeError, orjson.JSONDecodeError):
        return None


def new_refresh_token() -> str:
    return secrets.token_urlsafe(48)
