"""The fast ``POST /payments/{id}/billing-key`` answers exactly what the regular FastAPI route answers (status,
headers, body, what it stores), and steps aside before its unit of work whenever the app would answer otherwise."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import pytest

from localportone.http.fast import STATS, FastPaths
from localportone.payments import service
from tests.billing_keys.helpers import issued_key
from tests.payments.conftest import WebhookRecorder
from tests.payments.helpers import get, new_id, stable
from tests.support.server import RunningServer, make_client

REFUSED_CARD = "4000000000000341"  # every charge of its billing key is refused (502 PG_PROVIDER)


def _charge_body(billing_key: str, **extra: Any) -> dict[str, Any]:
    return {"billingKey": billing_key, "orderName": "Monthly plan", "amount": {"total": 9900}, "currency": "KRW",
            **extra}


@dataclass
class Answer:
    status: int
    headers: dict[str, str]  # without ``date``
    body: bytes
    #: "served" or "declined" by the fast route, or "" when it was not asked (the regular route alone).
    fast: str

    def json(self) -> Any:
        return orjson.loads(self.body)


def _post(client: httpx.Client, url: str, body: Any = None, *, content: bytes | None = None,
          headers: dict[str, str] | None = None) -> Answer:
    before = STATS.copy()
    response = client.post(url, content=orjson.dumps(body) if content is None else content,
                           headers={"content-type": "application/json", **(headers or {})})
    served, declined = STATS["served"] - before["served"], STATS["declined"] - before["declined"]
    assert served + declined <= 1
    return Answer(response.status_code, {k: v for k, v in response.headers.items() if k != "date"},
                  response.content, "served" if served else "declined" if declined else "")


@pytest.fixture
def regular(monkeypatch: pytest.MonkeyPatch) -> Any:
    """``with regular():`` the requests inside go to the FastAPI app as if there were no fast route."""

    @contextmanager
    def only_fastapi() -> Iterator[None]:
        with monkeypatch.context() as patch:
            patch.setattr(FastPaths, "match", lambda self, scope: None)
            yield

    return only_fastapi


def _same(fast: Answer, slow: Answer) -> None:
    assert fast.fast == "served" and slow.fast == ""
    assert (fast.status, fast.headers, fast.body) == (slow.status, slow.headers, slow.body)
    assert fast.headers["content-type"] == "application/json"


_TIME = re.compile(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)")


def _masked(document: dict[str, Any]) -> bytes:
    """A payment's document with what differs between two payments made alike (ids, times, the PG's numbers)
    masked, without its webhooks (their delivery moves on in the background)."""
    text = orjson.dumps(stable(document))
    for value, mask in ((document["id"], b"<paymentId>"), (document["transactionId"], b"<transactionId>"),
                        (document["pgTxId"], b"<pgTxId>"), (document["method"]["approvalNumber"], b"<approval>")):
        text = text.replace(value.encode(), mask)
    return _TIME.sub(b"<time>", text)


def test_a_payment_is_served_fast_and_stored_as_the_regular_route_stores_it(
        client: httpx.Client, channels: dict[str, str], regular: Any, webhooks: WebhookRecorder) -> None:
    billing_key = issued_key(client, channels["TOSSPAYMENTS"], customer={"id": "subscriber-1"})
    body = _charge_body(billing_key, noticeUrls=["http://127.0.0.1:9/sub"], installmentMonth=0)
    fast_id, slow_id = new_id("sub"), new_id("sub")
    proxied = {"X-Forwarded-For": "203.0.113.9"}  # uvicorn trusts its own host's proxy headers
    fast = _post(client, f"/payments/{fast_id}/billing-key", body, headers=proxied)
    with regular():
        slow = _post(client, f"/payments/{slow_id}/billing-key", body, headers=proxied)
    assert fast.fast == "served" and fast.status == slow.status == 200
    assert fast.headers == slow.headers | {"content-length": str(len(fast.body))}
    assert list(fast.json()["payment"]) == list(slow.json()["payment"]) == ["pgTxId", "paidAt"]
    fast_payment, slow_payment = get(client, fast_id), get(client, slow_id)
    assert fast_payment["status"] == "PAID" and fast_payment["pgTxId"] == fast.json()["payment"]["pgTxId"]
    assert fast_payment["origin"] == {"platformType": "API", "ipAddress": "203.0.113.9"}
    assert _masked(fast_payment) == _masked(slow_payment)  # the client's IP, the key's customer, the channel...
    assert webhooks.types(fast_id) == webhooks.types(slow_id) == ["Transaction.Paid"]

    # the same payment again: 409 ALREADY_PAID, byte for byte
    again = _post(client, f"/payments/{fast_id}/billing-key", body)
    with regular():
        _same(again, _post(client, f"/payments/{fast_id}/billing-key", body))
    assert again.status == 409 and again.json()["type"] == "ALREADY_PAID"


def test_errors_of_the_unit_of_work_are_answered_fast_as_the_app_renders_them(
        client: httpx.Client, anonymous: httpx.Client, channels: dict[str, str], regular: Any,
        webhooks: WebhookRecorder) -> None:
    billing_key = issued_key(client, channels["TOSSPAYMENTS"], customer={"id": "subscriber-1"})
    refusing = issued_key(client, channels["KCP_V2"], REFUSED_CARD)
    cases: list[tuple[httpx.Client, dict[str, Any], int, str]] = [
        (client, _charge_body(refusing), 502, "PG_PROVIDER"),  # committed: a FAILED attempt and its webhook
        (client, _charge_body("billing-key-unknown"), 404, "BILLING_KEY_NOT_FOUND"),
        (client, _charge_body(billing_key, channelKey=channels["KCP_V2"]), 404, "CHANNEL_NOT_FOUND"),
        (client, _charge_body(billing_key, installmentMonth=-1), 400, "INVALID_REQUEST"),  # the service's 400
        (client, _charge_body(billing_key, amount={"total": 100, "taxFree": 101}), 409,
         "SUM_OF_PARTS_EXCEEDS_TOTAL_AMOUNT"),
        (client, _charge_body(billing_key, storeId="store-not-mine"), 403, "FORBIDDEN"),
        (anonymous, _charge_body(billing_key), 401, "UNAUTHORIZED"),
    ]
    for caller, body, status, type_ in cases:
        fast_id, slow_id = new_id(), new_id()
        fast = _post(caller, f"/payments/{fast_id}/billing-key", body)
        with regular():
            slow = _post(caller, f"/payments/{slow_id}/billing-key", body)
        _same(fast, slow)
        assert (fast.status, fast.json()["type"]) == (status, type_)
        if status == 502:
            assert get(client, fast_id)["status"] == get(client, slow_id)["status"] == "FAILED"
            assert webhooks.types(fast_id) == webhooks.types(slow_id) == ["Transaction.Failed"]
        else:
            assert client.get(f"/payments/{fast_id}").status_code == 404  # rolled back
            assert not webhooks.of(fast_id)


def test_an_unexpected_error_is_a_500_as_the_app_answers_it(
        client: httpx.Client, server: RunningServer, channels: dict[str, str], regular: Any,
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    billing_key = issued_key(client, channels["TOSSPAYMENTS"], customer={"id": "subscriber-1"})

    async def broken(*_args: Any, **_kwargs: Any) -> dict[str, Any]:
        raise RuntimeError("a bug")

    monkeypatch.setattr(service, "pay_with_billing_key", broken)
    payment_id = new_id()
    answers = []
    for route in (contextlib.nullcontext, regular):
        # the spec declares no 500: not validated; the server closes the connection after it
        with route(), make_client(server.base_url) as unchecked:
            answers.append(_post(unchecked, f"/payments/{payment_id}/billing-key", _charge_body(billing_key)))
    fast, slow = answers
    _same(fast, slow)
    assert fast.status == 500
    assert fast.json() == {"type": "INTERNAL_SERVER_ERROR", "message": "unexpected server error"}
    assert caplog.text.count(f"unexpected error on POST /payments/{payment_id}/billing-key") == 2
    assert client.get(f"/payments/{payment_id}").status_code == 404


def test_what_the_app_answers_before_the_route_is_declined(
        client: httpx.Client, channels: dict[str, str], regular: Any) -> None:
    billing_key = issued_key(client, channels["TOSSPAYMENTS"], customer={"id": "subscriber-1"})
    good = orjson.dumps(_charge_body(billing_key))
    for content in (b"{", b"[]", orjson.dumps({"billingKey": billing_key}), b'{"billingKey": 1}'):
        payment_id = new_id()
        fast = _post(client, f"/payments/{payment_id}/billing-key", content=content)
        with regular():
            slow = _post(client, f"/payments/{payment_id}/billing-key", content=content)
        assert fast.fast == "declined" and (fast.status, fast.body) == (slow.status, slow.body)
        assert fast.status == 400 and fast.json()["type"] == "INVALID_REQUEST"

    # an unknown query parameter, a trailing slash (FastAPI redirects): the app answers
    payment_id = new_id()
    queried = _post(client, f"/payments/{payment_id}/billing-key?foo=bar", content=good)
    assert queried.fast == "declined" and queried.status == 200
    assert get(client, payment_id)["status"] == "PAID"
    slashed = _post(client, f"/payments/{new_id()}/billing-key/", content=good)
    assert slashed.fast == "declined" and slashed.status == 307


def test_an_idempotency_key_is_left_to_the_middleware(client: httpx.Client, channels: dict[str, str]) -> None:
    billing_key = issued_key(client, channels["TOSSPAYMENTS"], customer={"id": "subscriber-1"})
    payment_id, headers = new_id(), {"Idempotency-Key": f'"{new_id("key")}"'}
    first = _post(client, f"/payments/{payment_id}/billing-key", _charge_body(billing_key), headers=headers)
    assert first.fast == "declined" and first.status == 200 and "idempotent-replayed" not in first.headers
    replayed = _post(client, f"/payments/{payment_id}/billing-key", _charge_body(billing_key), headers=headers)
    assert replayed.fast == "declined" and replayed.headers.get("idempotent-replayed") == "true"
    assert replayed.body == first.body


def test_a_percent_encoded_slash_in_the_payment_id(client: httpx.Client, channels: dict[str, str],
                                                  regular: Any) -> None:
    billing_key = issued_key(client, channels["TOSSPAYMENTS"], customer={"id": "subscriber-1"})
    payment_id = f"order/{new_id()}"
    url = f"/payments/{payment_id.replace('/', '%2F')}/billing-key"
    fast = _post(client, url, _charge_body(billing_key))
    assert fast.fast == "served" and fast.status == 200
    assert get(client, payment_id.replace("/", "%2F"))["id"] == payment_id
    again = _post(client, url, _charge_body(billing_key))
    with regular():
        _same(again, _post(client, url, _charge_body(billing_key)))
    assert again.status == 409 and again.json()["type"] == "ALREADY_PAID"
