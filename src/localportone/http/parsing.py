"""Request bodies in the PortOne wire format.

Bodies are parsed by the generated wire models. A missing or empty body counts as ``{}`` (some SDK calls send
none); GET and DELETE operations may carry their body, JSON-encoded, in the ``requestBody`` query parameter, which
wins over an HTTP body. Every failure becomes 400 ``INVALID_REQUEST`` with a message that names the field.
"""

from __future__ import annotations

from typing import Any, TypeVar

import orjson
from fastapi import Request
from pydantic import BaseModel, ValidationError

from localportone.wire.errors import InvalidRequestError

M = TypeVar("M", bound=BaseModel)


def describe_validation_error(exc: ValidationError, prefix: str = "") -> str:
    parts = []
    for error in exc.errors(include_url=False)[:5]:
        location = ".".join(str(p) for p in error.get("loc", ()) if not str(p).startswith("function-"))
        field = f"{prefix}{location}" if location else (prefix.rstrip(".") or "body")
        message = error.get("msg", "invalid value")
        if error.get("type") == "missing":
            message = "is required"
        elif error.get("type") == "union_tag_invalid":
            message = f"has an unknown variant ({message})"
        parts.append(f"{field}: {message}")
    return "; ".join(parts) or "invalid request"


def parse_model(model: type[M], data: Any, *, what: str = "body") -> M:
    if not isinstance(data, dict):
        raise InvalidRequestError(f"{what} must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidRequestError(describe_validation_error(exc)) from None


def _loads(raw: bytes | str, what: str) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequestError(f"{what} is not valid JSON: {exc}") from None


async def json_body(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        return {}
    return _loads(raw, "request body")


async def parse_body(request: Request, model: type[M]) -> M:
    return parse_model(model, await json_body(request))


async def parse_query_body(request: Request, model: type[M]) -> M:
    """The ``requestBody`` query parameter, else the HTTP body, else ``{}``."""
    encoded = request.query_params.get("requestBody")
    if encoded is not None:
        data = _loads(encoded, "requestBody") if encoded.strip() else {}
        return parse_model(model, data, what="requestBody")
    return parse_model(model, await json_body(request))
