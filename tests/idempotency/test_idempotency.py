"""``Idempotency-Key``: replays, in-flight conflicts, mismatches, expiry, per-merchant scope."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from localportone.idempotency import keys
from tests.billing_keys.helpers import DECLINE_CARD, card, stored_rows
from tests.support.server import RunningServer, make_client

KEY = "order-0001-attempt-0001"
SLOW_CARD = "4000000000003071"


def _issue(client: httpx.Client, channel: str, key: str | None = KEY, number: str = "4242424242424242",
           **extra: Any) -> httpx.Response:
    headers = {"Idempotency-Key": f'"{key}"'} if key is not None else {}
    return client.post("/billing-keys", json={"method": card(number), "channelKey": channel, **extra},
                       headers=headers)


def _records(server: RunningServer) -> list[dict[str, Any]]:
    from sqlalchemy import select

    from localportone.idempotency.models import IdempotencyRecord

    async def read() -> list[dict[str, Any]]:
        async with server.runtime.transactions.begin(write=False) as uow:
            rows = (await uow.session.execute(select(IdempotencyRecord))).scalars().all()
            return [{"scope": r.scope, "key": r.key, "state": r.state, "status": r.response_status} for r in rows]

    result: list[dict[str, Any]] = server.call(read)
    return result


@pytest.fixture
def raw(server: RunningServer) -> Iterator[httpx.Client]:
    """Authenticated, without the spec check: IDEMPOTENCY_OUTSTANDING_REQUEST is in no operation's error union."""
    with make_client(server.base_url) as c:
        yield c


def test_repeat_replays_the_first_answer(client: httpx.Client, channels: dict[str, str],
                                         server: RunningServer) -> None:
    first = _issue(client, channels["TOSSPAYMENTS"])
    assert first.status_code == 200, first.text
    assert "idempotent-replayed" not in first.headers
    second = _issue(client, channels["TOSSPAYMENTS"])
    assert second.status_code == 200
    assert second.content == first.content
    assert second.headers["idempotent-replayed"] == "true"
    assert second.headers["content-type"] == "application/json"
    assert len(stored_rows(server)) == 1
    assert _records(server) == [{"scope": _records(server)[0]["scope"], "key": KEY, "state": "DONE", "status": 200}]


def test_bare_and_quoted_keys_are_the_same_key(client: httpx.Client, channels: dict[str, str],
                                               server: RunningServer) -> None:
    body = {"method": card(), "channelKey": channels["TOSSPAYMENTS"]}
    first = client.post("/billing-keys", json=body, headers={"Idempotency-Key": KEY})
    second = client.post("/billing-keys", json=body, headers={"Idempotency-Key": f'"{KEY}"'})
    assert second.headers.get("idempotent-replayed") == "true"
    assert second.json() == first.json()
    assert len(stored_rows(server)) == 1


def test_client_errors_are_replayed_too(client: httpx.Client, server: RunningServer) -> None:
    first = _issue(client, "channel-key-nope")
    assert first.status_code == 404
    second = _issue(client, "channel-key-nope")
    assert (second.status_code, second.json()) == (404, first.json())
    assert second.headers["idempotent-replayed"] == "true"


def test_server_side_failures_are_not_stored(client: httpx.Client, channels: dict[str, str],
                                             server: RunningServer) -> None:
    # A PG refusal is a 502: the client may retry with the same key, and the retry runs again.
    assert _issue(client, channels["TOSSPAYMENTS"], number=DECLINE_CARD).status_code == 502
    retry = _issue(client, channels["TOSSPAYMENTS"], number=DECLINE_CARD)
    assert retry.status_code == 502
    assert "idempotent-replayed" not in retry.headers
    assert [status for _key, status in stored_rows(server)] == ["FAILED", "FAILED"]
    assert _records(server) == []


