"""Bad input, generated: hypothesis strategies for sensor readings and hotline orders of every
kind of malformed (broken JSON, wrong types, NaN and infinities, huge values, invalid UTF-8,
absurd timestamps, duplicates, out-of-order records, oversized fields) mixed with good ones,
and the accounting that checks what the decoder made of each line.

Each generated line carries its kind and the outcomes its kind allows ("good", "duplicate"
or a dead-letter reason); `account` checks every line against that and the totals
(lines in == good + dead letters + duplicates).  Shared by the tests in this folder and by
`benchmarks/reliability/fuzz_long.py`."""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
from hypothesis import strategies as st

from flows.city import load_default_registry
from flows.decode.batches import ChannelBatch, SensorBatch
from flows.decode.reasons import DeadLetters

T0 = datetime(2026, 3, 1, 6, 5, tzinfo=UTC)  # 14:05 in Shanghai
GOOD = "good"
DUP = "duplicate"
ANY_DEAD = frozenset(
    {
        "bad_json",
        "missing_field",
        "wrong_type",
        "not_finite",
        "bad_value",
        "unknown_sensor",
        "unknown_field",
        "unknown_category",
        "no_timezone",
        "bad_timestamp",
        "too_far_in_time",
    }
)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def air_sensors(n: int = 50) -> list[str]:
    reg = load_default_registry()
    ids = reg.ids()
    air = reg.kinds.index("air_quality")
    return [ids[i] for i in np.flatnonzero(reg.kind == air)[:n].tolist()]


SENSORS = air_sensors()


@dataclass(frozen=True)
class Line:
    kind: str
    data: bytes
    allowed: frozenset[str]


def _j(record: object) -> bytes:
    return json.dumps(record, ensure_ascii=False, allow_nan=True).encode("utf-8")


