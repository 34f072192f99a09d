"""Validates every response the API tests receive against the official spec, by matching the request to its
operation. Sandbox paths (``/_sandbox``) are ours and are not checked here."""

from __future__ import annotations

import functools
import json
import re
from typing import Any

import httpx

from tests.support.spec import assert_response_matches, official_spec_path


@functools.cache
def _operations() -> list[tuple[str, re.Pattern[str], str]]:
    path = official_spec_path()
    if path is None:
        return []
    spec = json.loads(path.read_text())
    ops = []
    for template, item in spec["paths"].items():
        pattern = re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$")
        for method, op in item.items():
            if isinstance(op, dict) and "operationId" in op:
                ops.append((method.upper(), pattern, op["operationId"]))
    return ops


def operation_for(method: str, raw_path: str) -> str | None:
    path = re.sub(r"/{2,}", "/", raw_path.split("?", 1)[0])
    candidates = [(op, pat) for m, pat, op in _operations() if m == method and pat.match(path)]
    if not candidates:
        return None
    candidates.sort(key=lambda c: c[1].pattern.count("[^/]+"))
    return candidates[0][0]


def validate_response(response: httpx.Response) -> None:
    request = response.request
    path = request.url.raw_path.decode()
    if path.startswith("/_sandbox") or official_spec_path() is None:
        return
    operation = operation_for(request.method, path)
    if operation is None:
        return
    response.read()
    body: Any = response.json()
    assert_response_matches(operation, response.status_code, body)
