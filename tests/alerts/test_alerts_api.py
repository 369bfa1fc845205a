"""The ticket API: bearer tokens with roles and area scopes, refusals that are logged, 4xx for
bad input (never a 500), the Open311 read view and the Alertmanager webhook."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.exc import OperationalError

from alerts.api import _warning_json, create_app
from alerts.auth import TokenRegistry, TokenSpec, sha256
from alerts.clock import ManualClock
from alerts.hotline import HotlineOrder
from alerts.open311 import status_notes
from alerts.service import TicketService
from alerts.store import TicketFilter
from alerts.warning_state import WarningStateMachine
from tests.alerts.alerts_helpers import T0, make_indicator, surge_indicator, windows
from tests.alerts.conftest import ServiceFactory

TOKENS = {
    "jingan-roads": ("department", "310106", "road_maintenance"),
    "jingan-water": ("department", "310106", "water_supply"),
    "pudong-roads": ("department", "310115", "road_maintenance"),
    "pudong-water": ("department", "310115", "water_supply"),
    "xuhui-viewer": ("read-only", "310104", None),
    "dispatch": ("dispatcher", "*", None),
    "jingan-supervisor": ("supervisor", "310106", None),
    "viewer": ("read-only", "*", None),
    "city-viewer": ("read-only", "310000", None),
}


def secret(name: str) -> str:
    return f"secret-token-for-{name}"


def auth(name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret(name)}"}


@pytest.fixture
def registry() -> TokenRegistry:
    specs = []
    for name, (role, scope, dept) in TOKENS.items():
        # half of them configured by hash, as production files should be
        key: dict[str, Any] = ({"token_sha256": sha256(secret(name))} if len(name) % 2
                               else {"token": secret(name)})  # fmt: skip
        specs.append(TokenSpec(name=name, role=role, scope=scope, department=dept, **key))
    return TokenRegistry(specs)


@pytest.fixture
def service(make_service: ServiceFactory) -> TicketService:
    svc = make_service()
    svc.submit_orders([
        HotlineOrder("j1", "road_damage", T0, 31.23, 121.45, "310106003001001", "pothole"),
        HotlineOrder("p1", "road_damage", T0, 31.20, 121.55, "310115001001001", "pothole"),
    ])  # fmt: skip
    return svc


@pytest.fixture
def client(service: TicketService, registry: TokenRegistry) -> Iterator[TestClient]:
    with TestClient(create_app(service, registry, max_body=4096)) as c:
        yield c


def ticket_in(client: TestClient, area: str) -> str:
    tickets = client.get("/tickets", headers=auth("viewer")).json()["tickets"]
    return next(t["id"] for t in tickets if t["incident_area"].startswith(area))


def test_health_needs_no_token(client: TestClient) -> None:
    r = client.get("/health")
    assert r.status_code == 200 and r.json()["outbox"] == 0


def test_health_tells_a_store_error_without_its_connection_string(
    client: TestClient, service: TicketService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """/health answers without a token (load balancers carry none), so what it says of a
    store outage names the kind of error, never the URL, user or path in its message."""

    def down(*_a: Any, **_k: Any) -> Any:
        raise OperationalError("select", {}, Exception(
            'connection to "postgresql://ops:hunter2@db.internal/tickets" failed; '
            "/var/lib/citysigns/tickets.db"))  # fmt: skip

    monkeypatch.setattr(service.store, "begin", down)
    service.submit_orders([HotlineOrder("h1", "road_damage", T0, None, None,
                                        "310106003001001", "")])  # fmt: skip
    health = client.get("/health").json()
    assert set(health) == {"status", "store", "outbox", "store_error"}
    assert health["outbox"] == 1 and health["store"] == "up"  # (reads still answer)
    assert health["store_error"] == "ticket store unavailable: OperationalError"


def test_health_says_when_the_store_does_not_answer(
    client: TestClient, service: TicketService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the store down and nothing written since, /health said "store_error": null while
    every ticket request got 503.  It now asks the store, and says what it found by the
    error's class only."""
    assert client.get("/health").json()["store"] == "up"

    def down(*_a: Any, **_k: Any) -> Any:
        raise OperationalError("select 1", {}, Exception(
            'connection to "postgresql://ops:hunter2@db.internal/tickets" failed'))  # fmt: skip

    monkeypatch.setattr(service.store.engine, "connect", down)
    r = client.get("/health")
    assert r.status_code == 200  # liveness: the API itself is up
    assert r.json() == {"status": "ok", "store": "unavailable", "outbox": 0,
                        "store_error": "ticket store unavailable: OperationalError"}  # fmt: skip
    assert "hunter2" not in r.text and "db.internal" not in r.text


def test_the_api_document_needs_a_token_and_no_page_loads_a_cdn(client: TestClient) -> None:
    """/openapi.json is read with a token like the rest; /docs and /redoc, whose pages load
    Swagger UI and ReDoc from cdn.jsdelivr.net, are not served."""
    r = client.get("/openapi.json")
    assert r.status_code == 401
    assert "/tickets" in client.get("/openapi.json", headers=auth("viewer")).json()["paths"]
    for page in ("/docs", "/redoc", "/docs/oauth2-redirect"):
        r = client.get(page, headers=auth("viewer"))
        assert r.status_code == 404 and "cdn" not in r.text


def test_missing_and_unknown_tokens_are_refused_and_logged(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="citysigns.api"):
        r1 = client.get("/tickets")
        r2 = client.get("/tickets", headers={"Authorization": "Bearer nope-nope-nope-nope"})
        r3 = client.get("/tickets", headers={"Authorization": "Basic abc"})
    assert [r.status_code for r in (r1, r2, r3)] == [401, 401, 401]
    assert r1.headers["www-authenticate"] == "Bearer"
    assert sum("missing or unknown bearer token" in m for m in caplog.messages) == 3
    assert not any("nope-nope" in m for m in caplog.messages)  # never log the token


