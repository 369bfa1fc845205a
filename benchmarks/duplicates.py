"""How well the hotline path links duplicate orders, measured on Boston 311 cases.

    python -m benchmarks.duplicates --data ../shared/data/boston311/boston311_2015H1.csv

Replays the cases in opening order through the duplicate index that the ticket service uses
(alerts.hotline.DuplicateIndex, with the radius and time window of alerts/routing.yaml), closing
each root case when Boston closed it.  Ground truth: Boston closed 1,6xx cases with a closure
reason saying "duplicate".  Reported:

- recall: of those, the share linked to an earlier case still open at that moment;
- false_merge_rate: of all other cases, the share linked anyway;
- precision: of all links, the share that are Boston duplicates.

Choices, stated once: Boston's request TYPE is the service code (it is Boston's own Open311
service); cases geocoded to City Hall's default point (42.3594, -71.0587, Boston's placeholder
for "no address") count as unlocated, and unlocated cases are never linked; request types that
are a person's own request rather than a fault in a public place (housing complaints, cart and
pickup requests, inspections, general comments, ...) are never merged, like `duplicates: false`
services in routing.yaml.  That list is by the kind of request, written before measuring.

The last line printed is the JSON summary; it is also written to benchmarks/results/."""

from __future__ import annotations

import argparse
import csv
import heapq
import json
import math
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

from alerts.hotline import DuplicateIndex, DuplicateRule, HotlineOrder
from alerts.routing import load_routing

BOSTON = ZoneInfo("America/New_York")
PLACEHOLDER = ("42.3594", "-71.0587")  # Boston's geocode for City Hall / unknown address
# Requests by a person for their own home, property or account, and administrative records:
# two of them at one address are two requests, not one fault reported twice.
OWN_REQUEST_REASONS = frozenset({
    "Housing", "Building", "Recycling", "Employee & General Comments", "Call Inquiry",
    "Animal Issues", "Disability", "Notification", "Health", "Administration",
    "Investigations and Enforcement", "Participatory Budgeting Idea Collection",
    "Fire Department", "Alert Boston", "MBTA", "Administrative & General Requests",
})  # fmt: skip
OWN_REQUEST_TYPES = frozenset({
    "Schedule a Bulk Item Pickup SS", "Space Savers", "Request for Litter Basket Installation",
    "New Tree Requests", "Requests for Traffic Signal Studies or Reviews",
    "Install New Lighting", "Upgrade Existing Lighting", "Park Improvement Requests",
    "Rodent Activity", "Contractor Complaints", "Utility Call-In",
})  # fmt: skip
RESULTS = Path(__file__).resolve().parent / "results"
NEVER = 2**62  # still open at the end of the file


@dataclass(frozen=True)
class Case:
    case_id: str
    opened: int
    closed: int | None
    type: str
    reason: str
    lat: float | None
    lon: float | None
    duplicate: bool


def _ts(text: str) -> int | None:
    if not text:
        return None
    return int(datetime.strptime(text, "%m/%d/%Y %I:%M:%S %p").replace(tzinfo=BOSTON).timestamp())


def load_cases(path: Path) -> tuple[list[Case], int]:
    """Cases sorted by opening time; also the number of rows that could not be read."""
    cases: list[Case] = []
    bad = 0
    with path.open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            try:
                opened = _ts(row["OPEN_DT"])
                if opened is None:
                    raise ValueError("no OPEN_DT")
                located = (row["LATITUDE"], row["LONGITUDE"]) != PLACEHOLDER and bool(
                    row["LATITUDE"]
                )
                cases.append(Case(
                    case_id=row["CASE_ENQUIRY_ID"], opened=opened, closed=_ts(row["CLOSED_DT"]),
                    type=row["TYPE"], reason=row["REASON"],
                    lat=float(row["LATITUDE"]) if located else None,
                    lon=float(row["LONGITUDE"]) if located else None,
                    duplicate="duplicate" in row["CLOSURE_REASON"].lower(),
                ))  # fmt: skip
            except (KeyError, ValueError):
                bad += 1
    cases.sort(key=lambda c: (c.opened, c.case_id))
    return cases, bad


def place_bound(case: Case) -> bool:
    return case.reason not in OWN_REQUEST_REASONS and case.type not in OWN_REQUEST_TYPES


@dataclass
class Result:
    radius_m: float
    window_s: int
    linked_duplicates: int
    linked_others: int
    duplicates: int
    others: int
    seconds: float

    @property
    def recall(self) -> float:
        return self.linked_duplicates / max(1, self.duplicates)

    @property
    def false_merge_rate(self) -> float:
        return self.linked_others / max(1, self.others)

    @property
    def precision(self) -> float:
        return self.linked_duplicates / max(1, self.linked_duplicates + self.linked_others)


