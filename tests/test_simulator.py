"""The city simulator: formats, determinism, damaged lines, and incidents visible in the data."""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from flows.city import City, SensorRegistry, load_city, load_default_registry, load_default_venues
from flows.simulator import (
    DEFAULT_INCIDENTS,
    FILES,
    Incident,
    SimulationOptions,
    SimulationResult,
    people,
    sample_registry,
    simulate,
    write_demo_inputs,
    write_test_scenario,
)
from flows.simulator.citizens import HOTLINE_MIX, PHOTO_MIX, TEMPLATES, templates
from flows.simulator.clock import SHANGHAI, iso_one, local_hour, to_ms, weekday
from indicators.language.registry import hotline_categories, kinds

START = dt.datetime(2026, 3, 2, tzinfo=SHANGHAI)
HOUR_MS = 3_600_000


class MalformedError(ValueError):
    pass


def _no_constants(token: str) -> Any:
    raise MalformedError(f"bare {token}")


REQUIRED = {
    "sensors": ("sensor_id", "ts"),
    "hotline": ("service_request_id", "requested_datetime"),
    "photo_reports": ("report_id", "ts"),
    "checkpoints": ("venue", "ts"),
}
ZONED = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$")


def strict_parse(family: str, line: str) -> dict[str, Any]:
    """What a strict decoder accepts: JSON without NaN, the required fields, a zoned time."""
    try:
        record = json.loads(line, parse_constant=_no_constants)
    except json.JSONDecodeError as exc:
        raise MalformedError("bad json") from exc
    if not isinstance(record, dict) or any(k not in record for k in REQUIRED[family]):
        raise MalformedError("missing field")
    time_field = REQUIRED[family][1]
    if not isinstance(record[time_field], str) or not ZONED.match(record[time_field]):
        raise MalformedError("no zone")
    return record


@dataclass
class Parsed:
    good: dict[str, list[dict[str, Any]]]
    bad_lines: dict[str, list[int]]


def parse_all(result: SimulationResult) -> Parsed:
    good: dict[str, list[dict[str, Any]]] = {}
    bad: dict[str, list[int]] = {}
    for family, path in result.files.items():
        good[family], bad[family] = [], []
        for n, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
            try:
                good[family].append(strict_parse(family, line))
            except MalformedError:
                bad[family].append(n)
    return Parsed(good, bad)


def ms(iso: str) -> int:
    return to_ms(dt.datetime.fromisoformat(iso))


@pytest.fixture(scope="module")
def city() -> City:
    return load_city()


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> SimulationResult:
    return write_test_scenario(tmp_path_factory.mktemp("scenario"))


@pytest.fixture(scope="module")
def parsed(scenario: SimulationResult) -> Parsed:
    return parse_all(scenario)


def incident(scenario: SimulationResult, kind: str) -> dict[str, Any]:
    return next(i for i in scenario.incidents if i["kind"] == kind)


def readings(parsed: Parsed, sensors: set[str], field: str) -> Iterator[tuple[int, float]]:
    for r in parsed.good["sensors"]:
        if r["sensor_id"] in sensors and field in r:
            yield ms(r["ts"]), float(r[field])


def mean_in(pairs: list[tuple[int, float]], lo: int, hi: int) -> float:
    values = [v for t, v in pairs if lo <= t < hi]
    assert values, "no readings in the window"
    return float(np.mean(values))


# ------------------------------------------------------------------ formats


def test_all_files_and_manifest_are_written(scenario: SimulationResult) -> None:
    assert {p.name for p in scenario.out_dir.iterdir()} == {*FILES.values(), "manifest.json"}
    manifest = json.loads(scenario.manifest.read_text("utf-8"))
    assert manifest["files"]["sensors"]["lines"] == scenario.lines["sensors"]
    assert [i["kind"] for i in manifest["incidents"]] == [i.kind for i in DEFAULT_INCIDENTS]
    for family, count in scenario.lines.items():
        assert count > 100, family


def test_sensor_records_follow_the_registry_and_the_kinds(parsed: Parsed) -> None:
    registry = load_default_registry()
    spec = kinds()
    records = parsed.good["sensors"]
    rows = registry.lookup([r["sensor_id"] for r in records])
    assert np.all(rows >= 0)
    kind_names = np.array(registry.kinds)[registry.kind[rows]].tolist()
    for r, kind in zip(records, kind_names, strict=True):
        fields = set(r) - {"sensor_id", "ts"}
        assert fields and fields <= set(spec[kind].fields), (kind, fields)
        for f in fields:
            ftype = spec[kind].fields[f].type
            if ftype == "boolean":
                assert isinstance(r[f], bool)
            elif ftype == "string":
                assert isinstance(r[f], str)
            else:
                assert isinstance(r[f], int | float) and math.isfinite(r[f])
    assert len(set(kind_names)) == len(registry.kinds)  # every kind reports


