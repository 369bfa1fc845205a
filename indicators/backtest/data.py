"""Historical data as the flow's records, in time-ordered chunks.

Every adapter produces what a live source would deliver: chunks of whole CSV lines of flat
sensor readings (`sensor_id,ts,metric,value`), which the backtest feeds to the flow's own
decoder.  The conversion is columnar (polars): no Python runs per row.

- Beijing multi-site air quality (UCI, 12 stations, hourly, local time UTC+8): each station
  becomes one air-quality station of the demo city, as `flows.realdata` does for its slice.
- NAB (`timestamp,value`, no zone, read as UTC): the series becomes one sensor of the
  indicator's own kind, reporting the indicator's field, so any sensor indicator can be
  scored on it.
- Files already in the flow's formats (NDJSON or CSV records of any kind) are cut into chunks
  of whole lines as they are; --from/--to are applied to the decoded records."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from flows.city import SensorRegistry
from flows.decode.chunks import RawChunk
from flows.realdata import BEIJING_FIELDS, beijing_station_sensors
from flows.sources import BOM

HEADER = b"sensor_id,ts,metric,value"
WEEK_S = 7 * 86400


@dataclass(frozen=True)
class Source:
    """A replayable data set: its chunks, how many, and what it is."""

    name: str
    kind: str  # beijing | nab | records
    chunks: list[RawChunk]
    records: int
    first: int | None  # epoch seconds of the first and last reading
    last: int | None


def _chunks(frame: pl.DataFrame, name: str, every: int = WEEK_S) -> list[RawChunk]:
    """Cut a time-sorted long frame (sensor_id, ts_s, metric, value) into CSV chunks, one per
    `every` seconds of data, each a whole number of lines."""
    if frame.height == 0:
        return []
    ts = frame["ts_s"].to_numpy()
    edges = np.arange(ts[0] - ts[0] % every, ts[-1] + every, every)
    cuts = np.searchsorted(ts, edges[1:], side="left")
    text = frame.select(
        "sensor_id",
        pl.from_epoch("ts_s", time_unit="s").dt.strftime("%Y-%m-%dT%H:%M:%SZ").alias("ts"),
        "metric",
        "value",
    )
    out = []
    lo = 0
    for hi in [*cuts.tolist(), frame.height]:
        if hi > lo:
            data = text.slice(lo, hi - lo).write_csv(include_header=False).encode()
            out.append(RawChunk(name, lo + 2, data, "csv", HEADER))
            lo = hi
    return out


def _window(frame: pl.DataFrame, t_from: int | None, t_to: int | None) -> pl.DataFrame:
    if t_from is not None:
        frame = frame.filter(pl.col("ts_s") >= t_from)
    if t_to is not None:
        frame = frame.filter(pl.col("ts_s") < t_to)
    return frame


def _source(frame: pl.DataFrame, name: str, kind: str) -> Source:
    ts = frame["ts_s"]
    return Source(
        name,
        kind,
        _chunks(frame, name),
        frame.height,
        None if frame.is_empty() else int(ts[0]),
        None if frame.is_empty() else int(ts[-1]),
    )


def beijing_files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(path.glob("PRSA_Data_*.csv"))
    return [path] if path.name.startswith("PRSA_Data_") else []


def beijing_frame(
    files: list[Path],
    registry: SensorRegistry,
    fields: set[str],
    t_from: int | None = None,
    t_to: int | None = None,
) -> pl.DataFrame:
    """The stations' readings of `fields` (flow field names) in long form, time-sorted."""
    sensor_of = beijing_station_sensors(registry)
    cols = {col: name for col, (name, _) in BEIJING_FIELDS.items() if name in fields}
    factor = {col: f for col, (_, f) in BEIJING_FIELDS.items()}
    if not cols:
        raise ValueError(
            f"the Beijing data has {', '.join(n for n, _ in BEIJING_FIELDS.values())}; "
            f"the indicators read {', '.join(sorted(fields)) or 'none of them'}"
        )
    wide = pl.concat(
        [
            pl.read_csv(
                f,
                columns=["year", "month", "day", "hour", "station", *cols],
                null_values="NA",
                schema_overrides={c: pl.Float64 for c in cols},
            )
            for f in files
        ]
    )
    unknown = set(wide["station"].unique().to_list()) - set(sensor_of)
    if unknown:
        raise ValueError(f"stations not in the demo city's mapping: {', '.join(sorted(unknown))}")
    local = pl.datetime("year", "month", "day", "hour", time_zone="Asia/Shanghai")
    long = (
        wide.with_columns(
            local.dt.epoch("s").alias("ts_s"),
            pl.col("station").replace_strict(sensor_of).alias("sensor_id"),
            *[(pl.col(c) * factor[c]).alias(c) for c in cols],
        )
        .unpivot(
            on=list(cols), index=["sensor_id", "ts_s"], variable_name="col", value_name="value"
        )
        .drop_nulls("value")
        .with_columns(pl.col("col").replace_strict(cols).alias("metric"))
        .select("sensor_id", "ts_s", "metric", "value")
        .sort("ts_s", "sensor_id", maintain_order=True)
    )
    return _window(long, t_from, t_to)