def replay(cases: list[Case], radius_m: float, window_s: int) -> Result:
    """Opens and closes in time order (a close at the same second as an open comes first:
    a case closed at that instant is no longer open)."""
    types_merged = {c.type for c in cases if place_bound(c)}

    def rule_for(code: str) -> DuplicateRule | None:
        return DuplicateRule(radius_m, window_s) if code in types_merged else None

    index = DuplicateIndex(rule_for)
    closes: list[tuple[int, int]] = []  # heap of (closed, position) for roots
    linked_dup = linked_other = 0
    t0 = time.perf_counter()
    for i, c in enumerate(cases):  # already in opening order
        while closes and closes[0][0] <= c.opened:
            _, j = heapq.heappop(closes)
            index.remove(cases[j].case_id)
        order = HotlineOrder(c.case_id, c.type, c.opened, c.lat, c.lon)
        root = index.find(order)
        if root is not None:
            if c.duplicate:
                linked_dup += 1
            else:
                linked_other += 1
            continue
        if index.add(order):
            heapq.heappush(closes, (c.closed if c.closed is not None else NEVER, i))
    seconds = time.perf_counter() - t0
    n_dup = sum(c.duplicate for c in cases)
    return Result(radius_m, window_s, linked_dup, linked_other, n_dup, len(cases) - n_dup,
                  seconds)  # fmt: skip


def ceiling(cases: list[Case], radius_m: float, window_s: int) -> tuple[float, float]:
    """What ANY rule on (same type, within `radius_m`, opened within `window_s`, still open)
    could reach: the share of Boston's duplicates that have such an earlier case (the highest
    recall possible), and the share of the other place-bound cases that have one too (false
    merges such a rule cannot avoid).  Says whether a target is a matter of tuning or of the
    data."""
    located = [c for c in cases if c.lat is not None and c.lon is not None]
    opened = np.array([c.opened for c in located], dtype=np.int64)
    closed = np.array([NEVER if c.closed is None else c.closed for c in located], dtype=np.int64)
    lat = np.array([c.lat for c in located], dtype=np.float64)
    lon = np.array([c.lon for c in located], dtype=np.float64)
    codes = {t: k for k, t in enumerate(sorted({c.type for c in located}))}
    typ = np.array([codes[c.type] for c in located], dtype=np.int64)
    m_per_deg_lon = 111_320.0 * math.cos(math.radians(float(np.nanmean(lat)) if lat.size else 0))
    hits = {True: 0, False: 0}
    totals = {True: 0, False: 0}
    for i, c in enumerate(located):
        if not c.duplicate and not place_bound(c):
            continue
        j = slice(int(np.searchsorted(opened, c.opened - window_s)), i)
        dy = (lat[j] - lat[i]) * 111_320.0
        dx = (lon[j] - lon[i]) * m_per_deg_lon
        near = (dx * dx + dy * dy <= radius_m * radius_m) & (typ[j] == typ[i])
        totals[c.duplicate] += 1
        hits[c.duplicate] += bool((near & (closed[j] > c.opened)).any())
    return hits[True] / max(1, totals[True]), hits[False] / max(1, totals[False])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True, type=Path, help="Boston 311 CSV (OPEN_DT, ...)")
    ap.add_argument("--radius", type=float, default=None, help="metres (default: routing.yaml)")
    ap.add_argument("--window", type=int, default=None, help="seconds (default: routing.yaml)")
    ap.add_argument("--sweep", action="store_true", help="also print other radii and windows")
    ap.add_argument("--out", type=Path, default=RESULTS / "duplicates.json")
    args = ap.parse_args(argv)
    if not args.data.exists():
        print(f"no such file: {args.data}", file=sys.stderr)
        return 2
    dup = load_routing().hotline.duplicates
    radius = args.radius if args.radius is not None else dup.radius_m
    window = args.window if args.window is not None else int(dup.window)
    cases, bad = load_cases(args.data)
    print(f"{len(cases)} cases ({bad} unreadable), {sum(c.duplicate for c in cases)} closed "
          f"as duplicates, {sum(c.lat is None for c in cases)} unlocated")  # fmt: skip
    if args.sweep:
        print(f"{'radius_m':>8} {'window_h':>8} {'recall':>7} {'false_merge':>11} {'precision':>9}")
        for r in (0.0, 10.0, 30.0, 50.0, 100.0):
            for w in (3600, 6 * 3600, 86400, 3 * 86400, 7 * 86400, 30 * 86400):
                res = replay(cases, max(r, 0.5), w)
                print(f"{r:8.0f} {w / 3600:8.0f} {res.recall:7.3f} {res.false_merge_rate:11.4f} "
                      f"{res.precision:9.3f}")  # fmt: skip
    res = replay(cases, radius, window)
    best_recall, unavoidable = ceiling(cases, radius, window)
    summary = {
        "data": args.data.name,
        "cases": len(cases),
        "duplicates": res.duplicates,
        "radius_m": radius,
        "window_s": window,
        "linked_duplicates": res.linked_duplicates,
        "linked_others": res.linked_others,
        "recall": round(res.recall, 4),
        "false_merge_rate": round(res.false_merge_rate, 4),
        "precision": round(res.precision, 4),
        "orders_per_s": round(len(cases) / max(res.seconds, 1e-9)),
        "ceiling_recall": round(best_recall, 4),
        "ceiling_false_merge_rate": round(unavoidable, 4),
        "targets": {"recall": 0.7, "false_merge_rate": 0.02},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
