"""Deliveries as wire objects: ``PaymentWebhook`` for the PortOne API, a fuller view for the sandbox API."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from localportone.kernel.clock import to_wire
from localportone.webhooks import payloads
from localportone.webhooks.models import AttemptSummary, DeliveryRecord, WebhookAttempt, WebhookDelivery


def header_text(headers: Mapping[str, str] | Iterable[Sequence[str]]) -> str:
    """Headers as HTTP shows them: one ``name: value`` per line."""
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    return "\n".join(f"{name}: {value}" for name, value in pairs)


def payment_webhook(row: DeliveryRecord, last: AttemptSummary | None) -> dict[str, Any]:
    """``PaymentWebhook``: ``status``/``response`` describe the latest attempt and are absent before the first."""
    out: dict[str, Any] = {"id": row.id, "url": row.url}
    if row.payment_status is not None:
        out["paymentStatus"] = row.payment_status
    if row.last_result is not None:
        out["status"] = row.last_result
    out["isAsync"] = row.is_async
    out["currentExecutionCount"] = row.execution_count
    out["maxExecutionCount"] = row.max_executions
    if row.trigger is not None:
        out["trigger"] = row.trigger
    request: dict[str, Any] = {"body": row.body}
    if last is not None:
        request["header"] = header_text(last.request_headers)
        request["requestedAt"] = to_wire(last.requested_at)
    out["request"] = request
    if last is not None and last.response_status is not None and last.responded_at is not None:
        out["response"] = {
            "code": str(last.response_status),
            "header": header_text(last.response_headers or []),
            "body": last.response_body or "",
            "respondedAt": to_wire(last.responded_at),
        }
    out["triggeredAt"] = to_wire(row.created_at)
    return out


def sandbox_attempt(attempt: WebhookAttempt) -> dict[str, Any]:
    out: dict[str, Any] = {
        "number": attempt.number,
        "result": attempt.result,
        "requestedAt": to_wire(attempt.requested_at),
        "requestHeaders": dict(attempt.request_headers),
        "durationMs": attempt.duration_ms,
        "worker": attempt.worker,
    }
    if attempt.response_status is not None:
        out["responseStatus"] = attempt.response_status
        out["responseHeaders"] = [list(pair) for pair in attempt.response_headers or []]
        out["responseBody"] = attempt.response_body or ""
    if attempt.responded_at is not None:
        out["respondedAt"] = to_wire(attempt.responded_at)
    if attempt.error is not None:
        out["error"] = attempt.error
    return out


def sandbox_delivery(row: WebhookDelivery, attempts: Sequence[WebhookAttempt]) -> dict[str, Any]:
    """Everything about one delivery, with every attempt (request headers, response, error)."""
    out: dict[str, Any] = {"id": row.id, "storeId": row.store_id}
    if row.payment_id is not None:
        out["paymentId"] = row.payment_id
    if row.billing_key is not None:
        out["billingKey"] = row.billing_key
    out.update({
        "type": row.event_type,
        "version": payloads.CURRENT if row.version == payloads.TEST_CALL else row.version,
        "isTest": row.is_test,
        "url": row.url,
        "isAsync": row.is_async,
        "status": row.status,
        "executionCount": row.execution_count,
        "maxExecutionCount": row.max_executions,
        "createdAt": to_wire(row.created_at),
        "updatedAt": to_wire(row.updated_at),
        "body": row.body,
    })
    if row.trigger is not None:
        out["trigger"] = row.trigger
    if row.payment_status is not None:
        out["paymentStatus"] = row.payment_status
    if row.last_result is not None:
        out["lastResult"] = row.last_result
    if row.next_attempt_at is not None:
        out["nextAttemptAt"] = to_wire(row.next_attempt_at)
    if row.resend_of is not None:
        out["resendOf"] = row.resend_of
    if row.version == payloads.TEST_CALL:
        out["testCall"] = True
    out["attempts"] = [sandbox_attempt(a) for a in attempts]
    return out
