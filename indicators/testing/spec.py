"""The YAML format of analysts' tests, read with the catalog's positioned loader so that
every mistake is reported as `file:line:col`.

    catalog: ../catalog                 # optional; files or folders, relative to this file
    tests:
      - name: PM2.5 above 75 for two hours raises blue, clears after two hours below 60
        indicator: air.pm25             # or `indicators: [a, b]`
        start: 2024-01-10T00:00:00+08:00   # optional (this is the default)
        interval: 10m                   # time between two values of a series
        series:
          - sensor: AQ-310101-000001    # a sensor's readings of a field
            field: pm25                 # default: the indicator's value field
            values: 40x11 90x23 40x30   # promtool notation (indicators.testing.notation)
          - area: "310101001001001"     # hotline orders per interval in an area
            category: water_outage
            record: {channel: wechat}   # optional: fields the records carry (filters)
            values: 0x5 4x3 0x5
          - venue: V-310101-0001        # entrance checkpoint verifications per interval,
            checks: 50x20               #   and how many of them came out abnormal
            abnormal: 0x10 3x10
        hotline:                        # single orders, at a time after `start`
          - {at: 2h5m, category: water_outage, area: "310101001001001"}
        checkpoints:                    # single verifications
          - {at: 25m, venue: V-310101-0001, result: abnormal}
        until: 1d                       # deadlines and verification periods pass until then
        actions:                        # the department acts on its open ticket
          - {at: 4h, action: accept, department: env}
          - {at: 6h, action: feedback, department: env, notes: site covered}
        expect:
          warnings:                     # every warning event, in time order
            - {at: 3h, area: AQ-310101-000001, level: blue}
            - {at: 8h, area: AQ-310101-000001, level: blue, kind: resolved}
          tickets:                      # every ticket at the end, by the keys given
            - {department: env, level: blue, tier: district, area: "310101", status: closed,
               supervised: 0, reopened: 0, history: [3h dispatched, 4h accepted, ...]}

`expect.warnings` and `expect.tickets` are each checked only when written; an empty list
expects none.  Actions and deadlines run in the runner (`indicators.testing.runner`)
through the ticket service's own methods, so a test states the lifecycle the service
enforces rather than re-implementing it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from flows.decode.clock import DAY_MS
from indicators.language.diagnostics import Diagnostic
from indicators.language.durations import format_duration, parse_duration
from indicators.language.registry import FieldSpec, closest, did_you_mean, kinds
from indicators.language.yamlload import LoadedYaml, PathKey, YamlLoadError, load_yaml_file

from .notation import NotationError, expand

DEFAULT_START = "2024-01-10T00:00:00+08:00"  # a Wednesday, outside any holiday
# The longest `interval`: the decoder refuses a record more than a day ahead of the stream's
# time (flows.decode.clock), so values further apart fail when the test runs, not here
MAX_INTERVAL = DAY_MS // 1000
KINDS = ("firing", "escalated", "deescalated", "resolved")
LEVELS = ("blue", "yellow", "orange", "red")
HOTLINE = "hotline"
CHANNELS = (HOTLINE, "photo_report")
RESULTS = ("normal", "abnormal")  # a checkpoint verification's result
ACTIONS = ("accept", "start", "feedback")  # what a department does to its ticket
TICKET_KEYS = {
    "department": "department",
    "level": "level",
    "tier": "tier",
    "area": "area_code",
    "status": "status",
    "category": "category",
    "origin": "origin",
    "warnings": "warning_count",
    "orders": "order_count",
    "supervised": "supervise_count",  # a count; `true` checks the flag alone
    "reopened": "reopen_count",
}
COUNT_KEYS = ("warnings", "orders", "supervised", "reopened")
STEPS = (
    "dispatched", "accepted", "handling", "feedback", "verifying", "supervised", "closed",
    "reopened",
)  # fmt: skip

KEYS: dict[str, tuple[str, ...]] = {
    "file": ("catalog", "tests"),
    "test": (
        "name",
        "indicator",
        "indicators",
        "start",
        "interval",
        "series",
        "hotline",
        "checkpoints",
        "actions",
        "until",
        "expect",
    ),
    "series": (
        "sensor",
        "area",
        "venue",
        "field",
        "category",
        "description",
        "channel",
        "record",
        "values",
        "checks",
        "abnormal",
    ),
    "order": ("at", "category", "area", "description", "channel", "record"),
    "checkpoint": ("at", "venue", "result"),
    "action": ("at", "action", "department", "area", "notes"),
    "expect": ("warnings", "tickets"),
    "warning": ("at", "indicator", "area", "level", "kind", "since"),
    "ticket": (*TICKET_KEYS, "history"),
}


_KNOWN = frozenset(k for keys in KEYS.values() for k in keys)


@dataclass(frozen=True)
class SensorSeries:
    sensor: str
    field: str | None
    values: list[float]
    # where `sensor` and `field` are written (file:line:col): an unknown sensor or a field
    # its kind does not have is found when the test runs, against the registry
    sensor_at: str = ""
    field_at: str = ""


@dataclass(frozen=True)
class AreaSeries:
    area: str
    category: str
    channel: str
    values: list[float]
    record: dict[str, str | int] = field(default_factory=dict)  # see `record_fields`
    # every order's description: an indicator selecting by `keywords` is tested with a
    # series too, not only order by order ("{category} reported" when not given)
    description: str | None = None


@dataclass(frozen=True)
class VenueSeries:
    """Entrance verifications at a venue: how many per interval, and how many of those came
    out abnormal (the record keeps no identity, only venue, time and result)."""

    venue: str
    checks: list[int]
    abnormal: list[int]


@dataclass(frozen=True)
class Check:
    at: int  # seconds after start
    venue: str
    result: str


@dataclass(frozen=True)
class Action:
    """A department acting on its ticket, through the ticket service's own methods."""

    at: int  # seconds after start
    action: str
    department: str
    area: str | None  # picks one of the department's open tickets when it has several
    notes: str
    line: int