def beijing_source(
    path: Path,
    registry: SensorRegistry,
    fields: set[str],
    t_from: int | None = None,
    t_to: int | None = None,
) -> Source:
    frame = beijing_frame(beijing_files(path), registry, fields, t_from, t_to)
    return _source(frame, path.name, "beijing")


def is_nab(path: Path) -> bool:
    with path.open("rb") as f:  # (polars reads past a spreadsheet's byte-order mark too)
        return f.readline().removeprefix(BOM).strip() == b"timestamp,value"


def nab_frame(
    path: Path, sensor_id: str, field: str, t_from: int | None = None, t_to: int | None = None
) -> pl.DataFrame:
    df = pl.read_csv(path, schema_overrides={"timestamp": pl.String, "value": pl.Float64})
    frame = (
        df.select(
            pl.lit(sensor_id).alias("sensor_id"),
            pl.col("timestamp")
            .str.to_datetime("%Y-%m-%d %H:%M:%S", time_zone="UTC")
            .dt.epoch("s")
            .alias("ts_s"),
            pl.lit(field).alias("metric"),
            "value",
        )
        .drop_nulls("value")
        .sort("ts_s", maintain_order=True)
    )
    return _window(frame, t_from, t_to)


def nab_source(
    path: Path, sensor_id: str, field: str, t_from: int | None = None, t_to: int | None = None
) -> Source:
    return _source(nab_frame(path, sensor_id, field, t_from, t_to), path.name, "nab")


def records_source(path: Path, chunk_bytes: int = 4 << 20) -> Source:
    """A file of the flow's own records (NDJSON, or CSV with a header), in whole-line chunks,
    as the flow reads it.  --from/--to apply after decoding (`run_backtest`'s `period`): only
    the flow's decoder knows each format's time, and it must see the whole file, as in a run,
    for its stream time and repeats to be the flow's.  A spreadsheet's byte-order mark before
    the first line is dropped, as the flow's file sources drop it."""
    raw = path.read_bytes().removeprefix(BOM)
    csv = path.suffix.lower() == ".csv"
    header = None
    first_line = 1
    if csv:
        head, _, raw = raw.partition(b"\n")
        header = head.rstrip(b"\r")
        first_line = 2
    chunks = []
    pos = 0
    line = first_line
    while pos < len(raw):
        end = raw.find(b"\n", min(pos + chunk_bytes, len(raw)) - 1)
        end = len(raw) if end < 0 else end + 1
        data = raw[pos:end]
        chunks.append(RawChunk(path.name, line, data, "csv" if csv else "ndjson", header))
        line += data.count(b"\n")
        pos = end
    return Source(path.name, "records", chunks, line - first_line, None, None)
