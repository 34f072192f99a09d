"""The customer as the wire shows it, from the customer a request gives (payments, billing keys, schedules)."""

from __future__ import annotations

from typing import Any

from localportone.wire import CustomerInput
from localportone.wire.errors import InvalidRequestError


def customer_wire(value: CustomerInput | None) -> dict[str, Any]:
    """``CustomerInput`` → ``Customer`` (domain-payments §16 items 29-30): a separated name becomes
    ``"first last"``, the address ``SEPARATED`` with its one line; ``{}`` when absent."""
    if value is None:
        return {}
    out: dict[str, Any] = {}
    if value.id is not None:
        out["id"] = value.id
    if value.name is not None:
        full, separated = value.name.full, value.name.separated
        if (full is None) == (separated is None):
            raise InvalidRequestError("customer.name: give exactly one of full or separated")
        out["name"] = full if full is not None else f"{separated.first} {separated.last}"  # type: ignore[union-attr]
    for key, attr in (("birthYear", "birth_year"), ("birthMonth", "birth_month"), ("birthDay", "birth_day"),
                      ("gender", "gender"), ("email", "email"), ("phoneNumber", "phone_number")):
        item = getattr(value, attr)
        if item is not None:
            out[key] = item
    if value.address is not None:
        a = value.address
        address: dict[str, Any] = {
            "type": "SEPARATED",
            "oneLine": f"{a.address_line1} {a.address_line2}",
            "addressLine1": a.address_line1,
            "addressLine2": a.address_line2,
        }
        for key, item in (("city", a.city), ("province", a.province), ("country", a.country)):
            if item is not None:
                address[key] = item
        out["address"] = address
    if value.zipcode is not None:
        out["zipcode"] = value.zipcode
    return out