def test_scopes_filter_lists_and_refuse_single_tickets(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    everyone = client.get("/tickets", headers=auth("viewer")).json()
    assert everyone["count"] == 2
    jingan = client.get("/tickets", headers=auth("jingan-roads")).json()
    assert [t["incident_area"][:6] for t in jingan["tickets"]] == ["310106"]
    assert client.get("/tickets", headers=auth("city-viewer")).json()["count"] == 2
    pudong_id = ticket_in(client, "310115")
    with caplog.at_level(logging.WARNING, logger="citysigns.api"):
        r = client.get(f"/tickets/{pudong_id}", headers=auth("jingan-roads"))
        r2 = client.get("/tickets?area=310115", headers=auth("jingan-roads"))
    # answered as a ticket that does not exist: a 403 would say that it does
    assert r.status_code == 404 and r.json() == {"error": f"no ticket {pudong_id}"}
    missing = client.get("/tickets/T-0123456789ab", headers=auth("jingan-roads"))
    assert (missing.status_code, missing.json()) == (404, {"error": "no ticket T-0123456789ab"})
    assert r2.status_code == 403  # an area filter names no ticket: said as it is
    assert any(f"ticket {pudong_id} is outside jingan-roads's scope" in m
               for m in caplog.messages)  # fmt: skip
    assert client.app.state.refusals["scope"] == 2  # type: ignore[attr-defined]
    # narrowing inside the scope is fine
    assert client.get("/tickets?area=310106003", headers=auth("jingan-roads")).json()["count"] == 1


def test_roles(client: TestClient) -> None:
    tid = ticket_in(client, "310106")
    assert client.post(f"/tickets/{tid}/accept", headers=auth("viewer")).status_code == 403
    assert client.post(f"/tickets/{tid}/accept", headers=auth("dispatch")).status_code == 403
    # a department acts only on its own department's tickets
    r = client.post(f"/tickets/{tid}/accept", headers=auth("jingan-water"))
    assert r.status_code == 403 and "assigned to road_maintenance" in r.json()["error"]
    r = client.post(f"/tickets/{tid}/accept", headers=auth("jingan-roads"), json={"note": "ok"})
    assert r.status_code == 200 and r.json()["ticket"]["status"] == "accepted"
    r = client.post(f"/tickets/{tid}/feedback", headers=auth("jingan-roads"),
                    json={"notes": "patched"})  # fmt: skip
    assert r.json()["ticket"]["status"] == "verifying"
    r = client.post(f"/tickets/{tid}/comment", headers=auth("jingan-supervisor"),
                    json={"text": "checked on site"})  # fmt: skip
    assert r.status_code == 200
    r = client.post(f"/tickets/{tid}/supervise", headers=auth("dispatch"), json={"reason": "x"})
    assert r.status_code == 403
    detail = client.get(f"/tickets/{tid}", headers=auth("viewer")).json()
    actors = [(a["actor"], a["action"]) for a in detail["audit"]]
    assert ("jingan-roads", "accept") in actors and ("jingan-supervisor", "comment") in actors
    assert detail["orders"][0]["order_id"] == "j1"
    # its time as the rest of the API writes times (it was epoch seconds)
    assert detail["orders"][0]["at"].endswith("+08:00")


def test_reassign_and_supervise(client: TestClient) -> None:
    tid = ticket_in(client, "310106")
    r = client.post(f"/tickets/{tid}/reassign", headers=auth("dispatch"),
                    json={"department": "urban_management", "reason": "illegal dig",
                          "tier": "district"})  # fmt: skip
    assert r.status_code == 200
    t = r.json()["ticket"]
    assert (t["department"], t["tier"], t["area_code"]) == ("urban_management", "district",
                                                            "310106")  # fmt: skip
    r = client.post(f"/tickets/{tid}/supervise", headers=auth("jingan-supervisor"),
                    json={"reason": "citizen called three times"})  # fmt: skip
    assert r.status_code == 200 and r.json()["ticket"]["supervised"] is True


def test_a_role_that_may_not_act_is_told_who_may(client: TestClient) -> None:
    """A 403 of "role department may not reassign" left the desk to guess whom to ask."""
    tid = ticket_in(client, "310106")
    r = client.post(f"/tickets/{tid}/reassign", headers=auth("jingan-roads"),
                    json={"department": "water", "reason": "a water main"})  # fmt: skip
    assert r.status_code == 403
    assert r.json()["error"] == ("role department may not reassign; roles that may: "
                                 "dispatcher, supervisor (ask one of them)")  # fmt: skip
    r = client.post(f"/tickets/{tid}/supervise", headers=auth("viewer"), json={"reason": "x"})
    assert r.json()["error"].endswith("roles that may: supervisor (ask one of them)")


def test_a_reassignment_to_the_same_desk_is_refused_and_keeps_the_missed_deadline(
    client: TestClient, service: TicketService, clock: ManualClock
) -> None:
    """Reassigning a late ticket to the department, tier and area it already has restarted
    its deadlines and `handle_due_original` (200): the missed deadline was erased, its close
    would count as met, and the accepted work went back to "dispatched".  Now a 409 that
    says what to do instead; a real move is still a 200."""
    tid = ticket_in(client, "310106")
    assert client.post(f"/tickets/{tid}/accept", headers=auth("jingan-roads")).status_code == 200
    before = client.get(f"/tickets/{tid}", headers=auth("viewer")).json()["ticket"]
    clock.set(service.get(tid).handle_due + 3600)  # type: ignore[union-attr]
    same = {"department": before["department"], "reason": "re-dispatch"}
    for body in (same, {**same, "tier": before["tier"]},
                 {**same, "tier": before["tier"], "area_code": before["area_code"]}):  # fmt: skip
        r = client.post(f"/tickets/{tid}/reassign", headers=auth("dispatch"), json=body)
        assert r.status_code == 409, r.text
        assert "already with road_maintenance" in r.json()["error"]
        assert "supervise" in r.json()["error"]
    after = client.get(f"/tickets/{tid}", headers=auth("viewer")).json()
    keys = ("status", "accept_due", "handle_due", "handle_due_original", "version")
    assert {k: after["ticket"][k] for k in keys} == {k: before[k] for k in keys}
    assert [a["action"] for a in after["audit"]][-1] == "accept"
    r = client.post(f"/tickets/{tid}/reassign", headers=auth("dispatch"),
                    json={**same, "tier": "district"})  # fmt: skip
    assert r.status_code == 200 and r.json()["ticket"]["area_code"] == "310106"


@pytest.mark.parametrize("blank", ["   ", " \n\t ", "\u200b\u3000"])
def test_a_feedback_comment_or_reason_that_says_nothing_is_refused(
    client: TestClient, blank: str
) -> None:
    """A feedback of spaces (`min_length=1` let it through) sent the ticket to verification
    as handled, and blank comments and reasons stood in the audit.  Each is a 422 naming the
    field; the ticket does not move."""
    tid = ticket_in(client, "310106")
    assert client.post(f"/tickets/{tid}/accept", headers=auth("jingan-roads")).status_code == 200
    before = client.get(f"/tickets/{tid}", headers=auth("viewer")).json()
    steps = [
        ("feedback", auth("jingan-roads"), {"notes": blank}, "body.notes"),
        ("comment", auth("jingan-roads"), {"text": blank}, "body.text"),
        ("supervise", auth("jingan-supervisor"), {"reason": blank}, "body.reason"),
        ("reassign", auth("dispatch"), {"department": "water", "reason": blank}, "body.reason"),
    ]  # fmt: skip
    for action, headers, body, field in steps:
        r = client.post(f"/tickets/{tid}/{action}", headers=headers, json=body)
        assert r.status_code == 422, (action, r.text)
        assert r.json()["details"] == [f"{field}: Value error, it holds only spaces or "
                                       "invisible characters; write what it is about"]  # fmt: skip
    assert client.get(f"/tickets/{tid}", headers=auth("viewer")).json() == before
    # an optional note may stay empty, and a text with words in it passes as written
    assert client.post(f"/tickets/{tid}/start", headers=auth("jingan-roads"),
                       json={"note": " "}).status_code == 200  # fmt: skip
    r = client.post(f"/tickets/{tid}/feedback", headers=auth("jingan-roads"),
                    json={"notes": f"{blank}patched{blank}"})  # fmt: skip
    assert r.status_code == 200 and r.json()["ticket"]["status"] == "verifying"


def test_a_ticket_in_verification_cannot_be_supervised(client: TestClient) -> None:
    """After the feedback nothing is owed: a 督办 is a 409 naming where it applies, and the
    ticket does not move up a tier for it (it did, with a 200)."""
    tid = ticket_in(client, "310106")
    assert client.post(f"/tickets/{tid}/accept", headers=auth("jingan-roads")).status_code == 200
    r = client.post(f"/tickets/{tid}/feedback", headers=auth("jingan-roads"),
                    json={"notes": "filled"})  # fmt: skip
    assert r.status_code == 200 and r.json()["ticket"]["status"] == "verifying"
    tier = r.json()["ticket"]["tier"]
    r = client.post(f"/tickets/{tid}/supervise", headers=auth("jingan-supervisor"),
                    json={"reason": "慢"})  # fmt: skip
    assert r.status_code == 409, r.text
    assert r.json()["error"].endswith("accepted or dispatched or handling or reopened")
    r = client.get(f"/tickets/{tid}", headers=auth("viewer"))
    assert r.json()["ticket"]["tier"] == tier and r.json()["ticket"]["supervised"] is False


@pytest.mark.parametrize(
    ("body", "kwargs", "status", "needle"),
    [
        ("accept", {"content": b"{not json", "headers": {"content-type": "application/json"}},
         422, "invalid"),
        ("feedback", {"content": b"{not json", "headers": {"content-type": "application/json"}},
         422, "JSON"),
        ("feedback", {"json": {"notes": "x", "mood": "happy"}}, 422, "mood"),
        ("feedback", {"json": {}}, 422, "notes"),
        ("feedback", {"json": {"notes": "x" * 5000}}, 413, "too large"),
        ("reassign", {"json": {"department": "water", "reason": "r", "area_code": "abc"}},
         422, "area_code"),
        ("reassign", {"json": {"department": "nowhere", "reason": "r"}}, 422, "nowhere"),
        ("start", {}, 409, "start is possible when it is accepted"),
    ],
)  # fmt: skip
def test_bad_input_gets_a_4xx_with_a_message(
    client: TestClient, body: str, kwargs: dict[str, Any], status: int, needle: str
) -> None:
    tid = ticket_in(client, "310106")
    who = "dispatch" if body == "reassign" else "jingan-roads"
    if body == "feedback":
        client.post(f"/tickets/{tid}/accept", headers=auth(who))
    headers = {**auth(who), **kwargs.pop("headers", {})}
    r = client.post(f"/tickets/{tid}/{body}", headers=headers, **kwargs)
    assert r.status_code == status, r.text
    text = r.text
    assert needle in text


BODIES_REFUSED_AFTER_THE_CHECKS = {
    # not JSON at all: FastAPI parsed it before any check (422 first)
    "not JSON": (b"{not json", "the body is not JSON"),
    # a NUL byte (PostgreSQL cannot store one): the middleware refused it before any check
    "NUL byte": (b'{"text": "a\\u0000b", "note": "a\\u0000b", "reason": "a\\u0000b"}',
                 "NUL bytes are not accepted"),
}  # fmt: skip


@pytest.mark.parametrize("body", sorted(BODIES_REFUSED_AFTER_THE_CHECKS))
@pytest.mark.parametrize(
    ("who", "path", "status"),
    [
        (None, "comment", 401),  # no token
        ("viewer", "comment", 403),  # a role that may not comment
        ("dispatch", "accept", 403),  # a role that may not accept
        ("jingan-water", "feedback", 403),  # another department's ticket
        ("pudong-roads", "accept", 404),  # a ticket it may not read
        ("jingan-roads", "supervise", 403),
        ("viewer", "reassign", 403),
        (None, "/alertmanager/webhook", 401),
        ("viewer", "/alertmanager/webhook", 403),
    ],
)  # fmt: skip
def test_who_may_act_is_answered_before_what_is_wrong_with_the_body(
    client: TestClient, who: str | None, path: str, status: int, body: str
) -> None:
    """A caller who may not act learns that (401, 403, 404), not what is wrong with its body,
    even when the body is not JSON at all or holds a NUL byte (both were a 422 before any
    check); one who may act gets the 422 with what is wrong."""
    content, error = BODIES_REFUSED_AFTER_THE_CHECKS[body]
    headers = {"content-type": "application/json"}
    tid = ticket_in(client, "310106")
    url = path if path.startswith("/") else f"/tickets/{tid}/{path}"
    r = client.post(url, headers={**(auth(who) if who else {}), **headers}, content=content)
    assert r.status_code == status, r.text
    assert error not in r.text and "details" not in r.json()
    refusals = client.app.state.refusals  # type: ignore[attr-defined]
    assert refusals["invalid"] == refusals["nul_byte"] == 0
    allowed = {"comment": "jingan-supervisor", "accept": "jingan-roads",
               "feedback": "jingan-roads", "supervise": "jingan-supervisor",
               "reassign": "dispatch", "/alertmanager/webhook": "dispatch"}[path]  # fmt: skip
    r = client.post(url, headers={**auth(allowed), **headers}, content=content)
    assert r.status_code == 422 and error in r.text, r.text


def test_the_bodies_read_after_the_checks_are_still_documented(client: TestClient) -> None:
    """The OpenAPI document describes each write endpoint's body as before."""
    doc = client.get("/openapi.json", headers=auth("viewer")).json()
    body = doc["paths"]["/tickets/{tid}/feedback"]["post"]["requestBody"]
    assert body["required"] is True
    assert body["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/FeedbackBody"
    }
    accept = doc["paths"]["/tickets/{tid}/accept"]["post"]["requestBody"]
    assert "required" not in accept  # no body is a plain accept
    schemas = doc["components"]["schemas"]
    assert schemas["FeedbackBody"]["required"] == ["notes"]
    assert {"AlertmanagerPayload", "AlertmanagerAlert", "NoteBody", "ReassignBody"} <= set(schemas)


def test_oversized_body_without_content_length_is_refused(client: TestClient) -> None:
    tid = ticket_in(client, "310106")

    def chunks() -> Iterator[bytes]:
        for _ in range(10):
            yield b"x" * 1000

    r = client.post(f"/tickets/{tid}/comment", headers=auth("dispatch"), content=chunks())
    assert r.status_code == 413


def test_unknown_ticket_and_bad_query(client: TestClient) -> None:
    assert client.get("/tickets/T-000", headers=auth("viewer")).status_code == 404
    r = client.get("/tickets?status=lost", headers=auth("viewer"))
    assert r.status_code == 422 and "unknown status" in r.json()["error"]
    assert client.get("/tickets?limit=0", headers=auth("viewer")).status_code == 422


@pytest.mark.parametrize(
    ("method", "path", "needle"),
    [
        ("GET", "/tickets?late=true", "'late'; this route takes area, department"),
        ("GET", "/tickets?stauts=dispatched", "'stauts' (did you mean \"status\"?)"),
        ("GET", "/tickets?status=dispatched&foo=1&bar=2", "'foo' (and 1 more)"),
        ("GET", "/tickets/{tid}?verbose=1", "this route takes no query parameters"),
        ("GET", "/tickets/{tid}/audit?limit=5", "'limit'"),
        ("POST", "/tickets/{tid}/accept?note=on+my+way", "'note'"),
        ("GET", "/tickets?13812345678=1", "'<phone>'"),
    ],
)  # fmt: skip
def test_an_unknown_query_parameter_is_refused_not_ignored(
    client: TestClient, method: str, path: str, needle: str
) -> None:
    """A parameter no route reads was ignored: the supervision office's `?late=true` and
    a desk's `?stauts=dispatched` listed every ticket as if it matched, and a note put in
    the query was dropped while the ticket was accepted.  Now a 422 naming it and the
    parameters the route takes; nothing changes."""
    tid = ticket_in(client, "310106")
    before = client.get(f"/tickets/{tid}", headers=auth("viewer")).json()
    r = client.request(method, path.format(tid=tid), headers=auth("jingan-roads"))
    assert r.status_code == 422, r.text
    assert r.json()["error"].startswith("unknown query parameter '") and needle in r.json()["error"]
    assert "13812345678" not in r.text
    assert client.get(f"/tickets/{tid}", headers=auth("viewer")).json() == before
    # the known ones still work, and Open311 keeps GeoReport's jurisdiction_id and api_key
    assert (
        client.get("/tickets?status=dispatched&limit=5", headers=auth("viewer")).status_code == 200
    )
    r = client.get("/open311/v2/requests.json?jurisdiction_id=sh", headers=auth("viewer"))
    assert r.status_code == 200
    # who may not read is told so first
    assert client.get("/tickets?late=true").status_code == 401


def test_the_supervision_office_lists_the_overdue_tickets(
    client: TestClient, service: TicketService
) -> None:
    """The 督办 office had no way to list the tickets past a deadline (`?overdue=true` was
    ignored, then refused).  With timers off, as here and on a replay's store, they are
    judged at the store's own time, its latest signal, as citysigns_tickets_overdue counts
    them; `overdue=false` lists the rest, and the two make the whole list."""
    late_signal = T0 + 3 * 86400
    assert isinstance(service.clock, ManualClock)
    service.clock.set(late_signal)  # the order's ticket opens then, its deadlines ahead
    service.submit_orders([HotlineOrder("h-late", "graffiti", late_signal, None, None,
                                        "310106003001001", "")])  # fmt: skip
    every = client.get("/tickets?limit=1000", headers=auth("viewer")).json()["tickets"]
    judged = {t["id"]: t for t in every}
    stored = service.list_tickets(TicketFilter(limit=1000))
    due = [t for t in stored if t.id in judged and t.status != "closed"
           and ((t.accepted_at is None and t.accept_due < late_signal)
                or (t.feedback_at is None and t.handle_due < late_signal))]  # fmt: skip
    assert due, "the fixture should hold tickets past a deadline three days on"
    late = client.get("/tickets?overdue=true&limit=1000", headers=auth("viewer")).json()
    rest = client.get("/tickets?overdue=false&limit=1000", headers=auth("viewer")).json()
    assert sorted(t["id"] for t in late["tickets"]) == sorted(t.id for t in due)
    assert late["total"] == len(due)
    assert sorted(t["id"] for t in late["tickets"] + rest["tickets"]) == sorted(judged)
    (fresh,) = [t.id for t in stored if t.last_signal_at == late_signal]
    assert [t["id"] for t in rest["tickets"] if t["status"] != "closed"] == [fresh]


def test_store_outage_is_a_503(
    client: TestClient, service: TicketService, monkeypatch: pytest.MonkeyPatch
) -> None:
    def down() -> None:
        raise OperationalError("select", {}, Exception("server closed the connection"))

    monkeypatch.setattr(service.store, "begin", down)
    r = client.get("/tickets", headers=auth("viewer"))
    assert r.status_code == 503 and r.headers["retry-after"] == "5"


def test_open311_views(client: TestClient) -> None:
    services = client.get("/open311/v2/services.json", headers=auth("viewer")).json()
    assert {"service_code": "road_damage", "group": "12345"}.items() <= services[
        [s["service_code"] for s in services].index("road_damage")
    ].items()
    reqs = client.get("/open311/v2/requests.json", headers=auth("jingan-roads")).json()
    assert len(reqs) == 1
    req = reqs[0]
    assert req["status"] == "open" and req["service_code"] == "road_damage"
    assert req["agency_responsible"] == "道路养护中心 / Road Maintenance Centre"
    # every text for people in both languages, as status_notes: not English or Chinese alone
    assert req["service_name"] == "道路破损 / road damage"
    for key in ("service_name", "description", "agency_responsible", "status_notes"):
        assert " / " in req[key], key
    assert req["requested_datetime"].endswith("+08:00")
    one = client.get(f"/open311/v2/requests/{req['service_request_id']}.json",
                     headers=auth("viewer")).json()  # fmt: skip
    assert one == [req]
    assert client.get("/open311/v2/requests.json?status=closed",
                      headers=auth("viewer")).json() == []  # fmt: skip
    other = ticket_in(client, "310115")
    assert client.get(f"/open311/v2/requests/{other}.json",
                      headers=auth("jingan-roads")).status_code == 404  # fmt: skip


def am_payload(status: str, fingerprint: str = "a1b2c3", **labels: str) -> dict[str, Any]:
    return {
        "version": "4", "groupKey": "{}:{alertname=\"WaterMainBurst\"}", "truncatedAlerts": 0,
        "status": status, "receiver": "citysigns", "groupLabels": {}, "commonLabels": {},
        "commonAnnotations": {}, "externalURL": "http://alertmanager:9093",
        "alerts": [{
            "status": status,
            "labels": {"alertname": "WaterMainBurst", "severity": "critical",
                       "area": "310106003", "department": "water_supply", **labels},
            "annotations": {"summary": "pressure collapsed", "value": "0.05"},
            "startsAt": "2026-03-01T10:05:00+08:00", "endsAt": "2026-03-01T11:00:00+08:00",
            "generatorURL": "http://prometheus:9090/graph", "fingerprint": fingerprint,
        }],
    }  # fmt: skip


def test_alertmanager_webhook_dedups_and_resolves(client: TestClient) -> None:
    h = auth("dispatch")
    first = client.post("/alertmanager/webhook", headers=h, json=am_payload("firing")).json()
    assert first["outcomes"][0]["action"] == "created"
    tid = first["outcomes"][0]["ticket_id"]
    again = client.post("/alertmanager/webhook", headers=h, json=am_payload("firing")).json()
    assert again["outcomes"][0]["action"] == "already-applied"
    t = client.get(f"/tickets/{tid}", headers=auth("viewer")).json()["ticket"]
    assert (t["origin"], t["level"], t["department"], t["tier"]) == (
        "alert",
        "red",
        "water_supply",
        "city",
    )
    # accepted by the department, then resolved: the ticket is annotated, not closed
    client.post(f"/tickets/{tid}/accept", headers=auth("jingan-water"))
    done = client.post("/alertmanager/webhook", headers=h, json=am_payload("resolved")).json()
    assert done["outcomes"][0]["action"] == "annotated"
    # a second alert, resolved before anyone accepted it, closes its ticket
    elsewhere = {"area": "310115001", "severity": "warning", "category": "gas",
                 "department": "gas"}  # fmt: skip
    client.post("/alertmanager/webhook", headers=h, json=am_payload("firing", "ff", **elsewhere))
    gone = client.post("/alertmanager/webhook", headers=h,
                       json=am_payload("resolved", "ff", **elsewhere)).json()  # fmt: skip
    assert gone["outcomes"][0]["action"] == "closed"


def test_alertmanager_tickets_record_the_token_that_sent_them(client: TestClient) -> None:
    """Created, merged, resolved and closed through the webhook: the entries name the
    dispatcher's token, as an accept names the desk's; the flow's own warnings say system."""
    h = auth("dispatch")
    created = client.post("/alertmanager/webhook", headers=h, json=am_payload("firing")).json()
    tid = created["outcomes"][0]["ticket_id"]
    client.post("/alertmanager/webhook", headers=h, json=am_payload("firing", "bb"))  # merges
    client.post("/alertmanager/webhook", headers=h, json=am_payload("resolved", "bb"))
    done = client.post("/alertmanager/webhook", headers=h, json=am_payload("resolved")).json()
    assert done["outcomes"][0]["action"] == "closed"
    audit = client.get(f"/tickets/{tid}/audit", headers=auth("viewer")).json()["audit"]
    actors = {a["action"]: a["actor"] for a in audit}
    assert actors == {"dispatched": "dispatch", "merged": "dispatch",
                      "warning_resolved": "dispatch", "closed": "dispatch"}  # fmt: skip


def test_alertmanager_payload_is_validated(client: TestClient) -> None:
    h = auth("dispatch")
    bad_version = {**am_payload("firing"), "version": "3"}
    assert client.post("/alertmanager/webhook", headers=h, json=bad_version).status_code == 422
    extra = {**am_payload("firing"), "surprise": 1}
    assert client.post("/alertmanager/webhook", headers=h, json=extra).status_code == 422
    r = client.post("/alertmanager/webhook", headers=auth("viewer"), json=am_payload("firing"))
    assert r.status_code == 403
    r = client.post("/alertmanager/webhook", headers=auth("jingan-supervisor"),
                    json=am_payload("firing"))  # fmt: skip
    assert r.status_code == 403


def test_token_file_validation(tmp_path: Any) -> None:
    p = tmp_path / "tokens.yaml"
    p.write_text("tokens:\n  - {name: w, role: department, scope: '310106', "
                 "department: water, token_sha256: " + "a" * 64 + "}\n")  # fmt: skip
    reg = TokenRegistry.from_file(p)
    assert reg.authenticate("Bearer " + "x") is None
    with pytest.raises(ValueError, match="needs `department`"):
        TokenSpec(name="d", role="department", token="t" * 20)
    with pytest.raises(ValueError, match="exactly one"):
        TokenSpec(name="d", role="read-only")


PERSONAL = "回电 13812345678 或 139-1234-5678, 身份证 31010619800101123X, zhang.san@example.com"
LEAKS = ("13812345678", "1234-5678", "****", "123X", "19800101", "zhang.san", "@example")


def test_personal_data_typed_into_the_api_is_masked(client: TestClient) -> None:
    """Notes, reasons, comments and alert annotations are masked as they come in, with the
    decoder's placeholders: no partial number (138****5678) that keeps 7 of 11 digits."""
    tid = ticket_in(client, "310106")
    roads, sup = auth("jingan-roads"), auth("jingan-supervisor")
    steps = [
        (f"/tickets/{tid}/reassign", auth("dispatch"),
         {"department": "road_maintenance", "tier": "district", "reason": PERSONAL}),
        (f"/tickets/{tid}/supervise", sup, {"reason": PERSONAL}),
        (f"/tickets/{tid}/accept", roads, {"note": PERSONAL}),
        (f"/tickets/{tid}/start", roads, {"note": PERSONAL}),
        (f"/tickets/{tid}/comment", sup, {"text": PERSONAL}),
        (f"/tickets/{tid}/feedback", roads, {"notes": PERSONAL}),
    ]  # fmt: skip
    for path, headers, body in steps:
        r = client.post(path, headers=headers, json=body)
        assert r.status_code == 200, (path, r.text)
    payload = am_payload("firing", "pii")
    payload["alerts"][0]["annotations"] = {"description": PERSONAL, "value": "0.05"}
    payload["alerts"][0]["labels"]["title_zh"] = "爆管 13812345678"
    r = client.post("/alertmanager/webhook", headers=auth("dispatch"), json=payload)
    alert_tid = r.json()["outcomes"][0]["ticket_id"]
    shown = [
        client.get(f"/tickets/{tid}", headers=auth("viewer")).text,
        client.get(f"/tickets/{alert_tid}", headers=auth("viewer")).text,
        client.get("/tickets", headers=auth("viewer")).text,
        client.get("/open311/v2/requests.json", headers=auth("viewer")).text,
    ]
    for text in shown:
        assert not [leak for leak in LEAKS if leak in text], text
    detail = client.get(f"/tickets/{tid}", headers=auth("viewer")).json()
    reasons = [a["reason"] for a in detail["audit"] if a["actor"] != "system"]
    assert len(reasons) == 6
    assert all("<phone>" in r and "<id-number>" in r and "<email>" in r for r in reasons)
    assert "<phone>" in detail["ticket"]["feedback_notes"]
    assert "<phone>" in shown[1] and "<id-number>" in shown[1]


def city_wide_incident(service: TicketService) -> str:
    """A red Jing'an pressure warning (dispatched at city tier), a Pudong warning merged into
    it and a Pudong citizen's order corroborating it: the incident area becomes the city."""
    machine = WarningStateMachine([make_indicator(), surge_indicator()])
    events = []
    for area, value in (("310106003", 0.09), ("310115001", 0.16)):
        for batch in windows([value], area=area):
            events.extend(machine.process(batch))
    service.submit_warnings(events)
    order = HotlineOrder("pw1", "water_outage", T0 + 600, 31.10, 121.66, "310115001001001", "")
    (out,) = service.submit_orders([order])
    assert out.action == "corroborated"
    t = service.get(out.ticket_id or "")
    assert t is not None and (t.incident_area, t.area_code, t.tier) == ("310000", "310000", "city")
    return t.id


def test_a_warnings_explanation_gives_its_times_as_the_rest_of_the_page(
    client: TestClient, service: TicketService
) -> None:
    """The explanation's window, `since` and `peak_at` were epoch seconds (1772330400) on a
    page whose every other time reads 2026-03-01T10:00:00+08:00."""
    tid = city_wide_incident(service)
    page = client.get(f"/tickets/{tid}", headers=auth("viewer")).json()
    assert page["warnings"]
    for w in page["warnings"]:
        x = w["explanation"]
        times = [w["first_at"], w["last_at"], x["since"], *x["window"]]
        times += [x["peak_at"]] if x["peak_at"] is not None else []  # known once it clears
        assert all(isinstance(v, str) and v.endswith("+08:00") for v in times), times
        assert x["window"][0] == "2026-03-01T10:00:00+08:00"
    cleared = _warning_json({"explanation": {"since": T0, "peak_at": T0 + 900, "window": [T0, None],
                                             "peak": 0.09}}, "Asia/Shanghai")  # fmt: skip
    assert cleared["explanation"] == {"since": "2026-03-01T10:00:00+08:00", "peak": 0.09,
                                      "peak_at": "2026-03-01T10:15:00+08:00",
                                      "window": ["2026-03-01T10:00:00+08:00", None]}  # fmt: skip
    # the store keeps epoch seconds, which the service and the demo read
    assert isinstance(service.warnings(tid)[0]["explanation"]["since"], int)


def test_district_desks_read_city_wide_incidents_holding_their_reports(
    client: TestClient, service: TicketService
) -> None:
    """A desk sees (and finds in its list) a city-wide incident that holds one of its district's
    orders or warnings; acting on it stays with the city tier that owns it."""
    tid = city_wide_incident(service)
    for desk in ("pudong-water", "jingan-water"):
        assert client.get(f"/tickets/{tid}", headers=auth(desk)).status_code == 200
        listed = client.get("/tickets", headers=auth(desk)).json()["tickets"]
        assert tid in [t["id"] for t in listed], desk
        reqs = client.get("/open311/v2/requests.json", headers=auth(desk)).json()
        assert tid in [r["service_request_id"] for r in reqs], desk
    # narrowed to the street of the Pudong order, it is still there
    r = client.get("/tickets?area=310115001", headers=auth("pudong-water")).json()
    assert tid in [t["id"] for t in r["tickets"]]
    # a district with nothing in it does not see it
    assert client.get(f"/tickets/{tid}", headers=auth("xuhui-viewer")).status_code == 404
    assert tid not in [
        t["id"] for t in client.get("/tickets", headers=auth("xuhui-viewer")).json()["tickets"]
    ]
    # reading is not acting: the city tier owns the incident
    r = client.post(f"/tickets/{tid}/accept", headers=auth("pudong-water"))
    assert r.status_code == 403 and "you may read it, not act on it" in r.json()["error"]
    r = client.post(f"/tickets/{tid}/accept", headers=auth("dispatch"))
    assert r.status_code == 403  # a dispatcher does not accept; the role is checked first


def test_a_district_desk_sees_only_its_own_callers_on_a_city_wide_incident(
    client: TestClient, service: TicketService
) -> None:
    """A Pudong caller opens the ticket; warnings make it a city-wide incident; a Jing'an
    caller corroborates it.  Jing'an's desk reads the incident through its caller's order, and
    sees that order, a count of the others, and neither the Pudong caller's words, position
    nor order id (in the ticket, the list, Open311 or the audit); Pudong's desk, the reverse;
    the city's desk everything."""
    root = HotlineOrder("pudong-caller", "water_outage", T0 - 600, 31.201234, 121.551234,
                        "310115001001001", "家里没水了")  # fmt: skip
    (opened,) = service.submit_orders([root])
    machine = WarningStateMachine([make_indicator(), surge_indicator()])
    events = []
    for area, value in (("310115001", 0.16), ("310106003", 0.09)):
        for batch in windows([value], area=area):
            events.extend(machine.process(batch))
    service.submit_warnings(events)
    tid = opened.ticket_id or ""
    jingan = HotlineOrder("jingan-caller", "water_outage", T0 + 600, 31.23, 121.45,
                          "310106003001001", "")  # fmt: skip
    assert service.submit_orders([jingan])[0].ticket_id == tid
    t = service.get(tid)
    assert t is not None and t.tier == "city"

    detail = client.get(f"/tickets/{tid}", headers=auth("jingan-water")).json()
    assert [o["order_id"] for o in detail["orders"]] == ["jingan-caller"]
    assert detail["orders_outside_scope"] == 1
    ticket = detail["ticket"]
    assert (ticket["description"], ticket["lat"], ticket["long"]) == (None, None, None)
    text = json.dumps(detail, ensure_ascii=False)
    assert "pudong-caller" not in text and "家里没水了" not in text and "121.551234" not in text
    audit = client.get(f"/tickets/{tid}/audit", headers=auth("jingan-water")).json()
    assert "pudong-caller" not in json.dumps(audit)
    listed = client.get("/tickets", headers=auth("jingan-water")).json()["tickets"]
    assert "121.551234" not in json.dumps(listed) and "家里没水了" not in json.dumps(listed)
    (req,) = client.get(f"/open311/v2/requests/{tid}.json", headers=auth("jingan-water")).json()
    assert (req["lat"], req["long"]) == (None, None)

    pudong = client.get(f"/tickets/{tid}", headers=auth("pudong-water")).json()
    assert [o["order_id"] for o in pudong["orders"]] == ["pudong-caller"]
    assert pudong["orders_outside_scope"] == 1 and pudong["ticket"]["lat"] == 31.201234
    city = client.get(f"/tickets/{tid}", headers=auth("viewer")).json()
    assert len(city["orders"]) == 2 and city["orders_outside_scope"] == 0
    assert city["ticket"]["description"] == "家里没水了"


def test_open311_filters_run_over_every_ticket_in_the_store(
    client: TestClient, service: TicketService, clock: ManualClock
) -> None:
    """A filter finds a match older than the newest 1,000 tickets; a date without a zone is
    read in Shanghai's; the total and the next page are in the headers."""
    service.submit_orders([HotlineOrder("w-old", "water_outage", T0, None, None,
                                        "310106003001001", "")])  # fmt: skip
    clock.set(T0 + 3600)  # 1,001 newer tickets
    service.submit_orders([
        HotlineOrder(f"n{k}", "noise_complaint", T0 + 60 + k, None, None, "310106003001001", "")
        for k in range(1001)
    ])  # fmt: skip
    h = auth("viewer")
    url = "/open311/v2/requests.json"
    water = client.get(url, params={"service_code": "water_outage"}, headers=h)
    assert len(water.json()) == 1
    assert water.headers["x-total-count"] == "1"
    everything = client.get(url, headers=h)
    assert len(everything.json()) == 1000 and everything.headers["x-total-count"] == "1004"
    assert 'page=2>; rel="next"' in everything.headers["link"]
    page2 = client.get(url, params={"page": 2}, headers=h).json()
    assert len(page2) == 4 and "link" not in client.get(url, params={"page": 2}, headers=h).headers
    # 09:30 in Shanghai is before the tickets opened (10:00 +08:00); 09:30 UTC is after
    early = {"service_code": "road_damage", "start_date": "2026-03-01T09:30:00"}
    assert len(client.get(url, params=early, headers=h).json()) == 2
    late = {"service_code": "road_damage", "end_date": "2026-03-01T09:59:00"}
    assert client.get(url, params=late, headers=h).json() == []
    assert len(client.get(url, params={"status": "open", "page_size": 5}, headers=h).json()) == 5


def test_open311_services_list_the_sensor_incident_codes(client: TestClient) -> None:
    services = client.get("/open311/v2/services.json", headers=auth("viewer")).json()
    codes = {s["service_code"]: s for s in services}
    assert "Water pressure" in codes["water"]["description"]
    assert codes["water_outage"]["group"] == "12345"


def test_open311_services_have_human_names_and_groups_by_what_raises_them(
    registry: TokenRegistry, sqlite_url: str, clock: ManualClock
) -> None:
    """The shipped catalog's families are named in Chinese and English, not by their codes;
    the 12345 call rate and photo reports are citizen reports, not sensor incidents; a
    family raised by both (water: calls and pressure) says so."""
    from alerts.serve import build_service

    svc = build_service(sqlite_url, clock=clock)  # the shipped catalog and routing
    with TestClient(create_app(svc, registry)) as c:
        services = c.get("/open311/v2/services.json", headers=auth("viewer")).json()
    codes = {s["service_code"]: s for s in services}
    for code in ("sensor_health", "hotline", "road", "water", "air"):
        s = codes[code]
        assert s["service_name"] != code and "sensor incidents" not in s["service_name"]
        assert " / " in s["description"], s
    assert codes["sensor_health"]["service_name"] == "监测设备故障 / monitoring station faults"
    assert codes["hotline"]["group"] == codes["road"]["group"] == "citizen reports"
    assert codes["air"]["group"] == "sensors"
    assert codes["water"]["group"] == "sensors and citizen reports"


def test_every_incident_family_of_the_shipped_catalog_has_a_name(
    sqlite_url: str, clock: ManualClock
) -> None:
    """A family missing from the table is named by joining its indicators' titles, and its
    requests by their own titles: the services list and the requests then disagree."""
    from alerts.api import _incident_services
    from alerts.open311 import FAMILY_NAMES
    from alerts.serve import build_service

    families = set(_incident_services(build_service(sqlite_url, clock=clock)))
    assert families and families <= set(FAMILY_NAMES), families - set(FAMILY_NAMES)


def test_native_json_and_open311_show_one_service_code(client: TestClient) -> None:
    """A ticket a warning opened has no hotline category: both views show its family, the
    code `?service_code=` finds it by."""
    r = client.post("/alertmanager/webhook", headers=auth("dispatch"), json=am_payload("firing"))
    tid = r.json()["outcomes"][0]["ticket_id"]
    native = client.get(f"/tickets/{tid}", headers=auth("viewer")).json()["ticket"]
    listed = client.get("/tickets", headers=auth("viewer")).json()["tickets"]
    (o311,) = client.get(f"/open311/v2/requests/{tid}.json", headers=auth("viewer")).json()
    assert native["service_code"] is not None
    assert native["service_code"] == o311["service_code"]
    assert {t["id"]: t["service_code"] for t in listed}[tid] == o311["service_code"]
    found = client.get("/open311/v2/requests.json", headers=auth("viewer"),
                       params={"service_code": native["service_code"]}).json()  # fmt: skip
    assert tid in {q["service_request_id"] for q in found}


def test_an_order_that_warnings_joined_is_listed_under_its_family(
    client: TestClient, service: TicketService
) -> None:
    """A hotline order opens a ticket; a pressure warning then joins it: the incident is a
    water incident, found by `?service_code=water` under the family's name (it hid under the
    first call's `water_outage`), the same code in both views.  A plain order keeps its
    category's code and name."""
    (first,) = service.submit_orders([HotlineOrder("w1", "water_outage", T0, 31.23, 121.47,
                                                   "310106003001001", "没水")])  # fmt: skip
    machine = WarningStateMachine([make_indicator(), surge_indicator()])
    events = [ev for b in windows([0.16], area="310106003") for ev in machine.process(b)]
    assert service.submit_warnings(events)[0].ticket_id == first.ticket_id
    tid = first.ticket_id or ""
    h = auth("viewer")
    native = client.get(f"/tickets/{tid}", headers=h).json()["ticket"]
    (o311,) = client.get(f"/open311/v2/requests/{tid}.json", headers=h).json()
    assert native["service_code"] == o311["service_code"] == "water"
    assert "water supply and quality" in o311["service_name"]
    url = "/open311/v2/requests.json"
    water = client.get(url, headers=h, params={"service_code": "water"})
    assert water.headers["x-total-count"] == "1" and water.json()[0]["service_request_id"] == tid
    outage = client.get(url, headers=h, params={"service_code": "water_outage"}).json()
    assert tid not in {q["service_request_id"] for q in outage}
    plain = ticket_in(client, "310115")  # a pothole order no warning joined
    (road,) = client.get(f"/open311/v2/requests/{plain}.json", headers=h).json()
    assert road["service_code"] == "road_damage" and "road damage" in road["service_name"]


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"tier": "district", "area_code": "999999999999999"}, "not a place in the city model"),
        ({"tier": "community", "area_code": "310106003001999"}, "not a place in the city model"),
        ({"tier": "district", "area_code": "310106003"}, "is a street, not a district"),
        ({"tier": "street", "area_code": "310104001"}, "neither holds nor lies inside"),
        ({"area_code": "310106"}, "is a district, not a street"),
    ],
)
def test_reassign_checks_the_area_against_the_city_model(
    client: TestClient, service: TicketService, body: dict[str, str], needle: str
) -> None:
    """A reassignment to a code the city does not have, at another tier than the one named,
    or to a place that has nothing to do with the incident (a Xuhui street for a Jing'an
    pothole) is refused with 400 and changes nothing."""
    tid = ticket_in(client, "310106")
    before = client.get(f"/tickets/{tid}", headers=auth("viewer")).json()
    r = client.post(f"/tickets/{tid}/reassign", headers=auth("dispatch"),
                    json={"department": "road_maintenance", "reason": "r", **body})  # fmt: skip
    assert r.status_code == 400 and needle in r.json()["error"], r.text
    assert client.get(f"/tickets/{tid}", headers=auth("viewer")).json() == before


