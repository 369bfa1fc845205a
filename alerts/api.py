"""The ticket API (`citysigns serve`): list and filter tickets; accept, start, feedback,
reassign, comment, supervise; an Open311 GeoReport v2 read view; the Alertmanager webhook.

Every request but /health needs a bearer token (the OpenAPI document, /openapi.json, too;
there is no /docs page: FastAPI's loads its scripts from a CDN); its role decides what it
may do and its scope which tickets it may see (a district's token sees only tickets in that
district; lists are filtered, and a single ticket outside the scope is answered 404, as one
that does not exist, so that the answer does not tell whether it does; a city-wide incident
read through one of the district's orders is shown without the other districts' callers).
Every refusal is logged with its reason and the token's name ("anonymous" when there is
none), never the token itself, and counted per reason in `app.state.refusals`.
Bad input gets a 4xx that says what is wrong, always as {"error": ...}: oversized bodies 413;
malformed JSON, unknown or missing fields and unknown values (a status, tier, department or
family the API does not know, with the valid ones named) 422; a reassignment to an area the
city model refuses 400; a transition the lifecycle does not allow 409.  Who may act on which
ticket is checked before the body is read (401, 403, 404 first).  A store outage is a 503
(retry later), never a 500.  Under /open311/ a refusal is GeoReport's error list, [{"code":
400, "description": ...}], with the same status; an unknown `service_code` there is GeoReport's
400."""

from __future__ import annotations

import json
import logging
import threading
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, MutableMapping
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated, Any, Literal, Protocol
from zoneinfo import ZoneInfo

from fastapi import Depends, FastAPI, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from pydantic.json_schema import models_json_schema
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException

from indicators.language.registry import departments, did_you_mean, hotline_categories, kinds

from .alertmanager import AlertmanagerAlert, AlertmanagerPayload, to_events
from .areas import AreaNames, NoAreaNames, ancestor_at, in_scope, related, tier_of_code
from .auth import PERMISSIONS, Principal, TokenRegistry
from .hotline import mask_personal
from .open311 import IncidentSource, request_view, service_code, services
from .service import TicketService, headline
from .store import TicketFilter, is_transient
from .ticket_metrics import data_time
from .tickets import (
    STATUSES,
    InvalidTransitionError,
    Ticket,
    TicketError,
    TicketNotFoundError,
    iso,
    times_as_iso,
)

log = logging.getLogger("citysigns.api")
DEFAULT_MAX_BODY = 64 * 1024

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def _count_refusal(scope: Scope, reason: str) -> None:
    """Count a refusal made before routing (the app is in the scope: Starlette puts it there)."""
    refusals = getattr(getattr(scope.get("app"), "state", None), "refusals", None)
    if isinstance(refusals, Counter):
        refusals[reason] += 1


async def _read_body(receive: Receive, limit: int | None = None) -> bytes | None:
    """The whole request body (None as soon as it passes `limit` bytes), so a middleware can
    look at it before the app does."""
    chunks: list[bytes] = []
    size = 0
    more = True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            break
        body = message.get("body", b"")
        size += len(body)
        if limit is not None and size > limit:
            return None
        chunks.append(body)
        more = bool(message.get("more_body"))
    return b"".join(chunks)


def _replaying(whole: bytes, receive: Receive) -> Receive:
    """A `receive` that hands the app the body already read, then the rest of the stream."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": whole, "more_body": False}
        return await receive()

    return replay


class BodyLimit:
    """Refuses request bodies over `limit` bytes with 413 before the app parses anything,
    whether or not the client declared a Content-Length."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await self._refuse(scope, send)
            return
        whole = await _read_body(receive, self.limit)
        if whole is None:
            await self._refuse(scope, send)
            return
        await self.app(scope, _replaying(whole, receive), send)

    async def _refuse(self, scope: Scope, send: Send) -> None:
        log.warning("refused %s %r: a request body over %d bytes", scope.get("method"),
                    str(scope.get("path", ""))[:200], self.limit)  # fmt: skip
        _count_refusal(scope, "too_large")
        body = json.dumps(
            {"error": f"request body too large: the limit is {self.limit} bytes"}
        ).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode())]})  # fmt: skip
        await send({"type": "http.response.body", "body": body})


NUL_REFUSED = "NUL bytes are not accepted"


def _log_nul(method: object, path: object) -> None:
    log.warning("refused %s %r: a NUL byte in the request", method, str(path)[:200])


