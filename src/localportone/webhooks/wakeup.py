"""How a commit that queued webhooks wakes the delivery job of its own process.

Domains only hold a unit of work, not the runtime, so the job registers a waker under the database engine its
runtime writes with, and a commit that queued rows wakes every job registered in the process (one per runtime,
normally one in all; a job woken for another database only polls once early). The unit of work's ORM session is
not asked for its engine: the payment paths run without one. Without a registered waker (a script using the
services directly) nothing is woken and the job's poll interval picks the rows up.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from typing import Any

from localportone.kernel.uow import UnitOfWork


class Waker:
    """Calls ``notify`` on the loop the delivery job runs on, from any thread."""

    def __init__(self, notify: Callable[[], None], loop: asyncio.AbstractEventLoop | None) -> None:
        self._notify = notify
        self._loop = loop

    def __call__(self) -> None:
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if self._loop is None or running is self._loop:
            self._notify()
        elif not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._notify)


_wakers: weakref.WeakValueDictionary[int, Waker] = weakref.WeakValueDictionary()


def register(bind: Any, waker: Waker) -> None:
    """Keyed by the engine object: it lives as long as the runtime that owns the waker (and its id with it)."""
    _wakers[id(bind)] = waker


def wake_after_commit(uow: UnitOfWork) -> None:
    if len(_wakers):
        uow.after_commit(_wake_all)


def _wake_all() -> None:
    for waker in list(_wakers.values()):
        waker()
