"""Category ``payment.paymentSchedule``: payment schedules (thin: parse, call the service, present)."""

from __future__ import annotations

from fastapi import APIRouter

from localportone.http.routing import PortOneRoute

router = APIRouter(route_class=PortOneRoute, tags=["payment.paymentSchedule"])
