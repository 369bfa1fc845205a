"""One backtest run: a data source replayed through some indicator definitions with the
flow's code (`indicators.testing.pipeline.Replay`), then the warnings through the ticket
service, as the analysts' tests do, but over months or years of data."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from alerts.tickets import Ticket
from flows.plan import unknown_filter_sensors
from indicators.language.diagnostics import CatalogError
from indicators.language.model import Indicator
from indicators.language.validate import Catalog, load_catalog_or_raise
from indicators.testing.pipeline import Replay, ReplayResult, world
from indicators.testing.runner import dispatch

from .data import Source, beijing_files, beijing_source, is_nab, nab_source, records_source


@dataclass
class BacktestRun:
    indicators: list[Indicator]
    source: Source
    result: ReplayResult
    tickets: list[Ticket]
    seconds: float
    replay_seconds: float

    period: tuple[int | None, int | None] = (None, None)  # --from / --to, epoch seconds

    @property
    def start(self) -> int:
        """The first scored window's start (the period's, or the data's, when none closed)."""
        rows = self.result.scored_rows()
        if rows is not None:
            return int(rows.window_start.min())
        return self.period[0] or self.source.first or 0

    @property
    def end(self) -> int:
        rows = self.result.scored_rows()
        if rows is not None:
            return int(rows.window_end.max())
        return self.period[1] or self.source.last or self.start


def parse_time(text: str | None) -> int | None:
    """--from / --to: a date (city time, UTC+8) or an ISO 8601 instant with its offset."""
    if text is None:
        return None
    s = text if "T" in text else f"{text}T00:00:00+08:00"
    when = datetime.fromisoformat(s)
    if when.tzinfo is None:
        raise ValueError(f"{text!r} has no zone; write 2016-01-01 or 2016-01-01T00:00:00+08:00")
    return int(when.timestamp())


def open_source(
    data: Path, indicators: Sequence[Indicator], t_from: int | None, t_to: int | None
) -> Source:
    """The data set behind --data: the Beijing CSVs, a NAB file, or the flow's own records."""
    w = world()
    fields = {i.value.field for i in indicators if i.value.field and not _channel(i)}
    if beijing_files(data):
        return beijing_source(data, w.registry, fields, t_from, t_to)
    if data.is_file() and data.suffix == ".csv" and is_nab(data):
        sensors = [i for i in indicators if not _channel(i) and i.value.field]
        if len(sensors) != 1:
            raise ValueError("a NAB file is one series: backtest one sensor indicator on it")
        ind = sensors[0]
        rows = w.registry.kind_rows(ind.source.kind)
        sensor = w.registry.ids(rows[:1])[0]
        assert ind.value.field is not None
        return nab_source(data, sensor, ind.value.field, t_from, t_to)
    if data.is_file():
        return records_source(data)
    raise ValueError(f"{data}: not a Beijing PRSA folder, a NAB CSV or a file of records")


def _channel(ind: Indicator) -> bool:
    from indicators.language import registry as lang

    return bool(lang.kinds()[ind.source.kind].channel)


def run_backtest(
    indicators: Sequence[Indicator],
    source: Source,
    catalog: Catalog | None = None,
    progress: Callable[[int], None] | None = None,
    tickets: bool = True,
    period: tuple[int | None, int | None] = (None, None),
) -> BacktestRun:
    """Replay `source` through `indicators`; `progress(n)` is called after each chunk.  Only
    records in `period` (epoch seconds, either end open) reach the indicators: the Beijing
    and NAB adapters cut their frames to it already, a file of records is cut here, after
    the flow's decoder has read it whole."""
    t0 = time.perf_counter()
    replay = Replay(list(indicators), [source.name], period=period)
    for k, chunk in enumerate(source.chunks, start=1):
        replay.feed(source.name, chunk)
        if progress is not None:
            progress(k)
    result = replay.finish()
    t1 = time.perf_counter()
    run = BacktestRun(list(indicators), source, result, [], t1 - t0, t1 - t0, period)
    return dispatch_run(run, catalog) if tickets else run


def dispatch_run(run: BacktestRun, catalog: Catalog | None = None) -> BacktestRun:
    """The run's warnings through the real ticket service (merging, tiers, deadlines).  No
    department acts in a backtest, so an incident's ticket stays open and later warnings of
    the same family and area merge into it: the count is of incidents, not of warnings."""
    if not run.result.warnings:
        return run
    t0 = time.perf_counter()
    cat = catalog or Catalog(indicators={i.id: i for i in run.indicators})
    w = run.result.warnings
    run.tickets = dispatch(w, [], cat, world(), int(w[0].at))
    run.seconds += time.perf_counter() - t0
    return run


def load_definitions(
    paths: Sequence[Path], only: Sequence[str] = ()
) -> tuple[list[Indicator], Catalog]:
    """The indicators of `paths` (all, or those named by `only`); a `sensor_id` filter naming
    a sensor the registry in use does not have is refused as a catalog error."""
    catalog = load_catalog_or_raise(list(paths))
    unknown = unknown_filter_sensors(catalog, world().registry)
    if unknown:
        raise CatalogError(unknown)
    inds = [i for i in catalog if not only or i.id in only]
    missing = set(only) - {i.id for i in inds}
    if missing:
        raise ValueError(f"not in {', '.join(map(str, paths))}: {', '.join(sorted(missing))}")
    return inds, catalog
