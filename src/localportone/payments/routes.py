"""Category ``payment``: payment operations (thin: parse, call the service, present)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from localportone.auth.principal import StoreContext
from localportone.auth.service import resolve_store
from localportone.http.context import acting_store, begin, store_filter
from localportone.http.fast import FastAnswer, FastRequest, FastRoute, final_answer
from localportone.http.parsing import parse_body, parse_query_body
from localportone.http.responses import ok
from localportone.http.routing import PortOneRoute
from localportone.kernel.uow import UnitOfWork
from localportone.payments import documents, service
from localportone.payments.batching import BillingKeyPayments
from localportone.payments.sandbox_routes import router as sandbox_router
from localportone.wire import (
    BillingKeyPaymentInput,
    CancelPaymentBody,
    CapturePaymentBody,
    ConfirmPaymentBody,
    GetAllPaymentEventsByCursorBody,
    GetAllPaymentsByCursorBody,
    GetPaymentsBody,
    InstantPaymentInput,
    PreRegisterPaymentBody,
    StopPaymentCancellationBody,
)

if TYPE_CHECKING:
    from localportone.runtime import Runtime

router = APIRouter(route_class=PortOneRoute, tags=["payment"])


def limits(request: Request) -> service.Limits:
    return service.Limits.from_settings(request.app.state.runtime.settings)


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "127.0.0.1"


async def read(request: Request, fn: Callable[[UnitOfWork], Awaitable[dict[str, Any]]]) -> dict[str, Any]:
    """Run a read; when a virtual account must expire first, run it again in a write transaction."""
    try:
        async with begin(request, write=False) as uow:
            return await fn(uow)
    except service.ExpiryDue:
        async with begin(request) as uow:
            return await fn(uow)


async def write(request: Request, store_id: str | None,
                fn: Callable[[UnitOfWork, StoreContext], Awaitable[dict[str, Any]]]) -> Response:
    return ok(await run_write(request.app.state.runtime, request.headers.get("authorization"), store_id, fn))


async def run_write(runtime: Runtime, authorization: str | None, store_id: str | None,
                    fn: Callable[[UnitOfWork, StoreContext], Awaitable[dict[str, Any]]]) -> dict[str, Any]:
    """``fn`` in a write unit of work, acting for the caller ``authorization`` authenticates on ``store_id`` (403
    when it may not): how every write route runs, FastAPI's and the fast ones, without a Starlette request."""
    async def work(uow: UnitOfWork) -> dict[str, Any]:
        return await fn(uow, await runtime.authenticator.acting_store(uow, authorization, store_id))

    return await runtime.transactions.run(work)


# ------------------------------------------------------------------------------------------------------ pay


@router.post("/payments/{paymentId}/instant", operation_id="payInstantly")
async def pay_instantly(request: Request, paymentId: str) -> Response:
    body = await parse_body(request, InstantPaymentInput)
    return await write(request, body.store_id, lambda uow, store: service.pay_instantly(
        uow, store, paymentId, body, client_ip=client_ip(request), limits=limits(request)))


@router.post("/payments/{paymentId}/billing-key", operation_id="payWithBillingKey")
async def pay_with_billing_key(request: Request, paymentId: str) -> Response:
    body = await parse_body(request, BillingKeyPaymentInput)
    return ok(await run_billing_key_payment(request.app.state.runtime, request.headers.get("authorization"),
                                            paymentId, body, client_ip(request)))


async def run_billing_key_payment(runtime: Runtime, authorization: str | None, payment_id: str,
                                  body: BillingKeyPaymentInput, ip: str) -> dict[str, Any]:
    """A payment with a billing key, as both of its routes make it: several per transaction on PostgreSQL
    (:mod:`localportone.payments.batching`), an optimistic unit of work of its own on SQLite."""
    limit = service.Limits.from_settings(runtime.settings)

    def alone() -> Awaitable[dict[str, Any]]:
        return run_write(runtime, authorization, body.store_id, lambda uow, store: service.pay_with_billing_key(
            uow, store, payment_id, body, client_ip=ip, limits=limit))

    if runtime.db.pg is None:
        return await alone()
    payments = runtime.services.get("billing-key-payments")
    if payments is None:
        payments = runtime.services["billing-key-payments"] = BillingKeyPayments(
            runtime.transactions, runtime.authenticator)
    result: dict[str, Any] = await payments.pay(authorization, body.store_id, payment_id, body, client_ip=ip,
                                                limits=limit, alone=alone)
    return result


async def fast_pay_with_billing_key(request: FastRequest) -> FastAnswer | None:
    """``POST /payments/{paymentId}/billing-key`` without FastAPI (:mod:`localportone.http.fast`). Declines what
    the app's middleware or parsing answers (an ``Idempotency-Key``, a body that does not parse); from the unit of
    work on, answers everything itself, as the route above."""
    if request.header(b"idempotency-key") is not None:
        return None
    body = request.json_body(BillingKeyPaymentInput)
    if body is None:
        return None
    return await final_answer(request, run_billing_key_payment(
        request.runtime, request.header(b"authorization"), request.params[0], body, request.client_host()))


