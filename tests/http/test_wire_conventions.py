"""Wire behaviour shared by every operation: error shapes, unknown routes, unknown fields, GET /banks."""

from __future__ import annotations

import json

import httpx

from tests.support.spec import official_spec_path


def test_unknown_route_and_method_answer_json(anonymous: httpx.Client) -> None:
    response = anonymous.get("/no/such/route")
    assert response.status_code == 404
    assert response.json()["type"] == "NOT_FOUND"
    response = anonymous.delete("/login/api-secret")
    assert response.status_code == 405
    assert response.json()["type"] == "METHOD_NOT_ALLOWED"


def test_unknown_request_fields_are_ignored(anonymous: httpx.Client) -> None:
    from tests.support.server import TEST_API_SECRET

    response = anonymous.post("/login/api-secret", json={"apiSecret": TEST_API_SECRET, "somethingNew": [1, 2]})
    assert response.status_code == 200


def test_wrong_types_name_the_field(anonymous: httpx.Client) -> None:
    response = anonymous.post("/login/api-secret", json={"apiSecret": ["x"]})
    assert response.status_code == 400
    assert response.json()["type"] == "INVALID_REQUEST"
    assert "apiSecret" in response.json()["message"]


def test_doubled_slash_from_base_url_is_tolerated(anonymous: httpx.Client) -> None:
    response = anonymous.get(f"{anonymous.base_url}".rstrip("/") + "//banks")
    assert response.status_code == 200


def test_banks_lists_every_bank_code_with_its_korean_name(anonymous: httpx.Client) -> None:
    response = anonymous.get("/banks")
    assert response.status_code == 200
    items = response.json()["items"]
    by_code = {item["bank"]: item["name"]["ko"] for item in items}
    assert by_code["SHINHAN"] == "신한은행"
    assert by_code["KAKAO"] == "카카오뱅크"
    assert by_code["KOOKMIN"] == "국민은행"
    spec = official_spec_path()
    if spec is not None:
        enum = json.loads(spec.read_text())["components"]["schemas"]["Bank"]["enum"]
        assert set(by_code) == set(enum)


def test_banks_needs_no_authentication_but_accepts_it(client: httpx.Client) -> None:
    assert client.get("/banks").status_code == 200


def test_health_needs_no_authentication(anonymous: httpx.Client) -> None:
    body = anonymous.get("/_sandbox/health").json()
    assert body["status"] == "ok"
    assert body["now"].endswith("Z")


def test_clock_moves_and_rejects_bad_input(client: httpx.Client, anonymous: httpx.Client) -> None:
    assert anonymous.get("/_sandbox/clock").status_code == 401
    before = client.get("/_sandbox/clock").json()
    after = client.post("/_sandbox/clock", json={"advanceSeconds": 86400}).json()
    assert after["offsetSeconds"] - before["offsetSeconds"] in (86399, 86400, 86401)
    target = client.post("/_sandbox/clock", json={"now": "2030-01-01T00:00:00+09:00"}).json()
    assert target["now"].startswith("2029-12-31T15:00:0")
    for bad in ({}, {"advanceSeconds": 1, "now": "2030-01-01T00:00:00Z"}, {"advanceSeconds": "1"},
                {"now": "2030-01-01T00:00:00"}, {"now": "yesterday"}):
        response = client.post("/_sandbox/clock", json=bad)
        assert response.status_code == 400, bad
        assert response.json()["type"] == "INVALID_REQUEST"
