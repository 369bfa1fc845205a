"""Run analysts' tests: each test's inputs are written as the records the flow receives
(FIWARE-style sensor readings, Open311-shaped hotline orders, checkpoint verifications),
decoded, windowed, scored and turned into warnings by the flow's own code
(`indicators.testing.pipeline`); the warnings and the orders then go through the real ticket
service (given the sensor registry and the city's area names, as `citysigns dispatch` gives
them) on a temporary SQLite store, where the test's departments act (accept, start,
feedback) through the service's own methods and, up to the test's `until`, the service
judges deadlines and verification periods on a manual clock.  A failure shows what was
expected against what came out, the latter in the test file's own notation so it can be
pasted once the analyst agrees with it."""

from __future__ import annotations

import dataclasses
import heapq
import json
import math
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import groupby
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from alerts.clock import ManualClock
from alerts.events import WarningEvent
from alerts.hotline import HotlineOrder
from alerts.routing import Router, load_routing
from alerts.service import TicketService
from alerts.store import TicketFilter, TicketStore
from alerts.tickets import AuditEntry, Ticket, TicketError
from citysigns.paths import CATALOG_DIR
from flows.city import load_default_venues
from flows.decode.chunks import chunk_of_lines
from flows.plan import unknown_filter_sensors
from indicators.language import registry
from indicators.language.diagnostics import Diagnostic
from indicators.language.durations import format_duration
from indicators.language.model import Filter, Indicator
from indicators.language.validate import Catalog, catalog_files, load_catalog

from .pipeline import Replay, World, world
from .spec import (
    TICKET_KEYS,
    Action,
    ExpectedTicket,
    ExpectedWarning,
    TestCase,
    TestFormatError,
    record_fields,
)
from .spec import load_test_file as load_test_file

SENSORS, HOTLINE, PHOTO, CHECKPOINT = "sensors", "hotline", "photo_report", "checkpoint"


class TestInputError(ValueError):
    """A test whose inputs do not fit the city model or the catalog (unknown sensor, area or
    indicator); reported at the test's position, like a format error."""


@dataclass
class TestOutcome:
    case: TestCase
    ok: bool
    problems: list[str] = field(default_factory=list)
    warnings: list[WarningEvent] = field(default_factory=list)
    tickets: list[Ticket] = field(default_factory=list)
    seconds: float = 0.0

    def report(self) -> str:
        head = f"{'ok  ' if self.ok else 'FAIL'} {self.case.where} {self.case.name}"
        return "\n".join(
            [head, *("     " + line for p in self.problems for line in p.splitlines())]
        )


@dataclass
class RunReport:
    outcomes: list[TestOutcome] = field(default_factory=list)
    errors: list[Diagnostic] = field(default_factory=list)
    texts: dict[str, str] = field(default_factory=dict)

    @property
    def failed(self) -> int:
        return sum(not o.ok for o in self.outcomes)

    @property
    def ok(self) -> bool:
        return not self.errors and self.failed == 0 and bool(self.outcomes)


# -- inputs ---------------------------------------------------------------------------------
def _iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat()


def _community(w: World, code: str) -> int:
    """The community an area code names; for a coarser area, its first community."""
    try:
        level, idx = w.city.find(code)
    except ValueError as e:
        raise TestInputError(str(e)) from None
    if level == "city":
        return 0
    if level == "community":
        return idx
    inside = w.city.descendants(level, idx)
    if not len(inside):
        raise TestInputError(f"{level} {code} has no community")
    return int(inside[0])


@dataclass
class _Inputs:
    lines: dict[str, list[tuple[int, bytes]]] = field(default_factory=dict)
    orders: list[HotlineOrder] = field(default_factory=list)