def test_sensor_lines_are_in_time_order(parsed: Parsed) -> None:
    times = [ms(r["ts"]) for r in parsed.good["sensors"]]
    assert times == sorted(times)


def test_readings_go_missing_at_about_the_configured_rate(
    scenario: SimulationResult, parsed: Parsed
) -> None:
    manifest = json.loads(scenario.manifest.read_text("utf-8"))
    steps = (manifest["end_ms"] - manifest["start_ms"]) // (manifest["step_seconds"] * 1000)
    expected = manifest["sensors"] * steps
    silent = 1 * (19 * 6)  # the silent sensor, 19 of the day's hours after 05:00
    got = scenario.lines["sensors"]
    assert 0.97 * (expected - silent) < got < 0.999 * (expected - silent)


def test_hotline_orders_are_open311_shaped(parsed: Parsed) -> None:
    categories = set(hotline_categories())
    orders = parsed.good["hotline"]
    keys = {
        "service_request_id",
        "description",
        "requested_datetime",
        "address",
        "lat",
        "long",
        "channel",
        "phone",
        "name",
    }
    synonyms = 0
    for o in orders:
        assert keys <= set(o)
        code = o.get("service_code", o.get("category"))
        synonyms += "category" in o
        assert code in categories
        assert re.fullmatch(r"1[358]\d{9}", o["phone"])
        assert 2 <= len(o["name"]) <= 3
        assert re.fullmatch(r"12345-2026-\d{6}", o["service_request_id"])
        assert o["address"].startswith("上海市")
    assert 0 < synonyms < 0.15 * len(orders)
    ids = [o["service_request_id"] for o in orders]
    assert len(set(ids)) == len(ids)


def test_some_descriptions_carry_valid_id_numbers(parsed: Parsed) -> None:
    found = [
        m for o in parsed.good["hotline"] for m in re.findall(r"\d{17}[\dX]", o["description"])
    ]
    assert len(found) > 10
    assert all(people.id_check_char(n[:17]) == n[17] for n in found)


def test_photo_reports_and_checkpoints(parsed: Parsed) -> None:
    for p in parsed.good["photo_reports"]:
        assert set(p) == {"report_id", "category", "description", "ts", "lat", "long", "has_photo"}
        assert p["has_photo"] in (0, 1) and p["category"] in hotline_categories()
    venues = load_default_venues()
    checks = parsed.good["checkpoints"]
    for c in checks:
        assert set(c) == {"checkpoint_id", "venue", "ts", "result"}  # no identity kept
        assert c["result"] in ("normal", "abnormal")
    assert np.all(venues.lookup([c["venue"] for c in checks]) >= 0)


def test_citizen_reports_are_placed_in_the_city(city: City, parsed: Parsed) -> None:
    for family in ("hotline", "photo_reports"):
        recs = parsed.good[family]
        lat = np.array([r["lat"] for r in recs], dtype=float)
        lon = np.array([r["long"] for r in recs], dtype=float)
        assert np.all(city.locate(lat, lon) >= 0)


def test_every_category_has_descriptions() -> None:
    categories = hotline_categories()
    assert set(TEMPLATES) <= set(categories)
    assert set(HOTLINE_MIX) <= set(categories) and set(PHOTO_MIX) <= set(categories)
    assert abs(sum(HOTLINE_MIX.values()) - 1) < 1e-9 and abs(sum(PHOTO_MIX.values()) - 1) < 1e-9
    for category in categories:
        texts = templates(category)
        assert texts and all("{place}" in t for t in texts), category


def test_people_are_well_formed() -> None:
    rng = np.random.default_rng(1)
    assert all(re.fullmatch(r"1[358]\d{9}", p) for p in people.mobiles(rng, 500))
    ids = people.id_numbers(rng, 500, ["310106"])
    assert all(len(i) == 18 and i.startswith("310106") for i in ids)
    assert people.id_check_char("11010519491231002") == "X"  # the GB 11643 example


def test_flat_sensor_format(tmp_path: Path, city: City) -> None:
    reg = load_default_registry().subset(np.arange(0, 6000, 200))
    result = simulate(
        city,
        reg,
        START,
        dt.timedelta(hours=2),
        dt.timedelta(minutes=30),
        1,
        (),
        out_dir=tmp_path,
        options=SimulationOptions(sensor_format="flat", malformed_fraction=0),
    )
    lines = [json.loads(x) for x in result.files["sensors"].read_text().splitlines()]
    assert lines and all(set(x) == {"sensor_id", "ts", "metric", "value"} for x in lines)
    assert {x["metric"] for x in lines} >= {"pm25", "intensity", "pressure"}


