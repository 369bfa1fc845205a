"""A release changes the catalog between a recovery snapshot and the restart: the flow
resumes without crashing, drops what no longer fits and says so."""

from __future__ import annotations

import dataclasses
import json
import pickle
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

import numpy as np
from bytewax.operators import StatefulBatchLogic

from alerts.clock import ManualClock
from alerts.routing import Router, load_routing
from alerts.service import TicketService
from alerts.store import TicketStore
from citysigns.run import run
from flows import instrument
from flows.city import SensorRegistry, load_city, load_default_registry, load_registry
from flows.flow import FlowConfig, IndicatorLogic, IndicatorOutput, Share
from flows.metrics import CitySignsMetrics
from flows.plan import AreaSpace, IndicatorPlan, Routed, compile_plan
from flows.scoring import IndicatorScorer
from indicators.detectors import build
from indicators.language.detection import DetectorConfig
from indicators.language.validate import load_catalog_or_raise

SMALL = Path(__file__).resolve().parents[1] / "fixtures" / "catalog" / "small"
START_MS = 1_699_999_200_000  # on the hour


def changed_catalog(tmp_path: Path, window: str = "1h") -> Path:
    """SMALL without test.no2_p95, with other detectors for test.pm25 (and its window)."""
    text = (SMALL / "air.yaml").read_text("utf-8")
    text = text[: text.index("  - id: test.no2_p95")]
    text = text.replace(
        "        - {type: ewma, halflife: 24}\n",
        "        - {type: ewma, halflife: 48}\n        - {type: cusum}\n",
    ).replace("length: 1h, lateness", f"length: {window}, lateness")
    out = tmp_path / f"catalog_{window}"
    out.mkdir()
    (out / "air.yaml").write_text(text, "utf-8")
    return out


def pm25_windows(out: Path) -> list[str]:
    lines = (out / "windows.ndjson").read_text("utf-8").splitlines()
    return sorted(line for line in lines if json.loads(line)["indicator"] == "test.pm25")


def committed_epoch(recovery: Path) -> int:
    """The highest epoch a recovery partition of `recovery` committed (0: none yet)."""
    best = 0
    for part in recovery.glob("part-*.sqlite3"):
        try:
            with closing(sqlite3.connect(f"file:{part}?mode=ro", uri=True)) as db:
                row = db.execute("select max(commit_epoch) from commits").fetchone()
        except sqlite3.Error:
            continue  # being created or written: look again
        best = max(best, int(row[0] or 0))
    return best


def wait_for_snapshot(
    recovery: Path, out: Path, proc: subprocess.Popen, timeout: float = 120.0
) -> None:
    """Until the run has closed windows (its indicators hold state) and committed an epoch
    after that, so the snapshot holds that state."""
    deadline = time.monotonic() + timeout
    windows, seen = out / "windows.ndjson", None
    while time.monotonic() < deadline and proc.poll() is None:
        if seen is None and windows.exists() and windows.stat().st_size > 0:
            seen = committed_epoch(recovery)
        if seen is not None and committed_epoch(recovery) > seen:
            return
        time.sleep(0.05)
    raise AssertionError(f"no snapshot of a working flow in {recovery} within {timeout:.0f} s")


def killed_then_resumed(
    inputs: Path, out: Path, catalog: Path, registry: Path | None = None
) -> subprocess.CompletedProcess:
    """Run SMALL until killed mid-stream, then resume the same recovery under `catalog` (and
    the sensor `registry`, if given)."""
    recovery = out.parent / (out.name + "_recovery")
    cmd = [
        sys.executable, "-m", "citysigns.cli", "run", "-i", str(inputs), "-o", str(out),
        "--recovery", str(recovery), "--snapshot-every", "0.2", "--chunk-bytes", "20000",
        "--speed", "200000",
    ]  # fmt: skip
    first = subprocess.Popen([*cmd, "--catalog", str(SMALL)], stdout=subprocess.DEVNULL)
    try:  # killed once it has committed a snapshot (a fixed delay failed on a busy machine)
        wait_for_snapshot(recovery, out, first)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    assert first.returncode == -signal.SIGKILL, "the first run ended before it was killed"
    again = [*cmd, "--catalog", str(catalog)]
    if registry is not None:
        again += ["--registry", str(registry)]
    return subprocess.run(again, capture_output=True, text=True, timeout=300)