@dataclass(frozen=True)
class Order:
    at: int  # seconds after start
    category: str
    area: str
    description: str
    channel: str
    record: dict[str, str | int] = field(default_factory=dict)  # see `record_fields`


@dataclass(frozen=True)
class ExpectedWarning:
    at: int  # seconds after start
    indicator: str
    area: str
    level: str
    kind: str
    since: int | None
    line: int


@dataclass(frozen=True)
class ExpectedTicket:
    fields: dict[str, Any]  # Ticket attribute -> expected value
    line: int
    history: list[str] | None = None  # "AT STEP", durations in canonical spelling


@dataclass
class TestCase:
    name: str
    path: str
    line: int
    col: int
    indicators: list[str]
    start: int  # epoch seconds
    interval: int
    sensors: list[SensorSeries] = field(default_factory=list)
    areas: list[AreaSeries] = field(default_factory=list)
    orders: list[Order] = field(default_factory=list)
    venues: list[VenueSeries] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)
    until: int | None = None  # seconds after start: deadlines are judged up to then
    warnings: list[ExpectedWarning] | None = None
    tickets: list[ExpectedTicket] | None = None

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}:{self.col}"


@dataclass
class TestFile:
    path: str
    catalog: list[Path]
    tests: list[TestCase]
    text: str = ""


class TestFormatError(Exception):
    def __init__(self, diagnostics: list[Diagnostic], text: str = "") -> None:
        super().__init__("\n".join(str(d) for d in diagnostics))
        self.diagnostics = diagnostics
        self.text = text


