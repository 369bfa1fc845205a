"""Scripted incidents: what happens, where, when and how strongly -- as data.

An incident is a small frozen record (kind, area code, start after the simulation start,
duration, magnitude).  Its type says which sensor fields it moves and which citizen reports it
provokes; `resolve` ties it to the city and the registry, and `describe` writes down where and
when its traces are, so a test can check that a warning was raised in the right area and time."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from flows.city import City, SensorRegistry
from indicators.language.registry import did_you_mean

from .clock import iso_one

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class SensorEffect:
    kind: str  # sensor kind
    field: str | None  # None: the sensor stops reporting
    direction: str  # "up" | "down" | "silent"


@dataclass(frozen=True)
class ReportSurge:
    """Extra citizen records of one category in the incident's area."""

    channel: str  # "hotline" | "photo_reports"
    category: str
    per_hour: float  # at the type's reference magnitude


@dataclass(frozen=True)
class IncidentType:
    name: str
    summary: str
    magnitude_meaning: str
    magnitude_range: tuple[float, float]  # inclusive
    reference: float  # magnitude at which the surges reach `per_hour`
    baseline: float  # magnitude that means "no effect" (1 for a multiplier)
    area_levels: tuple[str, ...]
    sensor_effects: tuple[SensorEffect, ...]
    surges: tuple[ReportSurge, ...] = ()
    ramp_fraction: float = 0.15  # onset and recovery, as a fraction of the duration

    def strength(self, magnitude: float) -> float:
        """Magnitude relative to the reference: 1 at the reference, 0 at the baseline."""
        return (magnitude - self.baseline) / (self.reference - self.baseline)


INCIDENT_TYPES: dict[str, IncidentType] = {
    t.name: t
    for t in (
        IncidentType(
            name="water_main_burst",
            summary="a water main bursts: pressure drops in the area and 'no water' calls surge",
            magnitude_meaning="fraction of the normal pressure lost (0.6 = down to 40%)",
            magnitude_range=(0.05, 0.95),
            reference=0.5,
            baseline=0.0,
            area_levels=("street", "grid", "community"),
            sensor_effects=(
                SensorEffect("water_supply", "pressure", "down"),
                SensorEffect("water_supply", "flow", "up"),
            ),
            surges=(ReportSurge("hotline", "water_outage", 15.0),),
            ramp_fraction=0.05,
        ),
        IncidentType(
            name="flood",
            summary="a cloudburst floods streets: ponding rises, traffic slows, calls and photos",
            magnitude_meaning="peak ponding depth in cm",
            magnitude_range=(5.0, 100.0),
            reference=30.0,
            baseline=0.0,
            area_levels=("street", "grid", "community"),
            sensor_effects=(
                SensorEffect("flood", "level", "up"),
                SensorEffect("flood", "rainfall", "up"),
                SensorEffect("traffic_flow", "averageVehicleSpeed", "down"),
                SensorEffect("traffic_flow", "occupancy", "up"),
            ),
            surges=(
                ReportSurge("hotline", "flooding", 10.0),
                ReportSurge("photo_reports", "flooding", 6.0),
            ),
            ramp_fraction=0.25,
        ),
        IncidentType(
            name="pollution",
            summary="a pollution episode: PM2.5 and PM10 climb across the area, some complaints",
            magnitude_meaning="PM2.5 multiplier at the peak (3.0 = three times the usual level)",
            magnitude_range=(1.2, 10.0),
            reference=3.0,
            baseline=1.0,
            area_levels=("district", "street"),
            sensor_effects=(
                SensorEffect("air_quality", "pm25", "up"),
                SensorEffect("air_quality", "pm10", "up"),
            ),
            surges=(ReportSurge("hotline", "air_pollution", 3.0),),
            ramp_fraction=0.3,
        ),
        IncidentType(
            name="gas_leak",
            summary="a gas main leaks: combustible gas readings rise, residents smell gas",
            magnitude_meaning="peak combustible gas reading in %LEL",
            magnitude_range=(2.0, 100.0),
            reference=20.0,
            baseline=0.0,
            area_levels=("grid", "community", "street"),
            sensor_effects=(
                SensorEffect("gas", "leak", "up"),
                SensorEffect("gas", "pressure", "down"),
            ),
            surges=(ReportSurge("hotline", "gas_smell", 6.0),),
            ramp_fraction=0.1,
        ),
        IncidentType(
            name="sensor_silent",
            summary="one sensor stops reporting (power, radio or firmware fault)",
            magnitude_meaning="unused (write 1)",
            magnitude_range=(0.0, 1.0),
            reference=1.0,
            baseline=0.0,
            area_levels=("sensor",),
            sensor_effects=(SensorEffect("*", None, "silent"),),
            ramp_fraction=0.0,
        ),
    )
}

