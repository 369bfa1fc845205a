"""Decoding: timestamps, sensor readings (NDJSON and CSV), citizen channels, dead letters."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flows.deadletters import dead_letter_lines, read_dead_letters
from flows.decode import (
    ChannelDecoder,
    Reason,
    SensorDecoder,
    SensorLastSeen,
    StreamClock,
    chunk_of_lines,
    field_id,
    sensor_fields,
)
from flows.decode.chunks import RawChunk
from flows.decode.dedupe import SeenIds, batch_repeats
from flows.decode.timestamps import BAD, MISSING, NO_TIMEZONE, OK, parse_iso_ms

T0 = "2026-03-01T14:05:00+08:00"
T0_MS = int(datetime(2026, 3, 1, 6, 5, tzinfo=UTC).timestamp() * 1000)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass
class TinyRegistry:
    """A registry of a handful of sensors, with the interface decoding relies on."""

    ids: list[str]
    kind_names: list[str]
    kinds: tuple[str, ...] = ("air_quality", "traffic_flow", "water_supply", "elevator")
    kind: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.kind = np.array([self.kinds.index(k) for k in self.kind_names], dtype=np.int8)
        self._rows = {s: i for i, s in enumerate(self.ids)}

    def lookup(self, ids: np.ndarray) -> np.ndarray:
        values = [v.decode() if isinstance(v, bytes) else str(v) for v in np.asarray(ids).tolist()]
        return np.array([self._rows.get(v, -1) for v in values], dtype=np.int64)


@pytest.fixture
def registry() -> TinyRegistry:
    return TinyRegistry(
        [
            "AQ-310106-000001",
            "AQ-310106-000002",
            "TF-310106-000001",
            "WS-310106-000001",
            "EL-310106-000001",
        ],
        ["air_quality", "air_quality", "traffic_flow", "water_supply", "elevator"],
    )


def ndjson(*records: dict[str, object] | str) -> list[bytes]:
    return [
        (r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)).encode() for r in records
    ]


def decode(registry: TinyRegistry, lines: list[bytes], decoder: SensorDecoder | None = None):
    dec = decoder or SensorDecoder(registry)
    return dec.decode(chunk_of_lines("in.ndjson", lines))


# ---------------------------------------------------------------- timestamps
@pytest.mark.parametrize(
    "text",
    [
        "2026-03-01T14:05:00+08:00",
        "2026-03-01T14:05:00Z",
        "2026-03-01t14:05:00z",
        "2026-03-01 14:05:00-05:30",
        "2026-03-01T14:05:00.123+08:00",
        "2026-03-01T14:05:00.5+0800",
        "2026-03-01T14:05:00.123456Z",
        "2026-03-01T14:05:00+08",
        "2024-02-29T23:59:59+14:00",
        "2026-03-01T14:05+08:00",  # no seconds: the scalar parser's job
        " 2026-03-01T14:05:00+08:00 ",
    ],
)
def test_timestamps_agree_with_fromisoformat(text: str) -> None:
    ms, status = parse_iso_ms([text])
    expected = datetime.fromisoformat(text.strip().replace("z", "Z").replace("t", "T"))
    assert status[0] == OK
    assert ms[0] == int(expected.timestamp() * 1000)


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("2026-03-01T14:05:00", NO_TIMEZONE),
        ("2026-03-01T14:05:00.250", NO_TIMEZONE),
        ("2026-03-01", NO_TIMEZONE),
        ("2026-02-29T00:00:00Z", BAD),
        ("2026-13-01T00:00:00Z", BAD),
        ("2026-03-01T24:00:00Z", BAD),
        ("yesterday", BAD),
        ("", BAD),
        (None, MISSING),
    ],
)
def test_timestamps_reject(text: str | None, want: int) -> None:
    assert parse_iso_ms([text])[1][0] == want


@settings(max_examples=200, deadline=None)
@given(
    moment=st.datetimes(min_value=datetime(1950, 1, 1), max_value=datetime(2150, 12, 31)),
    offset_min=st.integers(-14 * 60, 14 * 60),
    layout=st.sampled_from(["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%d %H:%M:%S"]),
    zone=st.sampled_from(["colon", "plain", "Z"]),
)
def test_timestamps_property(moment: datetime, offset_min: int, layout: str, zone: str) -> None:
    tz = UTC if zone == "Z" else timezone(timedelta(minutes=offset_min))
    aware = moment.replace(tzinfo=tz)
    text = aware.strftime(layout)
    if zone == "Z":
        text += "Z"
    else:
        sign = "-" if offset_min < 0 else "+"
        h, m = divmod(abs(offset_min), 60)
        text += f"{sign}{h:02d}:{m:02d}" if zone == "colon" else f"{sign}{h:02d}{m:02d}"
    ms, status = parse_iso_ms([text, text])  # two: the vectorised path, not only the scalar
    kept = aware.microsecond // 1000 * 1000 if "%f" in layout else 0
    expected = (aware.replace(microsecond=kept) - EPOCH) // timedelta(milliseconds=1)
    assert status.tolist() == [OK, OK]
    assert ms.tolist() == [expected, expected]


# ---------------------------------------------------------------- sensor readings
def test_fiware_and_flat_records_become_long_format(registry: TinyRegistry) -> None:
    lines = ndjson(
        {"sensor_id": "AQ-310106-000001", "ts": T0, "pm25": 41.0, "no2": 33.5},
        {"sensor_id": "AQ-310106-000002", "ts": T0, "metric": "pm25", "value": 12},
        {"sensor_id": "TF-310106-000001", "ts": T0, "intensity": 7, "congested": True},
        {"sensor_id": "EL-310106-000001", "ts": T0, "fault": 1, "faultCode": "E42"},
    )
    batch, letters = decode(registry, lines)
    assert len(letters) == 0
    assert len(batch) == 6
    sensor, ts, value = batch.of_field("pm25")
    assert sorted(zip(sensor.tolist(), value.tolist(), strict=True)) == [(0, 41.0), (1, 12.0)]
    assert set(ts.tolist()) == {T0_MS}
    assert batch.of_field("no2")[2].tolist() == [33.5]
    assert batch.of_field("congested")[2].tolist() == [1.0]
    assert batch.of_field("fault")[0].tolist() == [4]
    # rows are grouped by field id, and the offsets say where each group is
    assert np.all(np.diff(batch.field) >= 0)
    for f in range(len(sensor_fields())):
        rows = batch.rows_of(f)
        assert np.all(batch.field[rows] == f)


def test_each_event_carries_its_partitions_progress_and_its_line(
    registry: TinyRegistry,
) -> None:
    """`high`: the largest accepted time of the chunk up to the event's record, whatever its
    field (a traffic reading moves it for the air readings after it; a refused record does
    not); `position`: the record's line, for a late event's dead letter.  Each field's rows
    are in the order their records came, flat and named records mixed."""
    later = "2026-03-01T16:05:00+08:00"
    far = "2026-03-09T14:05:00+08:00"  # more than a day ahead: refused, moves nothing
    lines = ndjson(
        {"sensor_id": "AQ-310106-000002", "ts": T0, "metric": "pm25", "value": 13},
        {"sensor_id": "TF-310106-000001", "ts": later, "intensity": 7},
        {"sensor_id": "AQ-310106-000002", "ts": far, "metric": "pm25", "value": 12},
        "",
        {"sensor_id": "AQ-310106-000001", "ts": T0, "pm25": 41.0, "no2": 33.5},
    )
    before = [
        {
            "sensor_id": "AQ-310106-000002",
            "ts": f"2026-03-01T13:{m // 2:02d}:{m % 2 * 30:02d}+08:00",
            "pm25": 1.0,
        }
        for m in range(64)
    ]  # a block of ordinary readings first, for the stream's time to be sure of itself
    lines = [*ndjson(*before), *lines]
    batch, letters = decode(registry, lines)
    assert [(d.position, d.reason) for d in letters.letters] == [(67, Reason.TOO_FAR_IN_TIME)]
    two_hours = 2 * 3_600_000
    rows = batch.rows_of(field_id("pm25"))
    assert batch.value[rows].tolist()[-2:] == [13.0, 41.0]
    assert batch.high[rows].tolist()[-2:] == [T0_MS, T0_MS + two_hours]
    assert batch.position[rows].tolist()[-2:] == [65, 69]
    no2 = batch.rows_of(field_id("no2"))
    assert (batch.high[no2].tolist(), batch.position[no2].tolist()) == ([T0_MS + two_hours], [69])


def test_each_bad_record_gets_its_reason_and_line(registry: TinyRegistry) -> None:
    good = {"sensor_id": "AQ-310106-000001", "ts": T0, "pm25": 1.0}
    lines = ndjson(
        good,
        '{"sensor_id": "AQ-310106-000001", "ts": ',  # 2
        {"ts": T0, "pm25": 3.0},  # 3
        {"sensor_id": "AQ-310106-000001", "ts": T0, "pm25": "high"},  # 4
        '{"sensor_id": "AQ-310106-000001", "ts": "' + T0 + '", "pm25": NaN}',  # 5
        {"sensor_id": "AQ-310106-000001", "ts": "2026-03-01T14:05:00", "pm25": 5.0},  # 6
        {"sensor_id": "AQ-310106-000001", "ts": "last tuesday", "pm25": 6.0},  # 7
        {"sensor_id": "AQ-999999-000009", "ts": T0, "pm25": 7.0},  # 8
        {"sensor_id": "TF-310106-000001", "ts": T0, "pm25": 8.0},  # 9
        {"sensor_id": "AQ-310106-000001", "ts": T0, "pm2_5": 9.0},  # 10
        {"sensor_id": "AQ-310106-000001", "ts": T0, "metric": "pm25"},  # 11
        {"sensor_id": "AQ-310106-000001", "ts": T0},  # 12
        {"sensor_id": "AQ-310106-000002", "ts": "2099-01-01T00:00:00Z", "pm25": 1.0},  # 13
        "[1, 2, 3]",  # 14
        {"sensor_id": "AQ-310106-000002", "ts": T0, "pm25": 2.0},  # 15: good
    )
    batch, letters = decode(registry, lines)
    got = {(d.position, d.reason) for d in letters.letters}
    assert got == {
        (2, Reason.BAD_JSON),
        (3, Reason.MISSING_FIELD),
        (4, Reason.WRONG_TYPE),
        (5, Reason.NOT_FINITE),
        (6, Reason.NO_TIMEZONE),
        (7, Reason.BAD_TIMESTAMP),
        (8, Reason.UNKNOWN_SENSOR),
        (9, Reason.UNKNOWN_FIELD),
        (10, Reason.UNKNOWN_FIELD),
        (11, Reason.MISSING_FIELD),
        (12, Reason.MISSING_FIELD),
        (13, Reason.TOO_FAR_IN_TIME),
        (14, Reason.BAD_JSON),
    }
    assert batch.of_field("pm25")[2].tolist() == [1.0, 2.0]
    assert letters.counts[Reason.MISSING_FIELD.value] == 3
    assert all(d.source == "in.ndjson" for d in letters.letters)
    by_pos = {d.position: d for d in letters.letters}
    assert "pm2_5" in by_pos[10].detail
    assert "time zone" in by_pos[6].detail


def test_one_bad_line_does_not_poison_a_big_chunk(registry: TinyRegistry) -> None:
    records = [
        {
            "sensor_id": "AQ-310106-000001",
            "ts": f"2026-03-01T{h:02d}:{m:02d}:00+08:00",
            "pm25": float(i),
        }
        for i, (h, m) in enumerate((h, m) for h in range(24) for m in range(60))
    ]
    lines = ndjson(*records)
    bad_at = [17, 700, 1000, 1400]
    for i in bad_at:
        lines[i] = b'{"sensor_id": "AQ-310106-000001", "ts": broken'
    # looks whole at a glance (braces), fails on its type: found by bisection instead
    lines[1000] = b'{"sensor_id": "AQ-310106-000001", "ts": "' + T0.encode() + b'", "pm25": []}'
    batch, letters = decode(registry, lines, SensorDecoder(registry, leaf_lines=32))
    assert [d.position for d in letters.letters] == [i + 1 for i in bad_at]
    assert letters.letters[2].reason == Reason.WRONG_TYPE
    assert len(batch) == len(records) - len(bad_at)
    assert set(batch.value.tolist()) == {float(i) for i in range(len(records))} - {
        float(i) for i in bad_at
    }


def test_blank_lines_are_skipped_and_positions_stay_right(registry: TinyRegistry) -> None:
    lines = ndjson({"sensor_id": "AQ-310106-000001", "ts": T0, "pm25": 1.0})
    lines += [b"", b"   "]
    lines += ndjson({"sensor_id": "nobody", "ts": T0, "pm25": 1.0})
    batch, letters = decode(registry, lines)
    assert len(batch) == 1
    assert [(d.position, d.reason) for d in letters.letters] == [(4, Reason.UNKNOWN_SENSOR)]


def test_new_keys_are_learned_not_lost(registry: TinyRegistry) -> None:
    dec = SensorDecoder(registry)
    first = ndjson(*[{"sensor_id": "AQ-310106-000001", "ts": T0, "pm25": 1.0}] * 3)
    decode(registry, first, dec)
    later = ndjson(
        {"sensor_id": "AQ-310106-000002", "ts": T0, "pm25": 2.0, "o3": 5.0, "so2": 6.0},
        {"sensor_id": "WS-310106-000001", "ts": T0, "pressure": 0.31},
        {"sensor_id": "AQ-310106-000001", "ts": T0, "co": None, "pm10": 4.0},
    )
    batch, letters = decode(registry, later, dec)
    assert len(letters) == 0
    assert sorted(sensor_fields()[f] for f in batch.field.tolist()) == sorted(
        ["pm25", "o3", "so2", "pressure", "pm10"]
    )


def test_keys_the_reader_cannot_read_are_refused_by_name(registry: TinyRegistry) -> None:
    """An empty key and one with an escaped quote were read as if absent: the readings
    passed as clean.  They are unknown fields now, named; a null value and an ignored text
    holding `":` (both make the counts differ too) are not refused."""
    air = {"sensor_id": "AQ-310106-000001", "ts": T0, "pm25": 1.0}
    lines = ndjson(
        {**air, "": 5},
        {**air, "sensor_id": "AQ-310106-000002", 'a"b': 5},
        {**air, "ts": "2026-03-01T14:10:00+08:00", "pm10": None},
        {"sensor_id": "WS-310106-000001", "ts": T0, "pressure": 0.3, "name": 'x": 1'},
    )
    batch, letters = decode(registry, lines)
    assert [(d.position, d.reason) for d in letters.letters] == [
        (1, Reason.UNKNOWN_FIELD),
        (2, Reason.UNKNOWN_FIELD),
    ]
    assert "''" in letters.letters[0].detail and "'a\"b'" in letters.letters[1].detail
    assert sorted(batch.value.tolist()) == [0.3, 1.0]


def test_an_unknown_field_is_named_alone(registry: TinyRegistry) -> None:
    """The reason named every field of the reading ("field(s) fault, note not all known"),
    leaving the reader to guess which one; and "metric, value" for an unknown metric."""
    lines = ndjson(
        {"sensor_id": "AQ-310106-000001", "ts": T0, "pm25": 1.0, "pressure": 0.3},
        {"sensor_id": "AQ-310106-000002", "ts": T0, "metric": "pm99", "value": 3.0},
    )
    _, letters = decode(registry, lines)
    assert [d.detail for d in letters.letters] == [
        "field 'pressure' not known for air_quality sensor 'AQ-310106-000001'",
        "metric 'pm99' not known for air_quality sensor 'AQ-310106-000002'",
    ]


def test_a_value_the_quantity_cannot_take_is_refused(registry: TinyRegistry) -> None:
    """pm25 -50 and an occupancy of 3 (a share) were accepted: the only check was +-1e15.
    A field's physical range (sensor_kinds.yaml min / max) now refuses them as bad_value,
    in both record shapes; a temperature below zero is a temperature."""
    lines = ndjson(
        {"sensor_id": "AQ-310106-000001", "ts": T0, "pm25": -50.0},
        {"sensor_id": "TF-310106-000001", "ts": T0, "occupancy": 3.0},
        {"sensor_id": "AQ-310106-000002", "ts": T0, "metric": "pm25", "value": -1.0},
        {"sensor_id": "AQ-310106-000002", "ts": T0, "temperature": -10.0, "pm25": 0.0},
    )
    batch, letters = decode(registry, lines)
    assert [(d.position, d.reason, d.detail) for d in letters.letters] == [
        (1, Reason.BAD_VALUE, "'pm25' is -50, below the least possible value 0"),
        (2, Reason.BAD_VALUE, "'occupancy' is 3, above the greatest possible value 1"),
        (3, Reason.BAD_VALUE, "'pm25' is -1, below the least possible value 0"),
    ]
    assert sorted(batch.value.tolist()) == [-10.0, 0.0]


def test_a_reading_far_beyond_any_instrument_is_refused(registry: TinyRegistry) -> None:
    """A phone number in a pm25 column (13812340108) passed every check (the bound was
    +-1e15) and moved its windows' means past every threshold: a red warning from one
    corrupt record.  sensor_kinds.yaml now gives each quantity a maximum far beyond any real
    reading; a sandstorm's PM10 and a sub-zero temperature are still readings."""
    lines = ndjson(
        {"sensor_id": "AQ-310106-000001", "ts": T0, "pm25": 13812340108.0},
        {"sensor_id": "AQ-310106-000002", "ts": T0, "pm10": 9000.0, "temperature": -30.0},
    )
    batch, letters = decode(registry, lines)
    assert [(d.position, d.reason, d.detail) for d in letters.letters] == [
        (1, Reason.BAD_VALUE, "'pm25' is 1.38123e+10, above the greatest possible value 10000"),
    ]
    assert sorted(batch.value.tolist()) == [-30.0, 9000.0]


