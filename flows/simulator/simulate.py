"""Run the simulated city: write its record streams as NDJSON files, plus a manifest.

One file per record family (sensors.ndjson, hotline.ndjson, photo_reports.ndjson,
checkpoints.ndjson) in the wire formats the sources read, and manifest.json saying what was
made: the settings, line counts, which lines were damaged on purpose and how, and each
incident with its area, time window and the traces it leaves -- so tests and the demo can
check that warnings were raised in the right place at the right time."""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from flows.city import (
    City,
    SensorRegistry,
    generate_venues,
    load_city,
    load_default_registry,
)

from . import citizens, clock, patterns
from .incidents import DEFAULT_INCIDENTS, Incident, resolve
from .malform import FAMILIES, Corrupter
from .sensors import SensorOptions, SensorStream

FILES: dict[str, str] = {
    "sensors": "sensors.ndjson",
    "hotline": "hotline.ndjson",
    "photo_reports": "photo_reports.ndjson",
    "checkpoints": "checkpoints.ndjson",
}
MANIFEST = "manifest.json"
SENSOR_FORMATS = ("fiware", "flat")
# Random streams per family (see sensors.py for the sensors' own).
STREAM_HOTLINE, STREAM_PHOTO, STREAM_CHECKPOINT, STREAM_MALFORM = 10, 11, 12, 13
STREAM_HOTLINE_REPEATS = 14

DEMO_START = dt.datetime(2026, 3, 2, tzinfo=clock.SHANGHAI)  # a Monday, midnight
DEMO_SEED = 20260302


