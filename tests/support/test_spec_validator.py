"""The official-spec response validator used by the whole suite."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from tests.support import spec
from tests.support.spec import assert_response_matches, assert_schema, requires_spec

# domain-payments.md §5.2: a minimal PAID payment the official SDK accepts
PAID: dict[str, Any] = {
    "status": "PAID",
    "id": "order-1",
    "transactionId": "0190f7d2-5a6c-7e31-9c7e-1b2f0b7c1a11",
    "merchantId": "merchant-1",
    "storeId": "store-1",
    "channel": {
        "type": "TEST",
        "id": "channel-1",
        "key": "channel-key-1",
        "name": "sandbox card",
        "pgProvider": "TOSSPAYMENTS",
        "pgMerchantId": "tosstest",
    },
    "version": "V2",
    "requestedAt": "2025-01-01T00:00:00.000Z",
    "updatedAt": "2025-01-01T00:00:01.000Z",
    "statusChangedAt": "2025-01-01T00:00:01.000Z",
    "paidAt": "2025-01-01T00:00:01.000Z",
    "orderName": "Monthly plan",
    "amount": {
        "total": 8900,
        "taxFree": 0,
        "vat": 809,
        "supply": 8091,
        "discount": 0,
        "paid": 8900,
        "cancelled": 0,
        "cancelledTaxFree": 0,
    },
    "currency": "KRW",
    "customer": {"id": "cust-1"},
    "method": {
        "type": "PaymentMethodCard",
        "approvalNumber": "12345678",
        "card": {
            "brand": "LOCAL",
            "type": "CREDIT",
            "ownerType": "PERSONAL",
            "bin": "53275000",
            "number": "53275000****1234",
        },
        "installment": {"month": 0, "isInterestFree": False},
    },
    "pgTxId": "sandbox-1",
    "disputes": [],
    "webhooks": [],
    "origin": {"platformType": "API", "ipAddress": "127.0.0.1"},
}


def _paid(**changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(PAID)
    body.update(changes)
    return body


@requires_spec
def test_valid_paid_payment_passes() -> None:
    assert_response_matches("getPayment", 200, PAID)


@requires_spec
def test_other_variants_are_selected_by_status() -> None:
    ready = {k: v for k, v in PAID.items() if k not in ("paidAt", "pgTxId", "disputes", "channel")}
    assert_response_matches("getPayment", 200, {**ready, "status": "READY"})
    with pytest.raises(AssertionError, match="failedAt"):
        assert_response_matches("getPayment", 200, {**ready, "status": "FAILED"})


@requires_spec
@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (_paid(customData=None), "null"),
        (_paid(amount={**PAID["amount"], "total": 8900.0}), "integer"),
        (_paid(amount={**PAID["amount"], "paid": True}), "integer"),
        ({k: v for k, v in PAID.items() if k != "orderName"}, "orderName"),
        ({k: v for k, v in PAID.items() if k != "paidAt"}, "paidAt"),  # required by the PAID variant only
        (_paid(status="PENDING"), "status"),
        (_paid(method={**PAID["method"], "type": "CARD"}), "type"),
        (_paid(paidAt="2025-01-01 soon"), "date-time"),
        (_paid(currency="ZZZ"), "currency"),
    ],
    ids=["null", "float-amount", "bool-amount", "missing", "variant-required", "status", "method-type", "date", "enum"],
)
def test_invalid_payments_fail(body: dict[str, Any], reason: str) -> None:
    with pytest.raises(AssertionError, match=reason):
        assert_response_matches("getPayment", 200, body)


@requires_spec
def test_nested_null_is_reported_with_its_path() -> None:
    body = _paid(customer={"id": "cust-1", "name": None})
    with pytest.raises(AssertionError, match=r"\$\.customer\.name: null"):
        assert_response_matches("getPayment", 200, body)


@requires_spec
def test_error_bodies() -> None:
    assert_response_matches("getPayment", 404, {"type": "PAYMENT_NOT_FOUND", "message": "no such payment"})
    assert_response_matches("getPayment", 401, {"type": "UNAUTHORIZED"})
    with pytest.raises(AssertionError, match="not in GetPaymentError"):
        assert_response_matches("getPayment", 404, {"type": "BILLING_KEY_NOT_FOUND", "message": "x"})
    with pytest.raises(AssertionError, match="HTTP 404"):
        assert_response_matches("getPayment", 400, {"type": "PAYMENT_NOT_FOUND"})
    with pytest.raises(AssertionError, match="does not declare HTTP 500"):
        assert_response_matches("getPayment", 500, {"type": "INVALID_REQUEST"})
    with pytest.raises(AssertionError, match="JSON object"):
        assert_response_matches("getPayment", 400, "Bad Request")
    with pytest.raises(AssertionError, match="message"):
        assert_response_matches("getPayment", 400, {"type": "INVALID_REQUEST", "message": 3})


@requires_spec
def test_error_extra_fields_are_required() -> None:
    pg = {"type": "PG_PROVIDER", "message": "declined", "pgCode": "E1", "pgMessage": "no"}
    assert_response_matches("payInstantly", 502, pg)
    with pytest.raises(AssertionError, match="pgCode"):
        assert_response_matches("payInstantly", 502, {"type": "PG_PROVIDER", "message": "declined"})


@requires_spec
def test_discriminator_declared_with_a_contradicting_type_still_validates() -> None:
    # PlatformSettlementAmountExceededError declares `type` as an unrelated enum; the union's value must win
    body = {"type": "PLATFORM_SETTLEMENT_AMOUNT_EXCEEDED", "requestedAmount": 2, "allowedAmount": 1}
    assert_response_matches("createPlatformOrderTransfer", 400, body)


@requires_spec
def test_named_schema() -> None:
    assert_schema("PaymentAmount", PAID["amount"])
    with pytest.raises(AssertionError, match="null"):
        assert_schema("PaymentAmount", {**PAID["amount"], "vat": None})
    with pytest.raises(AssertionError, match="unknown schema"):
        assert_schema("NoSuchSchema", {})


@requires_spec
def test_unknown_operation_fails() -> None:
    with pytest.raises(AssertionError, match="unknown operationId"):
        assert_response_matches("noSuchOperation", 200, {})


@requires_spec
def test_validators_are_cached() -> None:
    loaded = spec._spec()
    assert loaded is not None
    assert loaded.validator("Payment") is loaded.validator("Payment")


def test_no_op_without_the_spec(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(spec.SPEC_ENV, str(tmp_path / "missing.json"))
    assert spec.official_spec_path() is None
    assert_response_matches("getPayment", 200, {"anything": None})
    assert_schema("Payment", None)
