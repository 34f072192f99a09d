"""``GET /payments`` (filters, text search, pages), ``/payments-by-cursor`` and ``/payment-events-by-cursor``."""

from __future__ import annotations

import json
from typing import Any

import httpx

from tests.payments.helpers import DECLINE_CARD, cancel, card_body, error, get, new_id, pay, va_body
from tests.support.server import TEST_STORE_ID


def _list(client: httpx.Client, body: dict[str, Any], path: str = "/payments") -> dict[str, Any]:
    response = client.get(path, params={"requestBody": json.dumps(body)})
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def _ids(client: httpx.Client, filter_: dict[str, Any], **extra: Any) -> list[str]:
    return [p["id"] for p in _list(client, {"filter": filter_, **extra})["items"]]


def test_filters_text_search_and_pages(client: httpx.Client, channels: dict[str, str]) -> None:
    paid, failed, issued, cancelled = "order-paid-1", "order-failed-2", "order-va-3", "other-cancelled-4"
    pay(client, paid, card_body(channels["TOSSPAYMENTS"], 5000, customer={"name": {"full": "Kim Minsu"},
                                                                           "email": "kim@example.com"}))
    pay(client, failed, card_body(channels["TOSSPAYMENTS"], card=DECLINE_CARD), 502)
    pay(client, issued, va_body(channels["KCP_V2"]))
    pay(client, cancelled, card_body(channels["KCP_V2"], card={"number": "5555555555554444", "expiryYear": "30",
                                                               "expiryMonth": "12"}))
    cancel(client, cancelled, {"reason": "Customer changed mind"})

    everything = _list(client, {})
    assert [p["id"] for p in everything["items"]] == [cancelled, issued, failed, paid]  # statusChangedAt DESC
    assert everything["page"] == {"number": 0, "size": 10, "totalCount": 4}
    page = _list(client, {"page": {"number": 1, "size": 3}})
    assert [p["id"] for p in page["items"]] == [paid] and page["page"] == {"number": 1, "size": 3, "totalCount": 4}
    assert _ids(client, {"sortOrder": "ASC"}) == [paid, failed, issued, cancelled]
    assert _ids(client, {"timestampType": "CREATED_AT", "sortBy": "REQUESTED_AT", "sortOrder": "ASC"}) == [
        paid, failed, issued, cancelled]
    assert _ids(client, {"status": ["PAID", "FAILED"]}) == [failed, paid]
    assert _ids(client, {"status": ["PENDING"]}) == []
    assert _ids(client, {"methods": ["VIRTUAL_ACCOUNT"]}) == [issued]
    assert _ids(client, {"pgProvider": ["KCP_V2"]}) == [cancelled, issued]
    assert _ids(client, {"cardBrand": "MASTER"}) == [cancelled]
    assert _ids(client, {"cardBrand": "VISA", "cardType": "CREDIT", "cardOwnerType": "PERSONAL"}) == [paid]
    assert _ids(client, {"isTest": True, "isScheduled": False, "platformType": "API", "currency": "KRW",
                         "version": "V2", "isEscrow": False}) == [cancelled, issued, failed, paid]
    for impossible in ({"isTest": False}, {"platformType": "SDK_PC"}, {"version": "V1"},
                       {"giftCertificateType": "BOOKNLIFE"}, {"cashReceiptStatus": "ISSUED"},
                       {"merchantId": "merchant-someone-else"}, {"currency": "USD"}, {"isScheduled": True},
                       {"webhookStatus": "SUCCEEDED"}, {"escrowStatus": "REGISTERED"}, {"cashReceiptType": "PERSONAL"}):
        assert _ids(client, impossible) == [], impossible
    search = [
        ({"field": "PAYMENT_ID", "value": "order-"}, [issued, failed, paid]),
        ({"field": "PAYMENT_ID", "value": "ORDER-"}, []),  # case-sensitive prefix (§16 item 37)
        ({"field": "PAYMENT_ID", "value": "paid"}, []),  # a prefix, not a substring
        ({"field": "ALL", "value": "Kim M"}, [paid]),
        ({"field": "CUSTOMER_EMAIL", "value": "kim@"}, [paid]),
        ({"field": "CARD_BIN", "value": "555555"}, [cancelled]),
        ({"field": "CANCEL_REASON", "value": "Customer"}, [cancelled]),
        ({"field": "FAIL_REASON", "value": "The card company"}, [failed]),
        ({"field": "VIRTUAL_ACCOUNT_BANK", "value": "KOOK"}, [issued]),
        ({"field": "ORDER_NAME", "value": "Sandbox VA"}, [issued]),
        ({"field": "PG_MERCHANT_ID", "value": "T0000"}, [cancelled, issued]),
    ]
    for text_search, expected in search:
        assert _ids(client, {"textSearch": [text_search]}) == expected, text_search
    assert _ids(client, {"textSearch": [{"field": "PAYMENT_ID", "value": "order-"},
                                        {"field": "ALL", "value": "Kim"}]}) == [paid]
    tx_id = get(client, paid)["transactionId"]
    assert _ids(client, {"textSearch": [{"field": "TX_ID", "value": tx_id}]}) == [paid]
    assert _ids(client, {"until": "2000-01-01T00:00:00Z"}) == []
    assert _ids(client, {"from": "2000-01-01T00:00:00Z", "until": "2000-02-01T00:00:00+09:00"}) == []
    for bad in ({"page": {"size": 0}}, {"page": {"size": 1001}}, {"page": {"number": -1}},
                {"filter": {"status": ["NOPE"]}}, {"filter": {"from": "yesterday"}},
                {"filter": {"from": "2030-01-01T00:00:00Z", "until": "2020-01-01T00:00:00Z"}}):
        error(client.get("/payments", params={"requestBody": json.dumps(bad)}), 400, "INVALID_REQUEST")
    error(client.get("/payments", params={"requestBody": "{"}), 400, "INVALID_REQUEST")