class _Reader:
    def __init__(self, path: str, doc: LoadedYaml) -> None:
        self.path = path
        self.doc = doc
        self.diags: list[Diagnostic] = []

    def error(self, at: PathKey, message: str, key: bool = False) -> None:
        pos = self.doc.position(at, key=key)
        self.diags.append(Diagnostic(self.path, pos.line, pos.col, None, message))

    def line(self, at: PathKey) -> int:
        return self.doc.position(at).line

    def where(self, at: PathKey) -> str:
        """`file:line:col` of the value at `at`."""
        pos = self.doc.position(at)
        return f"{self.path}:{pos.line}:{pos.col}"

    def mapping(self, value: Any, at: PathKey, kind: str) -> dict[str, Any] | None:
        if not isinstance(value, dict):
            self.error(at, f"expected a mapping ({kind}) with keys {', '.join(KEYS[kind])}")
            return None
        for k in value:
            if k not in KEYS[kind]:
                hint = did_you_mean(k, KEYS[kind])
                self.error(
                    (*at, k),
                    f'unknown key "{k}"{hint}; allowed here: ' + ", ".join(KEYS[kind]),
                    key=True,
                )
        return value

    def missing(self, m: dict[str, Any], k: str, at: PathKey, message: str) -> None:
        """Report a missing key, unless a misspelling of it is there: the unknown key's
        did-you-mean already points at it, and a second error on the same slip is noise."""
        if not any(
            isinstance(other, str) and closest(other, [k]) is not None
            for other in m
            if other not in _KNOWN
        ):
            self.error(at, message)

    def items(self, value: Any, at: PathKey, what: str) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, list):
            self.error(at, f"{what} is a list (one `- ` entry per line)")
            return []
        return value

    def text(self, m: dict[str, Any], k: str, at: PathKey, required: bool = True) -> str | None:
        v = m.get(k)
        if v is None:
            if required:
                self.missing(m, k, at, f'missing "{k}"')
            return None
        if isinstance(v, bool | dict | list):
            self.error((*at, k), f'"{k}" is a text value')
            return None
        return str(v)

    def duration(self, m: dict[str, Any], k: str, at: PathKey, required: bool = True) -> int | None:
        v = m.get(k)
        if v is None:
            if required:
                self.missing(m, k, at, f'missing "{k}" (a duration after the start, e.g. 2h)')
            return None
        try:
            return parse_duration(v)
        except ValueError as e:
            self.error((*at, k), str(e))
            return None

    def choice(
        self, m: dict[str, Any], k: str, at: PathKey, options: tuple[str, ...], default: str | None
    ) -> str | None:
        v = m.get(k, default)
        if v is None:
            self.missing(m, k, at, f'missing "{k}" (one of {", ".join(options)})')
            return None
        if v not in options:
            self.error((*at, k), f'"{k}" is {v!r}; use one of {", ".join(options)}')
            return None
        return str(v)


def record_fields(channel: str) -> dict[str, FieldSpec]:
    """The fields of a citizen channel's record a test sets with `record:`, for the
    indicators' filters to test (a hotline order's `channel` of intake, a photo report's
    `has_photo`): the channel's fields in the registry but those a test gives with its own
    keys (`category`, an order's `description`)."""
    own = ("category", "service_code", "description")
    return {k: f for k, f in kinds()[channel].fields.items() if k not in own}


def _channel(r: _Reader, m: dict[str, Any], at: PathKey) -> str | None:
    """A series' or order's citizen channel (`channel:`, hotline by default).  A channel of
    intake written there (`channel: wechat`) is told where it goes: `record:`."""
    v = m.get("channel", HOTLINE)
    if v in CHANNELS:
        return str(v)
    fix = ""
    if isinstance(v, str) and "channel" in record_fields(HOTLINE):
        fix = (
            f"; a hotline order's channel of intake is a field of its record: "
            f"record: {{channel: {v}}}"
        )
    r.error((*at, "channel"), f'"channel" is {v!r}: the citizen channel, one of '
                              f'{", ".join(CHANNELS)}{fix}')  # fmt: skip
    return None


