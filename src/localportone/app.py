"""``create_app(settings)``: routers, error handlers and the lifespan that opens the runtime."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI

from localportone.http.errors import install_error_handlers
from localportone.http.fast import FastPaths
from localportone.http.responses import JSONObjectResponse
from localportone.http.routing import RawPathMiddleware
from localportone.idempotency.middleware import IdempotencyMiddleware
from localportone.kernel.config import Settings
from localportone.runtime import Runtime


def create_app(settings: Settings | None = None, *, runtime: Runtime | None = None) -> FastAPI:
    """The ASGI app. With ``runtime`` given, the caller owns it (tests, embedding); else the lifespan opens one."""
    settings = settings or Settings.from_env()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = runtime is None
        rt = runtime or await Runtime.open(settings)
        _attach(app, rt)
        if owned and settings.run_jobs:
            await rt.start_jobs()
        try:
            yield
        finally:
            if owned:
                await rt.close()

    app = FastAPI(
        title="localportone",
        version=_version(),
        lifespan=lifespan,
        default_response_class=JSONObjectResponse,
        docs_url="/_sandbox/docs",
        redoc_url=None,
        openapi_url="/_sandbox/openapi.json",
        # FastAPI's built-in OpenTelemetry hooks cost ~30 µs per request even with no provider configured.
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
    )
    install_error_handlers(app)
    for router in _routers():
        app.include_router(router)
    app.add_middleware(IdempotencyMiddleware)
    app.add_middleware(RawPathMiddleware)
    if runtime is not None:
        _attach(app, runtime)
    return app


def _attach(app: FastAPI, rt: Runtime) -> None:
    app.state.runtime = rt
    app.state.transactions = rt.transactions
    app.state.authenticator = rt.authenticator
    # Everything made so far (the generated wire models above all) lives as long as the process: moving it out of
    # the collector's generations halves the CPU of a fast GET, which otherwise pays for full collections that
    # walk these objects again and again (bench/README.md).
    gc.collect()
    gc.freeze()


def _routers() -> list[APIRouter]:
    from localportone.auth.routes import router as auth
    from localportone.billing_keys.routes import router as billing_keys
    from localportone.common.routes import router as common
    from localportone.payments.routes import router as payments
    from localportone.sandbox.routes import router as sandbox
    from localportone.schedules.routes import router as schedules
    from localportone.webhooks.routes import router as webhooks

    return [auth, common, payments, billing_keys, schedules, webhooks, sandbox]


def with_fast_paths(app: FastAPI) -> FastPaths:
    """What uvicorn serves: the app behind the fast paths (:mod:`localportone.http.fast`)."""
    from localportone.payments.routes import FAST_ROUTES as payments

    return FastPaths(app, [*payments])


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("localportone")
    except PackageNotFoundError:
        return "0.0.0"


def create_app_from_env() -> FastPaths:
    """The factory `serve` hands to uvicorn: the parent already migrated and seeded the database."""
    import logging

    settings = Settings.from_env()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        rt = await Runtime.open(settings, seed=False)
        _attach(app, rt)
        if settings.run_jobs:
            await rt.start_jobs()
        try:
            yield
        finally:
            await rt.close()

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    app = create_app(settings)
    app.router.lifespan_context = lifespan
    return with_fast_paths(app)