# ------------------------------------------------------------------ determinism


def _small(tmp_path: Path, seed: int, name: str) -> dict[str, bytes]:
    city = load_city()
    reg = sample_registry(city, load_default_registry(), 0.01, seed=1)
    result = simulate(
        city,
        reg,
        START,
        dt.timedelta(hours=12),
        dt.timedelta(minutes=15),
        seed,
        DEFAULT_INCIDENTS[:3],
        out_dir=tmp_path / name,
        options=SimulationOptions(
            hotline_per_day=500, photo_reports_per_day=100, checkpoints_per_day=200
        ),
    )
    return {p.name: p.read_bytes() for p in result.out_dir.iterdir()}


def test_same_seed_same_bytes_other_seed_other_data(tmp_path: Path) -> None:
    a, b, c = _small(tmp_path, 5, "a"), _small(tmp_path, 5, "b"), _small(tmp_path, 6, "c")
    assert a == b
    for name in FILES.values():
        assert a[name] != c[name], name


# ------------------------------------------------------------------ damaged lines


def test_damaged_lines_are_exactly_the_configured_fraction(
    scenario: SimulationResult, parsed: Parsed
) -> None:
    for family, n in scenario.lines.items():
        expected = math.floor(0.01 * n + 0.5)
        assert parsed.bad_lines[family] == scenario.malformed_lines[family], family
        assert len(parsed.bad_lines[family]) == expected, family
    kinds_seen = {k for by in scenario.malformed.values() for k in by}
    assert kinds_seen == {"bad_json", "missing_field", "nan", "naive_ts"}


def test_no_damage_when_the_fraction_is_zero(tmp_path: Path, city: City) -> None:
    reg = load_default_registry().subset(np.arange(0, 6000, 300))
    result = simulate(
        city,
        reg,
        START,
        dt.timedelta(hours=3),
        dt.timedelta(minutes=30),
        1,
        (),
        out_dir=tmp_path,
        options=SimulationOptions(malformed_fraction=0.0),
    )
    parsed = parse_all(result)
    assert all(not bad for bad in parsed.bad_lines.values())


# ------------------------------------------------------------------ incidents in the data


def test_default_incidents_have_sensors_to_show_them(city: City) -> None:
    registry = load_default_registry()
    reg_kinds = np.array(registry.kinds)
    start_ms = to_ms(START)
    from flows.simulator.incidents import resolve

    for inc in DEFAULT_INCIDENTS:
        r = resolve(inc, city, registry, start_ms)
        kinds_needed = {e.kind for e in inc.type.sensor_effects if e.kind != "*"}
        have = reg_kinds[registry.kind[r.sensor_rows]].tolist()
        for k in kinds_needed:
            assert have.count(k) >= 2, (inc.kind, k)


