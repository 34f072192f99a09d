"""The sandbox control API under ``/_sandbox`` (not part of PortOne's API; see docs/sandbox.md)."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictInt, StrictStr
from starlette.responses import Response

from localportone.http.context import begin, caller
from localportone.http.parsing import parse_body
from localportone.http.responses import ok
from localportone.http.routing import PortOneRoute
from localportone.kernel.clock import to_wire, wall_now
from localportone.kernel.uow import notify_clock_moved, set_clock_offset
from localportone.runtime import Runtime
from localportone.stores import service as stores
from localportone.wire.errors import InvalidRequestError

router = APIRouter(prefix="/_sandbox", route_class=PortOneRoute, tags=["sandbox"])


class _Input(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class MoveClockBody(_Input):
    advance_seconds: StrictInt | None = Field(default=None, alias="advanceSeconds")
    now: AwareDatetime | None = None


class CreateStoreBody(_Input):
    name: StrictStr | None = None
    webhook_urls: list[StrictStr] | None = Field(default=None, alias="webhookUrls")
    webhook_version: StrictStr | None = Field(default=None, alias="webhookVersion")


def runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


@router.get("/health")
async def health(request: Request) -> Response:
    async with begin(request, write=False) as uow:
        now = uow.now
    return ok({"status": "ok", "now": to_wire(now)})


@router.get("/channels")
async def list_channels(request: Request, storeId: str | None = None) -> Response:
    from localportone.http.context import acting_store

    async with begin(request, write=False) as uow:
        store = await acting_store(request, uow, storeId)
        channels = await stores.list_channels(uow.session, store.store_id)
        groups = await stores.list_channel_groups(uow.session, store.store_id)
    return ok({
        "storeId": store.store_id,
        "channels": [c.wire() for c in channels],
        "channelGroups": [
            {**g.wire(), "channels": [{"key": c.key, "ratio": ratio} for c, ratio in g.members]} for g in groups
        ],
    })


@router.post("/stores")
async def create_store(request: Request) -> Response:
    body = await parse_body(request, CreateStoreBody)
    if body.webhook_version not in (None, "2024-04-25", "2024-01-01"):
        raise InvalidRequestError("webhookVersion must be 2024-04-25 or 2024-01-01")
    async with begin(request) as uow:
        principal = await caller(request, uow)
        store = await stores.create_store(
            uow.session, principal.merchant_id, body.name or "sub-store", uow.now,
            webhook_urls=body.webhook_urls, webhook_version=body.webhook_version or "2024-04-25",
        )
        channels = await stores.list_channels(uow.session, store.id)
    return ok({
        "store": {"id": store.id, "merchantId": store.merchant_id, "name": store.name,
                  "webhookVersion": store.webhook_version},
        "channels": [c.wire() for c in channels],
    })


def _clock_body(request: Request) -> dict[str, object]:
    clock = runtime(request).clock
    return {"now": to_wire(clock.now()), "offsetSeconds": int(clock.offset.total_seconds())}


@router.get("/clock")
async def get_clock(request: Request) -> Response:
    async with begin(request, write=False) as uow:
        await caller(request, uow)
        await runtime(request).transactions.refresh_clock(uow.sql)
    return ok(_clock_body(request))


@router.post("/clock")
async def move_clock(request: Request) -> Response:
    body = await parse_body(request, MoveClockBody)
    if (body.advance_seconds is None) == (body.now is None):
        raise InvalidRequestError("give exactly one of advanceSeconds or now")
    rt = runtime(request)
    async with begin(request) as uow:
        await caller(request, uow)
        await rt.transactions.refresh_clock(uow.sql)
        if body.advance_seconds is not None:
            offset = rt.clock.offset + timedelta(seconds=body.advance_seconds)
        else:
            assert body.now is not None
            offset = body.now - wall_now()
        offset_us = offset // timedelta(microseconds=1)
        await set_clock_offset(uow.session, offset_us)
        await notify_clock_moved(uow, offset_us)
        uow.after_commit(lambda: rt.clock.load(offset_us))
    return ok(_clock_body(request))
