"""The one source of "now".

The sandbox can move time: the offset from the wall clock is stored in the database so that every process that
shares it agrees. Processes cache the offset for ``clock_cache_seconds``; the process that moves the clock sees
the change at once and wakes its jobs through ``on_change`` listeners.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta


def wall_now() -> datetime:
    return datetime.now(UTC)


def to_wire(value: datetime) -> str:
    """PortOne's timestamp form: UTC with milliseconds and a ``Z``."""
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


def parse_wire(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError("timestamp needs a time zone offset")
    return parsed.astimezone(UTC)


class Clock:
    """Wall time plus a sandbox offset (in microseconds), shared through the database."""

    def __init__(self, cache_seconds: float = 1.0) -> None:
        self._offset_us = 0
        self._loaded_at = float("-inf")
        self._cache_seconds = cache_seconds
        self._listeners: list[Callable[[], None]] = []

    @property
    def offset(self) -> timedelta:
        return timedelta(microseconds=self._offset_us)

    def is_stale(self) -> bool:
        return time.monotonic() - self._loaded_at > self._cache_seconds

    def load(self, offset_us: int) -> None:
        changed = offset_us != self._offset_us
        self._offset_us = offset_us
        self._loaded_at = time.monotonic()
        if changed:
            self._notify()

    def now(self) -> datetime:
        return wall_now() + timedelta(microseconds=self._offset_us)

    def on_change(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def _notify(self) -> None:
        for listener in list(self._listeners):
            listener()