def test_water_main_burst(city: City, scenario: SimulationResult, parsed: Parsed) -> None:
    inc = incident(scenario, "water_main_burst")
    start, end = inc["start_ms"], inc["end_ms"]
    pressure = list(readings(parsed, set(inc["sensors"]), "pressure"))
    before = mean_in(pressure, start - 2 * HOUR_MS, start)
    during = mean_in(pressure, start + HOUR_MS, end - HOUR_MS // 2)
    after = mean_in(pressure, end + HOUR_MS, end + 3 * HOUR_MS)
    assert during < 0.55 * before and abs(after - before) < 0.1 * before
    # "no water" orders surge in that street, and only there
    _, street = city.find(inc["area"])
    orders = [
        o
        for o in parsed.good["hotline"]
        if o.get("service_code", o.get("category")) == "water_outage"
    ]
    where = city.community_ancestors("street")[
        city.locate([o["lat"] for o in orders], [o["long"] for o in orders])
    ]
    when = np.array([ms(o["requested_datetime"]) for o in orders])
    surge = inc["report_surges"][0]
    window = (when >= ms(surge["from"])) & (when < ms(surge["until"]))
    assert int(np.sum(window & (where == street))) >= 20
    assert int(np.sum(~window & (where == street))) <= 2


def test_flood(city: City, scenario: SimulationResult, parsed: Parsed) -> None:
    inc = incident(scenario, "flood")
    start, end = inc["start_ms"], inc["end_ms"]
    gauges = set(inc["sensors"])
    level = list(readings(parsed, gauges, "level"))
    assert mean_in(level, start - 3 * HOUR_MS, start) < 1.0
    assert mean_in(level, start + HOUR_MS, end - HOUR_MS) > 20.0
    speed = list(readings(parsed, gauges, "averageVehicleSpeed"))
    assert mean_in(speed, start + HOUR_MS, end - HOUR_MS) < 0.7 * mean_in(
        speed, start - 3 * HOUR_MS, start
    )
    _, street = city.find(inc["area"])
    for family, key in (("hotline", "service_code"), ("photo_reports", "category")):
        recs = [r for r in parsed.good[family] if r.get(key, r.get("category")) == "flooding"]
        where = city.community_ancestors("street")[
            city.locate([r["lat"] for r in recs], [r["long"] for r in recs])
        ]
        assert int(np.sum(where == street)) >= 5, family


def test_pollution_episode(scenario: SimulationResult, parsed: Parsed) -> None:
    inc = incident(scenario, "pollution")
    start = inc["start_ms"]
    stations = set(inc["sensors"])
    assert all(s[3:9] == inc["area"] for s in stations) and len(stations) >= 10
    pm25 = list(readings(parsed, stations, "pm25"))
    before = mean_in(pm25, start - 4 * HOUR_MS, start)
    peak = mean_in(pm25, start + 3 * HOUR_MS, start + 4 * HOUR_MS)
    assert peak > 2.0 * before


def test_silent_sensor(scenario: SimulationResult, parsed: Parsed) -> None:
    inc = incident(scenario, "sensor_silent")
    times = [ms(r["ts"]) for r in parsed.good["sensors"] if r["sensor_id"] == inc["area"]]
    assert sum(t < inc["start_ms"] for t in times) >= 20  # it reported before ...
    assert not [t for t in times if inc["start_ms"] <= t < inc["end_ms"]]  # ... then nothing


def test_gas_leak(scenario: SimulationResult, parsed: Parsed) -> None:
    inc = incident(scenario, "gas_leak")
    leak = list(readings(parsed, set(inc["sensors"]), "leak"))
    assert mean_in(leak, inc["start_ms"] - 2 * HOUR_MS, inc["start_ms"]) < 1.0
    assert mean_in(leak, inc["start_ms"] + HOUR_MS // 2, inc["end_ms"] - HOUR_MS // 2) > 15.0


def test_daily_rhythm(parsed: Parsed) -> None:
    """Traffic peaks in the morning rush and is quiet at night; calls come by day."""
    tf = [(ms(r["ts"]), r["intensity"]) for r in parsed.good["sensors"] if "intensity" in r]
    hours = local_hour(np.array([t for t, _ in tf]))
    values = np.array([v for _, v in tf], dtype=float)
    assert values[(hours >= 7.5) & (hours < 9)].mean() > 3 * values[hours < 4].mean()
    calls = local_hour(np.array([ms(o["requested_datetime"]) for o in parsed.good["hotline"]]))
    assert np.sum((calls >= 9) & (calls < 12)) > 4 * np.sum(calls < 3)


def test_clock_helpers() -> None:
    t = to_ms(START)
    assert iso_one(t) == "2026-03-02T00:00:00+08:00"
    assert weekday(np.array([t, t + 5 * 86_400_000])).tolist() == [0, 5]  # Monday, Saturday
    assert local_hour(np.array([t + 90 * 60_000])).tolist() == [1.5]
    with pytest.raises(ValueError, match="no time zone"):
        to_ms(dt.datetime(2026, 3, 2))


# ------------------------------------------------------------------ bad arguments


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda: Incident("flod", "310101008", dt.timedelta(0), dt.timedelta(hours=1), 30.0),
            'did you mean "flood"',
        ),
        (
            lambda: Incident("flood", "310101008", dt.timedelta(0), dt.timedelta(0), 30.0),
            "duration",
        ),
        (
            lambda: Incident("flood", "310101008", dt.timedelta(0), dt.timedelta(hours=1), 500.0),
            "magnitude",
        ),
        (lambda: SimulationOptions(malformed_fraction=0.9), "malformed_fraction"),
        (lambda: SimulationOptions(hotline_per_day=float("nan")), "hotline_per_day"),
        (lambda: SimulationOptions(sensor_format="xml"), "sensor_format"),
    ],
)
def test_bad_settings_are_refused(make: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()


@pytest.mark.parametrize(
    ("incident", "message"),
    [
        (
            Incident("flood", "310113", dt.timedelta(0), dt.timedelta(hours=1), 30.0),
            "is a district",
        ),
        (Incident("flood", "310199001", dt.timedelta(0), dt.timedelta(hours=1), 30.0), "no street"),
        (
            Incident(
                "sensor_silent", "AQ-310101-999999", dt.timedelta(0), dt.timedelta(hours=1), 1.0
            ),
            "no sensor",
        ),
    ],
)
def test_incidents_must_fit_the_city(tmp_path: Path, incident: Incident, message: str) -> None:
    city, reg = load_city(), load_default_registry()
    with pytest.raises(ValueError, match=message):
        simulate(
            city,
            reg,
            START,
            dt.timedelta(hours=1),
            dt.timedelta(minutes=10),
            1,
            [incident],
            out_dir=tmp_path,
        )


def test_naive_start_and_bad_step_are_refused(tmp_path: Path) -> None:
    city, reg = load_city(), load_default_registry()
    with pytest.raises(ValueError, match="no time zone"):
        simulate(
            city,
            reg,
            dt.datetime(2026, 3, 2),
            dt.timedelta(hours=1),
            dt.timedelta(minutes=5),
            1,
            (),
            out_dir=tmp_path,
        )
    with pytest.raises(ValueError, match="step"):
        simulate(city, reg, START, dt.timedelta(hours=1), dt.timedelta(0), 1, (), out_dir=tmp_path)


# ------------------------------------------------------------------ the demo


def test_demo_inputs_are_small_and_complete(tmp_path: Path) -> None:
    result = write_demo_inputs(tmp_path, days=1)
    total = sum(p.stat().st_size for p in result.files.values())
    assert 0.5e6 < total < 5e6
    assert len(result.incidents) == len(DEFAULT_INCIDENTS)


def test_sample_registry_keeps_every_incident_sensor(city: City) -> None:
    full = load_default_registry()
    small: SensorRegistry = sample_registry(city, full, 0.0, seed=1)
    from flows.simulator.incidents import resolve

    needed = set()
    for inc in DEFAULT_INCIDENTS:
        needed |= set(full.ids(resolve(inc, city, full, to_ms(START)).sensor_rows))
    assert set(small.ids()) == needed


def test_some_hotline_orders_are_repeated_by_another_caller_nearby(
    parsed: Parsed, city: City
) -> None:
    """About 6% of orders are called in again: the same category at the same building, within
    15 m and six hours, by another caller, so that the dispatcher's duplicate links have
    something to find (before, the scattered orders never came within 30 m of each other)."""
    from flows.city.geo import to_plane

    orders = sorted(parsed.good["hotline"], key=lambda o: ms(o["requested_datetime"]))
    by_spot: dict[tuple[str, str], list[dict[str, Any]]] = {}
    repeats = 0
    for o in orders:
        key = (o.get("service_code", o.get("category")), o["address"])
        earlier = by_spot.setdefault(key, [])
        t = ms(o["requested_datetime"])
        here = to_plane(o["lat"], o["long"])
        near = [
            e for e in earlier
            if 0 < t - ms(e["requested_datetime"]) <= 6 * HOUR_MS
            and np.hypot(*(here - to_plane(e["lat"], e["long"]))) <= 0.015
        ]  # fmt: skip
        if near:
            repeats += 1
            assert all(e["phone"] != o["phone"] for e in near)  # another caller
            # the repeat is in the community of what it repeats
            assert (
                city.locate([o["lat"]], [o["long"]])[0]
                == city.locate([near[0]["lat"]], [near[0]["long"]])[0]
            )
        earlier.append(o)
    assert 0.03 * len(orders) < repeats < 0.10 * len(orders)


def test_repeats_follow_what_they_repeat_in_time_order() -> None:
    from flows.simulator.citizens import Events, with_repeats

    ts = np.arange(0, 1000 * 60_000, 60_000, dtype=np.int64)
    events = Events(ts, [f"c{i % 7}" for i in range(ts.size)], np.arange(ts.size) % 11)
    merged, repeat_of = with_repeats(np.random.default_rng(3), events, int(ts[-1]) + 1, 0.2)
    assert np.all(np.diff(merged.ts_ms) >= 0)
    rep = np.flatnonzero(repeat_of >= 0)
    assert 100 < rep.size < 300 and merged.ts_ms.size == ts.size + rep.size
    src = repeat_of[rep]
    assert np.all(src < rep) and np.all(repeat_of[src] == -1)
    assert np.all(merged.ts_ms[rep] > merged.ts_ms[src])
    assert [merged.category[i] for i in rep] == [merged.category[i] for i in src]
    assert np.array_equal(merged.community[rep], merged.community[src])
    none, no_repeats = with_repeats(np.random.default_rng(3), events, int(ts[-1]) + 1, 0.0)
    assert np.array_equal(none.ts_ms, ts) and np.all(no_repeats == -1)