@dataclass(frozen=True)
class SimulationOptions:
    """Volumes and data-quality knobs; validated on creation."""

    hotline_per_day: float = 3000.0  # city-wide background, before incident surges
    photo_reports_per_day: float = 800.0
    checkpoints_per_day: float = 6000.0
    missing_fraction: float = 0.01  # sensor readings lost
    field_missing_fraction: float = 0.02  # single fields absent from a reading
    malformed_fraction: float = 0.002  # lines damaged on purpose, per file
    sensor_format: str = "fiware"  # "fiware": one object per reading; "flat": one per field

    def __post_init__(self) -> None:
        for name in ("hotline_per_day", "photo_reports_per_day", "checkpoints_per_day"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a finite number >= 0, not {value!r}")
        for name in ("missing_fraction", "field_missing_fraction", "malformed_fraction"):
            value = getattr(self, name)
            if not 0.0 <= value <= 0.5:
                raise ValueError(f"{name} must be within [0, 0.5], not {value!r}")
        if self.sensor_format not in SENSOR_FORMATS:
            raise ValueError(
                f"sensor_format must be one of {SENSOR_FORMATS}, not {self.sensor_format!r}"
            )


@dataclass(frozen=True)
class SimulationResult:
    out_dir: Path
    files: dict[str, Path]
    lines: dict[str, int]  # per family, damaged lines included
    malformed: dict[str, dict[str, int]]  # family -> kind of damage -> count
    malformed_lines: dict[str, list[int]]  # family -> 1-based line numbers
    incidents: list[dict[str, Any]]  # Incident descriptions (see ResolvedIncident.describe)
    manifest: Path


def _write(handle: TextIO, lines: list[str], corrupter: Corrupter) -> int:
    lines = corrupter.apply(lines)
    if lines:
        handle.write("\n".join(lines) + "\n")
    return len(lines)


def _write_file(path: Path, lines: list[str], corrupter: Corrupter) -> int:
    with path.open("w", encoding="utf-8") as handle:
        return _write(handle, lines, corrupter)


def simulate(
    city: City,
    registry: SensorRegistry,
    start: dt.datetime,
    duration: dt.timedelta,
    step: dt.timedelta,
    seed: int,
    incidents: tuple[Incident, ...] | list[Incident] = DEFAULT_INCIDENTS,
    *,
    out_dir: str | Path,
    options: SimulationOptions | None = None,
) -> SimulationResult:
    """Simulate the city from `start` for `duration`, sensors reading every `step`, and write
    the record files into `out_dir`.  Deterministic for the same arguments."""
    opts = options or SimulationOptions()
    if duration <= dt.timedelta(0):
        raise ValueError(f"duration must be positive, not {duration}")
    if step < dt.timedelta(seconds=1):
        raise ValueError(f"step must be at least one second, not {step}")
    start_ms = clock.to_ms(start)
    duration_ms = int(duration.total_seconds() * 1000)
    step_ms = int(step.total_seconds() * 1000)
    end_ms = start_ms + duration_ms
    n_steps = -(-duration_ms // step_ms)
    resolved = [resolve(inc, city, registry, start_ms) for inc in incidents]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {family: out / name for family, name in FILES.items()}
    corrupters = {
        family: Corrupter(FAMILIES[family], opts.malformed_fraction,
                          np.random.default_rng([seed, STREAM_MALFORM, k]))
        for k, family in enumerate(FILES)
    }  # fmt: skip
    lines: dict[str, int] = {}

    stream = SensorStream(
        city, registry, resolved, start_ms, n_steps, step_ms, seed,
        SensorOptions(opts.missing_fraction, opts.field_missing_fraction,
                      opts.sensor_format == "flat"),
    )  # fmt: skip
    with paths["sensors"].open("w", encoding="utf-8") as handle:
        total = 0
        for ts, chunk in stream.chunks():
            keep = ts < end_ms
            chunk = [line for line, k in zip(chunk, keep.tolist(), strict=True) if k]
            total += _write(handle, chunk, corrupters["sensors"])
        lines["sensors"] = total

    n_comms = len(city)
    rng = np.random.default_rng([seed, STREAM_HOTLINE])
    events = citizens.merge([
        citizens.background(rng, start_ms, end_ms, opts.hotline_per_day, patterns.calls,
                            citizens.HOTLINE_MIX, n_comms),
        citizens.surges(rng, start_ms, end_ms, "hotline", resolved),
    ])  # fmt: skip
    events, repeat_of = citizens.with_repeats(
        np.random.default_rng([seed, STREAM_HOTLINE_REPEATS]), events, end_ms
    )
    hotline = citizens.hotline_lines(rng, city, events, repeat_of)
    lines["hotline"] = _write_file(paths["hotline"], hotline, corrupters["hotline"])

    rng = np.random.default_rng([seed, STREAM_PHOTO])
    events = citizens.merge([
        citizens.background(rng, start_ms, end_ms, opts.photo_reports_per_day, patterns.calls,
                            citizens.PHOTO_MIX, n_comms),
        citizens.surges(rng, start_ms, end_ms, "photo_reports", resolved),
    ])  # fmt: skip
    photos = citizens.photo_lines(rng, city, events)
    lines["photo_reports"] = _write_file(
        paths["photo_reports"], photos, corrupters["photo_reports"]
    )

    rng = np.random.default_rng([seed, STREAM_CHECKPOINT])
    _, checks = citizens.checkpoint_lines(
        rng, generate_venues(city), start_ms, end_ms, opts.checkpoints_per_day
    )
    lines["checkpoints"] = _write_file(paths["checkpoints"], checks, corrupters["checkpoints"])

    described = [r.describe(registry) for r in resolved]
    result = SimulationResult(
        out, paths, lines,
        {f: dict(c.by_type) for f, c in corrupters.items()},
        {f: list(c.line_numbers) for f, c in corrupters.items()},
        described, out / MANIFEST,
    )  # fmt: skip
    manifest = {
        "start": clock.iso_one(start_ms),
        "end": clock.iso_one(end_ms),
        "start_ms": start_ms,
        "end_ms": end_ms,
        "step_seconds": step_ms / 1000,
        "seed": seed,
        "sensors": len(registry),
        "options": asdict(opts),
        "files": {
            family: {
                "path": FILES[family],
                "lines": lines[family],
                "malformed": dict(corrupters[family].by_type),
                "malformed_lines": [
                    {"line": n, "damage": t}
                    for n, t in zip(
                        corrupters[family].line_numbers, corrupters[family].types, strict=True
                    )
                ],
            }
            for family in FILES
        },
        "incidents": described,
    }
    result.manifest.write_text(json.dumps(manifest, ensure_ascii=False, indent=1), "utf-8")
    return result


def _incident_sensors(
    city: City, registry: SensorRegistry, incidents: tuple[Incident, ...], start_ms: int
) -> np.ndarray:
    rows = [resolve(i, city, registry, start_ms).sensor_rows for i in incidents]
    return np.unique(np.concatenate(rows)) if rows else np.zeros(0, dtype=np.int64)


def sample_registry(
    city: City,
    registry: SensorRegistry,
    background_fraction: float,
    seed: int,
    incidents: tuple[Incident, ...] = DEFAULT_INCIDENTS,
    start: dt.datetime = DEMO_START,
) -> SensorRegistry:
    """Every sensor an incident touches plus a random `background_fraction` of the others:
    a registry small enough for a demo, with all the incidents still visible."""
    rng = np.random.default_rng([seed, 99])
    chosen = rng.random(len(registry)) < background_fraction
    chosen[_incident_sensors(city, registry, incidents, clock.to_ms(start))] = True
    return registry.subset(chosen)


DEMO_OPTIONS = SimulationOptions(
    hotline_per_day=1200.0, photo_reports_per_day=300.0, checkpoints_per_day=1500.0
)


def write_demo_inputs(
    out_dir: str | Path,
    days: int = 2,
    seed: int = DEMO_SEED,
    *,
    start: dt.datetime = DEMO_START,
    step: dt.timedelta = dt.timedelta(minutes=20),
    background_fraction: float = 0.02,
) -> SimulationResult:
    """The demo's input files (a few MB): `days` of the default scenario, every sensor that
    an incident touches plus a sample of the rest of the default registry."""
    if days < 1:
        raise ValueError(f"days must be at least 1, not {days}")
    city = load_city()
    registry = sample_registry(city, load_default_registry(), background_fraction, seed)
    return simulate(
        city, registry, start, dt.timedelta(days=days), step, seed, DEFAULT_INCIDENTS,
        out_dir=out_dir, options=DEMO_OPTIONS,
    )  # fmt: skip


TEST_OPTIONS = SimulationOptions(
    hotline_per_day=1500.0, photo_reports_per_day=400.0, checkpoints_per_day=1500.0,
    malformed_fraction=0.01,
)  # fmt: skip


def write_test_scenario(out_dir: str | Path, seed: int = 7) -> SimulationResult:
    """A small scenario for tests (about a second): the first day of the default script with
    10-minute steps, the incident sensors and 1% of the others, 1% damaged lines."""
    city = load_city()
    registry = sample_registry(city, load_default_registry(), 0.01, seed)
    return simulate(
        city, registry, DEMO_START, dt.timedelta(days=1), dt.timedelta(minutes=10), seed,
        DEFAULT_INCIDENTS, out_dir=out_dir, options=TEST_OPTIONS,
    )  # fmt: skip
