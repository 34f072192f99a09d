"""Sandbox controls of the payments domain under ``/_sandbox/payments`` (not PortOne's API; docs/payments.md).

They do what a PG or a buyer would do outside the API: open a manual-confirm checkout, deposit into a virtual
account, finish an asynchronous cancellation, run virtual-account expiry now.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import StrictBool, StrictInt, StrictStr
from starlette.responses import Response

from localportone.http.context import acting_store, begin, store_filter
from localportone.http.parsing import parse_body
from localportone.http.responses import ok
from localportone.http.routing import PortOneRoute
from localportone.payments import service
from localportone.wire import Currency, CustomerInput, InstantPaymentMethodInputCard, PaymentAmountInput
from localportone.wire.errors import InvalidRequestError
from localportone.wire.generated._base import WireModel

router = APIRouter(prefix="/_sandbox/payments", route_class=PortOneRoute, tags=["sandbox"])


class ReadyMethodInput(WireModel):
    card: InstantPaymentMethodInputCard


class ReadyPaymentBody(WireModel):
    store_id: StrictStr | None = None
    channel_key: StrictStr
    order_name: StrictStr
    amount: PaymentAmountInput
    currency: Currency
    method: ReadyMethodInput
    customer: CustomerInput | None = None
    custom_data: StrictStr | None = None
    notice_urls: list[StrictStr] | None = None
    skip_webhook: StrictBool | None = None


class DepositBody(WireModel):
    store_id: StrictStr | None = None
    amount: StrictInt | None = None
    remitter_name: StrictStr | None = None


class CancellationResultBody(WireModel):
    store_id: StrictStr | None = None
    pg_code: StrictStr | None = None
    pg_message: StrictStr | None = None


class DisputeBody(WireModel):
    store_id: StrictStr | None = None
    reason: StrictStr | None = None
    pg_dispute_id: StrictStr | None = None


class ExpireBody(WireModel):
    store_id: StrictStr | None = None


def _client_ip(request: Request) -> str:
    return request.client.host if request.client else "127.0.0.1"


@router.post("/{paymentId}/ready")
async def create_ready_payment(request: Request, paymentId: str) -> Response:
    """A READY manual-confirm payment, as a checkout would leave it; returns its paymentToken."""
    body = await parse_body(request, ReadyPaymentBody)
    from localportone.payments.routes import limits

    async with begin(request) as uow:
        store = await acting_store(request, uow, body.store_id)
        result = await service.create_ready_payment(
            uow, store, paymentId, channel_key=body.channel_key, order_name=body.order_name, amount=body.amount,
            currency=body.currency, card=body.method.card, customer=body.customer, custom_data=body.custom_data,
            notice_urls=body.notice_urls, client_ip=_client_ip(request), skip_webhook=bool(body.skip_webhook),
            limits=limits(request),
        )
    return ok(result)


@router.post("/{paymentId}/deposit")
async def deposit(request: Request, paymentId: str, storeId: str | None = None) -> Response:
    """The buyer deposits into the issued virtual account: PAID, ``Transaction.Paid`` (VIRTUAL_ACCOUNT_DEPOSIT)."""
    body = await parse_body(request, DepositBody)
    if storeId is not None and body.store_id is not None and storeId != body.store_id:
        raise InvalidRequestError("storeId differs between the query and the body")
    async with begin(request) as uow:
        store = await acting_store(request, uow, storeId or body.store_id)
        payment = await service.deposit(uow, store, paymentId, amount=body.amount, remitter_name=body.remitter_name)
    return ok({"payment": payment})


async def _cancellation_result(request: Request, paymentId: str, cancellationId: str, succeeded: bool) -> Response:
    body = await parse_body(request, CancellationResultBody)
    async with begin(request) as uow:
        store = await acting_store(request, uow, request.query_params.get("storeId") or body.store_id)
        result: dict[str, Any]
        if succeeded:
            result = await service.complete_cancellation(uow, store, paymentId, cancellationId)
        else:
            result = await service.fail_cancellation(uow, store, paymentId, cancellationId, pg_code=body.pg_code,
                                                     pg_message=body.pg_message)
    return ok(result)


@router.post("/{paymentId}/cancellations/{cancellationId}/complete")
async def complete_cancellation(request: Request, paymentId: str, cancellationId: str) -> Response:
    """The PG reports that an asynchronous (REQUESTED) cancellation succeeded."""
    return await _cancellation_result(request, paymentId, cancellationId, True)


@router.post("/{paymentId}/cancellations/{cancellationId}/fail")
async def fail_cancellation(request: Request, paymentId: str, cancellationId: str) -> Response:
    """The PG reports that an asynchronous (REQUESTED) cancellation failed."""
    return await _cancellation_result(request, paymentId, cancellationId, False)


@router.post("/expire-virtual-accounts")
async def expire_virtual_accounts(request: Request) -> Response:
    """Expire now every virtual account past its ``expiredAt`` (what the expiry job does)."""
    body = await parse_body(request, ExpireBody)
    async with begin(request) as uow:
        _, store_ids = await store_filter(request, uow, body.store_id)
        count = await service.expire_due_virtual_accounts(uow, store_ids)
    return ok({"expiredCount": count})


@router.post("/{paymentId}/disputes")
async def create_dispute(request: Request, paymentId: str) -> Response:
    """The card company opens a dispute (chargeback): ``Transaction.DisputeCreated``; the status is unchanged."""
    from localportone.payments import disputes

    body = await parse_body(request, DisputeBody)
    async with begin(request) as uow:
        store = await acting_store(request, uow, request.query_params.get("storeId") or body.store_id)
        dispute = await disputes.create_dispute(uow, store, paymentId, reason=body.reason or "chargeback",
                                                pg_dispute_id=body.pg_dispute_id)
    return ok({"dispute": dispute})


@router.post("/{paymentId}/disputes/{pgDisputeId}/resolve")
async def resolve_dispute(request: Request, paymentId: str, pgDisputeId: str) -> Response:
    """The dispute is settled: ``Transaction.DisputeResolved``."""
    from localportone.payments import disputes

    body = await parse_body(request, DisputeBody)
    async with begin(request) as uow:
        store = await acting_store(request, uow, request.query_params.get("storeId") or body.store_id)
        dispute = await disputes.resolve_dispute(uow, store, paymentId, pgDisputeId)
    return ok({"dispute": dispute})


async def _settle(request: Request, paymentId: str, approve: bool) -> Response:
    from localportone.payments.pending import settle_pending_payment

    body = await parse_body(request, CancellationResultBody)
    async with begin(request) as uow:
        store = await acting_store(request, uow, request.query_params.get("storeId") or body.store_id)
        payment = await settle_pending_payment(uow, store, paymentId, approve=approve, pg_code=body.pg_code,
                                               pg_message=body.pg_message)
    return ok({"payment": payment})


@router.post("/{paymentId}/approve")
async def approve_pending_payment(request: Request, paymentId: str) -> Response:
    """The PG approves a PAY_PENDING payment: PAID, ``Transaction.Paid`` (ASYNC_PAY_APPROVED)."""
    return await _settle(request, paymentId, True)


@router.post("/{paymentId}/reject")
async def reject_pending_payment(request: Request, paymentId: str) -> Response:
    """The PG refuses a PAY_PENDING payment: FAILED, ``Transaction.Failed`` (ASYNC_PAY_FAILED)."""
    return await _settle(request, paymentId, False)
