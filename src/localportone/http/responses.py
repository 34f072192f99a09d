"""Success responses: always HTTP 200 with a JSON object (the SDK treats anything else as an error)."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response


class JSONObjectResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def ok(body: dict[str, Any] | None = None) -> JSONObjectResponse:
    return JSONObjectResponse({} if body is None else body, status_code=200)