def test_ignored_keys_and_names_do_not_reject(registry: TinyRegistry) -> None:
    lines = ndjson(
        {
            "id": "x",
            "type": "AirQualityObserved",
            "sensor_id": "AQ-310106-000001",
            "ts": T0,
            "pm25": 3.0,
            "name": "Zhang",
        },
    )
    batch, letters = decode(registry, lines)
    assert len(letters) == 0 and batch.value.tolist() == [3.0]


def test_duplicates_count_once(registry: TinyRegistry) -> None:
    dec = SensorDecoder(registry)
    rec = {"sensor_id": "AQ-310106-000001", "ts": T0, "pm25": 1.0, "no2": 2.0}
    batch, letters = decode(registry, ndjson(rec, rec), dec)
    assert len(batch) == 2 and letters.counts[Reason.DUPLICATE.value] == 2
    assert len(letters) == 0  # counted, not written
    batch, letters = decode(registry, ndjson(rec, {**rec, "ts": "2026-03-01T14:06:00+08:00"}), dec)
    assert len(batch) == 2
    assert batch.ts.tolist() == [T0_MS + 60_000] * 2
    assert letters.counts[Reason.DUPLICATE.value] == 2


def test_csv_readings(registry: TinyRegistry) -> None:
    header = b"sensor_id,ts,pm25,no2,metric,value"
    data = (
        f"AQ-310106-000001,{T0},41.5,,,\n"
        f"AQ-310106-000002,{T0},,,no2,7\n"
        f"AQ-310106-000001,{T0},abc,,,\n"
        f"AQ-310106-000001,{T0},1,2,3\n"
        f"AQ-310106-000002,{T0},NaN,,,\n"
    ).encode()
    chunk = RawChunk("in.csv", 2, data, "csv", header)
    batch, letters = SensorDecoder(registry).decode(chunk)
    assert sorted(zip(batch.field.tolist(), batch.value.tolist(), strict=True)) == [
        (field_id("pm25"), 41.5),
        (field_id("no2"), 7.0),
    ]
    assert {(d.position, d.reason) for d in letters.letters} == {
        (4, Reason.WRONG_TYPE),
        (5, Reason.BAD_JSON),
        (6, Reason.NOT_FINITE),
    }
    # the field is named (it was "a field value has the wrong type")
    (wrong,) = [d for d in letters.letters if d.reason == Reason.WRONG_TYPE]
    assert wrong.detail == "'pm25' should be a number, not 'abc'"
    flags = ndjson({"sensor_id": "TF-310106-000001", "ts": T0, "congested": "maybe"})
    _, letters = decode(registry, flags)
    assert letters.letters[0].detail == "'congested' should be true or false, not 'maybe'"


