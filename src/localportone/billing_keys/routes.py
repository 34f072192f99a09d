"""Category ``payment.billingKey``: billing-key operations (thin: parse, call the service, present), plus the
sandbox controls under ``/_sandbox/billing-keys`` (see docs/billing-keys.md)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import StrictStr
from starlette.responses import Response

from localportone.billing_keys import service
from localportone.billing_keys.service import IssueOptions, PendingPayment
from localportone.http.context import acting_store, begin, store_filter, transactions
from localportone.http.parsing import parse_body, parse_query_body
from localportone.http.responses import ok
from localportone.http.routing import PortOneRoute
from localportone.payments.common import Limits
from localportone.wire import (
    ConfirmBillingKeyBody,
    ConfirmBillingKeyIssueAndPayBody,
    Currency,
    GetBillingKeyInfosBody,
    IssueBillingKeyBody,
    PaymentAmountInput,
)
from localportone.wire.errors import InvalidRequestError

router = APIRouter(route_class=PortOneRoute, tags=["payment.billingKey"])


def _options(request: Request) -> IssueOptions:
    return IssueOptions(user_agent=request.headers.get("user-agent"))


def _client_ip(request: Request) -> str:
    return request.client.host if request.client is not None else "127.0.0.1"


def _bool_query(request: Request, name: str) -> bool | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    if raw.lower() in ("true", "1"):
        return True
    if raw.lower() in ("false", "0"):
        return False
    raise InvalidRequestError(f"{name} must be true or false")


@router.post("/billing-keys")
async def issue_billing_key(request: Request) -> Response:
    body = await parse_body(request, IssueBillingKeyBody)
    async with begin(request, write=False) as uow:
        store = await acting_store(request, uow, body.store_id)
    return ok(await service.issue_billing_key(transactions(request), store, body, _options(request)))


@router.get("/billing-keys")
async def get_billing_key_infos(request: Request) -> Response:
    body = await parse_query_body(request, GetBillingKeyInfosBody)
    async with begin(request, write=False) as uow:
        principal, store_ids = await store_filter(request, uow, body.filter.store_id if body.filter else None)
        return ok(await service.get_billing_key_infos(uow, principal, store_ids, body))


@router.post("/billing-keys/confirm")
async def confirm_billing_key(request: Request) -> Response:
    body = await parse_body(request, ConfirmBillingKeyBody)
    async with begin(request) as uow:
        store = await acting_store(request, uow, body.store_id)
        result = await service.confirm_billing_key(uow, store, body)
    return ok(result)


@router.post("/billing-keys/confirm-issue-and-pay")
async def confirm_billing_key_issue_and_pay(request: Request) -> Response:
    body = await parse_body(request, ConfirmBillingKeyIssueAndPayBody)
    async with begin(request) as uow:
        store = await acting_store(request, uow, body.store_id)
        result = await service.confirm_billing_key_issue_and_pay(
            uow, store, body, client_ip=_client_ip(request),
            limits=Limits.from_settings(request.app.state.runtime.settings))
    return ok(result)


@router.get("/billing-keys/{billingKey}")
async def get_billing_key_info(request: Request, billingKey: str) -> Response:
    async with begin(request, write=False) as uow:
        store = await acting_store(request, uow, request.query_params.get("storeId"))
        return ok(await service.get_billing_key_info(uow, store, billingKey))


@router.delete("/billing-keys/{billingKey}")
async def delete_billing_key(request: Request, billingKey: str) -> Response:
    query = request.query_params
    requester = query.get("requester")
    if requester is not None and requester not in ("CUSTOMER", "ADMIN"):
        raise InvalidRequestError("requester must be CUSTOMER or ADMIN")
    skip_webhook = _bool_query(request, "skipWebhook")
    async with begin(request) as uow:
        store = await acting_store(request, uow, query.get("storeId"))
        result = await service.delete_billing_key(
            uow, store, billingKey, reason=query.get("reason"), requester=requester,
            skip_webhook=bool(skip_webhook),
        )
    return ok(result)


# ------------------------------------------------------------------------------------------------ sandbox controls


class IssuePendingBody(IssueBillingKeyBody):
    """``POST /billing-keys`` plus the first payment of an issue-and-pay checkout (all four or none)."""

    payment_id: StrictStr | None = None
    order_name: StrictStr | None = None
    amount: PaymentAmountInput | None = None
    currency: Currency | None = None

    def payment(self) -> PendingPayment | None:
        given = [self.payment_id, self.order_name, self.amount, self.currency]
        if all(v is None for v in given):
            return None
        if any(v is None for v in given):
            raise InvalidRequestError("give all of paymentId, orderName, amount and currency, or none of them")
        assert self.payment_id is not None and self.order_name is not None
        assert self.amount is not None and self.currency is not None
        if self.amount.total < 1:
            raise InvalidRequestError("amount.total must be 1 or more")
        if self.amount.tax_free is not None and not 0 <= self.amount.tax_free <= self.amount.total:
            raise InvalidRequestError("amount.taxFree must be from 0 to amount.total")
        return PendingPayment(self.payment_id, self.order_name, self.amount.total, self.currency,
                              self.amount.tax_free)


@router.post("/_sandbox/billing-keys/issue-pending", tags=["sandbox"])
async def issue_pending_billing_key(request: Request) -> Response:
    body = await parse_body(request, IssuePendingBody)
    payment = body.payment()
    async with begin(request, write=False) as uow:
        store = await acting_store(request, uow, body.store_id)
    options = IssueOptions(platform_type="SDK_PC", user_agent=request.headers.get("user-agent"))
    return ok(await service.issue_pending_billing_key(transactions(request), store, body, options, payment))


@router.post("/_sandbox/billing-keys/{billingKey}/update", tags=["sandbox"])
async def fire_billing_key_updated(request: Request, billingKey: str) -> Response:
    async with begin(request) as uow:
        store = await acting_store(request, uow, request.query_params.get("storeId"))
        result = await service.fire_billing_key_updated(uow, store, billingKey)
    return ok(result)