class NoNulBytes:
    """Refuses with 422 a request whose path or query holds a NUL character (raw or
    %-encoded).  No field of this API needs one, and PostgreSQL cannot store one in text: it
    would surface as a store error in the middle of a transaction.  A body holding one (raw
    or JSON-escaped) is refused the same way by `_body_after`, which reads every body this
    API takes once the caller may act: checked here, it was a 422 before a caller who may
    not act was told so."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        query = bytes(scope.get("query_string") or b"")
        if "\x00" in str(scope.get("path", "")) or b"%00" in query or b"\x00" in query:
            await self._refuse(scope, send)
            return
        await self.app(scope, receive, send)

    async def _refuse(self, scope: Scope, send: Send) -> None:
        _log_nul(scope.get("method"), scope.get("path", ""))
        _count_refusal(scope, "nul_byte")
        body = json.dumps({"error": NUL_REFUSED}).encode()
        await send({"type": "http.response.start", "status": 422,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode())]})  # fmt: skip
        await send({"type": "http.response.body", "body": body})


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# Free text a person types (notes, reasons, comments) is masked as it enters: it is stored in
# the ticket and its audit and shown to every reader of the ticket, the wall display and the
# Open311 view included.  Phone, identity and passport numbers and e-mail addresses become
# placeholders, and so do names where the text marks them (a cue before them, 联系人 or
# "my name is", a form of address after them, 先生 or 女士); a name with no such mark cannot
# be told from other words and is not caught.
FreeText = Annotated[str, AfterValidator(mask_personal)]


def _says_something(text: str) -> str:
    """A required text that holds only spaces, line breaks or invisible characters is
    refused: `min_length=1` let "   " through, so a feedback that said nothing sent a ticket
    to verification as handled, and reasons and comments stood empty in the audit."""
    if not any(ch.isprintable() and not ch.isspace() for ch in text):
        raise ValueError("it holds only spaces or invisible characters; write what it is about")
    return text


# Free text that must say something: a feedback, a comment, a reason.
RequiredText = Annotated[str, AfterValidator(_says_something), AfterValidator(mask_personal)]


class NoteBody(_Body):
    note: FreeText = Field("", max_length=2000)


class FeedbackBody(_Body):
    notes: RequiredText = Field(min_length=1, max_length=4000, description="what was done")


class ReassignBody(_Body):
    department: str = Field(min_length=1, max_length=64)
    reason: RequiredText = Field(min_length=1, max_length=2000)
    tier: Literal["community", "grid", "street", "district", "city"] | None = None
    area_code: str | None = Field(None, pattern=r"^\d{6,15}$")


class CommentBody(_Body):
    text: RequiredText = Field(min_length=1, max_length=4000)


class SuperviseBody(_Body):
    reason: RequiredText = Field(min_length=1, max_length=2000)


# Alert labels that are free text shown on the ticket; the others are codes (area, level,
# department) that masking would break: a 15-digit community code reads as an ID number.
_TEXT_LABELS = ("alertname", "title_zh")
# An annotation that is a number: `{{ $value }}` can print 17 digits, which masking would
# take for an ID number.
_NUMBER_ANNOTATIONS = ("value",)


def _masked_alert(a: AlertmanagerAlert) -> AlertmanagerAlert:
    """The alert with its annotations (summary, description: whatever a rule's author
    templated in) and its free-text labels masked before any of it reaches a ticket."""
    annotations = {k: v if k in _NUMBER_ANNOTATIONS else mask_personal(v)
                   for k, v in a.annotations.items()}  # fmt: skip
    labels = {k: mask_personal(v) if k in _TEXT_LABELS else v for k, v in a.labels.items()}
    return a.model_copy(update={"annotations": annotations, "labels": labels})


def masked_payload(payload: AlertmanagerPayload) -> AlertmanagerPayload:
    """The payload as the webhook applies it: every alert masked (see `_masked_alert`)."""
    return payload.model_copy(update={"alerts": [_masked_alert(a) for a in payload.alerts]})


class RefusedError(Exception):
    def __init__(self, status: int, message: str, reason: str = "refused") -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.reason = reason  # the key it is counted under in app.state.refusals


# The request bodies, read by `_body_after` once the caller may act, and described in the
# OpenAPI document as FastAPI describes the bodies it reads itself.
_BODIES: tuple[type[BaseModel], ...] = (
    NoteBody, FeedbackBody, ReassignBody, CommentBody, SuperviseBody, AlertmanagerPayload,
)  # fmt: skip
_SCHEMA_REF = "#/components/schemas/{model}"


def _body_schemas() -> dict[str, Any]:
    """The bodies' JSON Schemas, named as OpenAPI components (with the models they use)."""
    _, top = models_json_schema([(m, "validation") for m in _BODIES], ref_template=_SCHEMA_REF)
    return dict(top.get("$defs", {}))


def _body_doc(model: type[BaseModel], required: bool = True) -> dict[str, Any]:
    """The `requestBody` (and its 422) of an operation whose body `_body_after` reads, for
    `openapi_extra`: what FastAPI writes for a body it reads itself."""
    if model not in _BODIES:  # its schema would be missing from the document's components
        raise ValueError(f"{model.__name__} is not in _BODIES")
    schema: dict[str, Any] = {"$ref": _SCHEMA_REF.format(model=model.__name__)}
    body: dict[str, Any] = {"required": True} if required else {}
    if not required:
        schema = {"anyOf": [schema, {"type": "null"}], "title": "Body"}
    invalid = {"$ref": _SCHEMA_REF.format(model="HTTPValidationError")}
    return {
        "requestBody": {"content": {"application/json": {"schema": schema}}, **body},
        "responses": {"422": {"description": "Validation Error",
                              "content": {"application/json": {"schema": invalid}}}},
    }  # fmt: skip


def _is_json(content_type: str | None) -> bool:
    """Whether a Content-Type announces JSON (application/json or application/...+json), as
    FastAPI decides before it parses a body."""
    if not content_type:
        return False
    kind = content_type.split(";", 1)[0].strip().lower()
    return kind == "application/json" or (kind.startswith("application/")
                                          and kind.endswith("+json"))  # fmt: skip


def _invalid_body(loc: tuple[Any, ...], kind: str, msg: str) -> RequestValidationError:
    return RequestValidationError([{"type": kind, "loc": ("body", *loc), "msg": msg,
                                    "input": None}])  # fmt: skip


def _not_json(e: json.JSONDecodeError) -> str:
    """What is wrong with a body that is not JSON, and where it broke: "the body is not JSON:
    expecting value at line 1, column 2".  FastAPI's own wording was "body.0: JSON decode
    error", the 0 being the character offset, which read as the first item of a list."""
    what = e.msg[:1].lower() + e.msg[1:]
    return f"the body is not JSON: {what} at line {e.lineno}, column {e.colno}"


def _body_after(model: type[BaseModel], allowed: Any, required: bool = True) -> Any:
    """A dependency that reads the request body as `model` once `allowed` (the dependency
    that decides whether the caller may act) has passed.

    A body FastAPI reads itself is parsed before any dependency runs, so a body that is not
    JSON was a 422 before a caller without a token (401), with a role that may not act (403)
    or on a ticket it may not read (404) was told so: the answer described the body to
    someone who may not send it.  Read here, it comes after them, and is refused as FastAPI
    refuses it (422 with the same details: `body.<field>: <what is wrong>`), and so is a body
    holding a NUL byte (422, as `NoNulBytes` refuses one in the path).  No body (or JSON
    null) is None when the body is optional."""
    adapter: TypeAdapter[Any] = TypeAdapter(model)

    async def read_body(request: Request, _allowed: Any = allowed) -> Any:
        raw = await request.body()
        if b"\x00" in raw or b"\\u0000" in raw:
            _log_nul(request.method, request.url.path)
            raise RefusedError(422, NUL_REFUSED, "nul_byte")
        if not raw:
            if not required:
                return None
            raise _invalid_body((), "missing", "Field required")
        if not _is_json(request.headers.get("content-type")):
            raise _invalid_body(
                (), "content_type", "a JSON body is expected (Content-Type: application/json)"
            )
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as e:
            raise _invalid_body((), "json_invalid", _not_json(e)) from None
        except UnicodeDecodeError as e:
            raise _invalid_body((), "json_invalid", f"the body is not JSON: byte {e.start} is "
                                "not UTF-8") from None  # fmt: skip
        except RecursionError:
            raise _invalid_body((), "json_invalid", "the body is JSON nested too deeply to "
                                "read") from None  # fmt: skip
        if value is None and not required:
            return None
        try:
            return adapter.validate_python(value)
        except ValidationError as e:
            errors = [{**err, "loc": ("body", *err["loc"])}
                      for err in e.errors(include_url=False, include_context=False)]  # fmt: skip
            raise RequestValidationError(errors) from None

    return Depends(read_body)