@pytest.mark.parametrize(
    ("csv_row", "record", "reason"),
    [
        ("pm25,abc", {"metric": "pm25", "value": "abc"}, Reason.WRONG_TYPE),
        ("pm25,true", {"metric": "pm25", "value": True}, Reason.WRONG_TYPE),
        ("pm25,", {"metric": "pm25", "value": None}, Reason.MISSING_FIELD),
        ("pm25,NaN", '{"metric": "pm25", "value": NaN}', Reason.NOT_FINITE),
        ("pm2_5,3", {"metric": "pm2_5", "value": 3}, Reason.UNKNOWN_FIELD),
    ],
)
def test_a_flat_reading_s_mistake_has_one_reason_in_csv_and_ndjson(
    registry: TinyRegistry, csv_row: str, record: dict[str, object] | str, reason: Reason
) -> None:
    """A CSV value of "abc" was "metric 'pm25' has no value" (missing_field): the cell that
    did not convert counted as no cell, where NDJSON's reader refuses the string itself."""
    head = {"sensor_id": "AQ-310106-000001", "ts": T0}
    if isinstance(record, str):
        line = json.dumps(head)[:-1] + ", " + record[1:]
    else:
        line = json.dumps({**head, **record})
    _, from_json = decode(registry, ndjson(line))
    header = b"sensor_id,ts,metric,value"
    data = f"AQ-310106-000001,{T0},{csv_row}\n".encode()
    _, from_csv = SensorDecoder(registry).decode(RawChunk("in.csv", 2, data, "csv", header))
    assert [d.reason for d in from_json.letters] == [d.reason for d in from_csv.letters] == [reason]
    if csv_row == "pm25,abc":
        assert from_csv.letters[0].detail == "'value' should be a number, not 'abc'"


