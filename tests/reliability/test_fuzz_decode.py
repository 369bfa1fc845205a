"""Fuzzing the decoders with bad input of every kind mixed with good records (see
fuzz_inputs.py): no exception ever; every bad line a dead letter at its own position with an
allowed reason and a detail; every other line a good event or a counted duplicate; lines in ==
good + dead + duplicates.  And one short run of the real Bytewax flow over fuzzed files, where
late events join the account.  The long version: `python -m benchmarks.reliability.fuzz_long`."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings

from citysigns.run import run
from flows.city import load_city, load_default_registry
from flows.deadletters import dead_letter_lines, read_dead_letters
from flows.decode import ChannelDecoder, SensorDecoder, chunk_of_lines
from flows.flow import FlowConfig
from tests.reliability.fuzz_inputs import (
    DUP,
    GOOD,
    HOTLINE_KINDS,
    SENSOR_KINDS,
    Line,
    Tally,
    account,
    good_reading,
    hotline_lines,
    hotline_warm_up,
    sensor_lines,
    warm_up_lines,
)

SMALL = str(Path(__file__).resolve().parents[1] / "fixtures" / "catalog" / "small")
SENSOR_TALLY = Tally()
HOTLINE_TALLY = Tally()
FUZZ = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
)


def decode_after_warm_up(
    decoder: SensorDecoder | ChannelDecoder,
    warm: list[bytes],
    lines: list[Line],
    tally: Tally | None,
) -> None:
    """Warm the decoder's clock up with good records, then decode the fuzzed lines."""
    batch, letters = decoder.decode(chunk_of_lines("warm.ndjson", warm))
    assert len(batch) == len(warm) and len(letters) == 0
    chunk = chunk_of_lines("fuzz.ndjson", [ln.data for ln in lines], first_line=101)
    batch, letters = decoder.decode(chunk)
    account(lines, batch, letters, 101, tally)


def decode_sensor_lines(lines: list[Line], tally: Tally | None = None) -> None:
    decode_after_warm_up(SensorDecoder(load_default_registry()), warm_up_lines(), lines, tally)


def decode_hotline_lines(lines: list[Line], tally: Tally | None = None) -> None:
    decoder = ChannelDecoder("hotline", locate=load_city().locate)
    decode_after_warm_up(decoder, hotline_warm_up(), lines, tally)


@FUZZ
@given(lines=sensor_lines())
def test_sensor_decoder_accounts_for_every_line(lines: list[Line]) -> None:
    decode_sensor_lines(lines, SENSOR_TALLY)


@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
@given(lines=sensor_lines(kinds=sorted(set(SENSOR_KINDS), key=lambda k: k != "good")))
def test_every_kind_of_sensor_line_at_least_once(lines: list[Line]) -> None:
    """Random mixes may miss a rare kind (a duplicate needs a good line before it): this one
    has every kind, good lines first, so each is tried in every run."""
    assert {ln.kind for ln in lines} == set(SENSOR_KINDS)
    decode_sensor_lines(lines, SENSOR_TALLY)


@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
@given(lines=hotline_lines(kinds=sorted(set(HOTLINE_KINDS), key=lambda k: k != "good")))
def test_every_kind_of_hotline_line_at_least_once(lines: list[Line]) -> None:
    assert {ln.kind for ln in lines} == set(HOTLINE_KINDS)
    decode_hotline_lines(lines, HOTLINE_TALLY)


