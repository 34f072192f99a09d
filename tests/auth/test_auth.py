"""Authentication and store scoping through HTTP, as the real service does it."""

from __future__ import annotations

import httpx
import pytest

from tests.support.contract import validate_response
from tests.support.server import TEST_API_SECRET, TEST_STORE_ID, RunningServer, make_client

# An operation that takes storeId and exists from the foundation on: the sandbox channel list is ours, so the
# matrix also runs through an official operation (login) and an unknown-resource lookup where one exists.
PROTECTED = "/_sandbox/channels"


def _error(response: httpx.Response, status: int, type_: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["type"] == type_
    assert isinstance(body.get("message", ""), str)
    return body


def _login(anonymous: httpx.Client, secret: str = TEST_API_SECRET) -> dict[str, str]:
    response = anonymous.post("/login/api-secret", json={"apiSecret": secret})
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"accessToken", "refreshToken"}
    return body


def _advance(client: httpx.Client, seconds: int) -> None:
    response = client.post("/_sandbox/clock", json={"advanceSeconds": seconds})
    assert response.status_code == 200, response.text


def test_portone_secret_authenticates(client: httpx.Client) -> None:
    response = client.get(PROTECTED)
    assert response.status_code == 200
    assert response.json()["storeId"] == TEST_STORE_ID


def test_scheme_keyword_is_case_insensitive(server: RunningServer) -> None:
    with httpx.Client(base_url=server.base_url, headers={"Authorization": f"portone {TEST_API_SECRET}"}) as c:
        assert c.get(PROTECTED).status_code == 200


@pytest.mark.parametrize("header", [None, "", "PortOne", "PortOne wrong-secret", "Basic abc", "Bearer not.a.token",
                                    "Bearer eyJhbGciOiJIUzI1NiJ9.e30.c2ln"])
def test_bad_credentials_are_401(server: RunningServer, header: str | None) -> None:
    headers = {} if header is None else {"Authorization": header}
    with httpx.Client(base_url=server.base_url, headers=headers) as c:
        _error(c.get(PROTECTED), 401, "UNAUTHORIZED")


def test_login_gives_bearer_token_that_works(anonymous: httpx.Client, server: RunningServer) -> None:
    tokens = _login(anonymous)
    with httpx.Client(base_url=server.base_url, headers={"Authorization": f"Bearer {tokens['accessToken']}"}) as c:
        response = c.get(PROTECTED)
    assert response.status_code == 200
    assert response.json()["storeId"] == TEST_STORE_ID


def test_login_with_wrong_secret_is_401(anonymous: httpx.Client) -> None:
    _error(anonymous.post("/login/api-secret", json={"apiSecret": "nope"}), 401, "UNAUTHORIZED")


@pytest.mark.parametrize("body", [b"", b"{", b"[]", b'{"apiSecret": 5}', b"{}"])
def test_login_with_bad_body_is_400(anonymous: httpx.Client, body: bytes) -> None:
    response = anonymous.post("/login/api-secret", content=body, headers={"Content-Type": "application/json"})
    error = _error(response, 400, "INVALID_REQUEST")
    if body in (b"{}", b""):
        assert "apiSecret" in str(error["message"])


def test_access_token_expires_after_30_minutes_on_the_sandbox_clock(
    anonymous: httpx.Client, client: httpx.Client, server: RunningServer
) -> None:
    tokens = _login(anonymous)
    with httpx.Client(base_url=server.base_url, headers={"Authorization": f"Bearer {tokens['accessToken']}"}) as c:
        _advance(client, 29 * 60)
        assert c.get(PROTECTED).status_code == 200
        _advance(client, 2 * 60)
        _error(c.get(PROTECTED), 401, "UNAUTHORIZED")
    # The API secret itself does not expire.
    assert client.get(PROTECTED).status_code == 200


def test_refresh_rotates_and_old_refresh_token_dies(anonymous: httpx.Client, server: RunningServer) -> None:
    first = _login(anonymous)
    response = anonymous.post("/token/refresh", json={"refreshToken": first["refreshToken"]})
    assert response.status_code == 200, response.text
    second = response.json()
    assert second["refreshToken"] != first["refreshToken"]
    assert second["accessToken"] != first["accessToken"]
    _error(anonymous.post("/token/refresh", json={"refreshToken": first["refreshToken"]}), 401, "UNAUTHORIZED")
    with httpx.Client(base_url=server.base_url, headers={"Authorization": f"Bearer {second['accessToken']}"}) as c:
        assert c.get(PROTECTED).status_code == 200
    third = anonymous.post("/token/refresh", json={"refreshToken": second["refreshToken"]})
    assert third.status_code == 200