def test_a_dead_letter_keeps_the_type_of_each_value_as_received(registry: TinyRegistry) -> None:
    """Dead letters are kept to be sent again: an epoch-ms timestamp (13 digits) was written
    back as a string, "1772386800000", while a 10-digit one stayed a number.  A number that
    reads as a phone number is still masked (to text), as is one of 15 digits or more."""
    stamps = [1772386800000, 1772386800, 1772386800000.5, -1772386800000, 99999999999]
    lines = ndjson(*({"sensor_id": "AQ-310106-000001", "ts": t, "pm25": 12} for t in stamps))
    for personal in (13812345678, 310106198001011234):
        lines += ndjson({"sensor_id": "AQ-310106-000001", "ts": personal, "pm25": 12})
    _, letters = decode(registry, lines)
    assert len(letters.letters) == 7  # (bad_timestamp, and no_timezone for the 18 digits)
    kept = [json.loads(d.record)["ts"] for d in letters.letters]
    assert kept == [*stamps, "<phone>", "<id-number>"]


def test_decoder_state_survives_snapshot(registry: TinyRegistry) -> None:
    dec = SensorDecoder(registry)
    rec = {"sensor_id": "AQ-310106-000001", "ts": T0, "pm25": 1.0}
    decode(registry, ndjson(rec), dec)
    state = dec.snapshot()
    again = SensorDecoder(registry)
    again.restore(state)
    batch, letters = decode(registry, ndjson(rec), again)
    assert len(batch) == 0 and letters.counts[Reason.DUPLICATE.value] == 1
    assert again.clock.now_ms == T0_MS