CALL_LAG = dt.timedelta(minutes=10)  # people notice, then call: surges follow the incident


@dataclass(frozen=True)
class Incident:
    """One scripted incident.  `area` is an area code (district 6 digits, street 9, grid 12,
    community 15) or, for sensor_silent, a sensor id; `start` counts from the simulation start."""

    kind: str
    area: str
    start: dt.timedelta
    duration: dt.timedelta
    magnitude: float
    note: str = ""

    def __post_init__(self) -> None:
        if self.kind not in INCIDENT_TYPES:
            raise ValueError(
                f"unknown incident kind {self.kind!r}{did_you_mean(self.kind, INCIDENT_TYPES)}; "
                f"one of {', '.join(INCIDENT_TYPES)}"
            )
        if self.start < dt.timedelta(0):
            raise ValueError(f"incident {self.kind}: start {self.start} is before the simulation")
        if self.duration <= dt.timedelta(0):
            raise ValueError(f"incident {self.kind}: duration must be positive")
        low, high = self.type.magnitude_range
        if not low <= self.magnitude <= high:
            raise ValueError(
                f"incident {self.kind}: magnitude {self.magnitude} outside [{low}, {high}] "
                f"({self.type.magnitude_meaning})"
            )

    @property
    def type(self) -> IncidentType:
        return INCIDENT_TYPES[self.kind]

    def window_ms(self, sim_start_ms: int) -> tuple[int, int]:
        start = sim_start_ms + int(self.start.total_seconds() * 1000)
        return start, start + int(self.duration.total_seconds() * 1000)

    def shape(self, t_ms: npt.ArrayLike, sim_start_ms: int, lag_ms: int = 0) -> FloatArray:
        """0 outside the incident, rising linearly to 1 over the onset, 1 while it lasts,
        falling back to 0 over the recovery (which ends at the incident's end)."""
        start, end = self.window_ms(sim_start_ms)
        t = np.asarray(t_ms, dtype=np.float64) - lag_ms
        inside = (t >= start) & (t < end)
        if self.type.ramp_fraction == 0.0:
            return inside.astype(np.float64)
        ramp = self.type.ramp_fraction * (end - start)
        up = np.clip((t - start) / ramp, 0.0, 1.0)
        down = np.clip((end - t) / ramp, 0.0, 1.0)
        result: FloatArray = np.where(inside, np.minimum(up, down), 0.0)
        return result


