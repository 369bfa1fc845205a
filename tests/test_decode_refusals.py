"""Dead letters made in bulk (flows/decode/refusals.py) are the letters of the per-row path.

The sensor decoder used to write each refused row's letter alone (re-parse the line, mask it,
read the detail from a polars row: about 66 µs a letter).  It now makes them a reason and a
column at a time, and takes the per-row path only for rows it cannot prove plain.  These
tests decode the same chunks both ways (`SensorDecoder(bulk_refusals=False)` is the old path,
kept as the reference) and want the same letters, counts and events; a few letters are also
spelled out, so that both paths cannot be wrong together; and the two shortcuts taken around
`mask_text` are checked against it.
"""

from __future__ import annotations

import json
import random
from datetime import timedelta

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import flows.decode.sensors as sensors_module
from flows.city import load_default_registry
from flows.city.registry import SensorRegistry
from flows.decode import SensorDecoder, chunk_of_lines
from flows.decode.batches import SensorBatch
from flows.decode.chunks import RawChunk
from flows.decode.reasons import DeadLetters, Reason
from flows.privacy import mask_text, nothing_to_mask, unmaskable_ids
from tests.reliability.fuzz_inputs import T0, iso, sensor_lines, warm_up_lines
from tests.test_privacy import secrets

REGISTRY = load_default_registry()
TS = iso(T0)


def sensor(kind: str, n: int = 0) -> str:
    """The n-th registered sensor of a kind."""
    ids = REGISTRY.ids()
    return ids[int(np.flatnonzero(REGISTRY.kind == REGISTRY.kinds.index(kind))[n])]


AQ, AQ2, TF, WS = (
    sensor("air_quality"),
    sensor("air_quality", 1),
    sensor("traffic_flow"),
    sensor("water_supply"),
)


def compact(record: dict[str, object]) -> bytes:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode()


def spaced(record: dict[str, object]) -> bytes:
    return json.dumps(record, ensure_ascii=False).encode()


