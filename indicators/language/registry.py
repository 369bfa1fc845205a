"""What indicator definitions may refer to: area levels, record kinds and their fields, hotline
categories and departments.  The lists are data files under indicators/registry/ so that an
analyst can read them; this module loads them once and answers "does X exist, and if not, what
did you mean?"."""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from .model import Indicator

# The five levels of the city (市-区-街镇-网格-社区/楼宇), finest last, plus the single sensor
# for per-station series.  Order matters: rollups go from fine to coarse.
AREA_LEVELS: tuple[str, ...] = ("sensor", "community", "grid", "street", "district", "city")
DISPATCH_TIERS: tuple[str, ...] = ("community", "grid", "street", "district", "city")
WARNING_LEVELS: tuple[str, ...] = ("blue", "yellow", "orange", "red")

CATEGORIES: tuple[str, ...] = (
    "air", "water", "traffic", "flood", "power", "gas", "noise", "elevator", "manhole",
    "hotline", "photo_report", "checkpoint", "sensor_health",
)  # fmt: skip


@dataclass(frozen=True)
class FieldSpec:
    name: str
    type: str  # number | integer | boolean | string
    unit: str | None
    # the least and greatest value the quantity can physically take (a concentration is never
    # below 0, a share never above 1): a reading beyond them is a faulty sensor, not news
    minimum: float | None = None
    maximum: float | None = None

    @property
    def numeric(self) -> bool:
        return self.type in ("number", "integer", "boolean")


@dataclass(frozen=True)
class KindSpec:
    name: str
    title_zh: str
    title_en: str
    channel: bool  # a citizen channel rather than a sensor
    fields: dict[str, FieldSpec]


def _load(name: str) -> dict[str, Any]:
    text = resources.files("indicators.registry").joinpath(name).read_text("utf-8")
    data = yaml.safe_load(text)
    assert isinstance(data, dict)
    return data


@cache
def kinds() -> dict[str, KindSpec]:
    out: dict[str, KindSpec] = {}
    for name, spec in _load("sensor_kinds.yaml").items():
        fields = {
            f: FieldSpec(f, fs["type"], fs.get("unit"), fs.get("min"), fs.get("max"))
            for f, fs in spec["fields"].items()
        }
        out[name] = KindSpec(
            name, spec["title"]["zh"], spec["title"]["en"], bool(spec.get("channel")), fields
        )
    return out


# aggregates made of the window's records themselves: never below 0, whatever the field
_COUNTS = frozenset({"count", "rate", "distinct"})


def value_range(indicator: Indicator) -> tuple[float, float]:
    """(least, greatest) value an indicator can take, NaN where unbounded or unknown: from
    the aggregate (a count is never below 0) and the aggregated field's `min` / `max` in
    sensor_kinds.yaml (a mean, a percentile, a minimum or a maximum stays within them; a sum
    of quantities never below 0 is not either).  A detector's band is a centre plus and minus
    a spread, and goes past these on a quiet series ("NO2 expected -111 to 124"): the band is
    clipped to this range wherever it is shown."""
    agg = indicator.value.aggregate
    if agg in _COUNTS:
        return 0.0, math.nan
    kind = kinds().get(indicator.source.kind)
    spec = (
        None
        if kind is None or indicator.value.field is None
        else kind.fields.get(indicator.value.field)
    )
    if spec is None:
        return math.nan, math.nan
    lo = math.nan if spec.minimum is None else float(spec.minimum)
    hi = math.nan if spec.maximum is None else float(spec.maximum)
    if spec.type == "boolean":
        lo, hi = 0.0, 1.0
    if agg == "sum":  # a sum of many readings has no ceiling, but stays >= 0 if they do
        return (0.0 if lo >= 0 else math.nan), math.nan
    return lo, hi


@cache
def hotline_categories() -> dict[str, dict[str, str]]:
    return _load("hotline_categories.yaml")


@cache
def departments() -> dict[str, dict[str, str]]:
    return _load("departments.yaml")


def closest(word: str, choices: list[str] | tuple[str, ...] | Any) -> str | None:
    """The choice `word` most likely misspells, or None.  Case-blind: difflib compares
    characters, so `laeq` was no match for `LAeq` (half its letters differ) while `LAmx`
    was; a name written in the wrong case is the likeliest slip of all, so a choice equal
    but for case wins outright, and the others are compared in lower case."""
    names = [str(c) for c in choices]
    folded = str(word).casefold()
    same = [c for c in names if c.casefold() == folded]
    if same:
        return same[0]
    by_fold: dict[str, str] = {}
    for c in names:
        by_fold.setdefault(c.casefold(), c)
    close = difflib.get_close_matches(folded, list(by_fold), n=1, cutoff=0.6)
    return by_fold[close[0]] if close else None


def did_you_mean(word: str, choices: list[str] | tuple[str, ...] | Any) -> str:
    """' (did you mean "x"?)' or '' -- appended to messages about unknown names, by
    `closest`, which every suggestion of the language goes through."""
    close = closest(word, choices)
    return f' (did you mean "{close}"?)' if close is not None else ""


def one_of(choices: list[str] | tuple[str, ...] | Any) -> str:
    items = sorted(str(c) for c in choices)
    if len(items) > 12:
        return ", ".join(items[:12]) + f", ... ({len(items)} in all)"
    return ", ".join(items)
