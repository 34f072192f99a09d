"""Pure delivery rules: what an HTTP outcome means and when the next attempt is due."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta

from localportone.webhooks.models import FAILED_NOT_OK_RESPONSE, FAILED_UNEXPECTED_ERROR, SUCCEEDED

#: At most 6 executions: the first one and 5 retries (§13.4).
MAX_EXECUTIONS = 6
#: Delay before execution n (n ≥ 2) is 4^(n-2) minutes: 1, 4, 16, 64, 256.
BASE_DELAY = timedelta(minutes=1)

#: A jitter policy maps the full delay to the one used. PortOne draws a uniform factor in [0, 1] ("full jitter");
#: the sandbox defaults to no jitter so that a test knows exactly when a retry is due.
Jitter = Callable[[timedelta], timedelta]


def no_jitter(delay: timedelta) -> timedelta:
    return delay


def full_jitter(delay: timedelta, rng: random.Random | None = None) -> timedelta:
    return delay * (rng or random).random()


def jitter_policy(name: str | None) -> Jitter:
    """``"none"`` (default) or ``"full"``."""
    if name in (None, "", "none", "off"):
        return no_jitter
    if name == "full":
        return full_jitter
    raise ValueError(f"unknown webhook retry jitter {name!r}: use 'none' or 'full'")


def delay_before(execution: int) -> timedelta:
    """The full (un-jittered) delay before execution number ``execution`` (1-based)."""
    if execution <= 1:
        return timedelta(0)
    return BASE_DELAY * (4 ** (execution - 2))


def result_of(status_code: int | None) -> str:
    """2xx → SUCCEEDED; any other status (redirects are not followed) → FAILED_NOT_OK_RESPONSE; no response at all
    (timeout, connection error) → FAILED_UNEXPECTED_ERROR."""
    if status_code is None:
        return FAILED_UNEXPECTED_ERROR
    return SUCCEEDED if 200 <= status_code < 300 else FAILED_NOT_OK_RESPONSE


def next_attempt(now: datetime, executed: int, max_executions: int, result: str, jitter: Jitter) -> datetime | None:
    """When the next execution is due after ``executed`` executions, or None when the delivery is final."""
    if result == SUCCEEDED or executed >= max_executions:
        return None
    return now + jitter(delay_before(executed + 1))