# Lines refused for every reason the vectorised checks find, written the ways producers do
# (compact, with spaces, integers, trailing zeros, other key orders, nulls, names, escapes),
# and a few refused while reading (broken JSON, NaN), among good readings.
MIXED: list[bytes] = [
    compact({"sensor_id": AQ, "ts": TS, "pm25": -37.9}),
    spaced({"sensor_id": TF, "ts": TS, "occupancy": 3.5}),
    f'{{"sensor_id":"{AQ}","ts":"{TS}","pm25":-50}}'.encode(),
    compact({"sensor_id": AQ, "ts": TS, "pm25": 12.5, "pm10": -1.5}),
    compact({"sensor_id": AQ2, "ts": TS, "metric": "pm25", "value": -3.0}),
    f'{{"sensor_id":"{AQ2}","ts":"{TS}","metric":"pm25","value":-3}}'.encode(),
    spaced({"sensor_id": TF, "ts": TS, "metric": "occupancy", "value": 7.0}),
    f'{{"sensor_id":"{AQ}","ts":"{TS}","pm25":-12.50}}'.encode(),
    f'{{"pm25":-1.0,"ts":"{TS}","sensor_id":"{AQ}"}}'.encode(),
    f'{{"sensor_id":"{AQ}","ts":"{TS}","temperature":1e20}}'.encode(),
    compact({"sensor_id": AQ, "ts": TS, "temperature": -1e20}),
    compact({"sensor_id": AQ, "ts": TS, "pm25": -5.0, "name": "Zhang San"}),
    compact({"sensor_id": "Zhang San", "ts": TS, "pm25": 5.0, "name": "Zhang San"}),
    compact({"sensor_id": "13912345678", "ts": TS, "pm25": 5.0}),
    compact({"sensor_id": "AQ-999999-000001", "ts": TS, "pm25": 5.0}),
    spaced({"sensor_id": "AQ-999999-000002", "ts": TS, "pm25": 5.0}),
    compact({"sensor_id": AQ, "ts": TS, "pm25": 1.0, "pm2_5": 3.0}),
    compact({"sensor_id": AQ, "ts": TS, "metric": "pm99", "value": 3.0}),
    compact({"sensor_id": AQ, "ts": TS, "pressure": 0.3, "note": "测试 13912345678"}),
    compact({"sensor_id": TF, "ts": TS, "congested": "maybe"}),
    compact({"sensor_id": AQ, "ts": "2026-03-01T14:05:00", "pm25": 5.0}),
    compact({"sensor_id": AQ, "ts": "2026-02-30T10:00:00Z", "pm25": 5.0}),
    compact({"sensor_id": AQ, "ts": "yesterday", "pm25": 5.0}),
    compact({"ts": TS, "pm25": 5.0}),
    compact({"sensor_id": AQ, "pm25": 5.0}),
    compact({"sensor_id": AQ, "ts": TS, "metric": "pm25"}),
    compact({"sensor_id": AQ, "ts": TS, "value": 5.0}),
    compact({"sensor_id": AQ, "ts": TS}),
    b"{}",
    b'{"type": "AirQualityObserved"}',
    compact({"sensor_id": AQ, "ts": "2200-01-01T00:00:00+08:00", "pm25": 5.0}),
    compact({"sensor_id": AQ, "ts": "1970-01-01T00:00:00Z", "pm25": -5.0}),
    f'{{"sensor_id":"{AQ}","ts":"{TS}","pm25":NaN}}'.encode(),
    f'{{"sensor_id":"{AQ}","ts":"{TS}","pm25":'.encode(),
    f'{{"sensor_id":"{AQ}","ts":"{TS}","pm25":null,"pm10":-3.0}}'.encode(),
    compact(
        {
            "id": "urn:ngsi-ld:1",
            "type": "AirQualityObserved",
            "sensor_id": AQ,
            "ts": TS,
            "pm25": -2.0,
        }
    ),
    f'{{"sensor_id":"{AQ}","ts":"{TS}","pm25":-2.0}}\r'.encode(),
    f' {{"sensor_id":"{AQ}","ts":"{TS}","pm25":-2.0}}'.encode(),
    f'{{"sensor_id":"{AQ[:-1]}\\u0031","ts":"{TS}","pm25":-4.0}}'.encode(),
    f'{{"sensor_id":"{AQ}","ts":"{TS}","pm25":-5,"pm10":-3.0}}'.encode(),
    f'{{"sensor_id":"{AQ}","ts":"{TS}","pm25":-0,"pm10":-2.0}}'.encode(),
    f'{{"sensor_id":"{WS}","ts":"{TS}","pressure":12345678901,"flow":1e16}}'.encode(),
    compact({"sensor_id": TF, "ts": TS, "intensity": 1.0, "occupancy": 0.5}),
    compact({"sensor_id": AQ2, "ts": TS, "pm25": 20.0}),
]


def both_ways(
    chunks: list[RawChunk], warm: list[bytes] | None = None
) -> list[tuple[tuple[SensorBatch, DeadLetters], tuple[SensorBatch, DeadLetters]]]:
    """Each chunk decoded in bulk and row by row (after the same warm-up of good lines)."""
    bulk = SensorDecoder(REGISTRY)
    rows = SensorDecoder(REGISTRY, bulk_refusals=False)
    if warm:
        for decoder in (bulk, rows):
            decoder.decode(chunk_of_lines("warm.ndjson", warm))
    return [(bulk.decode(chunk), rows.decode(chunk)) for chunk in chunks]


def assert_same(
    pairs: list[tuple[tuple[SensorBatch, DeadLetters], tuple[SensorBatch, DeadLetters]]],
) -> None:
    for (batch, letters), (batch_rows, letters_rows) in pairs:
        assert letters.letters == letters_rows.letters  # record, reason, detail, source, position
        assert letters.counts == letters_rows.counts
        for name in ("sensor", "ts", "field", "value"):
            assert getattr(batch, name).tolist() == getattr(batch_rows, name).tolist()


