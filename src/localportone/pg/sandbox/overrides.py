"""Forced outcomes: "make the next call on this channel do X", set by the sandbox control API.

In memory and per process: with several ``serve`` processes, a forced outcome only affects calls served by the
process it was set in (a control API that must work scaled out should store them in the database and hand them
to the connector; the connector only needs :meth:`SandboxOutcomeOverrides.take`).
"""

from __future__ import annotations

import threading
from collections import defaultdict, deque
from dataclasses import dataclass
from typing import Final, Literal, TypeAlias

from . import codes

__all__ = ["PENDING_OPERATIONS", "ForcedKind", "ForcedOutcome", "Operation", "SandboxOutcomeOverrides"]

Operation: TypeAlias = Literal[
    "authorize_card",
    "issue_billing_key",
    "charge_billing_key",
    "delete_billing_key",
    "issue_virtual_account",
    "close_virtual_account",
    "cancel",
    "capture",
]
ForcedKind: TypeAlias = Literal["DECLINE", "PENDING", "TRANSPORT_ERROR"]

#: Operations a PENDING outcome applies to (PayPending for payments, CancelRequested for cancels).
PENDING_OPERATIONS: Final[frozenset[str]] = frozenset({"authorize_card", "charge_billing_key", "cancel"})


@dataclass(frozen=True, slots=True)
class ForcedOutcome:
    """One forced outcome.

    ``kind``: ``DECLINE`` (return ``Declined(pg_code, pg_message)``), ``PENDING`` (``PayPending`` /
    ``CancelRequested``; only for authorize, charge and cancel) or ``TRANSPORT_ERROR`` (raise
    ``PgTransportError``). ``operation``: the operation it applies to; ``None`` = the next call of any operation
    it applies to.
    """

    kind: ForcedKind = "DECLINE"
    operation: Operation | None = None
    pg_code: str = codes.FORCED_DECLINE
    pg_message: str = codes.MESSAGES[codes.FORCED_DECLINE]

    def applies_to(self, operation: Operation) -> bool:
        if self.operation is not None and self.operation != operation:
            return False
        return self.kind != "PENDING" or operation in PENDING_OPERATIONS


class SandboxOutcomeOverrides:
    """Queues of forced outcomes per channel key, consumed first-in first-out by matching calls."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queues: defaultdict[str, deque[ForcedOutcome]] = defaultdict(deque)

    def force_next(self, channel_key: str, outcome: ForcedOutcome, *, times: int = 1) -> None:
        """Queue ``outcome`` for the next ``times`` matching calls on ``channel_key``."""
        if times < 1:
            raise ValueError("times must be >= 1")
        with self._lock:
            self._queues[channel_key].extend([outcome] * times)

    def take(self, channel_key: str, operation: Operation) -> ForcedOutcome | None:
        """Remove and return the first queued outcome that applies to ``operation``, if any."""
        with self._lock:
            queue = self._queues.get(channel_key)
            if not queue:
                return None
            for index, outcome in enumerate(queue):
                if outcome.applies_to(operation):
                    del queue[index]
                    return outcome
            return None

    def pending(self, channel_key: str) -> tuple[ForcedOutcome, ...]:
        """The outcomes still queued for ``channel_key``, in order."""
        with self._lock:
            return tuple(self._queues.get(channel_key, ()))

    def clear(self, channel_key: str | None = None) -> None:
        """Forget the queued outcomes of one channel, or of every channel (sandbox reset)."""
        with self._lock:
            if channel_key is None:
                self._queues.clear()
            else:
                self._queues.pop(channel_key, None)
