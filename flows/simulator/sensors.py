"""Sensor readings for a whole registry, chunk by chunk in time, as NDJSON lines.

Readings are generated as (sensors x steps) arrays per kind (sensor_models.py), incidents are
added where and when they happen, some readings and fields are dropped (real networks lose
data), and the survivors are written FIWARE-style (one object per reading with the kind's
fields) or flat (one object per field).  Each chunk's lines come out in timestamp order; every
sensor reports at its own fixed second within the step, as real devices do."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.signal import lfilter

from flows.city import City, SensorRegistry
from indicators.language import registry as lang_registry

from . import clock
from .incidents import ResolvedIncident
from .sensor_models import CATEGORICAL, DECIMALS, MODELS, ModelInput

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

CELLS_PER_CHUNK = 500_000  # sensors x steps generated at once: bounded memory at any scale
WEATHER_HOURS = 8.0  # how long the air-quality weather factor takes to change
WEATHER_SD = 0.3  # its spread (log scale)

# Random streams (numpy SeedSequence entropy: [seed, stream, ...]) so that changing one part
# of the simulation does not reshuffle the others.
STREAM_SITE, STREAM_READINGS, STREAM_WEATHER = 1, 2, 3


@dataclass(frozen=True)
class SensorOptions:
    missing_fraction: float  # whole readings lost
    field_missing_fraction: float  # single fields absent from a reading
    flat: bool  # {"metric", "value"} lines instead of FIWARE-style objects


@dataclass(frozen=True, eq=False)
class _KindGroup:
    kind: str
    kind_index: int
    rows: IntArray  # registry rows, ascending
    ids: list[str]
    site: FloatArray
    site2: FloatArray
    offset_ms: IntArray  # each sensor's fixed second within the step
    district: IntArray


class SensorStream:
    """Iterate `chunks()` for (ts_ms, lines) in time order."""

    def __init__(
        self,
        city: City,
        registry: SensorRegistry,
        incidents: list[ResolvedIncident],
        start_ms: int,
        n_steps: int,
        step_ms: int,
        seed: int,
        options: SensorOptions,
    ) -> None:
        self.registry = registry
        self.incidents = incidents
        self.start_ms, self.n_steps, self.step_ms = start_ms, n_steps, step_ms
        self.seed, self.options = seed, options
        self.kind_specs = lang_registry.kinds()
        districts = registry.area(city, "district")
        n_districts = len(city.level("district"))
        self.groups: list[_KindGroup] = []
        for k, kind in enumerate(registry.kinds):
            rows = np.flatnonzero(registry.kind == k)
            if rows.size == 0 or kind not in MODELS:
                continue
            rng = np.random.default_rng([seed, STREAM_SITE, k])
            self.groups.append(
                _KindGroup(
                    kind, k, rows, registry.ids(rows),
                    rng.lognormal(0.0, 0.15, rows.size), rng.lognormal(0.0, 0.1, rows.size),
                    rng.integers(0, max(1, min(step_ms, 60_000) // 1000), rows.size) * 1000,
                    districts[rows],
                )
            )  # fmt: skip
        self.weather = self._weather(n_districts)
        self.silent = [
            (int(r.sensor_rows[0]), *r.incident.window_ms(start_ms))
            for r in incidents
            if r.incident.kind == "sensor_silent"
        ]
        self.chunk_steps = max(1, CELLS_PER_CHUNK // max(1, len(registry)))

    def _weather(self, n_districts: int) -> FloatArray:
        """Per-district AR(1) log-factor over the whole run: the air of one district drifts
        slowly and together, as weather does, and different districts drift apart."""
        rng = np.random.default_rng([self.seed, STREAM_WEATHER])
        phi = float(np.exp(-self.step_ms / (WEATHER_HOURS * 3_600_000)))
        shocks = rng.normal(0.0, WEATHER_SD * np.sqrt(1.0 - phi**2), (n_districts, self.n_steps))
        shocks[:, 0] = rng.normal(0.0, WEATHER_SD, n_districts)
        log_w = lfilter([1.0], [1.0, -phi], shocks, axis=1)
        return np.exp(log_w - 0.5 * WEATHER_SD**2)

    def chunks(self) -> Iterator[tuple[IntArray, list[str]]]:
        for chunk_no, a in enumerate(range(0, self.n_steps, self.chunk_steps)):
            b = min(a + self.chunk_steps, self.n_steps)
            t_ms = self.start_ms + np.arange(a, b, dtype=np.int64) * self.step_ms
            all_ts: list[IntArray] = []
            all_lines: list[str] = []
            for g in self.groups:
                ts, lines = self._kind_chunk(g, chunk_no, a, b, t_ms)
                all_ts.append(ts)
                all_lines.extend(lines)
            ts_all = np.concatenate(all_ts) if all_ts else np.zeros(0, dtype=np.int64)
            order = np.argsort(ts_all, kind="stable")
            yield ts_all[order], [all_lines[i] for i in order.tolist()]

    def _effects(self, g: _KindGroup, t_ms: IntArray) -> dict[str, FloatArray]:
        effects: dict[str, FloatArray] = {}
        for r in self.incidents:
            typ = r.incident.type
            if not any(e.kind == g.kind and e.field for e in typ.sensor_effects):
                continue
            pos = np.searchsorted(g.rows, r.sensor_rows)
            pos = pos[(pos < g.rows.size) & (g.rows[np.minimum(pos, g.rows.size - 1)]
                                            == r.sensor_rows)]  # fmt: skip
            if pos.size == 0:
                continue
            arr = effects.setdefault(r.incident.kind, np.zeros((g.rows.size, t_ms.size)))
            strength = r.incident.magnitude - typ.baseline
            arr[pos] += strength * r.incident.shape(t_ms, self.start_ms)[None, :]
        return effects

    def _kind_chunk(
        self, g: _KindGroup, chunk_no: int, a: int, b: int, t_ms: IntArray
    ) -> tuple[IntArray, list[str]]:
        rng = np.random.default_rng([self.seed, STREAM_READINGS, g.kind_index, chunk_no])
        model_input = ModelInput(
            clock.local_hour(t_ms), clock.weekday(t_ms), self.step_ms / 3_600_000,
            g.site, g.site2, self.weather[g.district, a:b], self._effects(g, t_ms), rng,
        )  # fmt: skip
        values = MODELS[g.kind](model_input)
        shape = (g.rows.size, t_ms.size)
        ts = t_ms[None, :] + g.offset_ms[:, None]
        keep = rng.random(shape) >= self.options.missing_fraction
        for row, start, end in self.silent:
            at = int(np.searchsorted(g.rows, row))
            if at < g.rows.size and g.rows[at] == row:
                keep[at] &= (ts[at] < start) | (ts[at] >= end)
        fields = list(values)
        for f in fields:
            lost = rng.random(shape) < self.options.field_missing_fraction
            values[f] = np.where(lost, np.nan, values[f])
        # time-major order, kept readings only
        s_idx, t_idx = np.nonzero(keep.T)[::-1]
        ts_kept = ts[s_idx, t_idx]
        iso = clock.iso_local(ts_kept).tolist()
        ids = [g.ids[i] for i in s_idx.tolist()]
        texts = [self._format(g.kind, f, values[f][s_idx, t_idx]) for f in fields]
        if self.options.flat:
            return self._flat_lines(ids, iso, ts_kept, fields, texts)
        lines: list[str] = []
        kept_ts: list[int] = []
        ts_list = ts_kept.tolist()
        for i, parts in enumerate(zip(*texts, strict=True)):
            body = "".join(f', "{f}": {v}' for f, v in zip(fields, parts, strict=True) if v)
            if body:  # a reading with every field missing is no reading at all
                lines.append(f'{{"sensor_id": "{ids[i]}", "ts": "{iso[i]}"{body}}}')
                kept_ts.append(ts_list[i])
        return np.array(kept_ts, dtype=np.int64), lines

    @staticmethod
    def _flat_lines(
        ids: list[str], iso: list[str], ts: IntArray, fields: list[str], texts: list[list[str]]
    ) -> tuple[IntArray, list[str]]:
        lines: list[str] = []
        out_ts: list[int] = []
        ts_list = ts.tolist()
        for i, parts in enumerate(zip(*texts, strict=True)):
            for f, v in zip(fields, parts, strict=True):
                if v:
                    lines.append(
                        f'{{"sensor_id": "{ids[i]}", "ts": "{iso[i]}", "metric": "{f}", '
                        f'"value": {v}}}'
                    )
                    out_ts.append(ts_list[i])
        return np.array(out_ts, dtype=np.int64), lines

    def _format(self, kind: str, field: str, values: FloatArray) -> list[str]:
        """JSON text of each value, "" where it is missing."""
        ftype = self.kind_specs[kind].fields[field].type
        vals = values.tolist()
        if ftype == "number":
            fmt = f"{{:.{DECIMALS.get((kind, field), 2)}f}}"
            return [fmt.format(v) if v == v else "" for v in vals]
        if ftype == "integer":
            return [str(int(v)) if v == v else "" for v in vals]
        if ftype == "boolean":
            return [("true" if v else "false") if v == v else "" for v in vals]
        codes = [json.dumps(c, ensure_ascii=False) for c in CATEGORICAL[(kind, field)]]
        return [codes[int(v)] if v == v else "" for v in vals]