def unknown_sensor(sensor: str, w: World, shown: int = 3) -> str:
    """Why a sensor id of a test is refused, and the ids of the registry most like it: those
    sharing the longest start with it (the same kind and district, for ids such as
    WS-310106-000011; it said "ids look like AQ-310101-000001" to a water-pressure gauge's
    WS-310106-999999), or the id itself written in another case."""
    ids = w.registry.ids()
    folded = sensor.casefold()

    def common(other: str) -> int:
        n = 0
        for a, b in zip(folded, other.casefold(), strict=False):
            if a != b:
                break
            n += 1
        return n

    best = max((common(i) for i in ids), default=0)
    near = sorted(i for i in ids if common(i) == best) if best >= 2 else []
    text = f"sensor {sensor!r} is not in the sensor registry"
    if not near:
        return f"{text} (ids look like {ids[0]})" if ids else text
    same = [i for i in near if i.casefold() == folded]  # (written in the wrong case)
    if same:
        return f'{text} (did you mean "{same[0]}"?)'
    listed = ", ".join(near[:shown]) + (f", ... ({len(near)} in all)" if len(near) > shown else "")
    return f"{text}; its ids starting {near[0][:best]}: {listed}"


def build_inputs(case: TestCase, catalog: Catalog, w: World) -> _Inputs:
    """The records a test feeds: (ts, NDJSON line) per partition, and the hotline orders."""
    inds = [catalog[i] for i in case.indicators]
    readings: dict[tuple[str, int], dict[str, Any]] = {}
    for s in case.sensors:
        row = int(w.registry.lookup(np.array([s.sensor]))[0])
        if row < 0:
            raise TestInputError(f"{s.sensor_at}: {unknown_sensor(s.sensor, w)}")
        fld = s.field
        if fld is None:
            fields = {i.value.field for i in inds if i.value.field} or {
                f for i in inds if (f := i.row_field()) is not None
            }
            if len(fields) != 1:
                raise TestInputError(
                    f"{s.field_at}: series of {s.sensor}: say which `field` it gives"
                )
            fld = fields.pop()
        kind = w.registry.kinds[int(w.registry.kind[row])]
        known = registry.kinds()[kind].fields if kind in registry.kinds() else {}
        if known and fld not in known:  # (decoding refused every reading, at the test's name)
            raise TestInputError(
                f"{s.field_at}: field {fld!r} is not one a {kind} sensor reports"
                f"{registry.did_you_mean(fld, known)}; its fields: {', '.join(known)}"
            )
        for k, v in enumerate(s.values):
            if math.isnan(v):
                continue
            ts = case.start + k * case.interval
            rec = readings.setdefault((s.sensor, ts), {"sensor_id": s.sensor, "ts": _iso(ts)})
            rec[fld] = v
    out = _Inputs()
    if readings:
        out.lines[SENSORS] = sorted(
            (ts, json.dumps(rec).encode()) for (_, ts), rec in readings.items()
        )
    # ts, channel, category, area, text, the record's other fields (`record:`)
    placed: list[tuple[int, str, str, str, str, dict[str, str | int]]] = []
    for a in case.areas:
        if max(a.values, default=0) > case.interval:
            raise TestInputError(
                f"area {a.area}: {max(a.values):.0f} orders in one interval of {case.interval}s "
                "would spill into the next (they are placed a second apart): lengthen the "
                "interval"
            )
        for k, count in enumerate(a.values):
            for j in range(int(count)):
                placed.append(
                    (
                        case.start + k * case.interval + j,
                        a.channel,
                        a.category,
                        a.area,
                        a.description or f"{a.category} reported",
                        a.record,
                    )
                )
    for o in case.orders:
        placed.append((case.start + o.at, o.channel, o.category, o.area, o.description, o.record))
    comm = w.city.level("community")
    placed.sort(key=lambda p: p[:5])
    for n, (ts, channel, category, area, text, record) in enumerate(placed, start=1):
        c = _community(w, area)
        order_rec: dict[str, Any] = {
            "description": text,
            "lat": float(comm.lat[c]),
            "long": float(comm.lon[c]),
        }
        if channel == HOTLINE:
            order_rec |= {
                "service_request_id": f"TEST-{n}",
                "service_code": category,
                "requested_datetime": _iso(ts),
            } | record
            order = HotlineOrder.from_dict(order_rec)
            out.orders.append(dataclasses.replace(order, area_code=str(comm.code[c])))
        else:  # a photo report comes with its photo unless `record` says otherwise
            order_rec |= {
                "report_id": f"TEST-{n}",
                "category": category,
                "ts": _iso(ts),
                "has_photo": 1,
            } | record
        out.lines.setdefault(channel, []).append((ts, json.dumps(order_rec).encode()))
    checks = _checkpoints(case)
    if checks:
        out.lines[CHECKPOINT] = checks
    return out


