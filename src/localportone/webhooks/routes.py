"""``POST /payments/{paymentId}/resend-webhook`` and the sandbox webhook controls under ``/_sandbox/webhooks``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field, StrictStr
from starlette.responses import Response

from localportone.http.context import acting_store, begin, caller
from localportone.http.parsing import parse_body
from localportone.http.responses import ok
from localportone.http.routing import PortOneRoute
from localportone.kernel.pagination import MAX_PAGE_SIZE, Page
from localportone.kernel.uow import UnitOfWork
from localportone.stores import service as stores
from localportone.webhooks import payloads, service, signing
from localportone.webhooks.delivery import Deliverer
from localportone.webhooks.models import FINAL_STATUSES, PENDING
from localportone.wire import ResendWebhookBody
from localportone.wire.errors import InvalidRequestError

if TYPE_CHECKING:
    from localportone.runtime import Runtime

router = APIRouter(route_class=PortOneRoute, tags=["webhooks"])
sandbox = "/_sandbox/webhooks"


def _runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


def _deliverer(request: Request) -> Deliverer:
    deliverer: Deliverer = _runtime(request).services["webhooks"]
    return deliverer


@router.post("/payments/{paymentId}/resend-webhook", operation_id="resendWebhook")
async def resend_webhook(request: Request, paymentId: str) -> Response:
    body = await parse_body(request, ResendWebhookBody)
    async with begin(request) as uow:
        store = await acting_store(request, uow, body.store_id)
        webhook = await service.resend_webhook(
            uow, store, paymentId, body.webhook_id, max_resends=_runtime(request).settings.max_webhook_resend_count
        )
    return ok({"webhook": webhook})


# ---------------------------------------------------------------------------------------------------------- sandbox


class _Input(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class TestCallBody(_Input):
    url: StrictStr
    type: StrictStr = "Transaction.Paid"
    store_id: StrictStr | None = Field(default=None, alias="storeId")


class StoreWebhookBody(_Input):
    urls: list[StrictStr] | None = None
    version: StrictStr | None = None
    test_secret: StrictStr | None = Field(default=None, alias="testSecret")
    test_secrets: list[StrictStr] | None = Field(default=None, alias="testSecrets")


@router.get(sandbox)
async def list_deliveries(
    request: Request,
    storeId: str | None = None,
    paymentId: str | None = None,
    billingKey: str | None = None,
    type: str | None = None,
    status: str | None = None,
    pageNumber: int = Query(0, ge=0),
    pageSize: int = Query(20, ge=1, le=MAX_PAGE_SIZE),
) -> Response:
    if status is not None and status not in (PENDING, *FINAL_STATUSES):
        raise InvalidRequestError(f"status must be one of {', '.join((PENDING, *FINAL_STATUSES))}")
    query = service.DeliveryQuery(paymentId, billingKey, type, status)
    async with begin(request, write=False) as uow:
        store = await acting_store(request, uow, storeId)
        body = await service.list_deliveries(uow, store, query, Page(pageNumber, pageSize))
    return ok(body)


@router.post(f"{sandbox}/drain")
async def drain(request: Request) -> Response:
    """Deliver everything due now (and wait for what other workers are sending); one attempt each."""
    async with begin(request, write=False) as uow:
        await caller(request, uow)
    report = await _deliverer(request).deliver_due()
    async with begin(request, write=False) as uow:
        pending = await service.pending_count(uow)
    return ok({"attempted": report.attempted, "succeeded": report.succeeded, "failed": report.failed,
               "pending": pending})


@router.post(f"{sandbox}/test")
async def test_call(request: Request) -> Response:
    body = await parse_body(request, TestCallBody)
    if not body.type.startswith(("Transaction.", "BillingKey.")):
        raise InvalidRequestError("type must be a Transaction.* or BillingKey.* webhook type")
    if not body.url.startswith(("http://", "https://")):
        raise InvalidRequestError("url must be an http:// or https:// URL")
    async with begin(request) as uow:
        store = await acting_store(request, uow, body.store_id)
        delivery_id = await service.queue_test_call(uow, store, body.url, body.type)
    return await _deliver_and_show(request, store.store_id, delivery_id)


@router.get(sandbox + "/{webhookId}")
async def get_delivery(request: Request, webhookId: str, storeId: str | None = None) -> Response:
    async with begin(request, write=False) as uow:
        store = await acting_store(request, uow, storeId)
        view = await service.get_delivery(uow, store, webhookId)
    return ok({"webhook": view})


@router.post(sandbox + "/{webhookId}/replay")
async def replay(request: Request, webhookId: str, storeId: str | None = None) -> Response:
    """A new attempt now; for a finished delivery one more execution beyond its schedule."""
    async with begin(request) as uow:
        store = await acting_store(request, uow, storeId)
        delivery_id = await service.prepare_replay(uow, store, webhookId)
    return await _deliver_and_show(request, store.store_id, delivery_id)


async def _deliver_and_show(request: Request, store_id: str, delivery_id: str) -> Response:
    await _deliverer(request).deliver_due([delivery_id])
    async with begin(request, write=False) as uow:
        store = await acting_store(request, uow, store_id)
        view = await service.get_delivery(uow, store, delivery_id)
    return ok({"webhook": view})


@router.get("/_sandbox/stores/{storeId}/webhook")
async def get_store_webhook(request: Request, storeId: str) -> Response:
    async with begin(request, write=False) as uow:
        store = await acting_store(request, uow, storeId)
        view = await _store_webhook_view(uow, store.store_id)
    return ok(view)


@router.put("/_sandbox/stores/{storeId}/webhook")
async def put_store_webhook(request: Request, storeId: str) -> Response:
    """Configure where and how a store's webhooks go: ``urls`` (both modes; ``null`` = inherit the representative
    store's), ``version``, and the test-mode signing secret(s)."""
    body = await parse_body(request, StoreWebhookBody)
    if body.version is not None and body.version not in payloads.VERSIONS:
        raise InvalidRequestError(f"version must be one of {', '.join(payloads.VERSIONS)}")
    secrets = _secrets_of(body)
    async with begin(request) as uow:
        store = await acting_store(request, uow, storeId)
        changes: dict[str, Any] = {"urls": body.urls} if "urls" in body.model_fields_set else {}
        await stores.update_webhook_settings(uow, store.store_id, version=body.version, test_secrets=secrets,
                                             **changes)
        view = await _store_webhook_view(uow, store.store_id)
        uow.after_commit(_deliverer(request).forget_secrets)
    return ok(view)


def _secrets_of(body: StoreWebhookBody) -> list[str] | None:
    if body.test_secret is not None and body.test_secrets is not None:
        raise InvalidRequestError("give testSecret or testSecrets, not both")
    secrets = [body.test_secret] if body.test_secret is not None else body.test_secrets
    if secrets is None:
        return None
    if not 1 <= len(secrets) <= 2:
        raise InvalidRequestError("testSecrets: one or two secrets (two while rotating)")
    for i, secret in enumerate(secrets):
        try:
            signing.raw_secret(secret, strict=True)
        except ValueError as exc:
            raise InvalidRequestError(f"testSecrets[{i}]: {exc}") from None
    return list(secrets)


async def _store_webhook_view(uow: UnitOfWork, store_id: str) -> dict[str, Any]:
    """The effective settings as this transaction sees them (never from the cache: a PUT shows its own change)."""
    test = await stores.webhook_settings(uow, store_id, is_test=True, fresh=True)
    live = await stores.webhook_settings(uow, store_id, is_test=False, fresh=True)
    return {
        "storeId": store_id,
        "version": test.version,
        "testUrls": list(test.urls),
        "liveUrls": list(live.urls),
        "testSecrets": list(test.secrets),
    }