@pytest.mark.parametrize("header", [
    "short-key",
    '"short-key"',
    "x" * 257,
    '"' + "x" * 257 + '"',
    '"unterminated-key-0000',
    '"key-with-trailing-junk"x',
    "key with spaces inside!!",
    '"bad-escape-\\n-0000000"',
])
def test_malformed_keys_are_400(client: httpx.Client, channels: dict[str, str], server: RunningServer,
                                header: str) -> None:
    response = client.post("/billing-keys", json={"method": card(), "channelKey": channels["TOSSPAYMENTS"]},
                           headers={"Idempotency-Key": header})
    assert response.status_code == 400, response.text
    assert response.json()["type"] == "INVALID_REQUEST"
    assert "Idempotency-Key" in response.json()["message"]
    assert stored_rows(server) == []
    assert _records(server) == []


def test_non_ascii_key_is_400(server: RunningServer) -> None:
    with make_client(server.base_url) as c:
        response = c.post("/billing-keys", json={}, headers={b"Idempotency-Key": ("키" * 20).encode()})
    assert response.status_code == 400
    assert response.json()["type"] == "INVALID_REQUEST"


def test_the_limits_are_inclusive(client: httpx.Client, channels: dict[str, str]) -> None:
    body = {"method": card(), "channelKey": channels["TOSSPAYMENTS"]}
    for header in ("k" * 16, "k" * 256, '"' + "k" * 256 + '"', r'"with \"escaped\" quote"'):
        assert client.post("/billing-keys", json=body, headers={"Idempotency-Key": header}).status_code == 200


def test_same_key_for_another_request_is_400(client: httpx.Client, channels: dict[str, str],
                                             server: RunningServer) -> None:
    assert _issue(client, channels["TOSSPAYMENTS"]).status_code == 200
    for response in (
        _issue(client, channels["KCP_V2"]),  # another body
        client.post("/billing-keys/confirm", json={"billingIssueToken": "x"}, headers={"Idempotency-Key": KEY}),
        client.delete("/billing-keys/billing-key-nope", headers={"Idempotency-Key": KEY}),
        client.post("/billing-keys?storeId=x", json={"method": card(), "channelKey": channels["TOSSPAYMENTS"]},
                    headers={"Idempotency-Key": KEY}),
    ):
        assert response.status_code == 400, response.text
        assert response.json()["type"] == "INVALID_REQUEST"
    assert len(stored_rows(server)) == 1


def test_keys_expire_after_three_hours(client: httpx.Client, channels: dict[str, str],
                                       server: RunningServer) -> None:
    first = _issue(client, channels["TOSSPAYMENTS"]).json()
    assert client.post("/_sandbox/clock", json={"advanceSeconds": 3 * 3600 - 60}).status_code == 200
    assert _issue(client, channels["TOSSPAYMENTS"]).json() == first
    assert client.post("/_sandbox/clock", json={"advanceSeconds": 61}).status_code == 200
    # Remembered for three hours from its creation: now a new request, even with another body.
    again = _issue(client, channels["KCP_V2"])
    assert again.status_code == 200
    assert "idempotent-replayed" not in again.headers
    assert again.json()["billingKeyInfo"]["billingKey"] != first["billingKeyInfo"]["billingKey"]
    assert len(stored_rows(server)) == 2


def test_expiry_with_the_documented_clock_jump(client: httpx.Client, channels: dict[str, str],
                                               server: RunningServer) -> None:
    _issue(client, channels["TOSSPAYMENTS"])
    assert client.post("/_sandbox/clock", json={"advanceSeconds": 10801}).status_code == 200
    assert "idempotent-replayed" not in _issue(client, channels["TOSSPAYMENTS"]).headers
    assert len(stored_rows(server)) == 2
    assert len(_records(server)) == 1


def test_no_header_no_effect(client: httpx.Client, channels: dict[str, str], server: RunningServer) -> None:
    assert _issue(client, channels["TOSSPAYMENTS"], key=None).status_code == 200
    assert _issue(client, channels["TOSSPAYMENTS"], key=None).status_code == 200
    assert len(stored_rows(server)) == 2
    assert _records(server) == []


def test_get_ignores_the_header(client: httpx.Client, channels: dict[str, str], server: RunningServer) -> None:
    key = _issue(client, channels["TOSSPAYMENTS"], key=None).json()["billingKeyInfo"]["billingKey"]
    for _ in range(2):
        response = client.get(f"/billing-keys/{key}", headers={"Idempotency-Key": "short"})
        assert response.status_code == 200
        assert "idempotent-replayed" not in response.headers
    assert _records(server) == []


