"""Page and cursor helpers in the spec's shapes (``PageInput`` / ``PageInfo``)."""

from __future__ import annotations

import base64
from dataclasses import dataclass

DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 1000


@dataclass(frozen=True)
class Page:
    number: int = 0
    size: int = DEFAULT_PAGE_SIZE

    @property
    def offset(self) -> int:
        return self.number * self.size

    def info(self, total_count: int) -> dict[str, int]:
        return {"number": self.number, "size": self.size, "totalCount": total_count}


def encode_cursor(*parts: str) -> str:
    raw = "\x1f".join(parts).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, expected_parts: int) -> list[str] | None:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    parts = raw.split("\x1f")
    return parts if len(parts) == expected_parts else None
