"""Fixtures of the payments tests: per-module settings overrides and a recorder of queued webhooks."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import httpx
import pytest

from localportone.kernel.config import Settings


@pytest.fixture
def settings(settings: Settings, request: pytest.FixtureRequest) -> Settings:
    """A test module may set ``SETTINGS_OVERRIDES = {...}`` (e.g. limits) for its servers."""
    overrides: dict[str, Any] = getattr(request.module, "SETTINGS_OVERRIDES", {})
    return replace(settings, **overrides)


@dataclass
class QueuedWebhook:
    event_type: str
    payment_id: str
    transaction_id: str
    payment_status: str
    is_test: bool
    notice_urls: list[str] | None
    cancellation_id: str | None
    is_async: bool
    trigger: str | None


class WebhookRecorder(list[QueuedWebhook]):
    def of(self, payment_id: str) -> list[QueuedWebhook]:
        return [w for w in self if w.payment_id == payment_id]

    def types(self, payment_id: str) -> list[str]:
        return [w.event_type for w in self.of(payment_id)]


@pytest.fixture
def webhooks(monkeypatch: pytest.MonkeyPatch) -> WebhookRecorder:
    """Every ``Transaction.*`` event the payments service queues (the webhooks domain's entry point, recorded)."""
    from localportone.webhooks import service

    recorder = WebhookRecorder()
    original = service.enqueue_payment_event

    async def record(uow: Any, **kwargs: Any) -> None:
        recorder.append(QueuedWebhook(
            event_type=kwargs["event_type"], payment_id=kwargs["payment_id"],
            transaction_id=kwargs["transaction_id"], payment_status=kwargs["payment_status"],
            is_test=kwargs["is_test"], notice_urls=kwargs.get("notice_urls"),
            cancellation_id=kwargs.get("cancellation_id"), is_async=kwargs.get("is_async", False),
            trigger=kwargs.get("trigger"),
        ))
        await original(uow, **kwargs)

    monkeypatch.setattr(service, "enqueue_payment_event", record)
    return recorder


@pytest.fixture
def group_id(client: httpx.Client) -> str:
    """The seeded smart-routing channel group of the test store."""
    groups = client.get("/_sandbox/channels").json()["channelGroups"]
    return str(groups[0]["id"])