def test_unauthenticated_requests_are_not_remembered(anonymous: httpx.Client, channels: dict[str, str],
                                                     server: RunningServer) -> None:
    for _ in range(2):
        response = _issue(anonymous, channels["TOSSPAYMENTS"])
        assert response.status_code == 401
        assert "idempotent-replayed" not in response.headers
    assert _records(server) == []


def test_merchants_do_not_share_keys(client: httpx.Client, channels: dict[str, str], server: RunningServer) -> None:
    other_secret, other_channel = _other_merchant(server)
    mine = _issue(client, channels["TOSSPAYMENTS"])
    with make_client(server.base_url, secret=other_secret) as other:
        theirs = _issue(other, other_channel)
        assert theirs.status_code == 200, theirs.text
        assert "idempotent-replayed" not in theirs.headers
        assert theirs.json() != mine.json()
        assert _issue(other, other_channel).json() == theirs.json()
    assert _issue(client, channels["TOSSPAYMENTS"]).json() == mine.json()
    assert len({r["scope"] for r in _records(server)}) == 2


def _other_merchant(server: RunningServer) -> tuple[str, str]:
    """A second merchant with its own store and API secret (the API has no way to create one)."""
    from localportone.auth.models import ApiSecret
    from localportone.auth.tokens import sha256_hex
    from localportone.kernel import ids
    from localportone.stores.models import Merchant
    from localportone.stores.service import create_store, list_channels

    secret = "other-merchant-secret-" + "x" * 40

    async def create() -> str:
        async with server.runtime.transactions.begin() as uow:
            merchant = Merchant(id=ids.merchant_id(), name="someone else", created_at=uow.now)
            uow.session.add(merchant)
            await uow.session.flush()
            store = await create_store(uow.session, merchant.id, "their shop", uow.now, is_representative=True)
            uow.session.add(ApiSecret(id=f"api-secret-{ids.uuid7()}", merchant_id=merchant.id,
                                      default_store_id=store.id, pinned_to_store=False, name="other",
                                      secret_hash=sha256_hex(secret), created_at=uow.now))
            channels = await list_channels(uow.session, store.id)
            return next(c.key for c in channels if c.pg_provider == "TOSSPAYMENTS")

    channel: str = server.call(create)
    return secret, channel


