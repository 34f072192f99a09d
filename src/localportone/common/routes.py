"""Category ``common``: ``GET /banks`` (no authentication)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from localportone.common.banks import BANK_NAMES
from localportone.http.responses import ok
from localportone.http.routing import PortOneRoute

router = APIRouter(route_class=PortOneRoute, tags=["common"])

_BANKS = {"items": [{"bank": code, "name": {"ko": name}} for code, name in BANK_NAMES.items()]}


@router.get("/banks", operation_id="getBankInfos")
async def get_bank_infos() -> Response:
    return ok(_BANKS)
