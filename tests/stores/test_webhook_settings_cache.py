"""A store's webhook settings are cached per process: a change made here applies at once, one made by another
process (here: written straight to the database) within ``WEBHOOK_SETTINGS_SECONDS``."""

from __future__ import annotations

import time

import pytest

from localportone.stores import service as stores
from localportone.stores.service import WebhookSettings
from tests.support.server import TEST_STORE_ID, RunningServer


def _settings(server: RunningServer) -> WebhookSettings:
    async def read() -> WebhookSettings:
        async with server.runtime.transactions.begin() as uow:
            return await stores.webhook_settings(uow, TEST_STORE_ID, is_test=True)

    result: WebhookSettings = server.call(read)
    return result


def _write_urls_elsewhere(server: RunningServer, urls: str) -> None:
    """What another process does: the row changes, this process is not told."""

    async def write() -> None:
        async with server.runtime.transactions.begin() as uow:
            await uow.sql.run("UPDATE stores SET test_webhook_urls = ? WHERE id = ?", urls, TEST_STORE_ID)

    server.call(write)


def test_a_change_by_another_process_is_seen_within_the_cache_time(
    server: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stores, "WEBHOOK_SETTINGS_SECONDS", 0.3)
    assert _settings(server).urls == ()
    _write_urls_elsewhere(server, '["http://127.0.0.1:9/elsewhere"]')
    assert _settings(server).urls == ()  # still the cached value
    time.sleep(0.4)
    assert _settings(server).urls == ("http://127.0.0.1:9/elsewhere",)


def test_a_change_made_here_applies_at_once_and_a_rolled_back_one_never(server: RunningServer) -> None:
    assert _settings(server).urls == ()

    async def change(urls: list[str], fail: bool) -> None:
        async with server.runtime.transactions.begin() as uow:
            await stores.update_webhook_settings(uow, TEST_STORE_ID, urls=urls, version="2024-01-01")
            seen = await stores.webhook_settings(uow, TEST_STORE_ID, is_test=True, fresh=True)
            assert seen.urls == tuple(urls)  # what the PUT control shows, read without the cache
            if fail:
                raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        server.call(lambda: change(["http://127.0.0.1:9/never"], True))
    before = _settings(server)
    assert (before.urls, before.version) == ((), "2024-04-25")
    server.call(lambda: change(["http://127.0.0.1:9/now"], False))
    assert _settings(server).urls == ("http://127.0.0.1:9/now",)
    assert _settings(server).version == "2024-01-01"