def test_with_the_city_registry() -> None:
    from flows.city.model import load_city
    from flows.city.registry import generate_registry

    reg = generate_registry(load_city(), 500, seed=3, kinds=["air_quality", "traffic_flow"])
    ids = reg.ids()
    kinds = [reg.kinds[int(k)] for k in reg.kind.tolist()]
    lines = ndjson(
        *[
            {
                "sensor_id": sid,
                "ts": T0,
                **({"pm25": 1.0} if k == "air_quality" else {"intensity": 2.0}),
            }
            for sid, k in zip(ids, kinds, strict=True)
        ]
    )
    batch, letters = SensorDecoder(reg).decode(chunk_of_lines("city.ndjson", lines))
    assert len(letters) == 0
    assert sorted(batch.sensor.tolist()) == list(range(len(ids)))


# ---------------------------------------------------------------- stream clock, dedupe
def test_clock_ignores_a_few_wild_timestamps() -> None:
    clock = StreamClock(block=8)
    base = T0_MS + np.arange(40) * 1000
    ts = base.copy()
    ts[5] = T0_MS + 400 * 86_400_000  # a year ahead
    ts[20] = 0  # 1970
    far = clock.judge(ts)
    assert np.flatnonzero(far).tolist() == [5, 20]
    assert clock.now_ms is not None and T0_MS <= clock.now_ms <= T0_MS + 40_000
    # a real jump (a replay moving on by a week) is followed, not rejected
    later = T0_MS + 7 * 86_400_000 + np.arange(40) * 1000
    assert not clock.judge(later).any()


