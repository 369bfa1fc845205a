"""What a backtest says: warnings per level, per area and per week, time spent at each level,
tickets, and, where labels exist, detections, misses, false alarms and lead time; with an
older definition, what the change adds and removes.

The unit of counting is the *episode*: one warning of one series from `firing` to `resolved`
(or to the end of the data), with the levels it went through."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from alerts.events import WarningEvent
from alerts.levels import LEVELS
from alerts.tickets import Ticket
from indicators.language.diagnostics import Diagnostic

if TYPE_CHECKING:
    from .places import Places

CITY_TZ = ZoneInfo("Asia/Shanghai")


@dataclass
class Episode:
    indicator: str
    area: str
    area_level: str
    start: int  # when it fired
    end: int  # when it resolved, or the end of the data
    resolved: bool
    segments: list[tuple[int, int, str]] = field(default_factory=list)  # (from, to, level)

    @property
    def top(self) -> str:
        return max((s[2] for s in self.segments), key=LEVELS.index)

    @property
    def series(self) -> tuple[str, str]:
        """What the episode is a warning of: one indicator in one area."""
        return (self.indicator, self.area)

    def overlaps(self, other: Episode) -> bool:
        """Both warn about the same series at some common time.  The indicator counts as
        much as the area: a PM10 episode that a change removed is not kept by the PM2.5
        episode of the same station at the same hours."""
        return self.series == other.series and self.start < other.end and other.start < self.end


def episodes(warnings: list[WarningEvent], data_end: int) -> list[Episode]:
    """Episodes from the warning events of a run (events in time order per series)."""
    open_: dict[tuple[str, str], Episode] = {}
    out: list[Episode] = []
    for e in sorted(warnings, key=lambda e: (e.at, e.indicator_id, e.area_code)):
        key = (e.indicator_id, e.area_code)
        ep = open_.get(key)
        if e.kind == "firing" or ep is None:
            ep = Episode(e.indicator_id, e.area_code, e.area_level, e.at, data_end, False)
            open_[key] = ep
            out.append(ep)
            ep.segments.append((e.at, data_end, e.level))
            continue
        a, _, lv = ep.segments[-1]
        ep.segments[-1] = (a, e.at, lv)
        if e.kind == "resolved":
            ep.end, ep.resolved = e.at, True
            del open_[key]
        else:
            ep.segments.append((e.at, data_end, e.level))
    return out


def week_of(ts: int) -> str:
    y, w, _ = datetime.fromtimestamp(ts, CITY_TZ).isocalendar()
    return f"{y}-W{w:02d}"


def iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, CITY_TZ).strftime("%Y-%m-%d %H:%M")


@dataclass
class Summary:
    episodes: int
    per_level: dict[str, int]  # episodes by the highest level they reached
    reached: dict[str, int]  # episodes that reached each level
    hours_at: dict[str, float]  # series-hours spent at each level
    per_area: list[dict[str, Any]]
    per_week: list[dict[str, Any]]
    tickets: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def summarise(eps: list[Episode], tickets: list[Ticket]) -> Summary:
    per_level = Counter(e.top for e in eps)
    reached = Counter(lv for e in eps for lv in {s[2] for s in e.segments})
    hours: dict[str, float] = dict.fromkeys(LEVELS, 0.0)
    by_area: dict[tuple[str, str, str], dict[str, Any]] = {}
    by_week: dict[str, Counter[str]] = defaultdict(Counter)
    for e in eps:
        row = by_area.setdefault(
            (e.indicator, e.area, e.area_level),
            {
                "indicator": e.indicator,
                "area": e.area,
                "area_level": e.area_level,
                "episodes": 0,
                "top": "blue",
            }
            | {f"hours_{lv}": 0.0 for lv in LEVELS},
        )
        row["episodes"] += 1
        if LEVELS.index(e.top) > LEVELS.index(row["top"]):
            row["top"] = e.top
        for a, b, lv in e.segments:
            hours[lv] += (b - a) / 3600
            row[f"hours_{lv}"] += (b - a) / 3600
        by_week[week_of(e.start)][e.top] += 1
    per_area = sorted(by_area.values(), key=lambda r: (-r["episodes"], r["area"]))
    for r in per_area:
        for lv in LEVELS:
            r[f"hours_{lv}"] = round(r[f"hours_{lv}"], 1)
    per_week = [
        {"week": w} | {lv: c.get(lv, 0) for lv in LEVELS} for w, c in sorted(by_week.items())
    ]
    t_summary = {
        "tickets": len(tickets),
        # the highest level each ticket reached, as the episodes are counted by theirs (a
        # ticket's `level` at the end is the level its last warning cleared at: mostly blue)
        "by_peak_level": _per_level(Counter(t.peak_level for t in tickets)),
        "by_level_at_end": _per_level(Counter(t.level for t in tickets)),
        "by_department_tier": dict(Counter(f"{t.department}/{t.tier}" for t in tickets)),
        "warnings_merged": sum(t.warning_count for t in tickets),
    }
    return Summary(
        len(eps),
        {lv: per_level.get(lv, 0) for lv in LEVELS},
        {lv: reached.get(lv, 0) for lv in LEVELS},
        {k: round(v, 1) for k, v in hours.items()},
        per_area,
        per_week,
        t_summary,
    )


# -- labels ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Label:
    """A labelled anomaly: a window in which a warning counts as a detection, the instant
    lead time is measured against (NAB: the window's middle, where NAB centres the anomaly;
    an incident: its start), and optionally the area it concerns.  NAB counts a detection
    only when it fires inside the window (earlier is a false positive there); for a known
    incident, a warning already on when it starts is a detection with a positive lead."""

    start: int
    end: int
    ref: int
    area: str | None = None
    name: str = ""
    inside: bool = True  # NAB: the warning must fire inside the window; an incident: be on

    def about(self, area: str, places: Places | None = None) -> bool:
        """Whether a series of `area` concerns this label: any does when the label has no
        area; else the area itself, and with `places` an area inside it or containing it."""
        if self.area is None or area == self.area:
            return True
        return places is not None and places.related(self.area, area)

    def hit(self, e: Episode, places: Places | None = None) -> bool:
        if not self.about(e.area, places):
            return False
        if self.inside:
            return self.start <= e.start <= self.end
        return e.start <= self.end and e.end >= self.start


def _nab_time(s: str) -> int:
    return int(datetime.fromisoformat(s.strip()).replace(tzinfo=UTC).timestamp())


LABEL_COLUMNS = ("start", "end", "area", "name")
_REQUIRED = ("start", "end")
_EXAMPLE = "2015-12-08T07:00:00+08:00"


class LabelsError(ValueError):
    """A labels file that cannot be read: every mistake, each at its `file:line:col`, found
    before the replay (which can take minutes) rather than after it."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        super().__init__("\n".join(map(str, diagnostics)))
        self.diagnostics = diagnostics


