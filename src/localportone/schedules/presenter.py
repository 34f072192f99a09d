"""Schedule rows → ``PaymentSchedule`` wire objects (plain dicts; absent optional fields are omitted)."""

from __future__ import annotations

from typing import Any

from localportone.kernel.clock import to_wire
from localportone.schedules.models import PaymentScheduleRow
from localportone.schedules.state import Status


def customer_wire(customer_input: dict[str, Any] | None) -> dict[str, Any]:
    """``CustomerInput`` → ``Customer``: one-string name ("first last"), SEPARATED address with its one line."""
    source = customer_input or {}
    out: dict[str, Any] = {}
    for key in ("id", "birthYear", "birthMonth", "birthDay", "gender", "email", "phoneNumber", "zipcode"):
        if source.get(key) is not None:
            out[key] = source[key]
    name = source.get("name") or {}
    if name.get("full") is not None:
        out["name"] = name["full"]
    elif name.get("separated") is not None:
        out["name"] = f"{name['separated']['first']} {name['separated']['last']}"
    address = source.get("address")
    if address:
        wire: dict[str, Any] = {
            "type": "SEPARATED",
            "oneLine": f"{address['addressLine1']} {address['addressLine2']}",
            "addressLine1": address["addressLine1"],
            "addressLine2": address["addressLine2"],
        }
        for key in ("city", "province", "country"):
            if address.get(key) is not None:
                wire[key] = address[key]
        out["address"] = wire
    return out


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