def test_last_seen_dedupe() -> None:
    seen = SensorLastSeen()
    s = np.array([0, 0, 1, 0])
    f = np.array([3, 3, 3, 4])
    t = np.array([10, 10, 10, 10])
    assert seen.first_seen(s, f, t).tolist() == [True, False, True, True]
    assert seen.first_seen(s[:1], f[:1], t[:1]).tolist() == [False]
    assert seen.first_seen(np.array([0]), np.array([3]), np.array([11])).tolist() == [True]
    # after a newer reading, the old time's fields are forgotten (the bitmask moved on)
    assert seen.first_seen(np.array([0]), np.array([4]), np.array([11])).tolist() == [True]


@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 3), st.integers(0, 4)), max_size=60))
def test_batch_repeats_matches_a_set(events: list[tuple[int, int, int]]) -> None:
    arr = np.array(events, dtype=np.int64).reshape(-1, 3)
    got = batch_repeats(arr[:, 0], arr[:, 1], arr[:, 2])
    seen: set[tuple[int, int, int]] = set()
    want = []
    for e in events:
        want.append(e in seen)
        seen.add(e)
    assert got.tolist() == want


def test_seen_ids_forget_after_horizon() -> None:
    ids = SeenIds(horizon_ms=1000)
    assert ids.first_seen(["a", "b", "a"], now_ms=0).tolist() == [True, True, False]
    assert ids.first_seen(["a"], now_ms=500).tolist() == [False]
    ids.first_seen(["c"], now_ms=5000)
    assert "a" not in ids.snapshot() and "c" in ids.snapshot()


# ---------------------------------------------------------------- citizen channels
HOTLINE = {
    "service_request_id": "12345-2026-000001",
    "service_code": "water_outage",
    "description": "停水了，请联系 13812345678",
    "requested_datetime": T0,
    "address": "静安区某路1号",
    "lat": 31.22,
    "long": 121.45,
    "channel": "phone",
    "phone": "13812345678",
    "name": "张三",
}