def test_removed_indicator_and_changed_detectors(beijing_week: Path, tmp_path: Path) -> None:
    catalog = changed_catalog(tmp_path)
    reference = tmp_path / "reference"
    run(FlowConfig((str(beijing_week),), str(reference), catalog=(str(catalog),)), workers=1)
    out = tmp_path / "resumed"
    resumed = killed_then_resumed(beijing_week, out, catalog)
    assert resumed.returncode == 0, resumed.stderr
    assert "'test.no2_p95' is no longer in the catalog" in resumed.stderr
    assert "'test.pm25': its detectors changed" in resumed.stderr
    # the windows do not depend on the detectors: none lost or repeated across the change
    assert pm25_windows(out) == pm25_windows(reference)


def test_changed_windows_start_afresh(beijing_week: Path, tmp_path: Path) -> None:
    out = tmp_path / "resumed"
    resumed = killed_then_resumed(beijing_week, out, changed_catalog(tmp_path, window="2h"))
    assert resumed.returncode == 0, resumed.stderr
    assert "'test.pm25': its windows, aggregate or area levels changed" in resumed.stderr
    # the resumed run's windows are two hours long
    windows = [json.loads(line) for line in pm25_windows(out)]
    last = max(windows, key=lambda w: datetime.fromisoformat(w["end"]))
    span = datetime.fromisoformat(last["end"]) - datetime.fromisoformat(last["start"])
    assert span.total_seconds() == 7200


def test_each_reset_is_counted_for_the_operator() -> None:
    """The three cases, resumed in-process from hand-altered snapshots, each add one to
    citysigns_recovery_resets_total."""
    catalog = load_catalog_or_raise([SMALL])
    plans = compile_plan(catalog, load_city(), load_default_registry()).by_id()
    metrics = CitySignsMetrics.for_catalog(catalog)
    instrument.install(metrics)
    try:
        fresh = IndicatorLogic(plans, 1, None)
        fresh._start("test.pm25", None)
        snap = fresh.snapshot()
        IndicatorLogic(plans, 1, {**snap, "indicator": "test.gone"})
        IndicatorLogic(plans, 1, {**snap, "geometry": "another window"})
        IndicatorLogic(plans, 1, {**snap, "scorer": [{}]})  # one detector's state, not two
        IndicatorLogic(plans, 1, snap)  # unchanged: nothing to count
    finally:
        instrument.install(None)
    assert metrics.snapshot().resets == {
        ("test.gone", "removed"): 1,
        ("test.pm25", "geometry"): 1,
        ("test.pm25", "detectors"): 1,
    }


def grown_registry(tmp_path: Path, drop: str | None = None) -> Path:
    """The shipped registry as a deployment's CSV, with two new air stations whose ids sort
    first (so every sensor after them is renumbered) and without `drop`."""
    city = load_city()
    lines = load_default_registry().to_csv_text(city).splitlines()
    community = lines[1].split(",")[2]
    new = [f"AQ-310100-00000{i},air_quality,{community},31.23,121.47" for i in (1, 2)]
    kept = [line for line in lines[1:] if drop is None or not line.startswith(drop + ",")]
    path = tmp_path / "registry.csv"
    path.write_text("\n".join([lines[0], *new, *kept]) + "\n", "utf-8")
    return path


def hourly_shares(
    registry: SensorRegistry, plan: IndicatorPlan, ids: list[str], hours: range
) -> list[Share]:
    """One share per hour for test.pm25 under `plan`: a reading of each sensor, with a daily
    cycle and a wobble of its own (a function of the hour and the sensor, so any run sees the
    same readings)."""
    assert plan.sensor_area is not None
    rows = plan.sensor_area[registry.lookup(ids)]
    assert (rows >= 0).all()
    own = np.array([int(i[-6:]) for i in ids], dtype=np.float64)
    shares = []
    for h in hours:
        ts = np.full(len(ids), START_MS + h * 3_600_000 + 60_000, dtype=np.int64)
        value = 40 + 15 * np.sin(2 * np.pi * h / 24) + 3 * np.sin(2.3 * h + 0.7 * own)
        shares.append(Share("test.pm25", "p0", Routed(rows, ts, value), int(ts.max())))
    return shares


