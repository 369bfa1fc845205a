"""The ticket API's security matrix: no token, wrong token, expired token, a district outside
the token's scope, a role without the right, SQL-injection strings and path traversal in ids.
Every row is refused with the expected status, leaves a log line saying why (with the token's
name or "anonymous", never the token), is counted, and changes nothing in the store -- on
SQLite and on a real PostgreSQL."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from alerts.service import TicketService
from tests.alerts.conftest import PgServer
from tests.alerts.conftest import pg_server as pg_server  # the fixture: a real PostgreSQL
from tests.reliability.api_world import (
    TOKENS,
    auth,
    client_for,
    fingerprint,
    make_service,
    secret,
    ticket_ids,
)


def am_alert(area: str) -> dict[str, Any]:
    return {
        "version": "4",
        "groupKey": '{}:{alertname="WaterMainBurst"}',
        "truncatedAlerts": 0,
        "status": "firing",
        "receiver": "citysigns",
        "groupLabels": {},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "alerts": [
            {
                "status": "firing",
                "labels": {
                    "alertname": "WaterMainBurst",
                    "severity": "critical",
                    "area": area,
                    "department": "water_supply",
                },
                "annotations": {"summary": "pressure collapsed"},
                "startsAt": "2026-03-01T10:05:00+08:00",
                "endsAt": "2026-03-01T11:00:00+08:00",
                "generatorURL": "http://prometheus:9090/graph",
                "fingerprint": "f00d",
            }
        ],
    }


RAW = object()  # marker: the `who` column is a raw Authorization header, not a token name
# (row id, method, path, who, json body, status, log needle)
ROWS: list[tuple[str, str, str, str | tuple[object, str] | None, Any, int, str]] = [
    # -- authentication
    ("no token", "GET", "/tickets", None, None, 401, "(anonymous): missing or unknown"),
    ("no token, write", "POST", "/tickets/{jingan}/accept", None, None, 401, "(anonymous)"),
    (
        "wrong token",
        "GET",
        "/tickets/{jingan}",
        (RAW, "Bearer wrong-token-0123456789"),
        None,
        401,
        "bearer token (unknown)",
    ),
    (
        "basic scheme",
        "GET",
        "/tickets",
        (RAW, "Basic dXNlcjpwYXNzd29yZA=="),
        None,
        401,
        "bearer token (missing)",
    ),
    ("empty bearer", "GET", "/tickets", (RAW, "Bearer   "), None, 401, "(missing)"),
    (
        "token of another scheme's case",
        "GET",
        "/tickets",
        (RAW, "Bearer " + secret("viewer").upper()),
        None,
        401,
        "(unknown)",
    ),
    (
        "expired token, read",
        "GET",
        "/tickets",
        "expired-supervisor",
        None,
        401,
        "token of expired-supervisor expired",
    ),
    (
        "expired token, write",
        "POST",
        "/tickets/{jingan}/supervise",
        "expired-supervisor",
        {"reason": "late"},
        401,
        "token of expired-supervisor expired",
    ),
    # -- area scope (a ticket the caller may not read is answered as one that does not exist)
    (
        "other district's ticket",
        "GET",
        "/tickets/{pudong}",
        "jingan-roads",
        None,
        404,
        "outside jingan-roads's scope 310106",
    ),
    (
        "other district's audit",
        "GET",
        "/tickets/{pudong}/audit",
        "jingan-supervisor",
        None,
        404,
        "outside jingan-supervisor's scope",
    ),
    (
        "other district's area filter",
        "GET",
        "/tickets?area=310115",
        "jingan-roads",
        None,
        403,
        "area 310115 is outside jingan-roads's scope",
    ),
    (
        "other district, Open311",
        "GET",
        "/open311/v2/requests/{pudong}.json",
        "jingan-roads",
        None,
        404,
        "outside jingan-roads's scope",
    ),
    (
        "other district, comment",
        "POST",
        "/tickets/{pudong}/comment",
        "jingan-supervisor",
        {"text": "mine now"},
        404,
        "outside jingan-supervisor's scope",
    ),
    (
        "reassign into another district",
        "POST",
        "/tickets/{jingan}/reassign",
        "jingan-dispatch",
        {"department": "water_supply", "reason": "r", "area_code": "310115001"},
        403,
        "area 310115001 is outside jingan-dispatch's scope",
    ),
    (
        "alert for another district",
        "POST",
        "/alertmanager/webhook",
        "jingan-dispatch",
        am_alert("310115001"),
        403,
        "alert area 310115001 is outside jingan-dispatch's scope",
    ),
    # -- roles
    (
        "read-only accepts",
        "POST",
        "/tickets/{jingan}/accept",
        "viewer",
        None,
        403,
        "viewer (read-only) may not accept",
    ),
    (
        "dispatcher supervises",
        "POST",
        "/tickets/{jingan}/supervise",
        "dispatch",
        {"reason": "x"},
        403,
        "dispatch (dispatcher) may not supervise",
    ),
    (
        "department reassigns",
        "POST",
        "/tickets/{jingan}/reassign",
        "jingan-roads",
        {"department": "water_supply", "reason": "r"},
        403,
        "may not reassign",
    ),
    (
        "supervisor reports back",
        "POST",
        "/tickets/{jingan}/feedback",
        "jingan-supervisor",
        {"notes": "done"},
        403,
        "may not feedback",
    ),
    (
        "read-only feeds alerts",
        "POST",
        "/alertmanager/webhook",
        "future-viewer",
        am_alert("310106003"),
        403,
        "may not alertmanager",
    ),
    (
        "another department's ticket",
        "POST",
        "/tickets/{jingan}/accept",
        "jingan-water",
        None,
        403,
        "belongs to road_maintenance, not water_supply",
    ),
    # -- SQL injection
    ("SQL injection in id", "GET", "/tickets/' OR '1'='1", "viewer", None, 404, "no such ticket"),
    (
        "SQL injection in id, write",
        "POST",
        "/tickets/1; DROP TABLE tickets; --/accept",
        "jingan-roads",
        None,
        404,
        "no such ticket",
    ),
    (
        "SQL injection in id, Open311",
        "GET",
        "/open311/v2/requests/x' UNION SELECT * FROM audit--",
        "viewer",
        None,
        404,
        "no such ticket",
    ),
    (
        "SQL injection in area",
        "GET",
        "/tickets?area=310106' OR '1'='1",
        "viewer",
        None,
        422,
        "invalid request",
    ),
    (
        "SQL injection in status",
        "GET",
        "/tickets?status=open' OR 1=1 --",
        "viewer",
        None,
        422,
        "unknown status",
    ),
    (
        "SQL injection in limit",
        "GET",
        "/tickets?limit=1;DROP TABLE audit",
        "viewer",
        None,
        422,
        "invalid request",
    ),
    # -- path traversal
    (
        "traversal, encoded slashes",
        "GET",
        "/tickets/..%2F..%2Fetc%2Fpasswd",
        "viewer",
        None,
        404,
        "refused GET",
    ),
    (
        "traversal, encoded dots",
        "GET",
        "/tickets/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "viewer",
        None,
        404,
        "refused GET",
    ),
    ("traversal, dots only", "GET", "/tickets/%2e%2e", "viewer", None, 404, "refused GET"),
    (
        "traversal, Open311",
        "GET",
        "/open311/v2/requests/..%2f..%2fetc%2fpasswd.json",
        "viewer",
        None,
        404,
        "refused GET",
    ),
    (
        "traversal, write",
        "POST",
        "/tickets/..%2F..%2Ftmp%2Fx/accept",
        "jingan-roads",
        None,
        404,
        "refused POST",
    ),
    ("NUL byte in id", "GET", "/tickets/T%00-1", "viewer", None, 422, "NUL byte"),
    ("NUL byte in a query", "GET", "/tickets?department=road%00x", "viewer", None, 422, "NUL byte"),
    (
        "NUL byte in a body",
        "POST",
        "/tickets/{jingan}/comment",
        "dispatch",
        {"text": "a\x00b"},
        422,
        "NUL byte",
    ),
    (
        "oversized body",
        "POST",
        "/tickets/{jingan}/comment",
        "dispatch",
        {"text": "x" * 9000},
        413,
        "body over 4096 bytes",
    ),
]


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)]
)
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[TicketService, TestClient]]:
    """One store per backend for the whole matrix: every row is refused, so it stays as it
    was (which each row checks)."""
    if request.param == "sqlite":
        url = f"sqlite:///{Path(tmp_path_factory.mktemp('matrix')) / 'tickets.db'}"
    else:
        server: PgServer = request.getfixturevalue("pg_server")
        if server.pid is None:
            server.start()
        url = server.create_database()
    svc = make_service(url)
    with client_for(svc) as client:
        yield svc, client
    svc.store.dispose()


def _headers(who: str | tuple[object, str] | None) -> dict[str, str]:
    if who is None:
        return {}
    if isinstance(who, tuple):
        return {"Authorization": who[1]}
    return auth(who)


@pytest.mark.parametrize(
    ("method", "path", "who", "body", "status", "needle"),
    [pytest.param(*row[1:], id=row[0]) for row in ROWS],
)
def test_refused_logged_counted_and_harmless(
    world: tuple[TicketService, TestClient],
    caplog: pytest.LogCaptureFixture,
    method: str,
    path: str,
    who: str | tuple[object, str] | None,
    body: Any,
    status: int,
    needle: str,
) -> None:
    svc, client = world
    ids = ticket_ids(svc)
    url = path.format(jingan=ids["310106"], pudong=ids["310115"])
    before = fingerprint(svc)
    refusals_before = sum(client.app.state.refusals.values())  # type: ignore[attr-defined]
    with caplog.at_level(logging.WARNING, logger="citysigns.api"):
        r = client.request(method, url, headers=_headers(who), json=body)
    assert r.status_code == status, r.text
    refused = [m for m in caplog.messages if m.startswith("refused")]
    assert any(needle in m for m in refused), (needle, caplog.messages)
    assert sum(client.app.state.refusals.values()) == refusals_before + 1  # type: ignore[attr-defined]
    # never the token itself, in the log or the answer
    for name in TOKENS:
        assert all(secret(name) not in m for m in caplog.messages)
    assert "wrong-token-0123456789" not in caplog.text
    assert fingerprint(svc) == before
    assert "incident_area" not in r.text and "pothole" not in r.text  # no ticket content


def test_expired_token_is_a_distinct_reason(world: tuple[TicketService, TestClient]) -> None:
    _svc, client = world
    r = client.get("/tickets", headers=auth("expired-supervisor"))
    assert r.status_code == 401 and r.json()["error"] == "the bearer token has expired"
    assert client.app.state.refusals["expired_token"] >= 1  # type: ignore[attr-defined]
    registry = client.app.state.tokens  # type: ignore[attr-defined]
    assert registry.authenticate(auth("expired-supervisor")["Authorization"]) is None
    assert registry.authenticate(auth("future-viewer")["Authorization"]).name == "future-viewer"
    # a token that expires in the future still works
    assert client.get("/tickets", headers=auth("future-viewer")).json()["count"] == 2


def test_injection_strings_in_filters_match_nothing(
    world: tuple[TicketService, TestClient],
) -> None:
    svc, client = world
    before = fingerprint(svc)
    for value in (
        "' OR '1'='1",
        "road_maintenance' --",
        'x"; DROP TABLE tickets; --',
        "%' OR 1=1 OR department LIKE '%",
    ):
        # a department is one of a known list: anything else is refused before the store;
        # a family is the catalog's, the routing's or one a stored ticket has: else refused
        r = client.get("/tickets", params={"department": value}, headers=auth("viewer"))
        assert r.status_code == 422 and "unknown department" in r.text, (value, r.text)
        r = client.get("/tickets", params={"family": value}, headers=auth("viewer"))
        assert r.status_code == 422 and "unknown family" in r.text, (value, r.text)
    assert fingerprint(svc) == before
    assert client.get("/tickets", headers=auth("viewer")).json()["count"] == 2


def test_expires_needs_a_zone() -> None:
    from alerts.auth import TokenSpec

    with pytest.raises(ValueError, match="needs a zone"):
        TokenSpec.model_validate(
            {"name": "n", "role": "read-only", "token": "t" * 20, "expires": "2030-01-01T00:00:00"}
        )
    spec = TokenSpec.model_validate(
        {
            "name": "n",
            "role": "read-only",
            "token": "t" * 20,
            "expires": "2030-01-01T00:00:00+08:00",
        }
    )
    assert spec.expires is not None and spec.expires.utcoffset() is not None


@pytest.mark.parametrize("key", ["department", "family", "service_code", "status", "origin"])
def test_nul_bytes_in_filters_are_not_a_500(
    world: tuple[TicketService, TestClient], key: str
) -> None:
    """PostgreSQL refuses NUL in text: a filter holding one must be a 4xx or no match."""
    _svc, client = world
    path = "/open311/v2/requests.json" if key == "service_code" else "/tickets"
    r = client.get(path, params={key: "road\x00maintenance"}, headers=auth("viewer"))
    assert r.status_code in (200, 422), r.text


def test_a_payload_with_one_alert_outside_the_scope_changes_nothing(
    world: tuple[TicketService, TestClient],
) -> None:
    """The webhook checks every alert's area before it applies any: a refused payload must
    not leave its in-scope alerts behind as tickets."""
    svc, client = world
    payload = am_alert("310106003")
    second = {
        **payload["alerts"][0],
        "fingerprint": "beef",
        "labels": {**payload["alerts"][0]["labels"], "area": "310115001"},
    }
    payload["alerts"].append(second)
    before = fingerprint(svc)
    r = client.post("/alertmanager/webhook", headers=auth("jingan-dispatch"), json=payload)
    assert r.status_code == 403
    assert fingerprint(svc) == before