def _record(r: _Reader, m: dict[str, Any], at: PathKey, channel: str | None) -> dict[str, Any]:
    """`record:`, the fields a citizen channel's records carry beside those a test gives
    with its own keys, checked against the channel's fields (see `record_fields`)."""
    raw = m.get("record")
    if raw is None:
        return {}
    where = (*at, "record")
    if not isinstance(raw, dict):
        r.error(where, "`record` is a mapping of the records' fields, e.g. {channel: wechat}")
        return {}
    if channel is None:
        return {}
    allowed = record_fields(channel)
    out: dict[str, Any] = {}
    for k, v in raw.items():
        spec = allowed.get(str(k))
        if spec is None:
            own = "category" if k in ("category", "service_code") else None
            own = "description" if k == "description" else own
            why = (
                f'the test gives it with its own "{own}" key'
                if own
                else f"a {channel} record has {', '.join(allowed) or 'no other fields'}"
                + did_you_mean(str(k), list(allowed))
            )
            r.error((*where, k), f'"{k}" is not a field a test sets on a {channel} record: {why}',
                    key=True)  # fmt: skip
            continue
        if spec.numeric:
            whole = spec.type in ("integer", "boolean")
            if not isinstance(v, int | float) or isinstance(v, bool) or (whole and v != int(v)):
                what = "a whole number" if whole else "a number"
                r.error((*where, k), f'"{k}" of a {channel} record is {what}, e.g. {k}: 0')
                continue
            out[str(k)] = int(v) if whole else v
        elif isinstance(v, bool | dict | list) or v is None:
            r.error((*where, k), f'"{k}" is a text value')
        else:
            out[str(k)] = str(v)
    return out


def _epoch(text: str) -> int:
    when = datetime.fromisoformat(text)
    if when.tzinfo is None:
        raise ValueError(f"{text!r} has no zone: write it with an offset, e.g. {DEFAULT_START}")
    return int(when.timestamp())


def load_test_file(path: Path) -> TestFile:
    """Read and check one test file; raises TestFormatError with every mistake found."""
    name = str(path)
    try:
        doc = load_yaml_file(path)
    except YamlLoadError as e:
        diag = Diagnostic(name, e.position.line, e.position.col, None, e.message)
        raise TestFormatError([diag], e.text or "") from None
    r = _Reader(name, doc)
    top = r.mapping(doc.data, (), "file") if doc.data is not None else None
    if top is None:
        if doc.data is None:
            r.error((), "the file is empty: it needs `tests:`")
        raise TestFormatError(r.diags, doc.text)
    catalog: list[Path] = []
    raw_cat = top.get("catalog")
    entries = [raw_cat] if isinstance(raw_cat, str) else r.items(raw_cat, ("catalog",), "catalog")
    for i, c in enumerate(entries):
        if not isinstance(c, str):
            r.error(("catalog", i), "a catalog entry is a file or folder path")
            continue
        p = Path(c)
        catalog.append(p if p.is_absolute() else path.parent / p)
    if "tests" not in top:
        r.error((), "missing `tests:` (a list of tests)")
    tests = [
        t
        for i, raw in enumerate(r.items(top.get("tests"), ("tests",), "tests"))
        if (t := _test(r, raw, ("tests", i), name)) is not None
    ]
    if r.diags:
        raise TestFormatError(sorted(r.diags), doc.text)
    return TestFile(name, catalog, tests, doc.text)