# ------------------------------------------------------------------ sensor readings
# A "slot" k gives a line its own (sensor, time): good lines never collide by accident.
def _slot(k: int) -> tuple[str, datetime]:
    return SENSORS[k % len(SENSORS)], T0 + timedelta(minutes=k // len(SENSORS))


SENSOR_BAD: dict[str, tuple[st.SearchStrategy[object], frozenset[str]]] = {}


def good_reading(k: int, value: float = 20.0, shift: timedelta = timedelta(0)) -> dict[str, object]:
    sid, when = _slot(k)
    return {"sensor_id": sid, "ts": iso(when + shift), "pm25": value}


def _sensor_line(kind: str, k: int, draw: st.DrawFn) -> Line:
    _sid, when = _slot(k)
    good = good_reading(k, draw(st.floats(0, 500)))
    if kind == "good":
        return Line(kind, _j(good), frozenset({GOOD}))
    if kind == "out_of_order":  # a day back: behind the others, still plausible
        back = {**good, "ts": iso(when - timedelta(hours=draw(st.integers(1, 24))))}
        return Line(kind, _j(back), frozenset({GOOD}))
    if kind == "truncated":
        text = _j(good)
        return Line(kind, text[: draw(st.integers(1, len(text) - 1))], frozenset({"bad_json"}))
    if kind == "not_json":
        junk = draw(
            st.sampled_from(
                [
                    b"hello",
                    b"[1, 2]",
                    b"null",
                    b'"text"',
                    b"{{}",
                    b"42",
                    b"{'sensor_id': 1}",
                    b'{"a":1}{"b":2}',
                ]
            )
        )
        return Line(kind, junk, frozenset({"bad_json"}))
    if kind == "invalid_utf8":
        text = _j(good)
        cut = draw(st.integers(1, len(text) - 2))
        bad = draw(st.sampled_from([b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xf8\x88\x80"]))
        return Line(kind, text[:cut] + bad + text[cut:], frozenset({"bad_json"}))
    if kind == "nan_inf":
        value = draw(st.sampled_from([math.nan, math.inf, -math.inf]))
        return Line(kind, _j({**good, "pm25": value}), frozenset({"not_finite"}))
    if kind == "wrong_type":
        value = draw(st.sampled_from(["abc", "41.5", True, [1.0], {"v": 1}, ""]))
        return Line(kind, _j({**good, "pm25": value}), frozenset({"wrong_type"}))
    if kind == "huge_value":
        raw = draw(
            st.sampled_from(
                [
                    b"1e308",
                    b"-1e308",
                    b"1e400",
                    b"-1e400",
                    b"9" * 400,
                    b"123456789012345678901234567890",
                ]
            )
        )
        text = _j({**good, "pm25": 0}).replace(b'"pm25": 0', b'"pm25": ' + raw)
        # beyond any measurement (1e308 is finite, but two of them sum to inf in a window);
        # 1e400 and 10^400 overflow a float: dead either way, never a crash
        return Line(kind, text, frozenset({"bad_value", "not_finite", "wrong_type", "bad_json"}))
    if kind == "absurd_time":
        stamp = draw(
            st.sampled_from(
                [
                    "9999-12-31T23:59:59Z",
                    "0001-01-01T00:00:00Z",
                    "1970-01-01T00:00:00Z",
                    "2200-01-01T00:00:00+08:00",
                    "1900-02-28T00:00:00-12:00",
                ]
            )
        )
        return Line(
            kind, _j({**good, "ts": stamp}), frozenset({"too_far_in_time", "bad_timestamp"})
        )
    if kind == "bad_time":
        stamp = draw(
            st.sampled_from(
                [
                    "2026-02-30T10:00:00Z",
                    "2026-13-01T00:00:00Z",
                    "yesterday",
                    "",
                    "2026-03-01T25:61:00+08:00",
                    1772345100,
                    "1772345100",
                    "2026-03-01T14:05:00+99:00",
                ]
            )
        )
        return Line(kind, _j({**good, "ts": stamp}), frozenset({"bad_timestamp", "wrong_type"}))
    if kind == "no_zone":
        return Line(kind, _j({**good, "ts": iso(when)[:-1]}), frozenset({"no_timezone"}))
    if kind == "missing":
        key = draw(st.sampled_from(["sensor_id", "ts", "pm25"]))
        rec = {k: v for k, v in good.items() if k != key}
        return Line(kind, _j(rec), frozenset({"missing_field"}))
    if kind == "unknown_sensor":
        return Line(
            kind, _j({**good, "sensor_id": "AQ-999999-" + str(k)}), frozenset({"unknown_sensor"})
        )
    if kind == "unknown_field":
        return Line(
            kind,
            _j({**good, draw(st.sampled_from(["pm2_5", "PM25", "flux"])): 1.0}),
            frozenset({"unknown_field"}),
        )
    if kind == "oversized_id":
        big = "AQ-" + "9" * draw(st.integers(1_000, 200_000))
        return Line(kind, _j({**good, "sensor_id": big}), frozenset({"unknown_sensor"}))
    if kind == "oversized_field":
        pad = "x" * draw(st.integers(1_000, 300_000))
        return Line(kind, _j({**good, "padding": pad}), frozenset({"unknown_field"}))
    if kind == "deep":
        depth = draw(st.integers(50, 3000))
        text = _j(good).replace(b"}", b', "n": ' + b"[" * depth + b"]" * depth + b"}")
        return Line(kind, text, frozenset({"bad_json", "unknown_field", "wrong_type"}))
    if kind == "lone_surrogate":  # half of a UTF-16 pair: json.loads takes it, UTF-8 cannot
        key, value = draw(
            st.sampled_from(
                [
                    ("sensor_id", good["sensor_id"] + "\ud800"),
                    ("sensor_id", good["sensor_id"] + "\x00"),  # numpy strings drop NULs
                    ("note", "\udfff"),
                ]
            )
        )
        text = json.dumps({**good, key: value}).encode()  # ASCII: the escape stays an escape
        return Line(kind, text, frozenset({"bad_json"}))
    raise ValueError(kind)


SENSOR_KINDS = [
    "good",
    "good",
    "good",
    "out_of_order",
    "duplicate",
    "truncated",
    "not_json",
    "invalid_utf8",
    "nan_inf",
    "wrong_type",
    "huge_value",
    "absurd_time",
    "bad_time",
    "no_zone",
    "missing",
    "unknown_sensor",
    "unknown_field",
    "oversized_id",
    "oversized_field",
    "deep",
    "lone_surrogate",
]


@st.composite
def sensor_lines(
    draw: st.DrawFn,
    min_size: int = 1,
    max_size: int = 40,
    first_slot: int = 1000,
    kinds: list[str] | None = None,
) -> list[Line]:
    """Lines of sensor readings, good and bad mixed; a duplicate repeats an earlier good line
    of the same list (a redelivery).  Line k uses slot `first_slot + k`.  With `kinds`, exactly
    those kinds in that order (only the lines' contents are drawn)."""
    if kinds is None:
        kinds = draw(st.lists(st.sampled_from(SENSOR_KINDS), min_size=min_size, max_size=max_size))
    out: list[Line] = []
    for k, kind in enumerate(kinds):
        goods = [ln for ln in out if ln.kind == "good"]
        if kind == "duplicate":
            if goods:
                out.append(Line(kind, draw(st.sampled_from(goods)).data, frozenset({DUP})))
            continue
        out.append(_sensor_line(kind, first_slot + k, draw))
    return out


def warm_up_lines(n: int = 64) -> list[bytes]:
    """Good readings that set the decoder's stream clock near T0 (slots below 1000)."""
    return [_j(good_reading(k)) for k in range(n)]


# ------------------------------------------------------------------ hotline orders
def _order(k: int, step_s: int = 1) -> dict[str, object]:
    return {
        "service_request_id": f"12345-2026-{k:06d}",
        "service_code": "water_outage",
        "description": "停水了",
        "requested_datetime": (T0 + timedelta(seconds=k * step_s)).isoformat(),
        "lat": 31.22,
        "long": 121.45,
        "channel": "phone",
    }


def _hotline_line(kind: str, k: int, draw: st.DrawFn) -> Line:
    good = _order(k)
    if kind == "good":
        return Line(kind, _j(good), frozenset({GOOD}))
    if kind == "out_of_order":
        back = {**good, "requested_datetime": iso(T0 - timedelta(hours=draw(st.integers(1, 48))))}
        return Line(kind, _j(back), frozenset({GOOD}))
    if kind == "truncated":
        text = _j(good)
        return Line(kind, text[: draw(st.integers(1, len(text) - 1))], frozenset({"bad_json"}))
    if kind == "invalid_utf8":
        text = _j(good)
        cut = draw(st.integers(1, len(text) - 2))
        return Line(kind, text[:cut] + b"\xff\xfe" + text[cut:], frozenset({"bad_json"}))
    if kind == "nan_inf":
        key = draw(st.sampled_from(["lat", "long"]))
        value = draw(st.sampled_from([math.nan, math.inf, -math.inf]))
        return Line(kind, _j({**good, key: value}), frozenset({"not_finite"}))
    if kind == "wrong_type":
        key, value = draw(
            st.sampled_from(
                [
                    ("lat", "north"),
                    ("long", [1]),
                    ("lat", True),
                    ("service_code", 7),
                    ("requested_datetime", 5),
                ]
            )
        )
        return Line(kind, _j({**good, key: value}), frozenset({"wrong_type"}))
    if kind == "off_globe":
        return Line(
            kind,
            _j({**good, "lat": draw(st.sampled_from([300.0, -91.0, 1e308]))}),
            frozenset({"bad_value"}),
        )
    if kind == "unknown_category":
        return Line(
            kind, _j({**good, "service_code": "no_such_thing"}), frozenset({"unknown_category"})
        )
    if kind == "absurd_time":
        stamp = draw(
            st.sampled_from(
                ["9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z", "1970-01-01T00:00:00Z"]
            )
        )
        return Line(
            kind,
            _j({**good, "requested_datetime": stamp}),
            frozenset({"too_far_in_time", "bad_timestamp"}),
        )
    if kind == "no_zone":
        return Line(
            kind,
            _j({**good, "requested_datetime": "2026-03-01 14:05:00"}),
            frozenset({"no_timezone"}),
        )
    if kind == "missing":
        key = draw(st.sampled_from(["service_request_id", "requested_datetime", "service_code"]))
        return Line(
            kind, _j({k2: v for k2, v in good.items() if k2 != key}), frozenset({"missing_field"})
        )
    if kind == "oversized_text":
        text = "漏水" * draw(st.integers(1_000, 100_000))
        return Line(kind, _j({**good, "description": text}), frozenset({GOOD}))
    if kind == "lone_surrogate":
        text = draw(st.sampled_from(["漏水\ud83d", "\udc00", "a\ud800b"]))
        line = json.dumps({**good, "description": text}).encode()
        return Line(kind, line, frozenset({"bad_json"}))
    raise ValueError(kind)


HOTLINE_KINDS = [
    "good",
    "good",
    "good",
    "out_of_order",
    "duplicate",
    "truncated",
    "invalid_utf8",
    "nan_inf",
    "wrong_type",
    "off_globe",
    "unknown_category",
    "absurd_time",
    "no_zone",
    "missing",
    "oversized_text",
    "lone_surrogate",
]


@st.composite
def hotline_lines(
    draw: st.DrawFn, min_size: int = 1, max_size: int = 30, kinds: list[str] | None = None
) -> list[Line]:
    """Hotline order lines, good and bad mixed; with `kinds`, exactly those in that order."""
    if kinds is None:
        kinds = draw(st.lists(st.sampled_from(HOTLINE_KINDS), min_size=min_size, max_size=max_size))
    out: list[Line] = []
    for k, kind in enumerate(kinds):
        goods = [ln for ln in out if ln.kind in ("good", "oversized_text")]
        if kind == "duplicate":
            if goods:
                out.append(Line(kind, draw(st.sampled_from(goods)).data, frozenset({DUP})))
            continue
        out.append(_hotline_line(kind, 1000 + k, draw))
    return out


def hotline_warm_up(n: int = 32, step_s: int = 1) -> list[bytes]:
    return [_j(_order(k, step_s)) for k in range(n)]


# ------------------------------------------------------------------ accounting
@dataclass
class Tally:
    """Lines tried per kind and outcomes per reason, over many examples."""

    lines: int = 0
    examples: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)

    def to_dict(self) -> dict[str, object]:
        return {
            "examples": self.examples,
            "lines": self.lines,
            "kinds": dict(self.kinds),
            "outcomes": dict(self.outcomes),
        }


def account(
    lines: list[Line],
    batch: SensorBatch | ChannelBatch,
    letters: DeadLetters,
    first_position: int,
    tally: Tally | None = None,
) -> None:
    """Every line accounted for: a dead letter at its position with an allowed reason and a
    non-empty detail, or no letter if it is good or a duplicate; and in == good + dead + dups."""
    by_position = {d.position: d for d in letters.letters}
    assert len(by_position) == len(letters.letters), "two letters for one line"
    duplicates = letters.counts.get(DUP, 0)
    for i, line in enumerate(lines):
        letter = by_position.get(first_position + i)
        if letter is None:
            assert line.allowed & {GOOD, DUP}, (line.kind, line.data[:200], "no dead letter")
            outcome = DUP if line.kind == "duplicate" else GOOD
        else:
            outcome = letter.reason.value
            assert outcome in line.allowed, (line.kind, line.data[:200], outcome, letter.detail)
            assert letter.detail, "a dead letter without a detail"
        if tally is not None:
            tally.kinds[line.kind] += 1
            tally.outcomes[outcome] += 1
    expected_dups = sum(1 for ln in lines if ln.kind == "duplicate")
    assert duplicates == expected_dups, (duplicates, expected_dups)
    assert len(lines) == len(batch) + len(letters) + duplicates
    assert set(by_position) <= set(range(first_position, first_position + len(lines)))
    if tally is not None:
        tally.lines += len(lines)
        tally.examples += 1
