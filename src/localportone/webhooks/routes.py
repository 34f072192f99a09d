"""Sandbox webhook controls under ``/_sandbox/webhooks`` (delivery log, replay, test send)."""

from __future__ import annotations

from fastapi import APIRouter

from localportone.http.routing import PortOneRoute

router = APIRouter(prefix="/_sandbox", route_class=PortOneRoute, tags=["sandbox"])
