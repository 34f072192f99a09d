"""One place renders every error as PortOne does: ``{"type": ..., "message": ...}`` with the spec's status."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from localportone.http.responses import JSONObjectResponse
from localportone.wire.errors import PortOneError

log = logging.getLogger("localportone.http")


def error_response(status: int, body: dict[str, object]) -> Response:
    return JSONObjectResponse(body, status_code=status)


def portone_error_response(exc: PortOneError) -> Response:
    return error_response(exc.status, exc.body())


def unexpected_error_response(method: str, path: str) -> Response:
    """The 500 of an error nobody expected (call it while handling the error: it logs the traceback)."""
    log.exception("unexpected error on %s %s", method, path)
    return error_response(500, {"type": "INTERNAL_SERVER_ERROR", "message": "unexpected server error"})


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors()[:5]:
        loc = [str(p) for p in error.get("loc", ())]
        where = ".".join(loc[1:]) if len(loc) > 1 else ".".join(loc)
        msg = "is required" if error.get("type") == "missing" else error.get("msg", "invalid value")
        parts.append(f"{where}: {msg}")
    return "; ".join(parts) or "invalid request"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(PortOneError)
    async def _portone(_request: Request, exc: PortOneError) -> Response:
        return portone_error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> Response:
        return error_response(400, {"type": "INVALID_REQUEST", "message": _validation_message(exc)})

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            return error_response(404, {"type": "NOT_FOUND", "message": "no such operation"})
        if exc.status_code == 405:
            return error_response(405, {"type": "METHOD_NOT_ALLOWED", "message": "method not allowed here"})
        return error_response(exc.status_code, {"type": "INVALID_REQUEST", "message": str(exc.detail)})

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        return unexpected_error_response(request.method, request.url.path)
