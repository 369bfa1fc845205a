"""The backtest report as one self-contained HTML file: tables, and a plot per series with
its values, the detectors' expected band, the warnings shaded by level and the labelled
incidents marked.  Plots are PNGs embedded as base64, so the file can be mailed or attached
to a change request as it is."""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display: a report is written from servers and CI too
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Patch

from alerts.levels import LEVELS
from alerts.scored import ScoredBatch

from .report import Diff, Episode, Label, LabelScore, Summary, iso

LEVEL_COLOURS = {"blue": "#1f77ff", "yellow": "#f2c500", "orange": "#ff7f0e", "red": "#d62728"}


def level_timeline(t: np.ndarray, eps: Sequence[Episode]) -> np.ndarray:
    """The warning level (index into LEVELS, -1 none) in force at each window end `t`."""
    segs = sorted(s for e in eps for s in e.segments)
    out = np.full(t.size, -1, dtype=np.int64)
    if not segs:
        return out
    starts = np.array([s[0] for s in segs])
    ends = np.array([s[1] for s in segs])
    lv = np.array([LEVELS.index(s[2]) for s in segs])
    k = np.searchsorted(starts, t, side="right") - 1
    ok = (k >= 0) & (t <= ends[np.maximum(k, 0)])
    out[ok] = lv[k[ok]]
    return out


CITY_OFFSET_S = 8 * 3600  # plots read in city time, like every time in the report's tables


def city_time(ts: np.ndarray | int) -> np.ndarray:
    """Epoch seconds as numpy datetimes on the city's wall clock (UTC+8, no DST)."""
    return (np.asarray(ts, dtype=np.int64) + CITY_OFFSET_S).astype("datetime64[s]")


ZOOM_AFTER_S = 60 * 86400  # longer series get a second panel: three weeks around the worst
ZOOM_S = 21 * 86400