def _test(r: _Reader, raw: Any, at: PathKey, path: str) -> TestCase | None:
    m = r.mapping(raw, at, "test")
    if m is None:
        return None
    pos = r.doc.position(at)
    name = r.text(m, "name", at) or f"test at line {pos.line}"
    inds: list[str] = []
    if "indicator" in m:
        inds.append(str(m["indicator"]))
    for i, v in enumerate(r.items(m.get("indicators"), (*at, "indicators"), "indicators")):
        if not isinstance(v, str):
            r.error((*at, "indicators", i), "an indicator id, e.g. air.pm25")
        else:
            inds.append(v)
    if not inds:
        r.error(at, 'missing "indicator" (the id of the indicator under test)')
    start = DEFAULT_START if m.get("start") is None else str(m["start"])
    try:
        t0 = _epoch(start)
    except ValueError as e:
        r.error((*at, "start"), str(e))
        t0 = 0
    interval = r.duration(m, "interval", at)
    if interval == 0:  # (None: reported already)
        r.error((*at, "interval"), "the interval must be longer than 0s")
    elif interval is not None and interval > MAX_INTERVAL:
        r.error(
            (*at, "interval"),
            f"the interval must be at most a day ({format_duration(MAX_INTERVAL)}), not "
            f"{format_duration(interval)}: the flow's decoder refuses a record more than a day "
            "ahead of the stream's time, as it would live: give values at most a day apart",
        )
    case = TestCase(name, path, pos.line, pos.col, inds, t0, interval or 60)
    for i, raw_s in enumerate(r.items(m.get("series"), (*at, "series"), "series")):
        _series(r, raw_s, (*at, "series", i), case)
    for i, raw_o in enumerate(r.items(m.get("hotline"), (*at, "hotline"), "hotline")):
        o_at = (*at, "hotline", i)
        om = r.mapping(raw_o, o_at, "order")
        if om is None:
            continue
        when = r.duration(om, "at", o_at)
        cat = r.text(om, "category", o_at)
        area = r.text(om, "area", o_at)
        ch = _channel(r, om, o_at)
        record = _record(r, om, o_at, ch)
        if when is not None and cat and area and ch:
            desc = r.text(om, "description", o_at, required=False) or f"{cat} reported"
            case.orders.append(Order(when, cat, area, desc, ch, record))
    for i, raw_c in enumerate(r.items(m.get("checkpoints"), (*at, "checkpoints"), "checkpoints")):
        c_at = (*at, "checkpoints", i)
        cm = r.mapping(raw_c, c_at, "checkpoint")
        if cm is None:
            continue
        when = r.duration(cm, "at", c_at)
        venue = r.text(cm, "venue", c_at)
        result = r.choice(cm, "result", c_at, RESULTS, None)
        if when is not None and venue and result:
            case.checks.append(Check(when, venue, result))
    for i, raw_a in enumerate(r.items(m.get("actions"), (*at, "actions"), "actions")):
        _action(r, raw_a, (*at, "actions", i), case)
    if "until" in m:
        case.until = r.duration(m, "until", at)
    expect = m.get("expect")
    if expect is not None:
        em = r.mapping(expect, (*at, "expect"), "expect")
        if em is not None:
            if "warnings" in em:
                case.warnings = _warnings(r, em["warnings"], (*at, "expect", "warnings"), inds)
            if "tickets" in em:
                case.tickets = _tickets(r, em["tickets"], (*at, "expect", "tickets"))
    if not (m.get("series") or m.get("hotline") or m.get("checkpoints")):
        r.error(at, "the test has no input: give `series`, `hotline` or `checkpoints`")
    return case


def _action(r: _Reader, raw: Any, at: PathKey, case: TestCase) -> None:
    m = r.mapping(raw, at, "action")
    if m is None:
        return
    when = r.duration(m, "at", at)
    what = r.choice(m, "action", at, ACTIONS, None)
    dept = r.text(m, "department", at)
    area = r.text(m, "area", at, required=False)
    notes = r.text(m, "notes", at, required=False)
    if when is not None and what and dept:
        default = {"accept": "accepted", "start": "handling started", "feedback": "handled"}
        case.actions.append(Action(when, what, dept, area, notes or default[what], r.line(at)))


