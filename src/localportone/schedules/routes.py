"""Category ``payment.paymentSchedule``: payment schedules (thin: parse, call the service, present).

Also the sandbox controls of schedules under ``/_sandbox/schedules`` (docs/schedules.md, "Sandbox controls").
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from localportone.http.context import acting_store, begin, caller
from localportone.http.parsing import parse_body, parse_query_body
from localportone.http.responses import ok
from localportone.http.routing import PortOneRoute
from localportone.runtime import Runtime
from localportone.schedules import job as scheduler
from localportone.schedules import service
from localportone.wire import CreatePaymentScheduleBody, GetPaymentSchedulesBody, RevokePaymentSchedulesBody

router = APIRouter(route_class=PortOneRoute, tags=["payment.paymentSchedule"])

#: How long ``run-due`` waits for due schedules that other processes are running.
RUN_DUE_WAIT_SECONDS = 10.0


def _runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


@router.post("/payments/{paymentId}/schedule")
async def create_payment_schedule(request: Request, paymentId: str) -> Response:
    body = await parse_body(request, CreatePaymentScheduleBody)
    rt = _runtime(request)
    async with begin(request) as uow:
        store = await acting_store(request, uow, body.payment.store_id)
        result = await service.create_payment_schedule(uow, store, paymentId, body)
        uow.after_commit(lambda: scheduler.wake(rt))
    return ok(result)


@router.get("/payment-schedules/{paymentScheduleId}")
async def get_payment_schedule(request: Request, paymentScheduleId: str, storeId: str | None = None) -> Response:
    async with begin(request, write=False) as uow:
        store = await acting_store(request, uow, storeId)
        return ok(await service.get_payment_schedule(uow, store, paymentScheduleId))


@router.get("/payment-schedules")
async def get_payment_schedules(request: Request) -> Response:
    body = await parse_query_body(request, GetPaymentSchedulesBody)
    async with begin(request, write=False) as uow:
        store = await acting_store(request, uow, body.filter.store_id if body.filter else None)
        return ok(await service.get_payment_schedules(uow, store, body))


@router.delete("/payment-schedules")
async def revoke_payment_schedules(request: Request) -> Response:
    body = await parse_query_body(request, RevokePaymentSchedulesBody)
    async with begin(request) as uow:
        store = await acting_store(request, uow, body.store_id)
        result = await service.revoke_payment_schedules(uow, store, body)
    return ok(result)


@router.post("/_sandbox/schedules/run-due", tags=["sandbox"])
async def run_due_schedules(request: Request) -> Response:
    """Run every schedule of the caller's merchant that is due on the sandbox clock, before answering.

    Also lets PENDING schedules whose payment has settled since follow it.
    """
    rt = _runtime(request)
    async with begin(request, write=False) as uow:
        merchant_id = (await caller(request, uow)).merchant_id
        await rt.transactions.refresh_clock(uow.sql)
    job = scheduler.job_of(rt)
    counts = await job.run_due(merchant_id, until_empty=True)
    await job.wait_for_running(merchant_id, RUN_DUE_WAIT_SECONDS)
    settled = await job.settle_pending(merchant_id)
    async with begin(request, write=False) as uow:
        still_running = await service.running_due(uow, merchant_id)
    return ok({**counts.wire(), "stillRunning": still_running, "settled": settled})


@router.get("/_sandbox/schedules/{paymentScheduleId}", tags=["sandbox"])
async def inspect_schedule(request: Request, paymentScheduleId: str, storeId: str | None = None) -> Response:
    """The schedule plus what the wire object can't show: why a FAILED run failed, and how many runs it took."""
    async with begin(request, write=False) as uow:
        store = await acting_store(request, uow, storeId)
        return ok(await service.inspect_schedule(uow, store, paymentScheduleId))
