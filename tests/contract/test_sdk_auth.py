"""The official portone-server-sdk against a live localportone: login, refresh, and typed errors."""

from __future__ import annotations

import pytest
from portone_server_sdk import PortOneClient, errors

from tests.support.server import TEST_API_SECRET, RunningServer


def test_sdk_logs_in_and_refreshes(server: RunningServer) -> None:
    client = PortOneClient(secret=TEST_API_SECRET, base_url=server.base_url)
    tokens = client.auth.login_via_api_secret(api_secret=TEST_API_SECRET)
    assert tokens.access_token and tokens.refresh_token
    refreshed = client.auth.refresh_token(refresh_token=tokens.refresh_token)
    assert refreshed.refresh_token != tokens.refresh_token


def test_sdk_gets_typed_unauthorized_error(server: RunningServer) -> None:
    client = PortOneClient(secret="wrong", base_url=server.base_url)
    with pytest.raises(errors.UnauthorizedError):
        client.auth.login_via_api_secret(api_secret="wrong")
    with pytest.raises(errors.UnauthorizedError):
        client.auth.refresh_token(refresh_token="never-issued")


def test_sdk_base_url_with_trailing_slash_still_works(server: RunningServer) -> None:
    client = PortOneClient(secret=TEST_API_SECRET, base_url=server.base_url + "/")
    assert client.auth.login_via_api_secret(api_secret=TEST_API_SECRET).access_token