def test_new_login_revokes_earlier_refresh_tokens(anonymous: httpx.Client) -> None:
    first = _login(anonymous)
    _login(anonymous)
    _error(anonymous.post("/token/refresh", json={"refreshToken": first["refreshToken"]}), 401, "UNAUTHORIZED")


def test_refresh_token_expires_after_one_day(anonymous: httpx.Client, client: httpx.Client) -> None:
    tokens = _login(anonymous)
    _advance(client, 24 * 3600 + 1)
    _error(anonymous.post("/token/refresh", json={"refreshToken": tokens["refreshToken"]}), 401, "UNAUTHORIZED")


def test_unknown_refresh_token_is_401(anonymous: httpx.Client) -> None:
    _error(anonymous.post("/token/refresh", json={"refreshToken": "never-issued"}), 401, "UNAUTHORIZED")


def test_store_scoping(client: httpx.Client, server: RunningServer) -> None:
    # Another store of the same merchant: accessible by naming it.
    created = client.post("/_sandbox/stores", json={"name": "second shop"})
    assert created.status_code == 200, created.text
    other_store = created.json()["store"]["id"]
    response = client.get(PROTECTED, params={"storeId": other_store})
    assert response.status_code == 200
    assert response.json()["storeId"] == other_store
    # Its channels are its own.
    own = {c["key"] for c in client.get(PROTECTED).json()["channels"]}
    theirs = {c["key"] for c in response.json()["channels"]}
    assert own and theirs and not own & theirs
    # Unknown store → 403.
    _error(client.get(PROTECTED, params={"storeId": "store-does-not-exist"}), 403, "FORBIDDEN")


def test_another_merchants_store_is_forbidden(server: RunningServer, client: httpx.Client) -> None:
    from localportone.kernel import ids
    from localportone.stores.models import Merchant
    from localportone.stores.service import create_store

    async def _other_merchant_store() -> str:
        async with server.runtime.transactions.begin() as uow:
            merchant = Merchant(id=ids.merchant_id(), name="someone else", created_at=uow.now)
            uow.session.add(merchant)
            await uow.session.flush()
            store = await create_store(uow.session, merchant.id, "their shop", uow.now)
            return store.id

    foreign = server.call(_other_merchant_store)
    _error(client.get(PROTECTED, params={"storeId": foreign}), 403, "FORBIDDEN")


def test_official_operation_errors_validate_against_the_spec(server: RunningServer) -> None:
    with make_client(server.base_url, secret=None, hooks=[validate_response]) as c:
        _error(c.post("/login/api-secret", json={"apiSecret": "x"}), 401, "UNAUTHORIZED")
        _error(c.post("/token/refresh", json={}), 400, "INVALID_REQUEST")


def test_a_cached_api_secret_still_expires_on_the_sandbox_clock(server: RunningServer, client: httpx.Client) -> None:
    """The caller is cached by its Authorization header (auth/service.py); the secret's expiry is still checked
    on every request, on the fast GET path and on a write alike."""
    from datetime import timedelta

    from localportone.auth.models import ApiSecret
    from localportone.auth.tokens import sha256_hex

    secret = "expiring-secret-0123456789abcdefghijklmnopqrstuvwxyz"

    summary = server.runtime.summary
    assert summary is not None

    async def add_secret() -> None:
        async with server.runtime.transactions.begin() as uow:
            uow.session.add(ApiSecret(
                id="api-secret-expiring", merchant_id=summary.merchant_id,
                default_store_id=TEST_STORE_ID, pinned_to_store=False, name="expiring",
                secret_hash=sha256_hex(secret), created_at=uow.now, expires_at=uow.now + timedelta(hours=1)))

    server.call(add_secret)
    with make_client(server.base_url, secret, hooks=[validate_response]) as expiring:
        for _ in range(2):  # the second request is answered from the header cache
            _error(expiring.get("/payments/no-such-payment"), 404, "PAYMENT_NOT_FOUND")
            _error(expiring.post("/payments/no-such-payment/billing-key", json={
                "billingKey": "billing-key-unknown", "orderName": "o", "amount": {"total": 100},
                "currency": "KRW"}), 404, "BILLING_KEY_NOT_FOUND")
        _advance(client, 2 * 3600)
        _error(expiring.get("/payments/no-such-payment"), 401, "UNAUTHORIZED")
        _error(expiring.post("/payments/no-such-payment/billing-key", json={
            "billingKey": "billing-key-unknown", "orderName": "o", "amount": {"total": 100},
            "currency": "KRW"}), 401, "UNAUTHORIZED")