def _city_time(text: str) -> int:
    """An ISO 8601 instant; without an offset (or a date alone) it is city time, as
    `--from`/`--to` are: the incidents are the city's, and the machine's zone is no one's."""
    when = datetime.fromisoformat(text.strip())
    if when.tzinfo is None:
        when = when.replace(tzinfo=CITY_TZ)
    return int(when.timestamp())


def load_labels(path: Path, data: Path, places: Places | None = None) -> list[Label]:
    """NAB `combined_windows.json` (the entry whose key ends like the data file), or a CSV of
    known incidents with columns start,end[,area][,name] (ISO 8601; city time without an
    offset; the area a code, a sensor id or an unambiguous name, resolved with `places`).
    A CSV is checked whole; LabelsError lists every mistake."""
    if path.suffix == ".json":
        windows = json.loads(path.read_text("utf-8"))
        keys = [k for k in windows if data.as_posix().endswith(k)]
        if not keys:
            raise ValueError(f"{path} has no windows for {data.name} (keys are category/file.csv)")
        out = []
        for a, b in windows[keys[0]]:
            s, e = _nab_time(a), _nab_time(b)
            out.append(Label(s, e, (s + e) // 2, None, f"NAB window {a[:16]}"))
        return out
    return _csv_labels(path, places)


def _csv_labels(path: Path, places: Places | None = None) -> list[Label]:
    name = str(path)
    diags: list[Diagnostic] = []

    def error(line: int, col: int, message: str) -> None:
        diags.append(Diagnostic(name, line, col, None, message))

    expected = "start,end[,area][,name] (e.g. start,end,name)"
    try:
        text = path.read_text("utf-8-sig")  # (a spreadsheet's UTF-8 export starts with a BOM)
    except UnicodeDecodeError as e:
        raise LabelsError([Diagnostic(name, 1, 1, None, f"not UTF-8 ({e.reason})")]) from None
    except OSError as e:
        raise LabelsError([Diagnostic(name, 1, 1, None, f"cannot read: {e.strerror}")]) from None
    raw_lines = text.splitlines()
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if not header:
        raise LabelsError([Diagnostic(name, 1, 1, None, f"empty: the header is {expected}")])
    columns = [c.strip() for c in header]
    missing = [c for c in _REQUIRED if c not in columns]
    unknown = [c for c in columns if c not in LABEL_COLUMNS]
    if missing or unknown or len(set(columns)) != len(columns):
        what = [f"missing {', '.join(missing)}"] if missing else []
        what += [f"unknown {', '.join(unknown)}"] if unknown else []
        what += ["a column twice"] if len(set(columns)) != len(columns) else []
        message = (
            f"the header is {','.join(columns)} ({'; '.join(what)}): a labels file has the "
            f"columns {expected}"
        )
        raise LabelsError([Diagnostic(name, 1, 1, None, message)])
    out: list[Label] = []
    for line, fields in _rows(reader, name):
        if not any(f.strip() for f in fields):
            continue
        if len(fields) != len(columns):
            error(
                line,
                1,
                f"{len(fields)} fields, the header has {len(columns)} ({','.join(columns)})",
            )
            continue
        raw = raw_lines[line - 1] if line <= len(raw_lines) else ""
        cols = _columns_of(raw, fields)
        row = dict(zip(columns, fields, strict=True))
        times: dict[str, int] = {}
        for c in _REQUIRED:
            cell = row[c].strip()
            if not cell and c == "end":
                continue  # an instant: the end is the start
            try:
                times[c] = _city_time(cell)
            except ValueError:
                error(
                    line,
                    cols[columns.index(c)],
                    f"{c} {cell!r} is not a time: write ISO 8601, e.g. {_EXAMPLE} or 2015-12-08 "
                    "(city time without an offset)",
                )
        if "start" not in times or ("end" not in times and row["end"].strip()):
            continue
        start = times["start"]
        end = times.get("end", start)
        if end < start:
            error(
                line,
                cols[columns.index("end")],
                f"end {row['end'].strip()} is before start {row['start'].strip()}: swap them",
            )
            continue
        area = row.get("area", "").strip() or None
        if area is not None and places is not None:
            code, why = places.resolve(area)
            if code is None:
                error(line, cols[columns.index("area")], f"area {why}")
                continue
            area = code
        out.append(Label(start, end, start, area, row.get("name", "").strip(), False))
    if not out and not diags:
        error(1, 1, f"no labels: the header is there but no row follows ({expected})")
    if diags:
        raise LabelsError(diags)
    return out


def _rows(reader: Any, name: str) -> Iterator[tuple[int, list[str]]]:
    """(line, fields) per record; a line the csv module cannot read is a LabelsError."""
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            raise LabelsError([Diagnostic(name, reader.line_num, 1, None, str(e))]) from None
        yield reader.line_num, fields


def _columns_of(raw: str, fields: list[str]) -> list[int]:
    """Each field's column on its line (1-based), when the line is plain (no quotes); else 1."""
    if '"' in raw or ",".join(fields) != raw:
        return [1] * len(fields)
    cols, at = [], 1
    for f in fields:
        cols.append(at)
        at += len(f) + 1
    return cols


@dataclass
class LabelScore:
    labels: int
    detected: int
    missed: int
    false_alarms: int
    lead_times_h: list[float]
    rows: list[dict[str, Any]]

    @property
    def median_lead_h(self) -> float | None:
        if not self.lead_times_h:
            return None
        v = sorted(self.lead_times_h)
        mid = v[len(v) // 2] if len(v) % 2 else (v[len(v) // 2 - 1] + v[len(v) // 2]) / 2
        return round(mid, 2)

    @property
    def median_lead(self) -> str:
        """The median lead time as a person reads it: "4.54 h", or "n/a" when nothing was
        detected (it printed "None h")."""
        m = self.median_lead_h
        return "n/a" if m is None else f"{m} h"

    def to_dict(self) -> dict[str, Any]:
        return {
            "labels": self.labels,
            "detected": self.detected,
            "missed": self.missed,
            "false_alarms": self.false_alarms,
            "median_lead_h": self.median_lead_h,
            "windows": self.rows,
        }


def score_labels(
    eps: list[Episode], labels: list[Label], places: Places | None = None
) -> LabelScore:
    """A label is detected by the first episode that hits it (`Label.hit`: with `places`, an
    episode of an area inside the label's or containing it counts too); an episode that hits
    no label is a false alarm.  Lead time: the label's reference instant minus the first
    hitting episode's firing time (positive = warned before)."""
    used: set[int] = set()
    rows = []
    leads = []
    for lab in labels:
        hits = [i for i, e in enumerate(eps) if lab.hit(e, places)]
        used.update(hits)
        first = min((eps[i].start for i in hits), default=None)
        lead = None if first is None else (lab.ref - first) / 3600
        if lead is not None:
            leads.append(lead)
        rows.append(
            {
                "label": lab.name,
                "start": iso(lab.start),
                "end": iso(lab.end),
                "detected": first is not None,
                "first_warning": None if first is None else iso(first),
                "lead_h": None if lead is None else round(lead, 2),
            }
        )
    det = sum(1 for r in rows if r["detected"])
    false = len(eps) - len(used)
    return LabelScore(len(labels), det, len(labels) - det, false, leads, rows)


# -- against an older definition ------------------------------------------------------------
@dataclass
class Diff:
    added: list[Episode]
    removed: list[Episode]
    kept: int
    per_level_old: dict[str, int]
    per_level_new: dict[str, int]

    def to_dict(self) -> dict[str, Any]:
        def ep(e: Episode) -> dict[str, Any]:
            return {
                "indicator": e.indicator,
                "area": e.area,
                "from": iso(e.start),
                "to": iso(e.end),
                "top": e.top,
            }

        return {
            "added": len(self.added),
            "removed": len(self.removed),
            "kept": self.kept,
            "per_level_old": self.per_level_old,
            "per_level_new": self.per_level_new,
            "added_episodes": [ep(e) for e in self.added[:200]],
            "removed_episodes": [ep(e) for e in self.removed[:200]],
        }


def diff(old: list[Episode], new: list[Episode]) -> Diff:
    """Episodes of the new definition that overlap no old episode of the same series (same
    indicator, same area) are added; old ones that no new episode overlaps are removed."""
    old_by_series: dict[tuple[str, str], list[Episode]] = defaultdict(list)
    for e in old:
        old_by_series[e.series].append(e)
    new_by_series: dict[tuple[str, str], list[Episode]] = defaultdict(list)
    for e in new:
        new_by_series[e.series].append(e)
    added = [e for e in new if not any(e.overlaps(o) for o in old_by_series[e.series])]
    removed = [o for o in old if not any(o.overlaps(e) for e in new_by_series[o.series])]
    return Diff(
        added,
        removed,
        len(new) - len(added),
        {lv: sum(e.top == lv for e in old) for lv in LEVELS},
        {lv: sum(e.top == lv for e in new) for lv in LEVELS},
    )


def _per_level(counts: Counter[str]) -> dict[str, int]:
    """Counts in level order, every level present (0 when none), for a table and a line."""
    return {lv: counts.get(lv, 0) for lv in LEVELS}


def per_level_line(counts: dict[str, int]) -> str:
    """`{'blue': 940, 'red': 5}` as a person reads it: "blue 940, yellow 0, orange 0, red 5"."""
    return ", ".join(f"{lv} {counts.get(lv, 0):,}" for lv in LEVELS)