def test_reassign_a_city_wide_incident_to_a_district_needs_the_district(
    client: TestClient, service: TicketService
) -> None:
    tid = city_wide_incident(service)
    h = auth("dispatch")
    up = {"department": "water_supply", "reason": "r", "tier": "district"}
    r = client.post(f"/tickets/{tid}/reassign", headers=h, json=up)
    assert r.status_code == 400 and "name the district with area_code" in r.json()["error"]
    r = client.post(f"/tickets/{tid}/reassign", headers=h,
                    json={"department": "water_supply", "reason": "Pudong's part",
                          "tier": "district", "area_code": "310115"})  # fmt: skip
    assert r.status_code == 200 and r.json()["ticket"]["area_code"] == "310115"
    # Pudong's desk now owns it
    assert client.post(f"/tickets/{tid}/accept", headers=auth("pudong-water")).status_code == 200


def test_a_department_desk_lists_its_own_department_by_default(client: TestClient) -> None:
    """A desk's list is its work; `department=*` (or another department) shows the
    neighbours' tickets in its area; an unknown department is a 422, as an unknown status."""
    water, roads = auth("jingan-water"), auth("jingan-roads")
    assert client.get("/tickets", headers=water).json()["tickets"] == []
    mine = client.get("/tickets", headers=roads).json()["tickets"]
    assert [t["department"] for t in mine] == ["road_maintenance"]
    for wider in ("*", "road_maintenance"):
        r = client.get("/tickets", params={"department": wider}, headers=water).json()
        assert [t["incident_area"][:6] for t in r["tickets"]] == ["310106"], wider
    for who in ("viewer", "jingan-water"):
        r = client.get("/tickets", params={"department": "nonexistent"}, headers=auth(who))
        assert r.status_code == 422 and "unknown department 'nonexistent'" in r.json()["error"]
    assert client.get("/tickets?status=bogus", headers=water).status_code == 422


