"""The user's entry points: ``serve``, ``worker``, ``migrate`` and ``openapi``."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sys

import typer

from localportone.kernel.config import Settings

app = typer.Typer(add_completion=False, no_args_is_help=True, help="localportone: a local PortOne V2 API server.")

DatabaseUrl = typer.Option(None, "--database-url", help="sqlite:///file.db (default) or postgresql://...")


def _settings(database_url: str | None, **overrides: object) -> Settings:
    return Settings.from_env(database_url=database_url, **overrides)


def _export(settings: Settings) -> None:
    """Worker processes started by uvicorn read their settings from the environment."""
    os.environ["LOCALPORTONE_DATABASE_URL"] = settings.database_url


@app.command()
def serve(
    host: str = typer.Option(None, help="Address to listen on [default: 127.0.0.1]"),
    port: int = typer.Option(None, help="Port to listen on [default: 8000]"),
    database_url: str | None = DatabaseUrl,
    workers: int = typer.Option(1, help="HTTP worker processes (one per core is a good start)."),
    jobs: bool = typer.Option(True, help="Run background jobs (webhooks, schedules) in this process."),
    log_level: str = typer.Option("info", help="uvicorn log level"),
) -> None:
    """Apply migrations, seed an empty database, and serve the PortOne V2 API."""
    import uvicorn

    from localportone.http.server import CoalescingHttpToolsProtocol
    from localportone.migrations import upgrade
    from localportone.runtime import Runtime

    settings = _settings(database_url, host=host, port=port, run_jobs=jobs)
    upgrade(settings.database_url)

    async def _seed() -> Runtime:
        rt = await Runtime.open(settings)
        await rt.close()
        return rt

    summary = asyncio.run(_seed()).summary
    assert summary is not None
    base_url = f"http://{settings.host}:{settings.port}"
    lines = [
        "localportone is ready (an independent PortOne V2 API simulator; not affiliated with PortOne)",
        f"  base URL        {base_url}",
        f"  database        {settings.database_url}",
        f"  merchant id     {summary.merchant_id}",
        f"  store id        {summary.store_id}",
        "  API secret      " + (
            "(provided by LOCALPORTONE_API_SECRET)" if summary.api_secret_provided else f"{summary.api_secret}"
        ),
        f"  webhook secret  {summary.webhook_secret}",
        f"  webhook URLs    {', '.join(summary.webhook_urls) or '(none: set LOCALPORTONE_WEBHOOK_URL)'}",
        "  test channels:",
        *[f"    {c.key}  {c.name:<28} {c.pg_provider}" for c in summary.channels],
        *[f"  channel group   {g}" for g in summary.channel_group_ids],
    ]
    typer.echo("\n".join(lines))
    _export(settings)
    os.environ["LOCALPORTONE_RUN_JOBS"] = "1" if jobs else "0"
    if workers > 1:
        # The workers share one listening socket, and libuv (uvloop) accepts every pending connection at each
        # wake-up: a client that opens its connections at once (a keep-alive pool, a load tool) could land them
        # all on one worker and leave the others idle. One accept per wake-up spreads them (bench/README.md).
        os.environ.setdefault("UV_TCP_SINGLE_ACCEPT", "1")
    uvicorn.run(
        "localportone.app:create_app_from_env",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=workers,
        log_level=log_level,
        access_log=False,
        timeout_graceful_shutdown=10,
        http=CoalescingHttpToolsProtocol,
    )


@app.command()
def worker(database_url: str | None = DatabaseUrl) -> None:
    """Run background jobs only (webhook delivery, due schedules), for scale-out beside `serve --no-jobs`."""
    from localportone.migrations import upgrade
    from localportone.runtime import Runtime

    settings = _settings(database_url)
    upgrade(settings.database_url)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")

    async def _run() -> None:
        rt = await Runtime.open(settings, seed=False)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await rt.start_jobs()
        typer.echo(f"localportone worker running {len(rt.runner.jobs)} job(s) on {settings.database_url}")
        await stop.wait()
        await rt.close()

    asyncio.run(_run())


@app.command()
def migrate(database_url: str | None = DatabaseUrl) -> None:
    """Apply database migrations and exit."""
    from localportone.migrations import upgrade

    settings = _settings(database_url)
    upgrade(settings.database_url)
    typer.echo(f"migrated {settings.database_url}")


@app.command()
def openapi() -> None:
    """Print this server's OpenAPI document as JSON."""
    from localportone.app import create_app

    json.dump(create_app(Settings()).openapi(), sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
