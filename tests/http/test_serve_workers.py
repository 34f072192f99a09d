"""``serve --workers N`` spreads connections over its workers (libuv accepts one connection per wake-up)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from localportone import cli


@pytest.mark.parametrize(("workers", "single_accept"), [(1, None), (2, "1")])
def test_workers_accept_one_connection_per_wake_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   workers: int, single_accept: str | None) -> None:
    import uvicorn

    ran: dict[str, Any] = {}
    monkeypatch.delenv("UV_TCP_SINGLE_ACCEPT", raising=False)
    for name in ("LOCALPORTONE_DATABASE_URL", "LOCALPORTONE_RUN_JOBS"):  # serve exports these for its workers
        monkeypatch.setenv(name, os.environ.get(name, ""))
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: ran.update(kwargs, env=os.environ.get(
        "UV_TCP_SINGLE_ACCEPT")))
    result = CliRunner().invoke(cli.app, ["serve", "--database-url", f"sqlite:///{tmp_path}/serve.db",
                                          "--workers", str(workers), "--no-jobs"])
    assert result.exit_code == 0, result.output
    assert ran["workers"] == workers and ran["env"] == single_accept
