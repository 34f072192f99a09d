"""Schedule rows → ``PaymentSchedule`` wire objects (plain dicts; absent optional fields are omitted)."""

from __future__ import annotations

from typing import Any

from localportone.common.customers import customer_wire as common_customer_wire
from localportone.kernel.clock import to_wire
from localportone.schedules.models import PaymentScheduleRow
from localportone.schedules.state import Status
from localportone.wire import CustomerInput


def customer_wire(customer_input: dict[str, Any] | None) -> dict[str, Any]:
    """The stored ``CustomerInput`` (validated when the schedule was created) → ``Customer``."""
    return common_customer_wire(CustomerInput.model_validate(customer_input) if customer_input else None)


def schedule_wire(row: PaymentScheduleRow) -> dict[str, Any]:
    """The ``PaymentSchedule`` variant of the row's status, with every field that variant requires."""
    payment = row.payment_input
    out: dict[str, Any] = {
        "status": row.status,
        "id": row.id,
        "merchantId": row.merchant_id,
        "storeId": row.store_id,
        "paymentId": row.payment_id,
        "billingKey": row.billing_key,
        "orderName": row.order_name,
        "isCulturalExpense": False,  # billing-key payments carry neither flag in their input
        "isEscrow": False,
        "customer": row.customer,
        "customData": payment.get("customData") or "",
        "totalAmount": row.total_amount,
        "currency": row.currency,
        "createdAt": to_wire(row.created_at),
        "timeToPay": to_wire(row.time_to_pay),
    }
    if row.tax_free_amount is not None:
        out["taxFreeAmount"] = row.tax_free_amount
    if row.vat_amount is not None:
        out["vatAmount"] = row.vat_amount
    if payment.get("installmentMonth") is not None:
        out["installmentMonth"] = payment["installmentMonth"]
    if payment.get("noticeUrls") is not None:
        out["noticeUrls"] = payment["noticeUrls"]
    if payment.get("products") is not None:
        out["products"] = payment["products"]
    status = Status(row.status)
    if status not in (Status.SCHEDULED, Status.REVOKED) and row.started_at is not None:
        out["startedAt"] = to_wire(row.started_at)
    if status in (Status.SUCCEEDED, Status.FAILED, Status.PENDING) and row.completed_at is not None:
        out["completedAt"] = to_wire(row.completed_at)
    if status == Status.REVOKED and row.revoked_at is not None:
        out["revokedAt"] = to_wire(row.revoked_at)
    return out


def revoke_wire(schedule_ids: list[str], revoked_at: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"revokedScheduleIds": schedule_ids}
    if schedule_ids:
        out["revokedAt"] = to_wire(revoked_at)
    return out