def test_a_mixed_chunk_gives_the_letters_of_the_per_row_path() -> None:
    lines = MIXED * 3  # the same sensors again: the ids judged before are remembered
    pairs = both_ways([chunk_of_lines("mixed.ndjson", lines, first_line=7)], warm_up_lines())
    assert_same(pairs)
    (_, letters), _ = pairs[0]
    reasons = {letter.reason for letter in letters.letters}
    assert reasons >= {
        Reason.BAD_VALUE,
        Reason.UNKNOWN_SENSOR,
        Reason.UNKNOWN_FIELD,
        Reason.WRONG_TYPE,
        Reason.NO_TIMEZONE,
        Reason.BAD_TIMESTAMP,
        Reason.MISSING_FIELD,
        Reason.TOO_FAR_IN_TIME,
        Reason.NOT_FINITE,
        Reason.BAD_JSON,
    }
    assert len(letters) == 3 * (len(MIXED) - 2)


def test_many_chunks_of_a_faulty_fleet_and_kafka_positions() -> None:
    """Thousands of refused readings in several chunks, both shapes, positions given by the
    source (Kafka offsets); the second decoding of each sensor takes the remembered verdict."""
    rng = random.Random(5)
    ids = REGISTRY.ids()
    air = np.flatnonzero(REGISTRY.kind == REGISTRY.kinds.index("air_quality")).tolist()
    chunks = []
    for c in range(3):
        lines = []
        for k in range(3000):
            sid = ids[rng.choice(air)]
            stamp = iso(T0 + timedelta(seconds=60 * c + k % 60))
            value = round(rng.uniform(-100, 100), rng.choice([0, 1, 2]))
            if rng.random() < 0.3:
                rec: dict[str, object] = {
                    "sensor_id": sid,
                    "ts": stamp,
                    "metric": "pm10",
                    "value": value,
                }
            else:
                rec = {"sensor_id": sid, "ts": stamp, "pm25": value, "no2": abs(value)}
            lines.append(rng.choice([compact, spaced])(rec))
        chunk = chunk_of_lines(f"kafka:{c}", lines)
        offsets = np.arange(len(lines), dtype=np.int64) * 3 + 1000 * c
        chunks.append(RawChunk(chunk.source, 0, chunk.data, positions=offsets))
    pairs = both_ways(chunks)
    assert_same(pairs)
    assert sum(len(letters) for (_, letters), _ in pairs) > 3000


def test_csv_rows_give_the_letters_of_the_per_row_path() -> None:
    header = b"sensor_id,ts,pm25,pm10,congested,metric,value,name"
    rows = [
        f"{AQ},{TS},-3.5,,,,,",
        f"{AQ},{TS},abc,,,,,",
        f"{TF},{TS},,,maybe,,,",
        f"{AQ},{TS},,,,pm25,-2,Li Wei",
        f"Li Wei,{TS},1,,,,,Li Wei",
        f"{AQ},2026-03-01 14:05:00,1,,,,,",
        f"{AQ},{TS},1,2,3",
        f'"{AQ}",{TS},-1.0,"-2",,,,',
        f"{AQ2},{TS},5,,,,,",
        f"{AQ},{TS},,,,pm25,abc,",  # a flat value that is not a number: wrong_type
        f"{AQ},{TS},,,,pm25,,",
    ]
    data = ("\n".join(rows) + "\n").encode()
    pairs = both_ways([RawChunk("in.csv", 2, data, "csv", header)])
    assert_same(pairs)
    assert len(pairs[0][0][1]) == len(rows) - 1