def test_hotline_orders(tmp_path: Path) -> None:
    calls: list[tuple[list[float], list[float]]] = []

    def locate(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
        calls.append((lat.tolist(), lon.tolist()))
        return np.full(len(lat), 7)

    dec = ChannelDecoder("hotline", locate=locate)
    lines = ndjson(
        HOTLINE,
        {**HOTLINE, "service_request_id": "2", "service_code": "no_such_thing"},
        {**HOTLINE, "service_request_id": "3", "lat": 300.0},
        {
            **HOTLINE,
            "service_request_id": "4",
            "service_code": None,
            "category": "flooding",
            "lat": None,
            "long": None,
        },
        HOTLINE,
        {**HOTLINE, "service_request_id": "5", "requested_datetime": "2026-03-01 14:05"},
    )
    batch, letters = dec.decode(chunk_of_lines("hotline.ndjson", lines))
    assert batch.record_id == ["12345-2026-000001", "4"]
    assert [batch.categories[c] for c in batch.category.tolist()] == ["water_outage", "flooding"]
    assert batch.community.tolist() == [7, -1]
    assert calls == [([31.22], [121.45])]
    assert "13812345678" not in batch.text[0] and "<phone>" in batch.text[0]
    assert batch.extra["channel"] == ["phone", "phone"]
    assert {(d.position, d.reason) for d in letters.letters} == {
        (2, Reason.UNKNOWN_CATEGORY),
        (3, Reason.BAD_VALUE),
        (6, Reason.NO_TIMEZONE),
    }
    assert letters.counts[Reason.DUPLICATE.value] == 1
    path = tmp_path / "dead_letters.ndjson"
    path.write_text("".join(line + "\n" for line in dead_letter_lines(letters.letters)), "utf-8")
    written = read_dead_letters(path)
    assert [set(w) for w in written] == [{"record", "reason", "detail", "source", "position"}] * 3
    assert letters.counts[Reason.UNKNOWN_CATEGORY.value] == 1


def test_order_ids_are_the_hotline_s_not_personal_data() -> None:
    """Work order numbers that read like an identity or a mobile number stay apart: masked to
    a placeholder alone, the four orders below were two, the others dropped as duplicates.
    The dispatcher's reading of raw records gives the same ids; an order without one is
    refused."""
    from alerts.feed import hotline_order
    from flows.city import load_city

    ids = ["310101202603020001", "310101202603020002", "13012340001", 13012340002]
    dec = ChannelDecoder("hotline", locate=lambda lat, lon: np.full(len(lat), -1))
    records = [{**HOTLINE, "service_request_id": i} for i in ids]
    bad = [{**HOTLINE, "service_request_id": None}, {**HOTLINE, "service_request_id": [1]}]
    batch, letters = dec.decode(chunk_of_lines("hotline.ndjson", ndjson(*records, *bad)))
    assert len(set(batch.record_id)) == 4
    for kept in batch.record_id:  # masked, each with a digest of its own
        assert kept.startswith(("<id-number>#", "<phone>#"))
        assert not any(str(c) in kept for c in ids)
    assert all("13812345678" not in text for text in batch.text)
    again, _ = ChannelDecoder("hotline").decode(chunk_of_lines("h.ndjson", ndjson(records[0])))
    assert again.record_id == batch.record_id[:1]  # the same id always gives the same text
    plain, _ = ChannelDecoder("hotline").decode(
        chunk_of_lines("h.ndjson", ndjson({**HOTLINE, "service_request_id": "12345-2026-7"}))
    )
    assert plain.record_id == ["12345-2026-7"]  # an id with nothing personal stays as it is
    assert [(d.position, d.reason) for d in letters.letters] == [
        (5, Reason.MISSING_FIELD),
        (6, Reason.WRONG_TYPE),
    ]
    city = load_city()
    assert [hotline_order(r, city).service_request_id for r in records] == batch.record_id
    with pytest.raises(ValueError, match="service_request_id"):
        hotline_order(bad[0], city)


def test_photo_reports_and_checkpoints() -> None:
    photos = ndjson(
        {
            "report_id": "p1",
            "category": "road_damage",
            "description": "坑",
            "ts": T0,
            "lat": 31.2,
            "long": 121.4,
            "has_photo": 1,
        },
        {"report_id": "p2", "category": "road_damage", "ts": T0, "has_photo": 3},
    )
    batch, letters = ChannelDecoder("photo_report").decode(chunk_of_lines("p.ndjson", photos))
    assert batch.record_id == ["p1"] and batch.value.tolist() == [1.0]
    assert [d.reason for d in letters.letters] == [Reason.BAD_VALUE]

    checks = ndjson(
        {
            "checkpoint_id": "c1",
            "venue": "V-310106-0012",
            "ts": T0,
            "result": "abnormal",
            "id_number": "110101199003071234",
            "holder": "李四",
        },
        {"checkpoint_id": "c2", "venue": "V-310106-0012", "ts": T0, "result": "maybe"},
        {"checkpoint_id": "c3", "ts": T0, "result": "normal"},
    )
    dec = ChannelDecoder("checkpoint", locate_venue=lambda venues: np.arange(len(venues)))
    batch, letters = dec.decode(chunk_of_lines("c.ndjson", checks))
    assert batch.record_id == ["c1"] and batch.value.tolist() == [1.0]
    assert batch.extra == {"venue": ["V-310106-0012"], "result": ["abnormal"]}
    assert [d.reason for d in letters.letters] == [Reason.BAD_VALUE, Reason.MISSING_FIELD]


def test_hotline_csv() -> None:
    header = b"service_request_id,service_code,description,requested_datetime,lat,long,name"
    data = (
        f"a1,sanitation,垃圾 13912345678,{T0},31.1,121.3,王五\n"
        f"a2,sanitation,x,{T0},north,121.3,王五\n"
    ).encode()
    chunk = RawChunk("h.csv", 2, data, "csv", header)
    batch, letters = ChannelDecoder("hotline").decode(chunk)
    assert batch.record_id == ["a1"] and batch.lat.tolist() == [31.1]
    assert batch.text == ["垃圾 <phone>"]
    assert [(d.position, d.reason) for d in letters.letters] == [(3, Reason.WRONG_TYPE)]
    assert "王五" not in letters.letters[0].record


def test_a_line_break_inside_a_quoted_cell(registry: TinyRegistry) -> None:
    """CSV allows line breaks inside quotes.  A hotline description with one is one order
    (it was two bad rows, both redacted); a sensor reading split that way is refused in its
    pieces (its first piece, `"1`, was read as the value 1); a quote never closed within the
    chunk is refused whole."""
    header = b"service_request_id,service_code,description,requested_datetime,lat,long"
    data = (
        f'a1,sanitation,"第一行\n第二行, 13912345678",{T0},31.1,121.3\n'
        f"a2,sanitation,plain,{T0},31.1,121.3\n"
        f'a3,sanitation,"never closed,{T0},31.1,121.3\n'
        f"a4,sanitation,plain,{T0},31.1,121.3\n"
    ).encode()
    batch, letters = ChannelDecoder("hotline").decode(RawChunk("h.csv", 2, data, "csv", header))
    assert batch.record_id == ["a1", "a2"]
    assert batch.text[0] == "第一行\n第二行, <phone>"
    (letter,) = letters.letters
    assert letter.position == 5 and "not closed" in letter.detail  # a3 took a4 with it

    data = f'AQ-310106-000001,{T0},"1\n2"\nAQ-310106-000002,{T0},3\n'.encode()
    sensors = RawChunk("in.csv", 2, data, "csv", b"sensor_id,ts,pm25")
    batch, letters = SensorDecoder(registry).decode(sensors)
    assert batch.value.tolist() == [3.0]
    assert [(d.position, d.reason) for d in letters.letters] == [
        (2, Reason.BAD_JSON),
        (3, Reason.BAD_JSON),
    ]
    assert "not closed" in letters.letters[0].detail


def test_a_header_that_names_a_column_twice(registry: TinyRegistry) -> None:
    """`sensor_id,ts,pm25,pm25`: one of the two columns was dropped without a word, and which
    one held the reading cannot be told; every row is refused, saying so."""
    data = f"AQ-310106-000001,{T0},1,2\nAQ-310106-000002,{T0},3,4\n".encode()
    chunk = RawChunk("in.csv", 2, data, "csv", b"sensor_id,ts,pm25,pm25")
    batch, letters = SensorDecoder(registry).decode(chunk)
    assert len(batch) == 0
    assert [(d.position, d.reason) for d in letters.letters] == [
        (2, Reason.BAD_JSON),
        (3, Reason.BAD_JSON),
    ]
    assert all("'pm25' more than once" in d.detail for d in letters.letters)
    header = b"service_request_id,service_code,description,description,requested_datetime"
    orders = RawChunk("h.csv", 2, f"a1,sanitation,x,y,{T0}\n".encode(), "csv", header)
    batch, letters = ChannelDecoder("hotline").decode(orders)
    assert len(batch) == 0 and "'description' more than once" in letters.letters[0].detail


def test_unknown_channel_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="did you mean"):
        ChannelDecoder("hotlin")