def test_refusals_never_echo_personal_data_into_the_log(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    """A refused request's log line and answer named what the caller typed: a phone number
    as a body's key ("body.13812340091: Extra inputs are not permitted") or in the
    department box.  Both are masked, as the text a caller types is."""
    tid = ticket_in(client, "310106")
    with caplog.at_level(logging.WARNING, logger="citysigns.api"):
        r1 = client.post(f"/tickets/{tid}/comment", headers=auth("dispatch"),
                         json={"text": "ok", "13812340091": "x"})  # fmt: skip
        r2 = client.get("/tickets", params={"department": "王小明13812340093"},
                        headers=auth("viewer"))  # fmt: skip
    assert r1.status_code == 422 and r2.status_code == 422
    assert "<phone>" in r1.text and "<phone>" in r2.text
    for text in (*caplog.messages, r1.text, r2.text):
        assert "1381234009" not in text, text


def test_open311_lists_a_department_desk_its_own_department_by_default(
    client: TestClient,
) -> None:
    """Open311 lists what `GET /tickets` lists: a desk's own department's requests, the
    neighbours' with `department=*` or their name, an unknown department a 422; looking
    requests up by id is not filtered by department, as reading one ticket is not."""
    url = "/open311/v2/requests.json"
    water, roads = auth("jingan-water"), auth("jingan-roads")
    r = client.get(url, headers=water)
    assert (r.json(), r.headers["x-total-count"]) == ([], "0")
    assert client.get("/tickets", headers=water).json()["tickets"] == []  # the same answer
    mine = client.get(url, headers=roads).json()
    assert [q["agency_responsible"] for q in mine] == ["道路养护中心 / Road Maintenance Centre"]
    for wider in ("*", "road_maintenance"):
        r = client.get(url, params={"department": wider}, headers=water)
        assert [q["service_request_id"] for q in r.json()] == [mine[0]["service_request_id"]]
        assert r.headers["x-total-count"] == "1", wider
    r = client.get(url, params={"department": "nonexistent"}, headers=water)
    assert r.status_code == 422  # in GeoReport's error list, as every Open311 refusal
    assert "unknown department 'nonexistent'" in r.json()[0]["description"]
    by_id = client.get(url, params={"service_request_id": mine[0]["service_request_id"]},
                       headers=water).json()  # fmt: skip
    assert by_id == mine
    # tokens without a department list every department's, as before
    assert len(client.get(url, headers=auth("viewer")).json()) == 2


def test_errors_have_one_shape_and_every_refusal_is_logged_and_counted(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    tid = ticket_in(client, "310106")
    refusals = client.app.state.refusals  # type: ignore[attr-defined]
    # unknown paths and methods answer {"error": ...} like everything else ("detail" kept)
    r = client.get("/nowhere", headers=auth("viewer"))
    assert r.status_code == 404 and r.json() == {"error": "no such path", "detail": "Not Found"}
    r = client.delete(f"/tickets/{tid}", headers=auth("viewer"))
    assert r.status_code == 405 and "method DELETE is not allowed" in r.json()["error"]
    # who may act is answered before the body is looked at
    for who, path, body in [
        ("viewer", "comment", {}),
        ("viewer", "feedback", {"mood": 1}),
        ("jingan-water", "feedback", {}),
        ("jingan-roads", "supervise", {"reason": 7}),
    ]:
        r = client.post(f"/tickets/{tid}/{path}", headers=auth(who), json=body)
        assert r.status_code == 403, (who, path, r.text)
    r = client.post("/alertmanager/webhook", headers=auth("viewer"), json={})
    assert r.status_code == 403
    # a lifecycle conflict (409) and a refused change (400) are logged and counted too
    with caplog.at_level(logging.WARNING, logger="citysigns.api"):
        r = client.post(f"/tickets/{tid}/start", headers=auth("jingan-roads"))
    assert r.status_code == 409
    assert any(m.startswith("refused POST") and "409" in m for m in caplog.messages)
    assert refusals["conflict"] == 1
    # count is the page's length, total the matches over all pages
    page = client.get("/tickets", params={"limit": 1}, headers=auth("viewer")).json()
    assert (page["count"], page["total"]) == (1, 2)
    page = client.get("/tickets", params={"offset": 5}, headers=auth("viewer")).json()
    assert (page["count"], page["total"]) == (0, 2)


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ({}, "已办结 / closed"),
        ({"reopen_count": 1}, "已办结（重办 1 次） / closed (reopened 1x)"),
        ({"supervised": True}, "已办结（督办） / closed (supervised)"),
        (
            {"supervised": True, "reopen_count": 2},
            "已办结（督办，重办 2 次） / closed (supervised, reopened 2x)",
        ),
    ],
)
def test_open311_status_notes_say_the_same_in_both_languages(
    service: TicketService, flags: dict[str, Any], expected: str
) -> None:
    """A reopening or a supervision is told on the Chinese side as on the English one."""
    t = replace(service.list_tickets(TicketFilter())[0], status="closed", **flags)
    assert status_notes(t) == expected