def test_cursors_and_events(client: httpx.Client, channels: dict[str, str]) -> None:
    ids = [new_id() for _ in range(3)]
    for payment_id in ids:
        pay(client, payment_id, card_body(channels["TOSSPAYMENTS"], 10000))
    cancel(client, ids[0], {"reason": "part", "amount": 4000})
    cancel(client, ids[0], {"reason": "rest"})

    first = _list(client, {"size": 2}, "/payments-by-cursor")["items"]
    assert [i["payment"]["id"] for i in first] == ids[:2]  # creation order
    second = _list(client, {"size": 2, "cursor": first[-1]["cursor"]}, "/payments-by-cursor")["items"]
    assert [i["payment"]["id"] for i in second] == ids[2:]
    assert _list(client, {"cursor": second[-1]["cursor"]}, "/payments-by-cursor")["items"] == []
    assert first[0]["payment"]["status"] == "CANCELLED"
    assert _list(client, {"until": "2000-01-01T00:00:00Z"}, "/payments-by-cursor")["items"] == []
    error(client.get("/payments-by-cursor", params={"requestBody": json.dumps({"cursor": "garbage"})}), 400,
          "INVALID_REQUEST")
    error(client.get("/payments-by-cursor", params={"requestBody": json.dumps({"size": 1001})}), 400,
          "INVALID_REQUEST")

    events = [i["paymentEvent"] for i in _list(client, {"size": 1000}, "/payment-events-by-cursor")["items"]]
    summary = [(e["type"], e["paymentId"], e["eventAmount"]) for e in events]
    assert summary == [("PAID", ids[0], 10000), ("PAID", ids[1], 10000), ("PAID", ids[2], 10000),
                       ("PARTIAL_CANCELLED", ids[0], -4000), ("CANCELLED", ids[0], -6000)]
    assert events[0]["totalAmount"]["cancelled"] == 0 and events[0]["disputes"] == []
    assert events[3]["totalAmount"]["cancelled"] == 4000 and events[4]["totalAmount"]["cancelled"] == 10000
    assert events[4]["cancellation"]["totalAmount"] == 6000 and events[4]["origin"]["platformType"] == "API"
    page = _list(client, {"size": 2}, "/payment-events-by-cursor")["items"]
    rest = _list(client, {"cursor": page[-1]["cursor"]}, "/payment-events-by-cursor")["items"]
    assert [i["paymentEvent"]["id"] for i in page + rest] == [e["id"] for e in events]


def test_store_scoping(client: httpx.Client, channels: dict[str, str]) -> None:
    created = client.post("/_sandbox/stores", json={"name": "sub"}).json()
    sub_store = created["store"]["id"]
    sub_key = next(c["key"] for c in created["channels"] if c["pgProvider"] == "TOSSPAYMENTS")
    mine, theirs = new_id(), new_id()
    pay(client, mine, card_body(channels["TOSSPAYMENTS"]))
    pay(client, theirs, card_body(sub_key, storeId=sub_store))
    error(client.post(f"/payments/{new_id()}/instant", json=card_body(sub_key)), 404, "CHANNEL_NOT_FOUND")
    error(client.get(f"/payments/{theirs}"), 404, "PAYMENT_NOT_FOUND")  # §16 item 11
    assert client.get(f"/payments/{theirs}", params={"storeId": sub_store}).json()["storeId"] == sub_store
    assert sorted(_ids(client, {})) == sorted([mine, theirs])  # merchant-level: every store
    assert _ids(client, {"storeId": sub_store}) == [theirs]
    assert _ids(client, {"storeId": TEST_STORE_ID}) == [mine]
    error(client.get("/payments", params={"requestBody": json.dumps({"filter": {"storeId": "store-nope"}})}), 403,
          "FORBIDDEN")
    by_cursor = _list(client, {}, "/payments-by-cursor")["items"]
    assert [i["payment"]["id"] for i in by_cursor] == [mine]  # the credential's store
    events = _list(client, {"storeId": sub_store}, "/payment-events-by-cursor")["items"]
    assert [i["paymentEvent"]["paymentId"] for i in events] == [theirs]