def _values(
    r: _Reader,
    m: dict[str, Any],
    at: PathKey,
    key: str = "values",
    *,
    counts: bool = False,
    what: str = "records",
) -> list[float] | None:
    """A series' values; `counts` when each value is a number of records to make (`what`
    they are called), whole numbers >= 0, refused at their term."""
    if key not in m:
        r.missing(m, key, at, f'missing "{key}" (e.g. {key}: 10+0x60 50x5 10x30)')
        return None
    raw = m[key]
    pos = r.doc.position((*at, key))
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        # YAML reads a lone `0x7` as hexadecimal 7: take the term as written instead.
        line = r.doc.text.splitlines()[pos.line - 1][pos.col - 1 :]
        raw = re.split(r"[\s,}#\]]", line, maxsplit=1)[0]
    try:
        return expand(raw, counts=counts, what=what)
    except NotationError as e:
        col = pos.col
        if isinstance(raw, str):  # point at the faulty term when the value is on its line
            col = _term_column(r.doc.text.splitlines()[pos.line - 1], pos.col, raw, e.term)
        r.diags.append(Diagnostic(r.path, pos.line, col, None, str(e)))
        return None


def _term_column(line: str, col: int, raw: str, term: int) -> int:
    """The column of term `term` of the series `raw` written at `col` of `line` (inside
    quotes, spaces as written); `col` when it is not there as written (a value folded over
    several lines)."""
    found = list(re.finditer(r"\S+", raw))
    if term >= len(found):
        return col
    start = col - 1 + (1 if line[col - 1 : col] in ("'", '"') else 0)
    if not line[start:].startswith(raw.split("\n")[0].rstrip()):
        return col
    return start + found[term].start() + 1


def _counts(r: _Reader, values: list[float] | None, at: PathKey, what: str) -> list[int] | None:
    """Values that count records per interval: whole numbers, no `_`."""
    if values is not None and any(v != v or v < 0 or v != int(v) for v in values):
        r.error(at, f"{what} per interval are whole numbers >= 0 ('_' not allowed)")
        return None
    return None if values is None else [int(v) for v in values]


def _series(r: _Reader, raw: Any, at: PathKey, case: TestCase) -> None:
    m = r.mapping(raw, at, "series")
    if m is None:
        return
    kinds = [k for k in ("sensor", "area", "venue") if k in m]
    if len(kinds) != 1:
        r.error(
            at,
            'a series has one of "sensor" (readings), "area" (orders per interval) or '
            '"venue" (checkpoint verifications per interval)',
        )
        return
    if kinds[0] == "venue":
        _venue_series(r, m, at, case)
        return
    for k in ("checks", "abnormal"):
        if k in m:
            r.error((*at, k), f'"{k}" belongs to a venue series (checkpoint verifications)')
    values = _values(r, m, at, counts="sensor" not in m, what="orders")
    if "sensor" in m:
        for k in ("record", "channel", "category", "description"):
            if k in m:
                r.error((*at, k), f'"{k}" belongs to an area series (citizen records), not to '
                                  "a sensor's readings", key=True)  # fmt: skip
        sensor = r.text(m, "sensor", at)
        fld = r.text(m, "field", at, required=False)
        if sensor and values is not None:
            where = r.where((*at, "field") if fld is not None else at)
            case.sensors.append(SensorSeries(sensor, fld, values, r.where((*at, "sensor")), where))
        return
    area = r.text(m, "area", at)
    cat = r.text(m, "category", at)
    desc = r.text(m, "description", at, required=False)
    ch = _channel(r, m, at)
    record = _record(r, m, at, ch)
    if _counts(r, values, (*at, "values"), "orders") is None:
        return
    if area and cat and ch and values is not None:
        case.areas.append(AreaSeries(area, cat, ch, values, record, desc))