@router.post("/payments/{paymentId}/confirm", operation_id="confirmPayment")
async def confirm_payment(request: Request, paymentId: str) -> Response:
    body = await parse_body(request, ConfirmPaymentBody)
    return await write(request, body.store_id, lambda uow, store: service.confirm_payment(uow, store, paymentId, body))


@router.post("/payments/{paymentId}/pre-register", operation_id="preRegisterPayment")
async def pre_register_payment(request: Request, paymentId: str) -> Response:
    body = await parse_body(request, PreRegisterPaymentBody)
    return await write(request, body.store_id,
                       lambda uow, store: service.pre_register_payment(uow, store, paymentId, body))


@router.post("/payments/{paymentId}/capture", operation_id="capturePayment")
async def capture_payment(request: Request, paymentId: str) -> Response:
    body = await parse_body(request, CapturePaymentBody)
    return await write(request, body.store_id, lambda uow, store: service.capture_payment(uow, store, paymentId))


@router.post("/payments/{paymentId}/virtual-account/close", operation_id="closeVirtualAccount")
async def close_virtual_account(request: Request, paymentId: str, storeId: str | None = None) -> Response:
    return await write(request, storeId, lambda uow, store: service.close_virtual_account(uow, store, paymentId))


# ------------------------------------------------------------------------------------------------------ cancel


@router.post("/payments/{paymentId}/cancel", operation_id="cancelPayment")
async def cancel_payment(request: Request, paymentId: str) -> Response:
    body = await parse_body(request, CancelPaymentBody)
    return await write(request, body.store_id, lambda uow, store: service.cancel_payment(
        uow, store, paymentId, body, limits=limits(request)))


@router.post("/payments/{paymentId}/cancellations/{cancellationId}/stop", operation_id="stopPaymentCancellation")
async def stop_payment_cancellation(request: Request, paymentId: str, cancellationId: str) -> Response:
    body = await parse_body(request, StopPaymentCancellationBody)
    return await write(request, body.store_id, lambda uow, store: service.stop_payment_cancellation(
        uow, store, paymentId, cancellationId))


# ------------------------------------------------------------------------------------------------------ read


@router.get("/payments/{paymentId}", operation_id="getPayment")
async def get_payment(request: Request, paymentId: str, storeId: str | None = None) -> Response:
    async def run(uow: UnitOfWork) -> dict[str, Any]:
        return await service.get_payment(uow, await acting_store(request, uow, storeId), paymentId)

    return ok(await read(request, run))


async def fast_get_payment(request: FastRequest) -> bytes | None:
    """``GET /payments/{paymentId}`` from the stored document, without FastAPI (:mod:`localportone.http.fast`)."""
    runtime = request.runtime
    async with runtime.transactions.read(snapshot=False) as uow:
        principal = await runtime.authenticator.authenticate(uow, request.header(b"authorization"))
        store_id = request.query.get("storeId")
        if store_id is None:  # the caller's default store (what resolve_store answers, without the call)
            store_id = principal.default_store_id
        else:
            store_id = (await resolve_store(uow, principal, store_id)).store_id
        return await documents.payment_json(uow, store_id, request.params[0])


FAST_ROUTES = [
    FastRoute("GET", ("payments", None), fast_get_payment, frozenset({"storeId"})),
    FastRoute("POST", ("payments", None, "billing-key"), fast_pay_with_billing_key, body=True),
]


@router.get("/payments/{paymentId}/transactions", operation_id="getPaymentTransactions")
async def get_payment_transactions(request: Request, paymentId: str, storeId: str | None = None) -> Response:
    async def run(uow: UnitOfWork) -> dict[str, Any]:
        return await service.get_payment_transactions(uow, await acting_store(request, uow, storeId), paymentId)

    return ok(await read(request, run))


@router.get("/payments", operation_id="getPayments")
async def get_payments(request: Request) -> Response:
    body = await parse_query_body(request, GetPaymentsBody)

    async def run(uow: UnitOfWork) -> dict[str, Any]:
        principal, store_ids = await store_filter(request, uow, body.filter.store_id if body.filter else None)
        return await service.get_payments(uow, principal.merchant_id, store_ids, body)

    return ok(await read(request, run))


@router.get("/payments-by-cursor", operation_id="getAllPaymentsByCursor")
async def get_all_payments_by_cursor(request: Request) -> Response:
    body = await parse_query_body(request, GetAllPaymentsByCursorBody)

    async def run(uow: UnitOfWork) -> dict[str, Any]:
        return await service.get_all_payments_by_cursor(uow, await acting_store(request, uow, body.store_id), body)

    return ok(await read(request, run))


@router.get("/payment-events-by-cursor", operation_id="getAllPaymentEventsByCursor")
async def get_all_payment_events_by_cursor(request: Request) -> Response:
    body = await parse_query_body(request, GetAllPaymentEventsByCursorBody)

    async def run(uow: UnitOfWork) -> dict[str, Any]:
        principal, store_ids = await store_filter(request, uow, body.store_id)
        return await service.get_all_payment_events_by_cursor(uow, principal.merchant_id, store_ids, body)

    return ok(await read(request, run))


router.include_router(sandbox_router)