def _ticket_json(t: Ticket, tz: str) -> dict[str, Any]:
    d = t.to_dict(tz)
    d["headline_zh"], d["headline_en"] = headline(t)
    # the Open311 code (the family for a ticket a warning opened, not null): one code per
    # ticket in both views, the one `?service_code=` of the Open311 list filters on
    d["service_code"] = service_code(t)
    return d


def _epoch_as_iso(value: Any, tz: str) -> Any:
    return iso(value, tz) if isinstance(value, int) and not isinstance(value, bool) else value


def _warning_json(w: Mapping[str, Any], tz: str) -> dict[str, Any]:
    """A ticket's warning with every time in ISO 8601 in the city's zone, its explanation's
    too (`window`, `since`, `peak_at`): they were epoch seconds beside the ISO times of the
    rest of the ticket's page."""
    d = times_as_iso(w, ("first_at", "last_at"), tz)
    x = d.get("explanation")
    if isinstance(x, dict):
        x = times_as_iso(x, ("since", "peak_at"), tz)
        if isinstance(x.get("window"), list):
            x["window"] = [_epoch_as_iso(v, tz) for v in x["window"]]
        d["explanation"] = x
    return d


def _without_caller(d: dict[str, Any]) -> dict[str, Any]:
    """A ticket's JSON without its caller's words and position (`description`, `lat`,
    `long`) and the caller's order id (`evidence.order`): for a reader outside the caller's
    area (see `outside_orders` in `create_app`)."""
    d = {**d, "description": None, "lat": None, "long": None}
    if isinstance(d.get("evidence"), dict) and "order" in d["evidence"]:
        d["evidence"] = {k: v for k, v in d["evidence"].items() if k != "order"}
    return d


_ORDER_KEYS = ("order_id", "duplicate_of")


def _audit_without(entry: dict[str, Any], hidden: set[str]) -> dict[str, Any]:
    """An audit entry without the ids of orders outside the reader's scope (`hidden`), in
    its detail and its reason ("12345 order <outside your scope>"), and the rest of what
    happened as it stands."""
    if not hidden:
        return entry
    reason, detail = entry.get("reason"), entry.get("detail")
    if isinstance(detail, dict) and any(str(detail.get(k)) in hidden for k in _ORDER_KEYS):
        detail = {k: v for k, v in detail.items() if k not in _ORDER_KEYS or str(v) not in hidden}
    if isinstance(reason, str) and any(oid in reason for oid in hidden):
        for oid in hidden:
            reason = reason.replace(oid, "<outside your scope>")
    return {**entry, "reason": reason, "detail": detail}


def _plausible_id(tid: str) -> bool:
    """Whether an id from a path or query could name a ticket at all.  Ids with control
    characters or of absurd length are answered "no such ticket" without asking the store:
    PostgreSQL refuses a NUL byte in text with an error, which must not become a 500."""
    return 0 < len(tid) <= 200 and not any(ord(ch) < 32 or ord(ch) == 127 for ch in tid)