@pytest.mark.slow
def test_repeat_while_in_flight_is_409(raw: httpx.Client, channels: dict[str, str], server: RunningServer,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCALPORTONE_SANDBOX_SLOW_MS", "1500")
    result: dict[str, httpx.Response] = {}

    def slow() -> None:
        result["first"] = _issue(raw, channels["TOSSPAYMENTS"], number=SLOW_CARD)

    thread = threading.Thread(target=slow)
    thread.start()
    deadline = time.monotonic() + 10
    while not _records(server):  # wait until the first request holds the key
        assert time.monotonic() < deadline
        time.sleep(0.02)
    started = time.monotonic()
    outstanding = _issue(raw, channels["TOSSPAYMENTS"], number=SLOW_CARD)
    assert time.monotonic() - started < 1.0  # answered at once, not after the first one
    assert outstanding.status_code == 409
    assert outstanding.json()["type"] == "IDEMPOTENCY_OUTSTANDING_REQUEST"
    assert outstanding.json()["message"]
    thread.join(timeout=20)
    assert result["first"].status_code == 200
    replayed = _issue(raw, channels["TOSSPAYMENTS"], number=SLOW_CARD)
    assert replayed.json() == result["first"].json()
    assert replayed.headers["idempotent-replayed"] == "true"
    assert len(stored_rows(server)) == 1


@pytest.mark.slow
def test_requests_without_a_key_are_not_held_up_by_one_in_flight(
    raw: httpx.Client, channels: dict[str, str], server: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOCALPORTONE_SANDBOX_SLOW_MS", "1500")
    thread = threading.Thread(target=lambda: _issue(raw, channels["TOSSPAYMENTS"], number=SLOW_CARD))
    thread.start()
    deadline = time.monotonic() + 10
    while not _records(server):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    started = time.monotonic()
    with make_client(server.base_url) as other:
        assert _issue(other, channels["KCP_V2"], key=None).status_code == 200
        assert other.get("/billing-keys").status_code == 200
    assert time.monotonic() - started < 1.0
    thread.join(timeout=20)


def test_concurrent_repeats_run_once(channels: dict[str, str], server: RunningServer) -> None:
    responses: list[httpx.Response] = []
    lock = threading.Lock()

    def send() -> None:
        with make_client(server.base_url) as c:
            response = _issue(c, channels["TOSSPAYMENTS"])
        with lock:
            responses.append(response)

    threads = [threading.Thread(target=send) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert len(responses) == 8
    done = [r for r in responses if r.status_code == 200]
    assert {r.status_code for r in responses} <= {200, 409}
    assert len({r.content for r in done}) == 1
    assert len([r for r in done if "idempotent-replayed" not in r.headers]) == 1
    assert len(stored_rows(server)) == 1


def test_a_claim_whose_process_died_is_taken_over_after_its_lease(
    client: httpx.Client, channels: dict[str, str], server: RunningServer
) -> None:
    import orjson

    from localportone.idempotency.models import IdempotencyRecord

    body = orjson.dumps({"method": card(), "channelKey": channels["TOSSPAYMENTS"]})
    assert server.runtime.summary is not None
    merchant = server.runtime.summary.merchant_id

    async def crashed_claim() -> None:
        async with server.runtime.transactions.begin() as uow:
            uow.session.add(IdempotencyRecord(
                scope=merchant, key=KEY, request_hash=keys.fingerprint("POST", "/billing-keys", b"", body),
                owner="dead", state=keys.IN_FLIGHT, created_at=uow.now,
                expires_at=uow.now + keys.RETENTION, lease_until=uow.now + keys.LEASE,
            ))

    server.call(crashed_claim)
    headers = {"Idempotency-Key": KEY, "Content-Type": "application/json"}
    with make_client(server.base_url) as raw_client:
        assert raw_client.post("/billing-keys", content=body, headers=headers).status_code == 409
    assert client.post("/_sandbox/clock", json={"advanceSeconds": int(keys.LEASE / timedelta(seconds=1)) + 1}
                       ).status_code == 200
    response = client.post("/billing-keys", content=body, headers=headers)
    assert response.status_code == 200, response.text
    assert "idempotent-replayed" not in response.headers
    assert _records(server)[0]["state"] == "DONE"
    assert len(stored_rows(server)) == 1


@pytest.mark.slow
def test_payment_in_flight_and_replayed(raw: httpx.Client, channels: dict[str, str], server: RunningServer,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Any POST works the same; here the payment holds its (SQLite) write transaction during the slow PG call."""
    monkeypatch.setenv("LOCALPORTONE_SANDBOX_SLOW_MS", "1500")
    body = {"channelKey": channels["TOSSPAYMENTS"], "orderName": "slow order", "amount": {"total": 1000},
            "currency": "KRW", "method": card(SLOW_CARD)}
    headers = {"Idempotency-Key": "payment-attempt-000001"}
    result: dict[str, httpx.Response] = {}
    thread = threading.Thread(target=lambda: result.update(
        first=raw.post("/payments/payment-slow-1/instant", json=body, headers=headers)))
    thread.start()
    deadline = time.monotonic() + 10
    while not _records(server):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    outstanding = raw.post("/payments/payment-slow-1/instant", json=body, headers=headers)
    thread.join(timeout=20)
    if result["first"].status_code == 404 and result["first"].json()["type"] == "NOT_FOUND":
        pytest.skip("POST /payments/{id}/instant is not implemented yet")
    assert outstanding.status_code == 409
    assert outstanding.json()["type"] == "IDEMPOTENCY_OUTSTANDING_REQUEST"
    assert result["first"].status_code == 200, result["first"].text
    replayed = raw.post("/payments/payment-slow-1/instant", json=body, headers=headers)
    assert replayed.headers["idempotent-replayed"] == "true"
    assert replayed.json() == result["first"].json()
