"""Routing on the raw path.

The official SDK percent-encodes path ids with ``safe=''`` (``a/b`` arrives as ``a%2Fb``) and a base URL that ends
in ``/`` yields ``//payments/...``. Starlette routes on the decoded path, which would split such an id. The
middleware routes on the raw path instead (doubled slashes collapsed) and :class:`PortOneRoute` percent-decodes
each path parameter after matching.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote

from fastapi.routing import APIRoute
from starlette.routing import Match
from starlette.types import ASGIApp, Receive, Scope, Send

_SLASHES = re.compile(r"/{2,}")


class RawPathMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            raw = scope.get("raw_path")
            if raw:
                path = raw.decode("latin-1").split("?", 1)[0]
                if "%" in path or "//" in path:
                    scope = dict(scope)
                    scope["path"] = _SLASHES.sub("/", path)
                    scope["localportone.encoded_path"] = True
        await self.app(scope, receive, send)


class PortOneRoute(APIRoute):
    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child = super().matches(scope)
        if match is not Match.NONE and scope.get("localportone.encoded_path"):
            params: dict[str, Any] = child.get("path_params", {})
            child["path_params"] = {k: unquote(v) if isinstance(v, str) else v for k, v in params.items()}
        return match, child
