"""What a compiled indicator numbers as its areas: a sensor-level indicator holds the sensors
of its own kind only (its arrays and detector state are sized by that kind)."""

from __future__ import annotations

import numpy as np

from flows.city import load_city, load_default_registry
from flows.decode.batches import SensorBatch
from flows.decode.fields import field_id, sensor_fields
from flows.flow import CATALOG_DIR
from flows.plan import IndicatorPlan, Routed, compile_plan
from flows.runtime import IndicatorRuntime
from flows.scoring import IndicatorScorer
from indicators.language.detection import Detection
from indicators.language.validate import load_catalog_or_raise

T0_MS = 1_770_000_000_000  # on the hour


def test_sensor_level_indicators_hold_the_sensors_of_their_kind() -> None:
    city, registry = load_city(), load_default_registry()
    plans = compile_plan(load_catalog_or_raise([str(CATALOG_DIR)]), city, registry).plans
    sensor_level = [p for p in plans if p.levels[0] == "sensor"]
    assert len(sensor_level) >= 10
    for plan in sensor_level:
        rows = registry.kind_rows(plan.indicator.source.kind)
        assert 0 < rows.size < len(registry)
        assert plan.spaces["sensor"].codes.tolist() == registry.ids(rows), plan.id
        assert plan.sensor_area is not None
        np.testing.assert_array_equal(plan.sensor_area[rows], np.arange(rows.size))
        assert (np.delete(plan.sensor_area, rows) == -1).all(), plan.id
        for lvl in plan.levels[1:]:  # a sensor rolls up to the area it stands in
            up = plan.spaces[lvl].from_finest
            np.testing.assert_array_equal(up, registry.area(city, lvl)[rows])


def test_routing_keeps_the_kind_and_finds_each_sensor() -> None:
    city, registry = load_city(), load_default_registry()
    plans = compile_plan(load_catalog_or_raise([str(CATALOG_DIR)]), city, registry).by_id()
    plan = plans["air.pm25"]
    air = registry.kind_rows("air_quality")[[3, 40, 7]]
    other = np.flatnonzero(registry.kind != registry.kinds.index("air_quality"))[[0, 500]]
    sensor = np.concatenate([air, other])
    n = sensor.size
    batch = SensorBatch.build(
        sensor, np.arange(n, dtype=np.int64) * 1000, np.full(n, field_id("pm25")),
        np.arange(n, dtype=np.float64), len(sensor_fields()), grouped=True,
    )  # fmt: skip
    routed = plan.route_sensors(batch, np.asarray(registry.kind, dtype=np.int64))
    assert plan.spaces["sensor"].codes[routed.area].tolist() == registry.ids(air)
    assert routed.value is not None and routed.value.tolist() == [0.0, 1.0, 2.0]


def test_detectors_hold_state_only_for_areas_that_reported() -> None:
    """noise.laeq scores sensors, grids and streets (480 + 2,182 + 218 series in the shipped
    city); with three sensors reporting, its detectors hold the series of those sensors and
    of their grids and streets only, numbered in the order they first reported."""
    city, registry = load_city(), load_default_registry()
    plans = compile_plan(load_catalog_or_raise([str(CATALOG_DIR)]), city, registry).by_id()
    plan = plans["noise.laeq"]
    runtime, scorer = IndicatorRuntime(plan, n_partitions=1), IndicatorScorer(plan)
    sensors = np.array([0, 7, 300])
    reported = {
        (lvl, code)
        for lvl in plan.levels
        for code in plan.spaces[lvl].codes[_area_at(plan, lvl, sensors)].tolist()
    }
    rows = []
    for h in range(48):
        ts = np.full(3, T0_MS + h * 900_000 + 1000, dtype=np.int64)
        step = runtime.on_batch(
            Routed(sensors, ts, np.array([50.0, 55, 60])), "p", int(ts[0]), False
        )
        scored = scorer.score(step.closed)
        if scored is not None:
            rows += list(zip(scored.area_level.tolist(), scored.area_code.tolist(), strict=True))
    assert set(rows) == reported and len(reported) <= 9
    assert scorer.n_series == len(reported)
    for state in scorer.snapshot()["detectors"]:  # type: ignore[index]
        assert int(state["n_series"]) == len(reported)


def _area_at(plan: IndicatorPlan, level: str, finest: np.ndarray) -> np.ndarray:
    up = plan.spaces[level].from_finest
    return finest if up is None else up[finest]


def test_a_threshold_per_area_level_judges_each_series_by_its_level() -> None:
    """noise.laeq with `upper: {sensor: 58, grid: 54, street: 50}`, in an ensemble: each
    row's band and score are its own level's, before and after a recovery snapshot (the
    detectors number series, the scorer knows their levels)."""
    city, registry = load_city(), load_default_registry()
    ind = load_catalog_or_raise([str(CATALOG_DIR)])["noise.laeq"]
    limits = {"sensor": 58.0, "grid": 54.0, "street": 50.0}
    per_level = Detection.model_validate({
        "detectors": [{"type": "ensemble",
                       "members": [{"type": "threshold", "upper": limits}]}],
        "warnings": ind.detection.warnings.model_dump(by_alias=True),
    })  # fmt: skip
    plan = compile_plan([ind.model_copy(update={"detection": per_level})], city, registry).plans[0]
    runtime, scorer = IndicatorRuntime(plan, n_partitions=1), IndicatorScorer(plan)
    sensors = np.array([0, 7, 300])

    def hour(h: int, s: IndicatorScorer) -> list[tuple[str, float, float]]:
        out = []
        for q in range(4):
            ts = np.full(3, T0_MS + (4 * h + q) * 900_000 + 1000, dtype=np.int64)
            step = runtime.on_batch(Routed(sensors, ts, np.array([50.0, 55, 60])), "p",
                                    int(ts[0]), False)  # fmt: skip
            scored = s.score(step.closed)
            if scored is not None:
                out += zip(scored.area_level.tolist(), scored.upper.tolist(),
                           scored.score.tolist(), strict=True)  # fmt: skip
        return out

    rows = hour(0, scorer) + hour(1, scorer)
    assert {lvl for lvl, _, _ in rows} == {"sensor", "grid", "street"}
    assert all(upper == limits[lvl] for lvl, upper, _ in rows)
    sensor_scores = sorted(score for lvl, _, score in rows if lvl == "sensor")
    assert sensor_scores[0] == 0.0 and sensor_scores[-1] == 1.0  # 50 and 55 fine, 60 past 58
    resumed = IndicatorScorer(plan)
    assert resumed.restore(scorer.snapshot())
    assert all(upper == limits[lvl] for lvl, upper, _ in hour(2, resumed))
