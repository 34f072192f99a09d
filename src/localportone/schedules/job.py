"""The scheduler: runs due payment schedules."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from localportone.runtime import Runtime
    from localportone.worker.runner import Job


def jobs(runtime: Runtime) -> list[Job]:
    return []