def test_letters_spelled_out() -> None:
    """What the letters say, so that the two paths cannot agree on a wrong letter."""
    lines = [
        compact({"sensor_id": AQ, "ts": TS, "pm25": -37.9}),
        spaced({"sensor_id": TF, "ts": TS, "occupancy": 3.5}),
        f'{{"sensor_id":"{AQ2}","ts":"{TS}","metric":"pm10","value":-50}}'.encode(),
        f'{{"sensor_id":"{AQ}","ts":"{TS}","pm25":-12.50}}'.encode(),
        compact({"sensor_id": "Zhang San", "ts": TS, "pm25": 5.0, "name": "Zhang San"}),
        compact({"sensor_id": "13912345678", "ts": TS, "pm25": 5.0}),
    ]
    _, letters = SensorDecoder(REGISTRY).decode(chunk_of_lines("in.ndjson", lines, first_line=3))
    assert [(d.record, d.reason, d.detail, d.position) for d in letters.letters] == [
        (
            lines[0].decode(),
            Reason.BAD_VALUE,
            "'pm25' is -37.9, below the least possible value 0",
            3,
        ),
        (
            compact({"sensor_id": TF, "ts": TS, "occupancy": 3.5}).decode(),
            Reason.BAD_VALUE,
            "'occupancy' is 3.5, above the greatest possible value 1",
            4,
        ),
        (
            lines[2].decode(),
            Reason.BAD_VALUE,
            "'pm10' is -50, below the least possible value 0",
            5,
        ),
        (
            compact({"sensor_id": AQ, "ts": TS, "pm25": -12.5}).decode(),
            Reason.BAD_VALUE,
            "'pm25' is -12.5, below the least possible value 0",
            6,
        ),
        (
            compact({"sensor_id": "<name>", "ts": TS, "pm25": 5.0}).decode(),
            Reason.UNKNOWN_SENSOR,
            "sensor '<name>' is not in the registry",
            7,
        ),
        (
            compact({"sensor_id": "<phone>", "ts": TS, "pm25": 5.0}).decode(),
            Reason.UNKNOWN_SENSOR,
            "sensor '<phone>' is not in the registry",
            8,
        ),
    ]
    assert letters.counts == {"bad_value": 4, "unknown_sensor": 2}


def test_a_key_holding_a_phone_number_is_masked_both_ways() -> None:
    """A field named by a phone number (a producer's callback field) was written back into
    the dead letter as it came, in bulk and row by row."""
    lines = [
        compact({"sensor_id": AQ, "ts": TS, "13812340101": 5.0}),
        compact({"sensor_id": AQ, "ts": TS, "pm25": -3.0, "13812340102": 1.0}),
    ]
    pairs = both_ways([chunk_of_lines("in.ndjson", lines)], warm_up_lines())
    assert_same(pairs)
    (_, letters), _ = pairs[0]
    text = json.dumps([d.record + d.detail for d in letters.letters])
    assert len(letters) == 2 and "1381234" not in text and "<phone>" in text


def test_a_phone_number_written_as_a_float_is_masked_both_ways() -> None:
    """A phone number a spreadsheet exported as a float (13812340108.0) was proven plain by
    the bulk path and written back as it came; it takes the per-row path, as an integer
    does, and is masked there."""
    lines = [
        compact({"sensor_id": AQ, "ts": TS, "pm25": -2.0, "pm10": 13812340108.0}),
        f'{{"sensor_id":"{AQ}","ts":"{TS}","pm25":-1.0,"pm10":13812340109.0}}'.encode(),
    ]
    pairs = both_ways([chunk_of_lines("in.ndjson", lines)], warm_up_lines())
    assert_same(pairs)
    (_, letters), _ = pairs[0]
    text = json.dumps([d.record + d.detail for d in letters.letters])
    assert len(letters) == 2 and "1381234010" not in text