def fed(logic: IndicatorLogic, shares: list[Share]) -> list[IndicatorOutput]:
    """What the logic emits for these shares, one after another."""
    return [out for share in shares for out in logic.on_batch([share])[0]]


def resumed_and_fed(
    plans: dict[str, IndicatorPlan], snap: dict[str, object], shares: list[Share]
) -> tuple[list[IndicatorOutput], dict[tuple[str, str], int]]:
    """Resume from a (pickled and read back) snapshot under `plans` and feed `shares`: what
    the logic emitted, and the resets it counted for the operator."""
    metrics = CitySignsMetrics.for_catalog(load_catalog_or_raise([SMALL]))
    instrument.install(metrics)
    try:
        resumed = IndicatorLogic(plans, 1, pickle.loads(pickle.dumps(snap)))
        return fed(resumed, shares), metrics.snapshot().resets
    finally:
        instrument.install(None)


def continued(
    whole: list[IndicatorOutput],
    head: list[IndicatorOutput],
    tail: list[IndicatorOutput],
    ids: list[str],
) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """The sensor-level lines of `ids` that an uninterrupted run emitted after `head`, and
    those the resumed run emitted."""
    return sensor_lines(whole, ids)[len(sensor_lines(head, ids)) :], sensor_lines(tail, ids)


def sensor_lines(outputs: list[IndicatorOutput], ids: list[str]) -> list[dict[str, object]]:
    rows = [json.loads(line) for out in outputs for line in out.scored_lines]
    return [r for r in rows if r["area_level"] == "sensor" and r["area"] in ids]


class OneRemoved(NamedTuple):
    """Three air stations; a registry without the second (and with two new ones)."""

    ids: list[str]
    before: SensorRegistry
    after: SensorRegistry
    plans_before: dict[str, IndicatorPlan]
    plans_after: dict[str, IndicatorPlan]


def second_station_removed(tmp_path: Path) -> OneRemoved:
    city, before = load_city(), load_default_registry()
    ids = before.ids(before.kind_rows("air_quality")[:3])
    after = load_registry(grown_registry(tmp_path, drop=ids[1]), city)
    catalog = load_catalog_or_raise([SMALL])
    return OneRemoved(
        ids, before, after,
        compile_plan(catalog, city, before).by_id(), compile_plan(catalog, city, after).by_id(),
    )  # fmt: skip


def test_sensors_added_and_removed_keep_the_others_state(tmp_path: Path) -> None:
    """The registry changed between the snapshot and the restart: two sensors added (every
    sensor renumbered) and one removed.  The others' windows, scores and bands go on exactly
    as in an uninterrupted run; the removal is counted for the operator."""
    ids, before, after, plans_before, plans_after = second_station_removed(tmp_path)
    stay = [ids[0], ids[2]]

    straight = IndicatorLogic(plans_before, 1, None)
    whole = fed(straight, hourly_shares(before, plans_before["test.pm25"], ids, range(120)))
    first = IndicatorLogic(plans_before, 1, None)
    head = fed(first, hourly_shares(before, plans_before["test.pm25"], ids, range(60)))
    shares = hourly_shares(after, plans_after["test.pm25"], stay, range(60, 120))
    tail, resets = resumed_and_fed(plans_after, first.snapshot(), shares)
    expected, got = continued(whole, head, tail, stay)
    assert len(got) == len(expected) > 100
    assert got == expected
    assert resets == {("test.pm25", "areas"): 1}


def test_a_grown_registry_resumes_every_sensor(beijing_week: Path, tmp_path: Path) -> None:
    """The real flow, killed, then resumed with two sensors added to its registry (renumbering
    all the others): no sensor starts afresh, and test.pm25's windows equal an uninterrupted
    run's under the grown registry."""
    registry = grown_registry(tmp_path)
    reference = tmp_path / "reference"
    cfg = FlowConfig((str(beijing_week),), str(reference), catalog=(str(SMALL),),
                     registry=str(registry))  # fmt: skip
    run(cfg, workers=1)
    out = tmp_path / "resumed"
    resumed = killed_then_resumed(beijing_week, out, SMALL, registry)
    assert resumed.returncode == 0, resumed.stderr
    assert "starts afresh" not in resumed.stderr
    # logged for the operator at the default level (info)
    assert "'test.pm25': its areas changed since the recovery snapshot (sensor: 2 added)" in (
        resumed.stderr
    )
    # and an indicator whose areas stayed says so too (it said nothing)
    assert "'test.no2_p95': resumed from the recovery snapshot" in resumed.stderr
    assert pm25_windows(out) == pm25_windows(reference)