@FUZZ
@given(lines=hotline_lines())
def test_hotline_decoder_accounts_for_every_line(lines: list[Line]) -> None:
    decode_hotline_lines(lines, HOTLINE_TALLY)


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(lines=sensor_lines(max_size=20))
def test_dead_letter_file_holds_every_reason(
    tmp_path_factory: pytest.TempPathFactory, lines: list[Line]
) -> None:
    """What the sink writes is what the decoder rejected: one JSON line each, with reason,
    detail and position, and valid UTF-8 even when the input was not."""
    decoder = SensorDecoder(load_default_registry())
    decoder.decode(chunk_of_lines("warm.ndjson", warm_up_lines()))
    _batch, letters = decoder.decode(chunk_of_lines("f.ndjson", [ln.data for ln in lines]))
    path = tmp_path_factory.mktemp("dl") / "dead_letters.ndjson"
    path.write_text("".join(line + "\n" for line in dead_letter_lines(letters.letters)), "utf-8")
    written = read_dead_letters(path)
    assert [(w["position"], w["reason"]) for w in written] == [
        (d.position, d.reason.value) for d in letters.letters
    ]
    assert all(w["detail"] and w["source"] == "f.ndjson" for w in written)


def test_tallies_were_reported() -> None:
    """The counts tried (printed with -s): every kind of bad line was generated."""
    if SENSOR_TALLY.examples == 0 or HOTLINE_TALLY.examples == 0:
        pytest.skip("the fuzz tests did not run before this one")
    print(f"sensor fuzz: {SENSOR_TALLY.to_dict()}")
    print(f"hotline fuzz: {HOTLINE_TALLY.to_dict()}")
    assert len(SENSOR_TALLY.kinds) >= 18 and len(HOTLINE_TALLY.kinds) >= 13
    assert SENSOR_TALLY.outcomes[GOOD] > 0 and SENSOR_TALLY.outcomes[DUP] > 0
    assert sum(n for r, n in SENSOR_TALLY.outcomes.items() if r not in (GOOD, DUP)) > 100


# ---------------------------------------------------------------------- through the flow
def _flow_inputs(
    tmp_path: Path, s_fuzz: list[Line], h_fuzz: list[Line]
) -> tuple[Path, Path, list[bytes]]:
    """Six hours of good readings from 50 sensors every 10 minutes, then the fuzzed block,
    then readings of the first hour again (late: their windows have closed).  Hotline orders
    every 10 minutes over the same hours (they carry the watermark along), then fuzzed ones."""
    base = [
        good_reading(i, 20.0 + m % 7, shift=timedelta(minutes=10 * m, seconds=30))
        for m in range(36)
        for i in range(50)
    ]
    late = [good_reading(i, 30.0, shift=timedelta(seconds=45)) for i in range(50)]
    out_s = [json.dumps(r).encode() for r in base]
    out_s += [ln.data for ln in s_fuzz]
    out_s += [json.dumps(r).encode() for r in late]
    sensors = tmp_path / "sensors.ndjson"
    sensors.write_bytes(b"\n".join(out_s) + b"\n")
    hotline = tmp_path / "hotline.ndjson"
    out_h = hotline_warm_up(40, step_s=600) + [ln.data for ln in h_fuzz]
    hotline.write_bytes(b"\n".join(out_h) + b"\n")
    return sensors, hotline, out_s


