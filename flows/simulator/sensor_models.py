"""What each kind of sensor reads, as vectorised models over (sensors x time steps).

Every model gets the local hour and weekday of each step, two fixed per-sensor factors (sites
differ: a kerbside station reads more NO2 than a park), a slow shared "weather" factor per
district for air quality, and the strength of any incident that touches the sensor, and returns
one float array per field (NaN = not reported).  Levels are typical of Shanghai in early spring
and of the equipment named in indicators/registry/sensor_kinds.yaml."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from . import patterns as p

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

ELEVATOR_FAULT_CODES: tuple[str, ...] = ("E01", "E12", "E35", "E57")
TRANSFORMER_KVA = 630.0
# String fields are generated as an index into their list of values.
CATEGORICAL: dict[tuple[str, str], tuple[str, ...]] = {
    ("elevator", "faultCode"): ELEVATOR_FAULT_CODES,
}

# Decimals on the wire, per (kind, field); integers and booleans are written as such.
DECIMALS: dict[tuple[str, str], int] = {
    ("air_quality", "pm25"): 1, ("air_quality", "pm10"): 1, ("air_quality", "no2"): 1,
    ("air_quality", "o3"): 1, ("air_quality", "so2"): 1, ("air_quality", "co"): 2,
    ("air_quality", "temperature"): 1, ("air_quality", "relativeHumidity"): 2,
    ("water_supply", "pressure"): 3, ("water_supply", "flow"): 1,
    ("water_quality", "turbidity"): 2, ("water_quality", "freeChlorine"): 2,
    ("water_quality", "pH"): 2, ("water_quality", "conductivity"): 0,
    ("traffic_flow", "intensity"): 0, ("traffic_flow", "occupancy"): 3,
    ("traffic_flow", "averageVehicleSpeed"): 1,
    ("flood", "level"): 1, ("flood", "rainfall"): 1,
    ("power", "load"): 1, ("power", "loadRatio"): 3, ("power", "voltage"): 1,
    ("gas", "pressure"): 3, ("gas", "leak"): 1,
    ("noise", "LAeq"): 1, ("noise", "LAmax"): 1,
    ("manhole", "tilt"): 2, ("manhole", "displacement"): 1,
}  # fmt: skip


@dataclass(frozen=True, eq=False)
class ModelInput:
    hour: FloatArray  # (T,) local hour of each step
    wday: IntArray  # (T,) Monday = 0
    step_hours: float
    site: FloatArray  # (S,) per-sensor factor, lognormal around 1
    site2: FloatArray  # (S,) a second, independent one
    weather: FloatArray  # (S, T) slow multiplicative factor of the sensor's district
    effects: dict[str, FloatArray]  # incident kind -> (S, T) strength above its baseline
    rng: np.random.Generator

    @property
    def shape(self) -> tuple[int, int]:
        return (self.site.shape[0], self.hour.shape[0])

    def effect(self, incident_kind: str) -> FloatArray:
        found = self.effects.get(incident_kind)
        return found if found is not None else np.zeros(self.shape)

    def wobble(self, sd: float) -> FloatArray:
        """Multiplicative noise around 1."""
        return self.rng.lognormal(0.0, sd, self.shape)

    def normal(self, sd: float) -> FloatArray:
        return self.rng.normal(0.0, sd, self.shape)


Model = Callable[[ModelInput], dict[str, FloatArray]]


def _col(a: FloatArray) -> FloatArray:
    return a[:, None]


def air_quality(m: ModelInput) -> dict[str, FloatArray]:
    rush = p.rush(m.hour, m.wday)[None, :]
    sun = p.daylight(m.hour)[None, :]
    night = p.bump(m.hour, 3.0, 3.0)[None, :]  # inversions trap particles at night
    episode = 1.0 + m.effect("pollution")
    pm25 = 35.0 * _col(m.site) * m.weather * (0.8 + 0.25 * rush + 0.2 * night) * episode
    pm25 *= m.wobble(0.1)
    return {
        "pm25": pm25,
        "pm10": pm25 * (1.5 + 0.2 * _col(m.site2)) * m.wobble(0.06),
        "no2": 30.0 * _col(m.site) * (0.6 + 0.6 * rush) * m.wobble(0.12),
        "o3": (12.0 + 70.0 * sun) * _col(m.site2) * m.wobble(0.12),
        "so2": 6.0 * _col(m.site2) * m.wobble(0.15),
        "co": 0.55 * _col(m.site) * (0.8 + 0.4 * rush) * m.wobble(0.1),
        "temperature": 8.0 + 7.0 * sun + 2.0 * (_col(m.site2) - 1.0) + m.normal(0.4),
        "relativeHumidity": np.clip(0.8 - 0.25 * sun + m.normal(0.03), 0.15, 1.0),
    }


def water_supply(m: ModelInput) -> dict[str, FloatArray]:
    demand = p.water_demand(m.hour, m.wday)[None, :]
    burst = np.clip(m.effect("water_main_burst"), 0.0, 0.95)
    pressure = 0.32 * _col(m.site) * (1.0 - 0.1 * demand) * (1.0 - burst) + m.normal(0.004)
    flow = 90.0 * _col(m.site2) * demand * (1.0 + 2.0 * burst) * m.wobble(0.06)
    return {"pressure": np.maximum(pressure, 0.0), "flow": flow}


def water_quality(m: ModelInput) -> dict[str, FloatArray]:
    return {
        "turbidity": 0.3 * _col(m.site) * m.wobble(0.2),
        "freeChlorine": np.maximum(0.5 * _col(m.site2) + m.normal(0.03), 0.0),
        "pH": 7.3 + 0.3 * (_col(m.site) - 1.0) + m.normal(0.05),
        "conductivity": 430.0 * _col(m.site2) + m.normal(10.0),
    }


def traffic_flow(m: ModelInput) -> dict[str, FloatArray]:
    flood = np.clip(m.effect("flood") / 30.0, 0.0, 1.5)  # 1 = 30 cm of water
    load = _col(m.site) * (0.12 + 0.8 * p.rush(m.hour, m.wday)[None, :])
    occupancy = np.clip(0.04 + 0.3 * load + 0.3 * flood + m.normal(0.015), 0.0, 0.95)
    speed = 60.0 * _col(m.site2) * (1.0 - 0.75 * occupancy**1.3) * (1.0 - 0.4 * flood)
    speed = np.clip(speed + m.normal(2.0), 3.0, 120.0)
    vehicles = 1500.0 * m.step_hours * load * (1.0 - 0.4 * np.minimum(flood, 1.0))
    return {
        "intensity": m.rng.poisson(np.maximum(vehicles, 0.0)).astype(np.float64),
        "occupancy": occupancy,
        "averageVehicleSpeed": speed,
        "congested": (occupancy > 0.28).astype(np.float64),
    }


def flood(m: ModelInput) -> dict[str, FloatArray]:
    depth = m.effect("flood")  # cm at this gauge's spot, before the gauge's own spread
    raining = np.minimum(depth / 30.0, 1.5)
    rainfall = np.where(depth > 0, 40.0 * raining * m.wobble(0.2), 0.0)
    level = np.abs(m.normal(0.2)) + depth * (0.7 + 0.3 * _col(m.site))
    return {"level": level, "rainfall": rainfall}


def power(m: ModelInput) -> dict[str, FloatArray]:
    shape = p.electricity(m.hour, m.wday)[None, :]
    ratio = np.clip(0.55 * _col(m.site) * shape * m.wobble(0.05), 0.02, 1.3)
    return {
        "load": ratio * TRANSFORMER_KVA,
        "loadRatio": ratio,
        "voltage": 230.0 - 8.0 * ratio + m.normal(0.8),
    }


def gas(m: ModelInput) -> dict[str, FloatArray]:
    leak = m.effect("gas_leak")  # %LEL
    pressure = 2.8 * (1.0 + 0.02 * (_col(m.site2) - 1.0)) * (1.0 - 0.002 * leak)
    return {
        "pressure": pressure + m.normal(0.015),
        "leak": np.abs(m.normal(0.15)) + leak * (0.7 + 0.3 * _col(m.site)),
    }


def noise(m: ModelInput) -> dict[str, FloatArray]:
    awake = p.activity(m.hour)[None, :]
    rush = p.rush(m.hour, m.wday)[None, :]
    laeq = 46.0 + 12.0 * (_col(m.site) - 1.0) + 14.0 * awake + 4.0 * rush + m.normal(1.2)
    return {"LAeq": laeq, "LAmax": laeq + 10.0 + np.abs(m.normal(3.0))}


def elevator(m: ModelInput) -> dict[str, FloatArray]:
    fault = m.rng.random(m.shape) < 0.0005
    trapped = fault & (m.rng.random(m.shape) < 0.15)
    code = m.rng.integers(0, len(ELEVATOR_FAULT_CODES), m.shape).astype(np.float64)
    return {
        "fault": fault.astype(np.float64),
        "trapped": trapped.astype(np.float64),
        "faultCode": np.where(fault, code, np.nan),  # an index into ELEVATOR_FAULT_CODES
    }


def manhole(m: ModelInput) -> dict[str, FloatArray]:
    return {
        "tilt": np.abs(0.4 * _col(m.site) + m.normal(0.15)),
        "displacement": np.abs(m.normal(0.4)),
        "open": (m.rng.random(m.shape) < 0.0002).astype(np.float64),
    }


MODELS: dict[str, Model] = {
    "air_quality": air_quality,
    "water_supply": water_supply,
    "water_quality": water_quality,
    "traffic_flow": traffic_flow,
    "flood": flood,
    "power": power,
    "gas": gas,
    "noise": noise,
    "elevator": elevator,
    "manhole": manhole,
}