def test_plain_lines_are_not_parsed_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """The point of the bulk path: a refused line written as JSON writes its cells (compact
    or with spaces, integers or floats) is not parsed and masked again; one written otherwise
    (a trailing zero) still is."""
    parsed: list[str] = []
    real = sensors_module.mask_raw_json

    def counting(raw: str, redact_broken: bool = False) -> str:
        parsed.append(raw)
        return real(raw, redact_broken)

    monkeypatch.setattr(sensors_module, "mask_raw_json", counting)
    plain = [
        compact({"sensor_id": AQ, "ts": TS, "pm25": -37.9}),
        spaced({"sensor_id": AQ, "ts": TS, "pm25": 1.0, "pm10": -3.0}),
        f'{{"sensor_id":"{AQ2}","ts":"{TS}","metric":"pm10","value":-50}}'.encode(),
        compact({"sensor_id": "AQ-999999-000001", "ts": TS, "pm25": 5.0}),
    ]
    other = f'{{"sensor_id":"{AQ}","ts":"{TS}","pm25":-12.50}}'.encode()
    _, letters = SensorDecoder(REGISTRY).decode(chunk_of_lines("in.ndjson", [*plain, other]))
    assert len(letters) == 5
    assert parsed == [other.decode()]


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(lines=sensor_lines(), extra=st.lists(st.sampled_from(MIXED), max_size=20))
def test_fuzzed_lines_give_the_letters_of_the_per_row_path(lines: list, extra: list) -> None:
    data = [line.data for line in lines] + extra
    assert_same(both_ways([chunk_of_lines("fuzz.ndjson", data, first_line=101)], warm_up_lines()))


# ------------------------------------------------------------------ the shortcuts of masking
_TEXT = st.text(
    st.sampled_from([*"0123456789" * 4, *" -./()+@xXEGtelcaphon:'，", "\u3000", "１"]),
    max_size=40,
)


@settings(max_examples=3000, deadline=None)
@given(text=_TEXT)
def test_nothing_to_mask_is_never_wrong(text: str) -> None:
    if nothing_to_mask(text):
        assert mask_text(text) == text


_ID_TEXT = st.text(st.sampled_from(list("0123456789" * 6 + " -./)AEGtel:card")), max_size=30)


@settings(max_examples=5000, deadline=None)
@given(text=_ID_TEXT)
def test_unmaskable_ids_are_never_masked(text: str) -> None:
    for prefix in ("", "tel ", "AQ-"):
        if unmaskable_ids(np.array([prefix + text], dtype="S"))[0]:
            assert mask_text(prefix + text) == prefix + text


@settings(max_examples=300, deadline=None)
@given(secret=secrets)
def test_no_shortcut_clears_a_secret(secret: str) -> None:
    assert not nothing_to_mask(secret)
    if secret.isascii():
        assert not unmaskable_ids(np.array([secret, f"AQ-{secret}"], dtype="S")).any()


@pytest.mark.parametrize(
    "text",
    [
        "my name is John Smith",
        "wechat: abc_def1",
        "QQ 246813579",
        "call Mr. Reginald",
        "Resident Jane Doe",
        "This is Peter Parker calling",
    ],
)
def test_no_shortcut_clears_a_cued_name_or_handle(text: str) -> None:
    """Names and handles are masked after their cue words, in plain ASCII without six digits:
    neither shortcut may clear them."""
    assert mask_text(text) != text
    assert not nothing_to_mask(text)
    assert not unmaskable_ids(np.array([text.replace(" ", "")], dtype="S")).any() or (
        mask_text(text.replace(" ", "")) == text.replace(" ", "")
    )
    assert not unmaskable_ids(np.array(["QQ12345", "WX310105000002"], dtype="S")).any()


def test_registered_ids_are_cleared_by_their_layout() -> None:
    """The shipped registry's ids are all cleared at once, and mask_text agrees."""
    registry: SensorRegistry = REGISTRY
    ids = registry.ids()
    assert unmaskable_ids(np.array(ids, dtype="S")).all()
    assert all(mask_text(i) == i for i in ids[:500])
