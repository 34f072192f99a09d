"""Manual-confirm payment tokens.

A READY manual-confirm payment needs the buyer's card again at ``/confirm``, but no full card number is ever
stored. So the token *is* the sealed card: the attempt's ids and the card credential, encrypted and
authenticated with a server key (SHA-256 in counter mode as the key stream, HMAC-SHA-256 as the tag). The
database keeps only a hash of the token, to accept the current attempt's token and nothing else.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from typing import Any

import orjson

PREFIX = "ptok_"
_NONCE = 16
_TAG = 16


def _keys(server_key: str) -> tuple[bytes, bytes]:
    raw = bytes.fromhex(server_key)
    return hashlib.sha256(b"payment-token-enc" + raw).digest(), hashlib.sha256(b"payment-token-mac" + raw).digest()


def _stream(key: bytes, nonce: bytes, length: int) -> bytes:
    blocks = [hashlib.sha256(key + nonce + i.to_bytes(4, "big")).digest() for i in range((length + 31) // 32)]
    return b"".join(blocks)[:length]


def seal(server_key: str, payload: dict[str, Any]) -> str:
    enc, mac = _keys(server_key)
    nonce = os.urandom(_NONCE)
    plain = orjson.dumps(payload)
    cipher = bytes(a ^ b for a, b in zip(plain, _stream(enc, nonce, len(plain)), strict=True))
    tag = hmac.new(mac, nonce + cipher, hashlib.sha256).digest()[:_TAG]
    return PREFIX + base64.urlsafe_b64encode(nonce + cipher + tag).decode().rstrip("=")


def unseal(server_key: str, token: str) -> dict[str, Any] | None:
    """The payload, or ``None`` for anything this server did not seal (or that was altered)."""
    if not token.startswith(PREFIX):
        return None
    body = token[len(PREFIX):]
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except ValueError:
        return None
    if len(raw) <= _NONCE + _TAG:
        return None
    nonce, cipher, tag = raw[:_NONCE], raw[_NONCE:-_TAG], raw[-_TAG:]
    enc, mac = _keys(server_key)
    if not hmac.compare_digest(tag, hmac.new(mac, nonce + cipher, hashlib.sha256).digest()[:_TAG]):
        return None
    plain = bytes(a ^ b for a, b in zip(cipher, _stream(enc, nonce, len(cipher)), strict=True))
    try:
        payload = orjson.loads(plain)
    except orjson.JSONDecodeError:
        return None
    return payload if isinstance(payload, dict) else None


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