def _venue_series(r: _Reader, m: dict[str, Any], at: PathKey, case: TestCase) -> None:
    for k in ("values", "field", "category", "description", "channel", "record"):
        if k in m:
            r.error(
                (*at, k),
                f'a venue series gives "checks" (verifications per interval) and "abnormal" '
                f'(how many of them came out abnormal), not "{k}"',
                key=True,
            )
    venue = r.text(m, "venue", at)
    checks = _counts(
        r, _values(r, m, at, "checks", counts=True, what="checks"), (*at, "checks"), "checks"
    )
    abnormal: list[int] | None = [0] * len(checks or [])
    if "abnormal" in m:
        abnormal = _counts(
            r,
            _values(r, m, at, "abnormal", counts=True, what="abnormal checks"),
            (*at, "abnormal"),
            "abnormal checks",
        )
    if checks is None or abnormal is None or not venue:
        return
    if len(abnormal) != len(checks):
        r.error(
            (*at, "abnormal"),
            f'"abnormal" has {len(abnormal)} intervals and "checks" {len(checks)}: give both '
            "the same length",
        )
        return
    over = next((k for k, (a, c) in enumerate(zip(abnormal, checks, strict=True)) if a > c), None)
    if over is not None:
        r.error(
            (*at, "abnormal"),
            f"interval {over + 1}: {abnormal[over]} abnormal out of {checks[over]} checks",
        )
        return
    case.venues.append(VenueSeries(venue, checks, abnormal))


def _warnings(r: _Reader, raw: Any, at: PathKey, inds: list[str]) -> list[ExpectedWarning]:
    out = []
    for i, w in enumerate(r.items(raw, at, "warnings")):
        w_at = (*at, i)
        m = r.mapping(w, w_at, "warning")
        if m is None:
            continue
        when = r.duration(m, "at", w_at)
        since = r.duration(m, "since", w_at, required=False)
        ind = r.text(m, "indicator", w_at, required=False)
        if ind is None:
            if len(inds) != 1:
                r.error(w_at, 'missing "indicator" (the test runs several)')
                continue
            ind = inds[0]
        area = r.text(m, "area", w_at)
        level = r.choice(m, "level", w_at, LEVELS, None)
        kind = r.choice(m, "kind", w_at, KINDS, "firing")
        if when is not None and area and level and kind:
            out.append(ExpectedWarning(when, ind, area, level, kind, since, r.line(w_at)))
    return out


def _tickets(r: _Reader, raw: Any, at: PathKey) -> list[ExpectedTicket]:
    out = []
    for i, t in enumerate(r.items(raw, at, "tickets")):
        t_at = (*at, i)
        m = r.mapping(t, t_at, "ticket")
        if m is None:
            continue
        fields: dict[str, Any] = {}
        for k, v in m.items():
            if k not in TICKET_KEYS:
                continue
            if k == "supervised" and isinstance(v, bool):
                fields["supervised"] = v
            elif k in COUNT_KEYS:
                if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                    extra = " or true/false" if k == "supervised" else ""
                    r.error((*t_at, k), f'"{k}" is a count (a whole number{extra})')
                    continue
                fields[TICKET_KEYS[k]] = v
            else:
                fields[TICKET_KEYS[k]] = str(v)
        history = _history(r, m["history"], (*t_at, "history")) if "history" in m else None
        out.append(ExpectedTicket(fields, r.line(t_at), history))
    return out


def _history(r: _Reader, raw: Any, at: PathKey) -> list[str] | None:
    """A ticket's lifecycle steps, each `AT STEP` (e.g. `35m supervised`), in order."""
    out: list[str] = []
    for i, step in enumerate(r.items(raw, at, "history")):
        parts = str(step).split() if isinstance(step, str) else []
        if len(parts) != 2 or parts[1] not in STEPS:
            near = closest(parts[-1], STEPS) if parts else None
            hint = f' (did you mean "{near}"?)' if near is not None and near != parts[-1] else ""
            r.error(
                (*at, i),
                f"a step is `AT STEP`, e.g. `35m supervised`{hint}; steps: {', '.join(STEPS)}",
            )
            continue
        try:
            out.append(f"{format_duration(parse_duration(parts[0]))} {parts[1]}")
        except ValueError as e:
            r.error((*at, i), str(e))
    return out