def _checkpoints(case: TestCase) -> list[tuple[int, bytes]]:
    """Checkpoint verification records (venue, time, result; no identity, as live): the
    abnormal ones of an interval first, one second apart."""
    venues = load_default_venues()
    placed: list[tuple[int, str, str]] = []
    for v in case.venues:
        if max(v.checks, default=0) > case.interval:
            raise TestInputError(
                f"{v.venue}: {max(v.checks)} checks in one interval of {case.interval}s would "
                "spill into the next (they are placed a second apart): lengthen the interval"
            )
        for k, (n, bad) in enumerate(zip(v.checks, v.abnormal, strict=True)):
            for j in range(n):
                placed.append(
                    (
                        case.start + k * case.interval + j,
                        v.venue,
                        "abnormal" if j < bad else "normal",
                    )
                )
    placed += [(case.start + c.at, c.venue, c.result) for c in case.checks]
    for venue in sorted({p[1] for p in placed}):
        if int(venues.lookup([venue])[0]) < 0:
            raise TestInputError(
                f"venue {venue!r} is not in the venue registry (ids look like {venues.ids()[0]})"
            )
    return [
        (
            ts,
            json.dumps(
                {"checkpoint_id": f"CP-{n}", "ts": _iso(ts), "venue": venue, "result": result}
            ).encode(),
        )
        for n, (ts, venue, result) in enumerate(sorted(placed), start=1)
    ]


def _blocks(inputs: _Inputs, step: int) -> Iterator[tuple[int, str, list[bytes], int]]:
    """(first time, partition, lines, first line number) per block of `step` seconds, so
    that windows close as the data moves on, as they would live."""
    for part, rows in inputs.lines.items():
        first = rows[0][0]
        line = 1
        i = 0
        while i < len(rows):
            end = first + ((rows[i][0] - first) // step + 1) * step
            j = i
            while j < len(rows) and rows[j][0] < end:
                j += 1
            yield rows[i][0], part, [r[1] for r in rows[i:j]], line
            line += j - i
            i = j


# -- running --------------------------------------------------------------------------------
def replay_case(
    case: TestCase, catalog: Catalog, notes: list[str] | None = None
) -> tuple[list[WarningEvent], list[Ticket], list[str], dict[str, list[str]]]:
    """The warnings, the tickets at the end, what went wrong applying the actions, and each
    ticket's history (its lifecycle steps, `history_steps`).  `notes` receives, per
    indicator whose source left out every record the test gave it, what it keeps and what
    the records carried (see `left_out`)."""
    w = world()
    inputs = build_inputs(case, catalog, w)
    replay = Replay([catalog[i] for i in case.indicators], list(inputs.lines), count_offered=True)
    for _, part, lines, first in sorted(_blocks(inputs, case.interval), key=lambda b: b[:2]):
        replay.feed(part, chunk_of_lines(f"{case.name}:{part}", lines, first))
    result = replay.finish()
    if notes is not None:
        for ind_id, offered in result.offered.items():
            if offered and not result.counted.get(ind_id):
                notes.append(left_out(catalog[ind_id], offered, inputs))
    bad = result.dead_letters
    if bad:
        d = bad[0]
        raise TestInputError(
            f"{len(bad)} input record(s) refused by decoding, e.g. {d.reason}: {d.detail}"
        )
    problems: list[str] = []
    histories: dict[str, list[str]] = {}
    tickets = dispatch(
        result.warnings,
        inputs.orders,
        catalog,
        w,
        case.start,
        actions=case.actions,
        until=None if case.until is None else case.start + case.until,
        tick=case.interval,
        problems=problems,
        histories=histories,
    )
    return result.warnings, tickets, problems, histories


def _listed(values: Iterable[object]) -> str:
    """`[a, b]`, numbers as written (2, not 2.0)."""
    return "[" + ", ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in values) + "]"


