"""`citysigns backtest`: load the definitions and the data, replay with a progress bar, then
print the summary and write the HTML report (and a JSON of the same figures)."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from alerts.areas import area_label
from alerts.levels import LEVELS
from indicators.language.model import Indicator
from indicators.testing.pipeline import world

from .html import series_plot, write_html
from .places import Places
from .replay import (
    BacktestRun,
    dispatch_run,
    load_definitions,
    open_source,
    parse_time,
    run_backtest,
)
from .report import (
    Diff,
    Episode,
    Label,
    LabelScore,
    diff,
    episodes,
    load_labels,
    per_level_line,
    score_labels,
)
from .report import summarise as summarise


def _replay(
    console: Console,
    inds: list[Indicator],
    data: Path,
    t_from: int | None,
    t_to: int | None,
    what: str,
    catalog: Any,
    tickets: bool = True,
) -> BacktestRun:
    source = open_source(data, inds, t_from, t_to)
    if not source.chunks:
        raise ValueError(f"{data}: no readings for these indicators in that period")
    cols = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("chunks"),
        TimeElapsedColumn(),
    )
    with Progress(*cols, console=console, transient=False) as bar:
        task = bar.add_task(what, total=len(source.chunks))
        run = run_backtest(
            inds,
            source,
            catalog,
            lambda k: bar.update(task, completed=k),
            tickets=False,
            period=(t_from, t_to),
        )
    if not run.result.routed:
        raise ValueError(_nothing_for(data, inds, run, t_from, t_to))
    if tickets and run.result.warnings:
        with console.status(
            f"dispatching {len(run.result.warnings):,} warning events to the ticket service"
        ):
            run = dispatch_run(run, catalog)
    return run


def _nothing_for(
    data: Path, inds: list[Indicator], run: BacktestRun, t_from: int | None, t_to: int | None
) -> str:
    """Why a replay fed none of its indicators: what they read, what the data held."""
    from indicators.language import registry as lang

    def reads(ind: Indicator) -> str:
        if lang.kinds()[ind.source.kind].channel:
            return f"{ind.id} reads {ind.source.kind} records"
        return f"{ind.id} reads {ind.source.kind} {ind.row_field()}"

    period = ""
    if t_from is not None or t_to is not None:
        lo = "the start" if t_from is None else _iso(t_from)
        hi = "the end" if t_to is None else _iso(t_to)
        period = f" from {lo} to {hi}"
    held = ", ".join(f"{n:,} {what}" for what, n in run.result.decoded.most_common(6))
    more = len(run.result.decoded) - 6
    held += f" and {more} more" if more > 0 else ""
    dead = len(run.result.dead_letters)
    refused = f"; {dead:,} refused records (dead letters)" if dead else ""
    return (
        f"{data}: nothing for these indicators{period} ({'; '.join(map(reads, inds))}); the "
        f"data holds {held or 'no record the flow accepts'}{refused}"
    )


def plot_series(
    run: BacktestRun,
    eps: list[Episode],
    labels: Sequence[Label],
    limit: int,
    places: Places | None = None,
) -> list[tuple[str, bytes]]:
    """The finest-level series of each indicator, those with the most warnings first."""
    rows = run.result.scored_rows()
    if rows is None:
        return []
    names = world().names
    out: list[tuple[str, bytes]] = []
    count: dict[tuple[str, str], int] = {}
    for e in eps:
        count[(e.indicator, e.area)] = count.get((e.indicator, e.area), 0) + 1
    for ind in run.indicators:
        finest = min(
            ind.value.levels,
            key=lambda lv: ["sensor", "community", "grid", "street", "district", "city"].index(lv),
        )
        mine = (rows.indicator_id == ind.id) & (rows.area_level == finest)
        areas = np.unique(rows.area_code[mine]).tolist()
        areas.sort(key=lambda a: (-count.get((ind.id, a), 0), a))
        for area in areas[: max(0, limit - len(out))]:
            sel = np.flatnonzero(mine & (rows.area_code == area))
            series_eps = [e for e in eps if e.indicator == ind.id and e.area == area]
            series_labels = [lab for lab in labels if lab.about(area, places)]
            _, en = area_label(area, names)
            title = f"{ind.id} · {area} ({en}) · {len(series_eps)} warning(s)"
            out.append(
                (title, series_plot(rows.take(sel), series_eps, series_labels, title, ind.unit))
            )
    return out


def backtest(
    console: Console,
    paths: list[Path],
    data: Path,
    *,
    indicator: Sequence[str] = (),
    t_from: str | None = None,
    t_to: str | None = None,
    labels_path: Path | None = None,
    against: Path | None = None,
    out: Path = Path("backtest.html"),
    plots: int = 12,
    tickets: bool = True,
) -> dict[str, Any]:
    """Run it all; returns the JSON summary (also written beside the HTML)."""
    inds, catalog = load_definitions(paths, indicator)
    lo, hi = parse_time(t_from), parse_time(t_to)
    # Before the replay, which can take minutes: a broken labels file is refused at once.
    places = Places(world().city, world().registry)  # (label areas: codes, ids, names)
    labels: list[Label] = load_labels(labels_path, data, places) if labels_path else []
    run = _replay(console, inds, data, lo, hi, f"replaying {data.name}", catalog, tickets)
    eps = episodes(run.result.warnings, run.end)
    summary = summarise(eps, run.tickets)
    scored: LabelScore | None = score_labels(eps, labels, places) if labels_path else None
    changes: Diff | None = None
    if against is not None:
        old_inds, old_cat = load_definitions([against], [i.id for i in inds])
        old = _replay(
            console, old_inds, data, lo, hi, f"replaying {against.name}", old_cat, tickets=False
        )
        changes = diff(episodes(old.result.warnings, old.end), eps)
    t_plot = time.perf_counter()
    pngs = plot_series(run, eps, labels, plots, places)
    meta: dict[str, Any] = {
        "indicators": ", ".join(i.id for i in inds),
        "definitions": ", ".join(map(str, paths)),
        "data": str(data),
        "records": run.source.records,
        "used by the indicators": run.result.routed,
        "period": f"{_iso(run.start)} .. {_iso(run.end)}",
        "windows scored": run.result.windows,
        "windows too few to judge (min_count)": run.result.unjudged,
        "late events": run.result.late,
        "dead letters": len(run.result.dead_letters),
        "replay seconds": round(run.replay_seconds, 2),
        "with tickets seconds": round(run.seconds, 2),
    }
    write_html(str(out), f"Backtest: {meta['indicators']}", meta, summary, pngs, scored, changes)
    result: dict[str, Any] = {
        "meta": meta,
        "summary": summary.to_dict(),
        "plot_seconds": round(time.perf_counter() - t_plot, 2),
    }
    if scored is not None:
        result["labels"] = scored.to_dict()
    if changes is not None:
        result["against"] = changes.to_dict() | {"old": str(against)}
    out.with_suffix(".json").write_text(json.dumps(result, indent=1, default=str), "utf-8")
    _print(console, meta, summary.to_dict(), scored, changes, out)
    return result


def _iso(ts: int) -> str:
    from .report import iso

    return iso(ts)


def _print(
    console: Console,
    meta: dict[str, Any],
    s: dict[str, Any],
    scored: LabelScore | None,
    changes: Diff | None,
    out: Path,
) -> None:
    console.print(
        f"{meta['indicators']} over {meta['data']}: {meta['records']:,} records "
        f"({meta['used by the indicators']:,} readings or records used), "
        f"{meta['period']}, replayed in {meta['replay seconds']} s",
        highlight=False,
    )
    thin = meta["windows too few to judge (min_count)"]
    if thin:  # (an indicator whose areas rarely reach min_count warns about nothing)
        console.print(
            f"{thin:,} of {meta['windows scored']:,} windows had fewer records than their "
            "indicator's min_count and were not judged: no warning could come of them",
            highlight=False,
        )
    t = Table(title="warnings (episodes) per level")
    for c in ("level", "episodes (highest level)", "reaching it", "series-hours at level"):
        t.add_column(c, justify="right")
    for lv in LEVELS:
        t.add_row(lv, str(s["per_level"][lv]), str(s["reached"][lv]), str(s["hours_at"][lv]))
    console.print(t)
    tk = s["tickets"]
    console.print(
        f"tickets: {tk['tickets']:,} ({tk['warnings_merged']:,} warnings merged into them); "
        f"by the highest level reached: {per_level_line(tk['by_peak_level'])}",
        highlight=False,
    )
    if s["per_area"]:
        top = ", ".join(f"{r['area']} {r['episodes']}" for r in s["per_area"][:6])
        console.print(f"most warned areas: {top}", highlight=False)
    if s["per_week"]:
        busiest = sorted(s["per_week"], key=lambda w: -sum(w[lv] for lv in LEVELS))[:3]
        console.print(
            "busiest weeks: "
            + ", ".join(f"{w['week']} {sum(w[lv] for lv in LEVELS)}" for w in busiest),
            highlight=False,
        )
    if scored is not None:
        console.print(
            f"labels: {scored.labels}, detected {scored.detected}, missed "
            f"{scored.missed}, false alarms {scored.false_alarms}, median lead time "
            f"{scored.median_lead}",
            highlight=False,
        )
    if changes is not None:
        console.print(
            f"against the older definition: {len(changes.added)} added, "
            f"{len(changes.removed)} removed, {changes.kept} kept",
            highlight=False,
        )
    console.print(f"report: {out} (and {out.with_suffix('.json')})", highlight=False)
