"""``POST /payments/{paymentId}/resend-webhook`` and the sandbox webhook controls under ``/_sandbox/webhooks``."""

from __future__ import annotations

from fastapi import APIRouter

from localportone.http.routing import PortOneRoute

router = APIRouter(route_class=PortOneRoute, tags=["webhooks"])