# ---------------------------------------------------------------- the simulator's files
def test_simulated_inputs_decode_with_exact_dead_letters(tmp_path: Path) -> None:
    """Every record the simulator broke on purpose is a dead letter at its line; no other."""
    from flows.city.model import load_city
    from flows.city.registry import load_default_registry
    from flows.simulator.simulate import write_demo_inputs
    from flows.sources import iter_file_chunks

    result = write_demo_inputs(tmp_path, days=1)
    city = load_city()
    decoders: dict[str, SensorDecoder | ChannelDecoder] = {
        "sensors": SensorDecoder(load_default_registry()),
        "hotline": ChannelDecoder("hotline", locate=city.locate),
        "photo_reports": ChannelDecoder("photo_report", locate=city.locate),
        "checkpoints": ChannelDecoder("checkpoint"),
    }
    for family, decoder in decoders.items():
        positions: list[int] = []
        kept = 0
        for chunk in iter_file_chunks(result.files[family], chunk_bytes=100_000):
            batch, letters = decoder.decode(chunk)
            positions += [d.position for d in letters.letters]
            kept += len(batch)
        assert sorted(positions) == sorted(result.malformed_lines[family]), family
        assert kept > 0


@pytest.mark.parametrize("key", ["description", "address", "channel", "status"])
@pytest.mark.parametrize("value", [{"text": "停水"}, ["停水", "两天"]])
def test_a_hotline_text_that_is_a_list_or_an_object_is_a_wrong_type(
    key: str, value: object
) -> None:
    """It was kept as its Python form ("{'text': '停水'}"), in orders.ndjson and for filters."""
    line = json.dumps({**HOTLINE, key: value}, ensure_ascii=False).encode()
    batch, letters = ChannelDecoder("hotline").decode(chunk_of_lines("h.ndjson", [line]))
    assert len(batch) == 0
    assert [(d.reason, d.detail) for d in letters.letters] == [
        (Reason.WRONG_TYPE, f"{key!r} should be text")
    ]
