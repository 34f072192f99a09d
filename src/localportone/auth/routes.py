"""``POST /login/api-secret`` and ``POST /token/refresh`` (category ``auth``)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from localportone.http.context import authenticator, begin
from localportone.http.parsing import parse_body
from localportone.http.responses import ok
from localportone.http.routing import PortOneRoute
from localportone.wire import LoginViaApiSecretBody, RefreshTokenBody

router = APIRouter(route_class=PortOneRoute, tags=["auth"])


@router.post("/login/api-secret", operation_id="loginViaApiSecret")
async def login_via_api_secret(request: Request) -> Response:
    body = await parse_body(request, LoginViaApiSecretBody)
    async with begin(request) as uow:
        pair = await authenticator(request).login_via_api_secret(uow, body.api_secret)
    return ok({"accessToken": pair.access_token, "refreshToken": pair.refresh_token})


@router.post("/token/refresh", operation_id="refreshToken")
async def refresh_token(request: Request) -> Response:
    body = await parse_body(request, RefreshTokenBody)
    async with begin(request) as uow:
        pair = await authenticator(request).refresh_token(uow, body.refresh_token)
    return ok({"accessToken": pair.access_token, "refreshToken": pair.refresh_token})