def test_unknown_family_and_service_code_are_refused_with_the_valid_values(
    client: TestClient,
) -> None:
    """An unknown family was 200 with no tickets (a typo looked like a quiet city) while an
    unknown status or department was 422: now it is 422 too, listing the families; Open311's
    unknown service_code is GeoReport's 400 with an error list naming the codes."""
    h = auth("viewer")
    r = client.get("/tickets", params={"family": "nosuch"}, headers=h)
    assert r.status_code == 422
    assert "unknown family 'nosuch'" in r.json()["error"] and "road" in r.json()["error"]
    assert client.get("/tickets", params={"family": "road"}, headers=h).json()["count"] == 2
    assert client.get("/tickets", params={"family": "gas"}, headers=h).json()["count"] == 0
    r = client.get("/open311/v2/requests.json", params={"service_code": "nosuch"}, headers=h)
    assert r.status_code == 400
    ((error,),) = [r.json()]
    assert error["code"] == 400 and "unknown service_code 'nosuch'" in error["description"]
    assert "road_damage" in error["description"]
    ok = client.get("/open311/v2/requests.json", params={"service_code": "road_damage"},
                    headers=h)  # fmt: skip
    assert ok.status_code == 200 and len(ok.json()) == 2
    # an alert's own category is a family no file lists: once a ticket has it, it is known
    elsewhere = {"area": "310115001", "category": "sinkhole", "department": "road_maintenance"}
    client.post("/alertmanager/webhook", headers=auth("dispatch"),
                json=am_payload("firing", "ff", **elsewhere))  # fmt: skip
    assert client.get("/tickets", params={"family": "sinkhole"}, headers=h).json()["count"] == 1
    r = client.get("/open311/v2/requests.json", params={"service_code": "sinkhole"}, headers=h)
    assert r.status_code == 200 and len(r.json()) == 1