def _condition(f: Filter) -> str:
    """One condition of a source's filter as it is written."""
    if f.equals is not None:
        return f"{f.field} equals {f.equals}"
    if f.in_ is not None:
        return f"{f.field} in {_listed(f.in_)}"
    if f.not_in is not None:
        return f"{f.field} not in {_listed(f.not_in)}"
    if f.range is not None:
        return f"{f.field} in range {_listed(f.range)}"
    return f.field


def _carried(records: list[dict[str, Any]], name: str) -> str:
    """What the test's records carried in field `name` (a category in a hotline order's
    `service_code`): its values, the first few, or "not given"."""
    keys = ("service_code", "category") if name in ("category", "service_code") else (name,)
    seen = sorted({str(v) for r in records if (v := next((r[k] for k in keys if k in r), None))
                   is not None})  # fmt: skip
    if not seen:
        return f"{name} not given"
    more = f", ... ({len(seen)} values)" if len(seen) > 5 else ""
    return f"{name} {', '.join(seen[:5])}{more}"


def left_out(ind: Indicator, offered: int, inputs: _Inputs) -> str:
    """Why no warning could come from `ind`: its source's categories, keywords and filter
    kept none of the `offered` records of its kind the test gave (a hotline count filtered
    on `channel`, fed orders without one, gave no warnings and no hint why); what the
    source keeps, what the records carried, and for a field a test sets (`record:`) how."""
    src = ind.source
    if registry.kinds()[src.kind].channel:
        records = [json.loads(line) for _, line in inputs.lines.get(src.kind, [])]
        what = f"{src.kind} records"
    else:
        records = []
        name = ind.value.field or (src.filter[0].field if src.filter else src.kind)
        what = f"readings of {name}"
    keeps: list[str] = []
    fields: list[str] = []
    if src.categories:
        fields.append("category")
        keeps.append(f"category in {_listed(src.categories)}")
    if src.keywords:  # (either matches)
        words = f"a description with one of {_listed(src.keywords)}"
        keeps = [f"({keeps[0]} or {words})"] if keeps else [words]
    for f in src.filter:
        keeps.append(_condition(f))
        fields.append(f.field)
    lines = [
        f"none of the test's {offered} {what} is counted by {ind.id}",
        f"  its source keeps only: {' and '.join(keeps) or 'records placed in the city'}",
    ]
    if records:
        had = "; ".join(_carried(records, f) for f in dict.fromkeys(fields))
        lines.append(f"  the test's records had: {had}")
    settable = record_fields(src.kind) if registry.kinds()[src.kind].channel else {}
    for f in src.filter:  # a value the filter keeps, for the first field a test can set
        kept = [f.equals] if f.equals is not None else list(f.in_ or f.range or [])
        if f.field in settable and kept:
            lines.append(
                f"  give a record's fields with `record:` on its series or order, e.g. "
                f"`record: {{{f.field}: {_listed(kept[:1])[1:-1]}}}`"
            )
            break
    return "\n".join(lines)


# audit action -> the lifecycle step a test's `history` names
AUDIT_STEPS = {
    "dispatched": "dispatched",
    "accept": "accepted",
    "start": "handling",
    "feedback": "feedback",
    "verifying": "verifying",
    "supervised": "supervised",
    "closed": "closed",
    "reopened": "reopened",
}


def history_steps(audit: Iterable[AuditEntry], start: int) -> list[str]:
    """`AT STEP` per lifecycle step of a ticket, e.g. `35m supervised`; the signals merged
    into it, its level changes and comments are left out (the other keys cover them)."""
    return [
        f"{format_duration(a.at - start)} {AUDIT_STEPS[a.action]}"
        for a in audit
        if a.action in AUDIT_STEPS
    ]