def series_plot(
    rows: ScoredBatch, eps: Sequence[Episode], labels: Sequence[Label], title: str, unit: str
) -> bytes:
    """One series: value, band, warning shading by level, incidents; a PNG.  Over a long
    period a second panel shows the three weeks around the highest, longest warning, where
    the band and the shading can be read."""
    order = np.argsort(rows.window_end, kind="stable")
    t = rows.window_end[order]
    zoom = t.size > 1 and int(t[-1] - t[0]) > ZOOM_AFTER_S
    fig, axes = plt.subplots(2 if zoom else 1, 1, figsize=(13, 5.6 if zoom else 3.0), dpi=90)
    axs = list(np.atleast_1d(axes))
    _panel(axs[0], rows, order, eps, labels, title, unit)
    if zoom:
        worst = max(eps, key=lambda e: (LEVELS.index(e.top), e.end - e.start), default=None)
        mid = int(t[t.size // 2]) if worst is None else (worst.start + worst.end) // 2
        lo = max(int(t[0]), mid - ZOOM_S // 2)
        keep = order[(t >= lo) & (t < lo + ZOOM_S)]
        _panel(axs[1], rows, keep, eps, labels, f"zoom: three weeks from {iso(lo)} (UTC+8)", unit)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def _panel(
    ax: Any,
    rows: ScoredBatch,
    order: np.ndarray,
    eps: Sequence[Episode],
    labels: Sequence[Label],
    title: str,
    unit: str,
) -> None:
    t = rows.window_end[order]
    x = city_time(t)
    value, lower, upper = rows.value[order], rows.lower[order], rows.upper[order]
    lvl = level_timeline(t, eps)
    trans = ax.get_xaxis_transform()
    for k, name in enumerate(LEVELS):
        if (lvl == k).any():
            ax.fill_between(
                x,
                0,
                1,
                where=lvl == k,
                transform=trans,
                step="pre",
                color=LEVEL_COLOURS[name],
                alpha=0.28,
                linewidth=0,
            )
    has_band = np.isfinite(lower) | np.isfinite(upper)
    if has_band.any():
        lo = np.where(
            np.isfinite(lower), lower, np.nanmin(value) if np.isfinite(value).any() else 0
        )
        hi = np.where(
            np.isfinite(upper), upper, np.nanmax(value) if np.isfinite(value).any() else 0
        )
        ax.fill_between(
            x,
            lo,
            hi,
            where=has_band,
            color="#888888",
            alpha=0.35,
            linewidth=0,
            step="pre",
            label="expected band",
        )
    ax.plot(x, value, color="black", linewidth=0.6, label="value")
    for lab in labels:
        if t.size and (lab.end < t[0] or lab.start > t[-1]):
            continue
        ax.axvspan(
            city_time(lab.start),
            city_time(lab.end),
            facecolor="none",
            edgecolor="#7b2cbf",
            hatch="///",
            linewidth=0.8,
        )
        ax.axvline(city_time(lab.ref), color="#7b2cbf", linewidth=1.2)
    handles, _ = ax.get_legend_handles_labels()
    handles += [
        Patch(color=LEVEL_COLOURS[n], alpha=0.4, label=n)
        for n in LEVELS
        if (lvl == LEVELS.index(n)).any()
    ]
    if labels:
        handles.append(Patch(facecolor="none", edgecolor="#7b2cbf", hatch="///", label="incident"))
    ax.legend(handles=handles, loc="upper left", fontsize=7, ncol=len(handles))
    ax.set_title(title, fontsize=9, loc="left")
    ax.set_ylabel("share" if unit == "1" else unit, fontsize=8)  # "1": UCUM's dimensionless
    ax.set_xlabel("city time (UTC+8)", fontsize=7)
    ax.tick_params(labelsize=7)
    ax.margins(x=0)


def _table(rows: Sequence[dict[str, Any]], limit: int | None = None) -> str:
    if not rows:
        return "<p>none</p>"
    shown = list(rows[:limit] if limit else rows)
    cols = list(shown[0])
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in cols)
    body = "".join(
        "<tr>"
        + "".join(
            f"<td>{html.escape('' if r.get(c) is None else str(r.get(c)))}</td>" for c in cols
        )
        + "</tr>"
        for r in shown
    )
    more = (
        f"<p>… {len(rows) - len(shown)} more rows in the JSON summary</p>"
        if limit and len(rows) > limit
        else ""
    )
    return f"<table><tr>{head}</tr>{body}</table>{more}"


def write_html(
    path: str,
    title: str,
    meta: dict[str, Any],
    summary: Summary,
    plots: Sequence[tuple[str, bytes]],
    labels: LabelScore | None = None,
    changes: Diff | None = None,
) -> None:
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title><style>",
        "body{font-family:sans-serif;margin:1.5em;max-width:1250px}"
        "table{border-collapse:collapse;font-size:12px;margin:.5em 0}"
        "td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}"
        "th{background:#eee}img{max-width:100%;display:block;margin:.3em 0 1em}",
        "</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        _table([{"what": k, "value": v} for k, v in meta.items()]),
        "<h2>Warnings per level</h2>",
        _table(
            [
                {
                    "level": lv,
                    "episodes (highest level)": summary.per_level[lv],
                    "episodes reaching it": summary.reached[lv],
                    "series-hours at level": summary.hours_at[lv],
                }
                for lv in LEVELS
            ]
        ),
        "<h2>Tickets</h2>",
        _table([{"what": k, "value": v} for k, v in summary.tickets.items()]),
    ]
    if labels is not None:
        parts += [
            "<h2>Against the labels</h2>",
            _table(
                [
                    {
                        "labels": labels.labels,
                        "detected": labels.detected,
                        "missed": labels.missed,
                        "false alarms": labels.false_alarms,
                        "median lead time": labels.median_lead,
                    }
                ]
            ),
            _table(labels.rows),
        ]
    if changes is not None:
        d = changes.to_dict()
        parts += [
            "<h2>Against the older definition</h2>",
            _table([{"added": d["added"], "removed": d["removed"], "kept": d["kept"]}]),
            _table(
                [
                    {"level": lv, "old": d["per_level_old"][lv], "new": d["per_level_new"][lv]}
                    for lv in LEVELS
                ]
            ),
            "<h3>Added</h3>",
            _table(d["added_episodes"], 50),
            "<h3>Removed</h3>",
            _table(d["removed_episodes"], 50),
        ]
    parts += ["<h2>Series</h2>"]
    for caption, png in plots:
        data = base64.b64encode(png).decode()
        parts.append(
            f"<h3>{html.escape(caption)}</h3><img alt='{html.escape(caption)}' "
            f"src='data:image/png;base64,{data}'>"
        )
    parts += [
        "<h2>Per area</h2>",
        _table(summary.per_area, 100),
        "<h2>Per week (episodes by highest level, weeks with warnings)</h2>",
        _table(summary.per_week, 300),
        f"<p>written {html.escape(iso(int(meta.get('_now', 0))))}</p>" if "_now" in meta else "",
        "</body></html>",
    ]
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(parts))