def test_open311_refusals_are_georeport_error_lists(client: TestClient) -> None:
    r = client.get("/open311/v2/requests.json")
    assert r.status_code == 401 and r.json() == [
        {"code": 401, "description": "a valid bearer token is required"}
    ]
    r = client.get("/open311/v2/requests/T-nope.json", headers=auth("viewer"))
    assert r.status_code == 404 and r.json()[0]["code"] == 404
    r = client.get("/open311/v2/requests.json", params={"page": 0}, headers=auth("viewer"))
    assert r.status_code == 422 and "page" in r.json()[0]["description"]


@pytest.mark.parametrize(
    ("content", "detail"),
    [
        (b"{not json", "body: the body is not JSON: expecting property name enclosed in double "
                       "quotes at line 1, column 2"),
        (b'{"text": "fine",\n "more": }', "body: the body is not JSON: expecting value at "
                                          "line 2, column 10"),
        (b'{"text": "\xff"}', "body: the body is not JSON: byte 10 is not UTF-8"),
    ],
)  # fmt: skip
def test_a_body_that_is_not_json_is_told_so_with_where_it_broke(
    client: TestClient, content: bytes, detail: str
) -> None:
    """Not "body.0: JSON decode error" (the 0 was a character offset that read as a list
    index): the answer says the body is not JSON, why and at which line and column."""
    tid = ticket_in(client, "310106")
    r = client.post(f"/tickets/{tid}/comment", content=content,
                    headers={**auth("jingan-supervisor"),
                             "content-type": "application/json"})  # fmt: skip
    assert r.status_code == 422 and r.json()["details"] == [detail]