def _act(service: TicketService, a: Action) -> str | None:
    """Apply one department action through the service's own method; what went wrong, if
    anything, in words that point at the action's line."""
    where = f"action (line {a.line}) at {format_duration(a.at)}: {a.action} by {a.department}"
    open_ = [t for t in service.list_tickets(TicketFilter(limit=1_000_000)) if t.is_open]
    mine = [
        t
        for t in open_
        if t.department == a.department and (a.area is None or t.area_code == a.area)
    ]
    if len(mine) != 1:
        why = "no open ticket" if not mine else f"{len(mine)} open tickets (give `area`)"
        listed = [f"    {ticket_line(t)}" for t in open_] or ["    []"]
        return "\n".join(
            [f"{where}: {why} of department {a.department}", "  open tickets:", *listed]
        )
    t = mine[0]
    try:
        if a.action == "accept":
            service.accept(t.id, a.department, a.notes)
        elif a.action == "start":
            service.start(t.id, a.department, a.notes)
        else:
            service.feedback(t.id, a.department, a.notes)
    except TicketError as e:
        return f"{where}: refused: {e}"
    return None


def dispatch(
    warnings: list[WarningEvent],
    orders: list[HotlineOrder],
    catalog: Catalog,
    w: World,
    start: int,
    *,
    actions: Iterable[Action] = (),
    until: int | None = None,
    tick: int = 60,
    problems: list[str] | None = None,
    histories: dict[str, list[str]] | None = None,
) -> list[Ticket]:
    """Warnings, orders and departments' actions through the ticket service, in data time,
    on a throwaway store.  With `until` (epoch seconds) the service's clock also judges
    deadlines and verification periods (`TicketService.tick`) every `tick` seconds from
    `start` up to then, as a live service judges them on its own timer; ticks with nothing
    due are skipped.  Without `until` no deadline passes (a backtest).  Refused actions are
    added to `problems`; `histories` receives each ticket's lifecycle steps."""

    with tempfile.TemporaryDirectory(prefix="citysigns-test-") as tmp:
        clock = ManualClock(start)
        store = TicketStore.from_url(f"sqlite:///{Path(tmp) / 'tickets.db'}")
        service = TicketService(
            store,
            router=Router(load_routing(None)),
            catalog=catalog.indicators,
            clock=clock,
            locate=w.registry.locator(w.city),
            names=w.names,  # as `citysigns dispatch` and `serve` name areas (the city model)
        )

        def judge(limit: int | None) -> None:
            """Tick at each due instant up to `limit`, as a live service's ticks would."""
            if until is None or limit is None:
                return
            for _ in range(10_000):  # each tick moves what it judged (a backoff or a close)
                due = service.next_due()
                if due is None:
                    return
                at = start + -(-(due - start) // tick) * tick  # the first tick that sees it
                if at > min(limit, until):
                    return
                clock.set(at)
                service.tick()

        timeline: Iterable[tuple[int, int, WarningEvent | HotlineOrder | Action]] = heapq.merge(
            ((e.at, 0, e) for e in warnings),
            ((o.ts, 1, o) for o in orders),
            sorted(((start + a.at, 2, a) for a in actions), key=lambda x: x[0]),
            key=lambda x: (x[0], x[1]),
        )
        # items of one instant go in one transaction (a backtest raises thousands)
        for (ts, kind), group in groupby(timeline, key=lambda x: (x[0], x[1])):
            judge(ts)
            clock.set(ts)
            items = [g[2] for g in group]
            if kind == 0:
                service.submit_warnings([i for i in items if isinstance(i, WarningEvent)])
            elif kind == 1:
                service.submit_orders([i for i in items if isinstance(i, HotlineOrder)])
            else:
                for a in items:
                    assert isinstance(a, Action)
                    if (p := _act(service, a)) is not None and problems is not None:
                        problems.append(p)
        judge(until)
        tickets = service.list_tickets(TicketFilter(limit=1_000_000))
        if histories is not None:
            for t in tickets:
                histories[t.id] = history_steps(service.audit(t.id), start)
        store.engine.dispose()
    return sorted(tickets, key=lambda t: (t.opened_at, t.id))


# -- comparing ------------------------------------------------------------------------------
def warning_line(e: WarningEvent, start: int, several: bool) -> str:
    parts = [f"at: {format_duration(e.at - start)}"]
    if several:
        parts.append(f"indicator: {e.indicator_id}")
    parts += [
        f'area: "{e.area_code}"' if e.area_code.isdigit() else f"area: {e.area_code}",
        f"level: {e.level}",
    ]
    if e.kind != "firing":
        parts.append(f"kind: {e.kind}")
    return "- {" + ", ".join(parts) + "}"


def expected_line(x: ExpectedWarning, several: bool) -> str:
    parts = [f"at: {format_duration(x.at)}"]
    if several:
        parts.append(f"indicator: {x.indicator}")
    parts += [f'area: "{x.area}"' if x.area.isdigit() else f"area: {x.area}", f"level: {x.level}"]
    if x.kind != "firing":
        parts.append(f"kind: {x.kind}")
    if x.since is not None:
        parts.append(f"since: {format_duration(x.since)}")
    return "- {" + ", ".join(parts) + "}"


def _matches(x: ExpectedWarning, e: WarningEvent, start: int) -> bool:
    return (
        e.at - start == x.at
        and e.indicator_id == x.indicator
        and e.area_code == x.area
        and e.level == x.level
        and e.kind == x.kind
        and (x.since is None or e.since - start == x.since)
    )


X = TypeVar("X")
G = TypeVar("G")


def pair_up(
    expected: Sequence[X], got: Sequence[G], matches: Callable[[X, G], bool]
) -> tuple[list[X], list[G]]:
    """Each expectation takes the first unclaimed item it matches: (expectations left without
    one, items no expectation claimed)."""
    left = list(got)
    missing: list[X] = []
    for x in expected:
        hit = next((g for g in left if matches(x, g)), None)
        if hit is None:
            missing.append(x)
        else:
            left.remove(hit)
    return missing, left


def compare_warnings(case: TestCase, got: list[WarningEvent]) -> str | None:
    assert case.warnings is not None
    several = len(case.indicators) > 1
    missing, left = pair_up(case.warnings, got, lambda x, e: _matches(x, e, case.start))
    if not missing and not left:
        return None
    out = [f"warnings differ: {len(case.warnings)} expected, {len(got)} got"]
    out += [f"  missing (line {x.line}):  {expected_line(x, several)}" for x in missing]
    out += [f"  unexpected:       {warning_line(e, case.start, several)}" for e in left]
    out.append("  expected:")
    out += [f"    {expected_line(x, several)}" for x in case.warnings] or ["    []"]
    out.append("  got:")
    out += [f"    {warning_line(e, case.start, several)}" for e in got] or ["    []"]
    return "\n".join(out)


def _shown(v: object) -> str:
    """A value as the test file writes it: numeric codes quoted, as YAML needs them."""
    return f'"{v}"' if isinstance(v, str) and v.isdigit() else str(v)


def ticket_line(t: Ticket) -> str:
    parts = []
    for key, attr in TICKET_KEYS.items():
        if key in ("category", "origin"):
            continue
        v = getattr(t, attr)
        if key in ("supervised", "reopened") and not v:
            continue  # shown once the lifecycle has them
        parts.append(f"{key}: {_shown(v)}")
    return "- {" + ", ".join(parts) + "}"


def _ticket_matches(x: ExpectedTicket, t: Ticket, history: list[str]) -> bool:
    return all(getattr(t, attr) == v for attr, v in x.fields.items()) and (
        x.history is None or x.history == history
    )


def _with_history(line: str, history: list[str]) -> str:
    sep = "" if line == "- {}" else ", "
    return line[:-1] + sep + "history: [" + ", ".join(history) + "]}"


def compare_tickets(
    case: TestCase, got: list[Ticket], histories: dict[str, list[str]] | None = None
) -> str | None:
    assert case.tickets is not None
    hist = histories or {}
    missing, left = pair_up(
        case.tickets, got, lambda x, t: _ticket_matches(x, t, hist.get(t.id, []))
    )
    if not missing and not left:
        return None
    inv = {v: k for k, v in TICKET_KEYS.items()}

    def show(x: ExpectedTicket) -> str:
        line = "- {" + ", ".join(f"{inv.get(k, k)}: {_shown(v)}" for k, v in x.fields.items()) + "}"
        return line if x.history is None else _with_history(line, x.history)

    # the got lines carry each ticket's history once the test speaks of histories
    steps = any(x.history is not None for x in case.tickets)

    def got_line(t: Ticket) -> str:
        line = ticket_line(t)
        return _with_history(line, hist.get(t.id, [])) if steps else line

    out = [f"tickets differ: {len(case.tickets)} expected, {len(got)} got"]
    out += [f"  missing (line {x.line}):  {show(x)}" for x in missing]
    out += [f"  unexpected:       {got_line(t)}" for t in left]
    out.append("  got:")
    out += [f"    {got_line(t)}" for t in got] or ["    []"]
    return "\n".join(out)


def run_case(case: TestCase, catalog: Catalog, searched: Sequence[Path] = ()) -> TestOutcome:
    """Run one test against `catalog`, loaded from `searched` (the test file's `catalog:`
    entries; none: the packaged catalog), which an unknown id's message names."""
    t0 = time.perf_counter()
    unknown = [i for i in case.indicators if i not in catalog.indicators]
    if unknown:
        return TestOutcome(case, False, [_unknown_indicators(unknown, catalog, searched)])
    notes: list[str] = []
    try:
        warnings, tickets, problems, histories = replay_case(case, catalog, notes)
    except TestInputError as e:
        return TestOutcome(case, False, [f"input: {e}"])
    if case.warnings is not None and (p := compare_warnings(case, warnings)):
        problems.append(p)
    if case.tickets is not None and (p := compare_tickets(case, tickets, histories)):
        problems.append(p)
    if problems:  # (a test expecting nothing of a filtered-out record passes as it is)
        problems += [f"note: {n}" for n in notes]
    return TestOutcome(case, not problems, problems, warnings, tickets, time.perf_counter() - t0)


def _unknown_indicators(unknown: list[str], catalog: Catalog, searched: Sequence[Path]) -> str:
    """Which ids are missing and where they were looked for: a draft indicator is found only
    when the test file names its file under `catalog:`."""
    ids = ", ".join(f"{i}{registry.did_you_mean(i, catalog.indicators)}" for i in unknown)
    if not searched:
        return (
            f"unknown indicator(s) {ids}: not in the packaged catalog; to test a draft, add "
            "`catalog: path/to/draft.yaml` (relative to the test file) at the top of the test file"
        )
    return f"unknown indicator(s) {ids}: not in the catalog {', '.join(map(str, searched))}"


def test_files(paths: Iterable[Path | str]) -> list[Path]:
    return catalog_files(paths)


def run_paths(paths: Iterable[Path | str], only: str | None = None) -> RunReport:
    """Every test of every file under `paths`; `only` keeps tests whose name contains it."""
    report = RunReport()
    catalogs: dict[tuple[str, ...], tuple[Catalog, list[Diagnostic]]] = {}
    files = test_files(paths)
    if not files:
        report.errors.append(Diagnostic(".", 1, 1, None, "no test files (*.yaml) found there"))
    for path in files:
        try:
            tf = load_test_file(path)
        except TestFormatError as e:
            report.errors.extend(e.diagnostics)
            report.texts[str(path)] = e.text
            continue
        report.texts[tf.path] = tf.text
        key = tuple(str(p) for p in (tf.catalog or [CATALOG_DIR]))
        if key not in catalogs:
            loaded, found = load_catalog(list(key))
            # (a `sensor_id` filter is checked against the registry the tests place sensors by)
            catalogs[key] = (loaded, found or unknown_filter_sensors(loaded, world().registry))
        catalog, diags = catalogs[key]
        if diags:
            report.errors.extend(diags)
            continue
        for case in tf.tests:
            if only and only not in case.name:
                continue
            report.outcomes.append(run_case(case, catalog, tf.catalog))
    return report