@dataclass(frozen=True, eq=False)
class ResolvedIncident:
    """An incident placed in the city: its area, its communities and the sensors it moves."""

    incident: Incident
    level: str  # community .. district, or "sensor"
    index: int  # index at that level (a registry row for "sensor")
    communities: IntArray
    sensor_rows: IntArray  # registry rows whose readings it changes (or silences)
    sim_start_ms: int
    names: dict[str, str] = field(default_factory=dict)

    def describe(self, registry: SensorRegistry) -> dict[str, Any]:
        inc, typ = self.incident, self.incident.type
        start, end = inc.window_ms(self.sim_start_ms)
        lag = int(CALL_LAG.total_seconds() * 1000)
        return {
            "kind": inc.kind,
            "summary": typ.summary,
            "note": inc.note,
            "area": inc.area,
            "area_level": self.level,
            "area_name_zh": self.names.get("zh", ""),
            "area_name_en": self.names.get("en", ""),
            "start": iso_one(start),
            "end": iso_one(end),
            "start_ms": start,
            "end_ms": end,
            "magnitude": inc.magnitude,
            "magnitude_meaning": typ.magnitude_meaning,
            "sensor_effects": [
                {"kind": e.kind, "field": e.field, "direction": e.direction}
                for e in typ.sensor_effects
            ],
            "sensors": registry.ids(self.sensor_rows),
            "report_surges": [
                {
                    "channel": s.channel,
                    "category": s.category,
                    "per_hour_at_peak": round(s.per_hour * typ.strength(inc.magnitude), 2),
                    "from": iso_one(start + lag),
                    "until": iso_one(end + lag),
                }
                for s in typ.surges
            ],
        }


def resolve(
    incident: Incident, city: City, registry: SensorRegistry, sim_start_ms: int
) -> ResolvedIncident:
    """Place an incident; ValueError if its area or sensor does not exist or does not suit it."""
    typ = incident.type
    if typ.area_levels == ("sensor",):
        row = int(registry.lookup([incident.area])[0])
        if row < 0:
            raise ValueError(
                f"incident {incident.kind}: no sensor {incident.area!r} in the registry"
            )
        comm = np.array([registry.community[row]], dtype=np.int64)
        lvl = "community"
        return ResolvedIncident(
            incident, "sensor", row, comm, np.array([row], dtype=np.int64), sim_start_ms,
            {"zh": city.full_name(lvl, int(comm[0]), "zh") + f" {incident.area}",
             "en": f"{incident.area}, " + city.full_name(lvl, int(comm[0]), "en")},
        )  # fmt: skip
    level, index = city.find(incident.area)
    if level not in typ.area_levels:
        raise ValueError(
            f"incident {incident.kind}: area {incident.area} is a {level}; "
            f"this kind happens in a {' or '.join(typ.area_levels)}"
        )
    communities = (
        city.descendants(level, index) if level != "community" else np.array([index], np.int64)
    )
    kinds = {e.kind for e in typ.sensor_effects}
    in_area = np.isin(registry.community, communities)
    of_kind = np.isin(registry.kind, [registry.kinds.index(k) for k in kinds])
    return ResolvedIncident(
        incident, level, index, communities, np.flatnonzero(in_area & of_kind), sim_start_ms,
        {"zh": city.full_name(level, index, "zh"), "en": city.full_name(level, index, "en")},
    )  # fmt: skip


H = dt.timedelta(hours=1)
# The default script, for a simulation starting at midnight (two days: everything happens on
# the first day, the second shows the recovery).  Areas were picked where the default registry
# has sensors of the kinds each incident moves; a test checks that this stays true.
DEFAULT_INCIDENTS: tuple[Incident, ...] = (
    Incident("gas_leak", "310101006006", 3 * H, 2 * H, 25.0,
             "黄浦区老西门街道第6网格: a leaking gas main at night"),
    Incident("sensor_silent", "AQ-310101-000003", 5 * H, 30 * H, 1.0,
             "an air-quality station in Huangpu goes silent for 30 hours"),
    Incident("water_main_burst", "310106004", 9 * H, 3 * H, 0.6,
             "静安区静安寺街道: a water main bursts in the morning"),
    Incident("flood", "310101008", 16 * H + H / 2, 2 * H + H / 2, 35.0,
             "黄浦区打浦桥街道: a cloudburst in the evening rush"),
    Incident("pollution", "310113", 20 * H, 14 * H, 3.0,
             "宝山区: a pollution episode overnight into the next morning"),
)  # fmt: skip