def registry_row_layout(plan: IndicatorPlan, registry: SensorRegistry) -> IndicatorPlan:
    """test.pm25 as earlier versions compiled it: every sensor of the registry, of any kind,
    was one of its areas, numbered by registry row."""
    city = load_city()
    spaces = {"sensor": AreaSpace("sensor", np.array(registry.ids(), dtype=object), None)}
    for lvl in plan.levels[1:]:
        spaces[lvl] = AreaSpace(lvl, plan.spaces[lvl].codes, registry.area(city, lvl))
    return dataclasses.replace(plan, spaces=spaces, sensor_area=np.arange(len(registry)))


def numbered_by_row(scorer: object, configs: list[DetectorConfig]) -> list[dict[str, object]]:
    """A scorer snapshot as earlier versions wrote it: the detectors' states alone, their
    series numbered by level offset + area index (not densely, in order of first report)."""
    assert isinstance(scorer, dict)
    out = []
    for config, state in zip(configs, scorer["detectors"], strict=True):
        det = build(config)
        det.restore(state)
        det.remap(scorer["series_of"])  # series g continues the dense series of area g
        out.append(det.snapshot())
    return out


def test_a_snapshot_of_an_earlier_version_resumes_under_the_kind_layout() -> None:
    """Earlier versions numbered a sensor-level indicator's areas by registry row and did not
    record them: such a snapshot resumes (renumbered to the sensors of the indicator's kind)
    instead of starting afresh, and the windows, scores and bands go on as without a restart."""
    registry = load_default_registry()
    plans = compile_plan(load_catalog_or_raise([SMALL]), load_city(), registry).by_id()
    plan = plans["test.pm25"]
    old = {"test.pm25": registry_row_layout(plan, registry)}
    assert plan.spaces["sensor"].codes.size < len(registry)  # air stations only
    ids = registry.ids(registry.kind_rows("air_quality")[[0, 5, 9]])
    straight = IndicatorLogic(plans, 1, None)
    whole = fed(straight, hourly_shares(registry, plan, ids, range(120)))
    first = IndicatorLogic(old, 1, None)
    head = fed(first, hourly_shares(registry, old["test.pm25"], ids, range(60)))
    snap = first.snapshot()
    del snap["areas"]  # as earlier versions wrote it, detectors numbering series by row
    snap["scorer"] = numbered_by_row(snap["scorer"], IndicatorScorer(old["test.pm25"]).configs)
    tail, resets = resumed_and_fed(plans, snap, hourly_shares(registry, plan, ids, range(60, 120)))
    expected, got = continued(whole, head, tail, ids)
    assert len(got) == len(expected) > 150
    assert got == expected
    assert resets == {}