@settings(
    max_examples=2,
    deadline=None,
    phases=[Phase.generate],
    database=None,
    suppress_health_check=list(HealthCheck),
)
@given(
    s_fuzz=sensor_lines(min_size=30, max_size=40, first_slot=50 * 370),
    h_fuzz=hotline_lines(min_size=20, max_size=30),
)
def test_flow_accounts_for_every_line(
    tmp_path_factory: pytest.TempPathFactory, s_fuzz: list[Line], h_fuzz: list[Line]
) -> None:
    """The real Bytewax flow (`citysigns run` with the small catalog) over fuzzed files: no
    crash; sensor lines in == events in the city-level PM2.5 windows + dead letters + late
    events + duplicates; every bad hotline line a dead letter."""
    tmp = tmp_path_factory.mktemp("flow")
    sensors, hotline, out_s = _flow_inputs(tmp, s_fuzz, h_fuzz)
    cfg = FlowConfig(
        (str(sensors), str(hotline)), str(tmp / "out"), catalog=(SMALL,), chunk_bytes=4096
    )
    run(cfg)
    windows = [json.loads(x) for x in (tmp / "out" / "windows.ndjson").read_text().splitlines()]
    in_windows = sum(
        w["count"] for w in windows if w["indicator"] == "test.pm25" and w["area_level"] == "city"
    )
    letters = read_dead_letters(tmp / "out" / "dead_letters.ndjson")
    late_letters = [
        json.loads(d["record"])
        for d in letters
        if d["reason"] == "late" and json.loads(d["record"])["indicator"] == "test.pm25"
    ]
    late = len(late_letters)  # one letter per late event, holding the event
    assert all(
        e["area"] and e["ts"].endswith("+08:00") and e["value"] is not None for e in late_letters
    )
    dead_s = [d for d in letters if d["reason"] != "late" and "sensors" in d["source"]]
    dead_h = [d for d in letters if d["reason"] != "late" and "hotline" in d["source"]]
    dup_s = sum(1 for ln in s_fuzz if ln.kind == "duplicate")
    assert late >= 50  # the late block at least; out-of-order fuzz lines may add to it
    assert len(out_s) == in_windows + len(dead_s) + late + dup_s
    must_die = [ln for ln in h_fuzz if not ln.allowed & {GOOD, DUP}]
    assert len(dead_h) == len(must_die)
    first_fuzz = 36 * 50 + 1
    for d in dead_s:
        assert d["detail"] and d["position"] >= first_fuzz  # only fuzzed lines die
        line = s_fuzz[d["position"] - first_fuzz]
        assert d["reason"] in line.allowed, (line.kind, d)


def test_lone_surrogates_are_dead_letters_not_a_crash(tmp_path: Path) -> None:
    """JSON may escape half of a UTF-16 pair; json.loads accepts it and no UTF-8 writer does.
    The flow used to stop at its file sink on the first such record (sensor or hotline).  Now
    each is a dead letter whose record reads back as the line it came from, a whole pair
    (an emoji) is still text, and the flow goes on to the records after them.  A NUL is refused
    too: numpy's strings drop trailing NULs, and "AQ-...\\u0000" passed for the sensor AQ-..."""
    good = good_reading(0)
    sensors = tmp_path / "sensors.ndjson"
    sensor_lines_in = [
        json.dumps({**good, "note": "\ud800"}),
        json.dumps({**good, "sensor_id": "AQ-\udfff"}),
        json.dumps({**good, "sensor_id": str(good["sensor_id"]) + "\x00"}),
        json.dumps(good),
    ]
    sensors.write_text("\n".join(sensor_lines_in) + "\n")
    hotline = tmp_path / "hotline.ndjson"
    orders = hotline_warm_up(3)
    lone = json.loads(orders[0])
    lone.update(service_request_id="lone", description="漏水\ud83d")
    pair = json.loads(orders[1])
    pair.update(service_request_id="pair", description="漏水\ud83d\ude00")
    hotline.write_bytes(b"\n".join([json.dumps(lone).encode(), json.dumps(pair).encode()]) + b"\n")
    out = tmp_path / "out"
    run(FlowConfig((str(sensors), str(hotline)), str(out), catalog=(SMALL,)))
    letters = read_dead_letters(out / "dead_letters.ndjson")
    by_source = {(Path(d["source"]).name, d["position"]): d for d in letters}
    assert by_source[("sensors.ndjson", 1)]["reason"] == "bad_json"
    assert json.loads(by_source[("sensors.ndjson", 1)]["record"])["note"] == "\ud800"
    assert "surrogate" in by_source[("sensors.ndjson", 2)]["detail"]
    assert "NUL" in by_source[("sensors.ndjson", 3)]["detail"]
    assert ("sensors.ndjson", 4) not in by_source
    assert by_source[("hotline.ndjson", 1)]["reason"] == "bad_json"
    assert "surrogate" in by_source[("hotline.ndjson", 1)]["detail"]
    order_ids = [json.loads(x)["service_request_id"] for x in (out / "orders.ndjson").open()]
    assert order_ids == ["pair"]
    (written,) = [json.loads(x) for x in (out / "orders.ndjson").open()]
    assert written["description"] == "漏水\U0001f600"