def _query_names(dependant: Any) -> set[str]:
    """The query parameters a route reads: its own and its dependencies' (FastAPI's
    `Dependant` tree)."""
    names = {p.alias for p in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


def _unknown_query(request: Request) -> str | None:
    """What is wrong with the query when it names a parameter the route does not read, else
    None.  FastAPI ignores such a parameter, so a typo (`?stauts=dispatched`) or a filter the
    API lacks (`?late=true`) listed every ticket as if it matched.  Open311's routes are
    left to GeoReport's habits: its clients send `jurisdiction_id` and `api_key`."""
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None or request.url.path.startswith(OPEN311_PREFIX):
        return None
    known = _query_names(dependant)
    unknown = [k for k in dict.fromkeys(request.query_params.keys()) if k not in known]
    if not unknown:
        return None
    shown = mask_personal(unknown[0][:40])  # a caller's number typed as a key
    takes = (f"this route takes {', '.join(sorted(known))}" if known
             else "this route takes no query parameters")  # fmt: skip
    more = f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else ""
    return (f"unknown query parameter {shown!r}{did_you_mean(unknown[0], sorted(known))}"
            f"{more}; {takes}")  # fmt: skip


def _scope_prefix(scope: str) -> str | None:
    """SQL prefix for a scope (None = everything); the city's code covers all its districts."""
    if scope == "*":
        return None
    return scope[:2] if tier_of_code(scope) == "city" else scope


def _incident_services(service: TicketService) -> dict[str, list[IncidentSource]]:
    """The families of the catalog's dispatching indicators, each with its indicators: the
    service codes of the tickets warnings open, named and grouped from what raises them."""
    out: dict[str, list[IncidentSource]] = {}
    for ind in service.catalog.values():
        if ind.dispatched() is None:
            continue
        family = service.router.family(ind.category, ind.id, tuple(ind.source.categories or ()))
        kind = kinds().get(ind.source.kind)
        out.setdefault(family, []).append(
            IncidentSource(ind.title.zh, ind.title.en, bool(kind and kind.channel))
        )
    return out


def _known_codes(service: TicketService) -> tuple[set[str], set[str]]:
    """(families, Open311 service codes) a ticket can have from the catalog and the routing
    alone: the incident families of the dispatching indicators, the hotline categories and
    the families they map to.  What the store holds besides (an alert's own category) is
    asked only for a value not among these (`TicketStore.codes_in_use`)."""
    incidents = set(_incident_services(service))
    hotline = set(hotline_categories())
    families = incidents | {service.router.family_of_service(c) for c in hotline}
    families |= set(service.router.config.families.values())
    return families, incidents | hotline


def _valid_values(values: set[str], shown: int = 40) -> str:
    """The valid values of a filter for an error message, sorted, at most `shown` of them."""
    listed = sorted(values)
    more = f" and {len(listed) - shown} more" if len(listed) > shown else ""
    return ", ".join(listed[:shown]) + more


OPEN311_PREFIX = "/open311/"


def _error_body(request: Request, status: int, message: str, **extra: Any) -> Any:
    """A refusal's body: {"error": message, ...} as everywhere in the API, but under
    /open311/ GeoReport v2's error list, [{"code": status, "description": message}], which
    the civic tools reading that view parse."""
    if request.url.path.startswith(OPEN311_PREFIX):
        return [{"code": status, "description": message}]
    return {"error": message, **extra}


def _principal(request: Request) -> Principal:
    tokens: TokenRegistry = request.app.state.tokens
    who, failure = tokens.identify(request.headers.get("authorization"))
    peer = request.client.host if request.client else "?"
    if failure == "expired" and who is not None:
        log.warning("refused %s %s from %s: token of %s expired", request.method,
                    request.url.path, peer, who.name)  # fmt: skip
        raise RefusedError(401, "the bearer token has expired", "expired_token")
    if who is None:
        log.warning("refused %s %s from %s (anonymous): missing or unknown bearer token (%s)",
                    request.method, request.url.path, peer, failure)  # fmt: skip
        raise RefusedError(401, "a valid bearer token is required", f"{failure}_token")
    return who


Caller = Annotated[Principal, Depends(_principal)]


class Places(Protocol):
    """The city model as reassignment checks it (flows.city's `City` is one): the level and
    index of an area code, ValueError when the city has no such area."""

    def find(self, code: str) -> tuple[str, int]: ...


def _shipped_city() -> Places:
    """The city model shipped with the package, loaded on first use (it takes a second)."""
    from flows.city.model import load_city

    return load_city()


def create_app(
    service: TicketService,
    tokens: TokenRegistry,
    *,
    names: AreaNames | None = None,
    max_body: int = DEFAULT_MAX_BODY,
    tick_every: float = 0.0,
    tz: str = "Asia/Shanghai",
    places: Places | None = None,
) -> FastAPI:
    """The API over `service`.  With `tick_every` > 0 a background thread judges deadlines and
    verification periods (and retries the outbox) that often.  `places` checks reassigned
    areas (by default the shipped city model)."""
    area_names: AreaNames = names or NoAreaNames()
    city: list[Places] = [places] if places is not None else []
    stop = threading.Event()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        thread: threading.Thread | None = None
        if tick_every > 0:

            def loop() -> None:
                while not stop.wait(tick_every):
                    try:
                        service.tick()
                    except Exception as e:  # the next tick retries; the API stays up
                        log.warning("tick failed: %s", type(e).__name__)

            thread = threading.Thread(target=loop, name="ticket-ticker", daemon=True)
            thread.start()
        yield
        stop.set()
        if thread is not None:
            thread.join(timeout=5)

    # No /docs or /redoc: FastAPI's pages load Swagger UI and ReDoc from cdn.jsdelivr.net,
    # which an offline control room cannot reach, and no local copy of their assets is
    # installed.  The OpenAPI document itself is served below, behind a token like the data
    # it describes (FastAPI's own /openapi.json route would answer anyone).
    app = FastAPI(title="citysigns tickets", version="1", lifespan=lifespan,
                  docs_url=None, redoc_url=None, openapi_url=None)  # fmt: skip
    app.add_middleware(NoNulBytes)
    app.add_middleware(BodyLimit, limit=max_body)  # added last: runs first, before any read
    app.state.tokens = tokens
    app.state.refusals = Counter[str]()
    body_schemas = _body_schemas()

    def openapi() -> dict[str, Any]:
        """FastAPI's document, with the components of the bodies `_body_after` reads."""
        if app.openapi_schema is None:
            doc = FastAPI.openapi(app)
            doc.setdefault("components", {}).setdefault("schemas", {}).update(body_schemas)
        return app.openapi_schema or {}

    app.openapi = openapi  # type: ignore[method-assign]

    # ------------------------------------------------------------------ errors -> 4xx / 503
    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        details = []
        for err in exc.errors():
            # the place names the caller's keys ("body.13812345678: Extra inputs are not
            # permitted"): masked, as everything a caller types is, before the log has it
            where = mask_personal(".".join(str(p) for p in err.get("loc", ())))
            details.append(f"{where}: {err.get('msg')}")
        log.warning("refused %s %r: invalid request: %s", request.method, request.url.path[:200],
                    "; ".join(details)[:500])  # fmt: skip
        request.app.state.refusals["invalid"] += 1
        if request.url.path.startswith(OPEN311_PREFIX):  # GeoReport's list has no details
            content = _error_body(request, 422, "invalid request: " + "; ".join(details))
        else:
            content = {"error": "invalid request", "details": details}
        return JSONResponse(status_code=422, content=content)

    @app.exception_handler(RefusedError)
    async def _refused(request: Request, exc: RefusedError) -> JSONResponse:
        request.app.state.refusals[exc.reason] += 1
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return JSONResponse(status_code=exc.status,
                            content=_error_body(request, exc.status, exc.message),
                            headers=headers)  # fmt: skip

    @app.exception_handler(TicketNotFoundError)
    async def _missing(request: Request, exc: TicketNotFoundError) -> JSONResponse:
        log.warning("refused %s %r: no such ticket", request.method, request.url.path[:200])
        request.app.state.refusals["not_found"] += 1
        return JSONResponse(status_code=404, content=_error_body(request, 404, str(exc)))

    @app.exception_handler(HTTPException)
    async def _no_route(request: Request, exc: HTTPException) -> JSONResponse:
        """Unknown paths (a traversal attempt like /tickets/../../etc/passwd lands here) and
        wrong methods: logged and counted like every other refusal."""
        log.warning("refused %s %r: %s %s", request.method, request.url.path[:200],
                    exc.status_code, exc.detail)  # fmt: skip
        request.app.state.refusals["no_route"] += 1
        what = {404: "no such path", 405: f"method {request.method} is not allowed here"}
        error = what.get(exc.status_code, str(exc.detail))
        # "error" as every other refusal; "detail" kept for clients that read it already
        return JSONResponse(status_code=exc.status_code,
                            content={"error": error, "detail": exc.detail},
                            headers=exc.headers)  # fmt: skip

    @app.exception_handler(InvalidTransitionError)
    async def _conflict(request: Request, exc: InvalidTransitionError) -> JSONResponse:
        log.warning("refused %s %r: 409 %s", request.method, request.url.path[:200],
                    str(exc)[:300])  # fmt: skip
        request.app.state.refusals["conflict"] += 1
        return JSONResponse(status_code=409, content={"error": str(exc)})

    @app.exception_handler(TicketError)
    async def _bad(request: Request, exc: TicketError) -> JSONResponse:
        log.warning("refused %s %r: 400 %s", request.method, request.url.path[:200],
                    str(exc)[:300])  # fmt: skip
        request.app.state.refusals["bad_request"] += 1
        return JSONResponse(status_code=400, content={"error": str(exc)})

    @app.exception_handler(SQLAlchemyError)
    async def _store(request: Request, exc: SQLAlchemyError) -> JSONResponse:
        if is_transient(exc):
            return JSONResponse(status_code=503, headers={"Retry-After": "5"},
                                content={"error": "ticket store unavailable; retry"})  # fmt: skip
        log.error("store error on %s %s: %s", request.method, request.url.path, exc)
        return JSONResponse(status_code=500, content={"error": "internal store error"})

    # ------------------------------------------------------------------ auth
    def require(who: Principal, permission: str, request: Request) -> None:
        if not who.may(permission):
            log.warning("refused %s %s: %s (%s) may not %s", request.method,
                        request.url.path, who.name, who.role, permission)  # fmt: skip
            # who may, so that the desk knows whom to ask (a reassignment: the dispatcher)
            roles = ", ".join(sorted(PERMISSIONS.get(permission, ())))
            raise RefusedError(403, f"role {who.role} may not {permission}; roles that may: "
                               f"{roles} (ask one of them)", "role")  # fmt: skip
        problem = _unknown_query(request)
        if problem is not None:
            log.warning("refused %s %s: %s", request.method, request.url.path, problem)
            raise RefusedError(422, problem, "bad_query")

    def owns(who: Principal, t: Ticket) -> bool:
        """Whether the ticket's incident or its responsible unit lies in the caller's scope:
        what acting on a ticket needs."""
        return in_scope(who.scope, t.incident_area) or in_scope(who.scope, t.area_code)

    def visible(who: Principal, t: Ticket) -> bool:
        """Whether the caller may read the ticket: it owns it, or one of the ticket's hotline
        orders or warnings lies in its scope.  A city-wide incident merges every district's
        reports; each district's desk must find its own citizens' orders in it."""
        if who.scope == "*" or owns(who, t):
            return True
        areas = [o.get("area_code") or "" for o in service.orders(t.id)]
        areas += [w.get("area_code") or "" for w in service.warnings(t.id)]
        return any(a and in_scope(who.scope, a) for a in areas)

    def outside_orders(who: Principal, t: Ticket) -> tuple[set[str], bool]:
        """For a caller that reads a ticket only through its orders or warnings (a district's
        desk on a city-wide incident): the ids of the ticket's orders outside its scope, and
        whether the ticket's own caller (its root order, whose words and position the ticket
        carries) is among them.  Other districts' callers are no business of the desk's: their
        orders are shown as a count, and their words and positions not at all.  An owner,
        or a city-wide token, sees everything: (empty, False)."""
        if who.scope == "*" or owns(who, t):
            return set(), False
        orders = service.orders(t.id)
        hidden = {str(o["order_id"]) for o in orders
                  if not in_scope(who.scope, o.get("area_code") or "")}  # fmt: skip
        root = next((str(o["order_id"]) for o in orders if o.get("role") == "root"), None)
        return hidden, root is not None and root in hidden

    def ticket_view(who: Principal, t: Ticket) -> dict[str, Any]:
        """`_ticket_json`, narrowed to the caller's scope (see `outside_orders`)."""
        d = _ticket_json(t, tz)
        _, caller_hidden = outside_orders(who, t)
        return _without_caller(d) if caller_hidden else d

    def o311_view(who: Principal, t: Ticket) -> dict[str, Any]:
        """The Open311 request, its position hidden as `ticket_view` hides it."""
        d = request_view(t, area_names, tz)
        if outside_orders(who, t)[1]:
            d["lat"] = d["long"] = None
        return d

    def load(who: Principal, tid: str, request: Request) -> Ticket:
        """The ticket, if the caller may read it.  One it may not read is answered as one
        that does not exist (404, the same body): a 403 would tell a desk that a ticket id
        it guessed or saw elsewhere exists in another district.  The log and the refusal
        count still say what happened (reason `scope`)."""
        t = service.get(tid) if _plausible_id(tid) else None
        if t is None:
            raise TicketNotFoundError(f"no ticket {tid}")
        if not visible(who, t):
            log.warning("refused %s %s: ticket %s is outside %s's scope %s (answered as not "
                        "found)", request.method, request.url.path, tid, who.name,
                        who.scope)  # fmt: skip
            raise RefusedError(404, f"no ticket {tid}", "scope")
        return t

    def act(who: Principal, permission: str, tid: str, request: Request) -> Ticket:
        require(who, permission, request)
        t = load(who, tid, request)
        if not owns(who, t):
            log.warning("refused %s %s: ticket %s is handled at %s tier by %s, outside %s's "
                        "scope %s (readable through its orders or warnings)", request.method,
                        request.url.path, tid, t.tier, t.area_code, who.name,
                        who.scope)  # fmt: skip
            raise RefusedError(403, f"ticket {tid} is handled at {t.tier} tier ({t.area_code}), "
                               f"outside your area scope {who.scope}: you may read it, not act "
                               "on it", "scope")  # fmt: skip
        if who.role == "department" and t.department != who.department:
            log.warning("refused %s %s: ticket %s belongs to %s, not %s", request.method,
                        request.url.path, tid, t.department, who.department)  # fmt: skip
            raise RefusedError(403, f"ticket {tid} is assigned to {t.department}, "
                               f"not to {who.department}", "department")  # fmt: skip
        return t

    def judged_now() -> int:
        """The time deadlines are judged at: now, or with timers off (a replay's store,
        served to be read) the store's own time, its latest signal, as the exporter counts
        overdue tickets then: on today's date every ticket of a replay still in hand would
        be overdue."""
        if tick_every > 0:
            return int(service.clock.now())
        with service.store.begin() as conn:
            return int(data_time(conn) or service.clock.now())

    def count_tickets(f: TicketFilter) -> int:
        """How many tickets `f` matches over all pages (one COUNT in the store)."""
        with service.store.begin() as conn:
            return service.store.count_tickets(conn, f)

    def known_department(name: str, where: str, request: Request) -> None:
        """An unknown department is a 422, like an unknown status or tier."""
        if name not in departments():
            shown = mask_personal(name[:64])  # a caller's number typed in the wrong box
            log.warning("refused %s %s: unknown department %r in %s", request.method,
                        request.url.path, shown, where)  # fmt: skip
            raise RefusedError(422, f"unknown department {shown!r} in {where}; expected "
                               f"one of {sorted(departments())}", "bad_query")  # fmt: skip

    static_codes: list[tuple[set[str], set[str]]] = []

    def codes(value: str) -> tuple[set[str], set[str]]:
        """(families, service codes) that exist: the catalog's and routing's (computed once),
        and the store's when `value` is none of those (a store outage is the usual 503)."""
        if not static_codes:
            static_codes.append(_known_codes(service))
        families, service_codes = static_codes[0]
        if value in families and value in service_codes:
            return families, service_codes
        with service.store.begin() as conn:
            stored_families, stored_codes = service.store.codes_in_use(conn)
        return families | stored_families, service_codes | stored_codes

    def known_family(family: str, request: Request) -> None:
        """An unknown family is a 422 that lists the known ones, like an unknown status or
        department: an empty list would not tell a typo from a quiet city."""
        families, _ = codes(family)
        if family not in families:
            log.warning("refused %s %s: unknown family %r", request.method, request.url.path,
                        family[:64])  # fmt: skip
            raise RefusedError(422, f"unknown family {family[:64]!r}; expected one of: "
                               f"{_valid_values(families)}", "bad_query")  # fmt: skip

    def known_service_code(code: str, request: Request) -> None:
        """An unknown Open311 service_code is GeoReport's 400 with an error list (see
        `_refused`), naming the codes `services.json` lists and those in the store."""
        _, service_codes = codes(code)
        if code not in service_codes:
            log.warning("refused %s %s: unknown service_code %r", request.method,
                        request.url.path, code[:64])  # fmt: skip
            raise RefusedError(400, f"unknown service_code {code[:64]!r}; expected one of: "
                               f"{_valid_values(service_codes)}", "bad_query")  # fmt: skip

    def desk_department(who: Principal, department: str | None, request: Request) -> str | None:
        """The department a list shows: the one asked for; by default a department's token
        lists its own department's tickets (its work), and `*` lists every department's (a
        desk may read its neighbours' tickets in its area, to coordinate)."""
        if department is None:
            return who.department if who.role == "department" else None
        if department == "*":
            return None
        known_department(department, "the department filter", request)
        return department

    def check_new_area(t: Ticket, body: ReassignBody, request: Request) -> None:
        """A reassignment names a place that exists, at the tier it names, and that holds the
        incident or lies inside it; otherwise a 400 that says which.  The area is the one the
        service will give the ticket: the code given, else the incident's unit at the tier."""
        tier = body.tier or t.tier
        area = body.area_code or (ancestor_at(t.incident_area, tier) if t.incident_area
                                  else t.area_code)  # fmt: skip
        if not city:
            city.append(_shipped_city())
        problem = None
        try:
            level, _ = city[0].find(area)
        except (ValueError, KeyError):
            problem = f"area {area} is not a place in the city model"
        else:
            if level != tier and body.area_code is None:
                problem = (f"the incident's area at {tier} tier is {area}, a {level}: name the "
                           f"{tier} with area_code")  # fmt: skip
            elif level != tier:
                problem = (f"area {area} is a {level}, not a {tier}: give a {level} tier or "
                           f"the code of a {tier}")  # fmt: skip
            elif t.incident_area and not related(area, t.incident_area):
                problem = (f"area {area} neither holds nor lies inside the incident's area "
                           f"{t.incident_area}")  # fmt: skip
        if problem is not None:
            log.warning("refused %s %s: %s", request.method, request.url.path, problem)
            raise RefusedError(400, problem, "bad_area")

    # ------------------------------------------------------------------ routes
    @app.get("/health")
    def health() -> dict[str, Any]:
        """Liveness for load balancers and probes, which carry no token: the only route
        without one.  It tells nothing about tickets: how many items wait in the outbox,
        whether the store answers now (`store`: "up" or "unavailable": it said nothing of an
        outage until a write failed, while every ticket request got 503), and the store's
        error, which names the error's class only (`TicketService.flush`,
        `TicketStore.reachable`), never a message that could hold a connection string, host
        or path."""
        down = service.store.reachable()
        error = f"ticket store unavailable: {down}" if down else service.last_error
        return {"status": "ok", "store": "unavailable" if down else "up",
                "outbox": service.pending(), "store_error": error}  # fmt: skip

    @app.get("/openapi.json", include_in_schema=False)
    def openapi_document(who: Caller, request: Request) -> dict[str, Any]:
        """The OpenAPI document, for any token that may read: it lists every route and body,
        which is no business of a caller without one."""
        require(who, "read", request)
        return app.openapi()

    @app.get("/tickets")
    def list_tickets(
        who: Caller,
        request: Request,
        status: Annotated[list[str] | None, Query()] = None,
        department: str | None = None,
        family: str | None = None,
        level: Literal["blue", "yellow", "orange", "red"] | None = None,
        peak_level: Literal["blue", "yellow", "orange", "red"] | None = None,
        area: Annotated[str | None, Query(pattern=r"^\d{2,15}$")] = None,
        supervised: bool | None = None,
        overdue: bool | None = None,
        origin: Literal["warning", "hotline", "alert"] | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        offset: Annotated[int, Query(ge=0, le=10**9)] = 0,  # the store's integers are 64-bit
    ) -> dict[str, Any]:
        """List tickets, newest first.  `level` is a ticket's level now: the worst warning
        still firing, and for a closed ticket the level it cleared at (usually blue).
        `peak_level` is the highest level it ever reached: "the red incidents" are
        `?peak_level=red`, closed ones included.  Each listed ticket carries both.
        `overdue=true`: open tickets past a deadline now (with timers off, at the store's
        own time), as the supervision office's 督办 list; the timer supervises them only at
        its next round, and not at all with timers off."""
        require(who, "read", request)
        department = desk_department(who, department, request)
        if family is not None:
            known_family(family, request)
        for st in status or []:
            if st not in STATUSES:
                log.warning("refused %s %s: %s asked for unknown status %r", request.method,
                            request.url.path, who.name, st[:40])  # fmt: skip
                raise RefusedError(422, f"unknown status {st!r}; expected one of {list(STATUSES)}",
                                   "bad_query")  # fmt: skip
        prefix = _scope_prefix(who.scope)
        if area is not None:
            if prefix is None or area.startswith(prefix):
                prefix = area
            elif not prefix.startswith(area):
                log.warning("refused %s %s: area %s is outside %s's scope %s", request.method,
                            request.url.path, area, who.name, who.scope)  # fmt: skip
                raise RefusedError(403, f"area {area} is outside your area scope {who.scope}",
                                   "scope")  # fmt: skip
        # the store applies the scope (or the narrower area), orders' and warnings' areas
        # included, so the page and its count are the caller's own
        f = TicketFilter(status=status, department=department, family=family, level=level,
                         peak_level=peak_level,
                         area_prefix=prefix, supervised=supervised, origin=origin,
                         limit=limit, offset=offset, member_areas=True, overdue=overdue,
                         judged_at=judged_now() if overdue is not None else 0)  # fmt: skip
        found = service.list_tickets(f)
        # count: this page's length (as it always was); total: the matches over all pages
        return {"tickets": [ticket_view(who, t) for t in found], "count": len(found),
                "total": count_tickets(f) if offset or len(found) == limit
                else len(found)}  # fmt: skip

    @app.get("/tickets/{tid}")
    def get_ticket(tid: str, who: Caller, request: Request) -> dict[str, Any]:
        require(who, "read", request)
        t = load(who, tid, request)
        hidden, caller_hidden = outside_orders(who, t)
        ticket = _ticket_json(t, tz)
        orders = service.orders(tid)
        return {
            "ticket": _without_caller(ticket) if caller_hidden else ticket,
            # times as ISO 8601 in the city's zone, as everywhere else in the API
            "warnings": [_warning_json(w, tz) for w in service.warnings(tid)],
            # a district's desk reading a city-wide incident: its own district's orders, and
            # how many came from elsewhere
            "orders": [
                times_as_iso(o, ("at",), tz) for o in orders if str(o["order_id"]) not in hidden
            ],
            "orders_outside_scope": len(hidden),
            "audit": [_audit_without(a.to_dict(tz), hidden) for a in service.audit(tid)],
        }

    @app.get("/tickets/{tid}/audit")
    def get_audit(tid: str, who: Caller, request: Request) -> dict[str, Any]:
        require(who, "read", request)
        hidden, _ = outside_orders(who, load(who, tid, request))
        return {"audit": [_audit_without(a.to_dict(tz), hidden) for a in service.audit(tid)]}

    # Who may act, on which ticket, is a dependency, and the body is read by a dependency
    # that depends on it (`_body_after`): a caller who may not act is told so (401, 403,
    # 404) whatever its body holds, a body that is not JSON at all included, instead of being
    # helped to a valid one (422).
    def acting(permission: str) -> Any:
        def may_act(tid: str, who: Caller, request: Request) -> Ticket:
            return act(who, permission, tid, request)

        return Depends(may_act)

    def permitted(permission: str) -> Any:
        def may(who: Caller, request: Request) -> Principal:
            require(who, permission, request)
            return who

        return Depends(may)

    may_accept = acting("accept")
    may_start = acting("start")
    may_feedback = acting("feedback")
    may_reassign = acting("reassign")
    may_comment = acting("comment")
    may_supervise = acting("supervise")
    may_alertmanager = permitted("alertmanager")
    # each body read once its sender may act (so after the checks above)
    note_to_accept = _body_after(NoteBody, may_accept, required=False)
    note_to_start = _body_after(NoteBody, may_start, required=False)
    feedback_body = _body_after(FeedbackBody, may_feedback)
    reassign_body = _body_after(ReassignBody, may_reassign)
    comment_body = _body_after(CommentBody, may_comment)
    supervise_body = _body_after(SuperviseBody, may_supervise)
    alertmanager_body = _body_after(AlertmanagerPayload, may_alertmanager)

    @app.post("/tickets/{tid}/accept", openapi_extra=_body_doc(NoteBody, required=False))
    def accept(tid: str, who: Caller, _t: Ticket = may_accept,
               body: NoteBody | None = note_to_accept) -> dict[str, Any]:  # fmt: skip
        return {"ticket": _ticket_json(service.accept(tid, who.name, body.note if body else ""),
                                       tz)}  # fmt: skip

    @app.post("/tickets/{tid}/start", openapi_extra=_body_doc(NoteBody, required=False))
    def start(tid: str, who: Caller, _t: Ticket = may_start,
              body: NoteBody | None = note_to_start) -> dict[str, Any]:  # fmt: skip
        return {"ticket": _ticket_json(service.start(tid, who.name, body.note if body else ""),
                                       tz)}  # fmt: skip

    @app.post("/tickets/{tid}/feedback", openapi_extra=_body_doc(FeedbackBody))
    def feedback(tid: str, who: Caller, _t: Ticket = may_feedback,
                 body: FeedbackBody = feedback_body) -> dict[str, Any]:  # fmt: skip
        return {"ticket": _ticket_json(service.feedback(tid, who.name, body.notes), tz)}

    @app.post("/tickets/{tid}/reassign", openapi_extra=_body_doc(ReassignBody))
    def reassign(tid: str, who: Caller, request: Request, act_ticket: Ticket = may_reassign,
                 body: ReassignBody = reassign_body) -> dict[str, Any]:  # fmt: skip
        known_department(body.department, "the reassignment", request)
        if body.area_code is not None and not in_scope(who.scope, body.area_code):
            log.warning("refused %s %s: area %s is outside %s's scope %s", request.method,
                        request.url.path, body.area_code, who.name, who.scope)  # fmt: skip
            raise RefusedError(403, f"area {body.area_code} is outside your area scope {who.scope}",
                               "scope")  # fmt: skip
        check_new_area(act_ticket, body, request)
        t = service.reassign(tid, who.name, body.department, body.reason, tier=body.tier,
                             area_code=body.area_code)  # fmt: skip
        return {"ticket": _ticket_json(t, tz)}

    @app.post("/tickets/{tid}/comment", openapi_extra=_body_doc(CommentBody))
    def comment(tid: str, who: Caller, _t: Ticket = may_comment,
                body: CommentBody = comment_body) -> dict[str, Any]:  # fmt: skip
        return {"ticket": _ticket_json(service.comment(tid, who.name, body.text), tz)}

    @app.post("/tickets/{tid}/supervise", openapi_extra=_body_doc(SuperviseBody))
    def supervise(tid: str, who: Caller, _t: Ticket = may_supervise,
                  body: SuperviseBody = supervise_body) -> dict[str, Any]:  # fmt: skip
        return {"ticket": _ticket_json(service.supervise(tid, who.name, body.reason), tz)}

    # ------------------------------------------------------------------ Open311 GeoReport v2
    @app.get("/open311/v2/services")
    @app.get("/open311/v2/services.json")
    def o311_services(who: Caller, request: Request) -> list[dict[str, Any]]:
        require(who, "read", request)
        return services(_incident_services(service))

    def epoch(when: datetime | None, name: str, request: Request) -> int | None:
        """Seconds of a query's date; one without a zone is in the city's zone, like every
        time the API returns (not the server's)."""
        if when is None:
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=ZoneInfo(tz))
        try:
            return int(when.timestamp())
        except (OverflowError, ValueError, OSError):
            log.warning("refused %s %s: %s %s is out of range", request.method,
                        request.url.path, name, when.isoformat()[:40])  # fmt: skip
            raise RefusedError(422, f"{name} is out of range", "bad_query") from None

    @app.get("/open311/v2/requests")
    @app.get("/open311/v2/requests.json")
    def o311_requests(
        who: Caller,
        request: Request,
        response: Response,
        service_request_id: str | None = None,
        service_code: str | None = None,
        start_date: datetime | None = None,
        end_date: datetime | None = None,
        status: Literal["open", "closed"] | None = None,
        department: str | None = None,
        page_size: Annotated[int, Query(ge=1, le=1000)] = 1000,
        page: Annotated[int, Query(ge=1, le=10**6)] = 1,
    ) -> list[dict[str, Any]]:
        """GeoReport's GET requests.  Ids (comma-separated, at most 100) override the other
        arguments, as the specification says.  Otherwise the filters run in the store over
        every ticket in the caller's scope, newest first; one answer holds at most
        `page_size` (1000), and `X-Total-Count` gives how many match, with a `Link: ...;
        rel="next"` header (RFC 8288) while there are more (`page`, `page_size`: the paging
        several GeoReport servers offer beside the specification).  A department's token
        lists its own department's requests, as `GET /tickets` does (`department=*`: every
        department's in its area, `department=NAME`: another's); ids are not filtered by
        department, as a single ticket is not."""
        require(who, "read", request)
        if service_request_id:
            ids = [i.strip() for i in service_request_id.split(",") if i.strip()][:100]
            found = [t for t in (service.get(i) for i in ids if _plausible_id(i)) if t]
            found = [t for t in found if visible(who, t)]
            response.headers["X-Total-Count"] = str(len(found))
            return [o311_view(who, t) for t in found]
        department = desk_department(who, department, request)
        if service_code:
            known_service_code(service_code, request)
        statuses = None
        if status is not None:
            statuses = ["closed"] if status == "closed" else [s for s in STATUSES
                                                              if s != "closed"]  # fmt: skip
        f = TicketFilter(status=statuses, department=department,
                         area_prefix=_scope_prefix(who.scope),
                         member_areas=True, service_code=service_code,
                         opened_from=epoch(start_date, "start_date", request),
                         opened_until=epoch(end_date, "end_date", request),
                         limit=page_size, offset=(page - 1) * page_size)  # fmt: skip
        found = service.list_tickets(f)
        total = count_tickets(f)
        response.headers["X-Total-Count"] = str(total)
        if f.offset + len(found) < total:
            next_page = request.url.include_query_params(page=page + 1)
            response.headers["Link"] = f'<{next_page}>; rel="next"'
        return [o311_view(who, t) for t in found]

    @app.get("/open311/v2/requests/{rid}")
    @app.get("/open311/v2/requests/{rid}.json")  # registered first, so ".json" is not in rid
    def o311_request(rid: str, who: Caller, request: Request) -> list[dict[str, Any]]:
        require(who, "read", request)
        return [o311_view(who, load(who, rid, request))]

    # ------------------------------------------------------------------ Alertmanager
    @app.post("/alertmanager/webhook", openapi_extra=_body_doc(AlertmanagerPayload))
    def alertmanager(
        request: Request,
        who: Principal = may_alertmanager,
        payload: AlertmanagerPayload = alertmanager_body,
    ) -> dict[str, Any]:
        outcomes = []
        events = list(to_events(masked_payload(payload), service.catalog, area_names, tz))
        for ev, _dispatch in events:  # all checked first: a refused payload changes nothing
            if not in_scope(who.scope, ev.area_code):
                log.warning("refused %s %s: alert area %s is outside %s's scope %s",
                            request.method, request.url.path, ev.area_code, who.name,
                            who.scope)  # fmt: skip
                raise RefusedError(403, f"alert area {ev.area_code} is outside your scope",
                                   "scope")  # fmt: skip
        for ev, dispatch in events:
            for o in service.submit_warnings([ev], dispatch=dispatch, origin="alert",
                                             actor=who.name):  # fmt: skip
                outcomes.append({"fingerprint": ev.warning_id.split("@")[0][3:],
                                 "action": o.action, "ticket_id": o.ticket_id})  # fmt: skip
        return {"received": len(payload.alerts), "outcomes": outcomes}

    return app