def with_red_sensor(shares: list[Share], sensor: int, hours: range) -> list[Share]:
    """The shares with sensor `sensor` (its position in each share) reading 300 in `hours`:
    red at once (test.pm25's red is 250, for 0s)."""
    out = []
    for share in shares:
        hour = int((share.routed.ts[0] - START_MS) // 3_600_000)
        value = share.routed.value
        if hour in hours and value is not None:
            value = value.copy()
            value[sensor] = 300.0
        out.append(
            dataclasses.replace(share, routed=Routed(share.routed.area, share.routed.ts, value))
        )
    return out


def firing_at_end(outputs: list[IndicatorOutput]) -> dict[str, str]:
    """warning id -> area code of the warnings still firing after these outputs."""
    firing: dict[str, str] = {}
    for e in (e for out in outputs for e in out.warnings):
        if e.kind == "resolved":
            firing.pop(e.warning_id, None)
        else:
            firing[e.warning_id] = e.area_code
    return firing


def test_a_removed_sensor_s_firing_warning_is_withdrawn(tmp_path: Path) -> None:
    """A sensor removed from the registry while its warning fires: the resumed flow ends that
    warning with a resolved event saying why (kept across a second restart until it is out),
    so its ticket is not reopened for ever at the end of each verification; the other
    sensors' warnings are untouched.  A changed window, or the indicator's removal from the
    catalog, withdraws every firing warning."""
    ids, before, after, plans_before, plans_after = second_station_removed(tmp_path)
    first = IndicatorLogic(plans_before, 1, None)
    head_shares = hourly_shares(before, plans_before["test.pm25"], ids, range(60))
    head = fed(first, with_red_sensor(head_shares, 1, range(50, 60)))
    firing = firing_at_end(head)
    assert ids[1] in firing.values()
    (gone_id,) = [w for w, area in firing.items() if area == ids[1]]

    # resumed under the registry without the sensor, snapshotted before any input, resumed again
    once = IndicatorLogic(plans_after, 1, pickle.loads(pickle.dumps(first.snapshot())))
    shares = hourly_shares(after, plans_after["test.pm25"], [ids[0], ids[2]], range(60, 64))
    tail, _resets = resumed_and_fed(plans_after, once.snapshot(), shares)
    withdrawn = [e for out in tail for e in out.warnings if e.warning_id == gone_id]
    assert [e.kind for e in withdrawn] == ["resolved"]
    (ev,) = withdrawn
    assert tail[0].warnings[0] == ev  # out with the first output after the restart
    assert "no longer in the sensor registry" in ev.text_en and "撤销" in ev.text_zh
    # the end of the last window it closed: hour 58's (later ones waited for their lateness)
    assert ev.at == START_MS // 1000 + 58 * 3600
    # the district's and the city's warnings (the sensor drove them) clear as values do
    assert [e.warning_id for o in tail for e in o.warnings if "withdrawn" in e.text_en] == [gone_id]

    # dispatch: accepted, handled, verified; the withdrawal lets verification close it
    service = TicketService(
        TicketStore.from_url(f"sqlite:///{tmp_path / 'tickets.db'}"),
        router=Router(load_routing()), catalog=load_catalog_or_raise([SMALL]).indicators,
        clock=ManualClock(ev.at),
    )  # fmt: skip
    service.submit_warnings(e for out in head for e in out.warnings if e.warning_id == gone_id)
    (ticket,) = [t for t in service.list_tickets() if t.status != "closed"]
    service.accept(ticket.id, "env-desk")
    service.feedback(ticket.id, "env-desk", "station checked")
    service.submit_warnings([ev])
    service.tick(ev.at + service.verification_period + 1)
    assert service.get(ticket.id).status == "closed"  # type: ignore[union-attr]

    # the window changed: the indicator starts afresh, every firing warning withdrawn
    plans_2h = compile_plan(
        load_catalog_or_raise([changed_catalog(tmp_path, window="2h")]), load_city(), before
    ).by_id()
    restarted = IndicatorLogic(plans_2h, 1, pickle.loads(pickle.dumps(first.snapshot())))
    out = fed(restarted, hourly_shares(before, plans_2h["test.pm25"], ids, range(60, 62)))
    ended = {e.warning_id for o in out for e in o.warnings if e.kind == "resolved"}
    assert ended == set(firing)
    assert all("started afresh" in e.text_en for o in out for e in o.warnings
               if e.kind == "resolved")  # fmt: skip

    # removed from the catalog: its withdrawals are the removed key's last output
    plans_without = {k: v for k, v in plans_before.items() if k != "test.pm25"}
    for last_call in ("on_notify", "on_eof"):
        stale = IndicatorLogic(plans_without, 1, pickle.loads(pickle.dumps(first.snapshot())))
        outputs, discard = getattr(stale, last_call)()
        events = [e for o in outputs for e in o.warnings]
        assert discard == StatefulBatchLogic.DISCARD
        assert {e.warning_id for e in events} == set(firing)
        assert all(e.kind == "resolved" and "removed from the catalog" in e.text_en
                   and e.title_en == "PM2.5" for e in events)  # fmt: skip
