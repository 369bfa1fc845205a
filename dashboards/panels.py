"""Small panel helpers shared by the dashboards: Prometheus and SQL targets, warning-level
colours and mappings, thresholds from a catalog warning block."""

from __future__ import annotations

from typing import Any, Final

from grafana_foundation_sdk.builders import dashboard as gdash
from grafana_foundation_sdk.builders import prometheus as gprom
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog import variants as cogvariants
from grafana_foundation_sdk.cog.runtime import UnknownDataquery
from grafana_foundation_sdk.models import dashboard as mdash
from grafana_foundation_sdk.models import prometheus as mprom

from indicators.language.detection import WarningRules
from indicators.language.registry import WARNING_LEVELS

from .grafana import POSTGRES, PROMETHEUS

# Grafana's named colours for the four levels; "green" for no warning.
LEVEL_COLOURS: Final[dict[str, str]] = {
    "none": "green", "blue": "blue", "yellow": "yellow", "orange": "orange", "red": "red",
}  # fmt: skip
LEVEL_NAMES: Final = ("none", *WARNING_LEVELS)  # index = citysigns_indicator_warning_level


def prom(expr: str, legend: str = "", ref: str = "A", instant: bool = False) -> gprom.Dataquery:
    q = gprom.Dataquery().expr(expr).ref_id(ref).datasource(PROMETHEUS)
    if legend:
        q = q.legend_format(legend)
    if instant:
        q = q.instant().format(mprom.PromQueryFormat.TABLE)
    return q


class SqlQuery(cogbuilder.Builder[cogvariants.Dataquery]):
    """A raw SQL target for the PostgreSQL data source (the SDK has no builder for it)."""

    def __init__(self, sql: str, ref: str = "A", fmt: str = "table") -> None:
        self.data: dict[str, Any] = {
            "refId": ref,
            "datasource": POSTGRES.to_json(),
            "editorMode": "code",
            "format": fmt,
            "rawQuery": True,
            "rawSql": " ".join(sql.split()),
        }

    def build(self) -> cogvariants.Dataquery:
        return UnknownDataquery(dict(self.data))


def warning_level_mappings() -> list[mdash.ValueMapping]:
    return [
        mdash.ValueMap(
            options={
                str(i): mdash.ValueMappingResult(text=name, color=LEVEL_COLOURS[name], index=i)
                for i, name in enumerate(LEVEL_NAMES)
            }
        )
    ]


def warning_level_thresholds() -> gdash.ThresholdsConfig:
    steps = [mdash.Threshold(value=None, color=LEVEL_COLOURS["none"])]
    steps += [
        mdash.Threshold(value=float(i), color=LEVEL_COLOURS[name])
        for i, name in enumerate(LEVEL_NAMES)
        if i > 0
    ]
    return gdash.ThresholdsConfig().mode(mdash.ThresholdsMode.ABSOLUTE).steps(steps)


def catalog_thresholds(rules: WarningRules) -> gdash.ThresholdsConfig:
    """Colour steps at the catalog's thresholds.  Grafana colours a value by the highest step
    it reaches, so for `direction: below` the steps run from red (lowest) up to green."""
    levels = sorted(rules.levels.items(), key=lambda kv: WARNING_LEVELS.index(kv[0]))
    if rules.direction == "above":
        steps = [mdash.Threshold(value=None, color=LEVEL_COLOURS["none"])]
        steps += [mdash.Threshold(value=r.threshold, color=LEVEL_COLOURS[lvl]) for lvl, r in levels]
    else:
        worst_first = list(reversed(levels))  # red (lowest threshold) first
        steps = [mdash.Threshold(value=None, color=LEVEL_COLOURS[worst_first[0][0]])]
        colours_above = [lvl for lvl, _ in worst_first[1:]] + ["none"]
        steps += [
            mdash.Threshold(value=r.threshold, color=LEVEL_COLOURS[above])
            for (_, r), above in zip(worst_first, colours_above, strict=True)
        ]
    return gdash.ThresholdsConfig().mode(mdash.ThresholdsMode.ABSOLUTE).steps(steps)


def link(title: str, url: str) -> gdash.DashboardLink:
    return (
        gdash.DashboardLink(title)
        .type(mdash.DashboardLinkType.LINK)
        .url(url)
        .keep_time(True)
        .include_vars(False)
    )


def tag_links() -> gdash.DashboardLink:
    """A drop-down of every citysigns dashboard (they share the tag)."""
    from .grafana import TAG

    return (
        gdash.DashboardLink("citysigns")
        .type(mdash.DashboardLinkType.DASHBOARDS)
        .tags([TAG])
        .as_dropdown(True)
        .keep_time(True)
        .include_vars(False)
    )


def grid(x: int, y: int, w: int, h: int) -> mdash.GridPos:
    return mdash.GridPos(h=h, w=w, x=x, y=y)


class Layout:
    """Places panels left to right on Grafana's 24-column grid, wrapping to a new line."""

    def __init__(self) -> None:
        self.x = 0
        self.y = 0
        self.row_h = 0

    def place(self, w: int, h: int) -> mdash.GridPos:
        if self.x + w > 24:
            self.newline()
        pos = grid(self.x, self.y, w, h)
        self.x += w
        self.row_h = max(self.row_h, h)
        return pos

    def newline(self) -> int:
        self.y += self.row_h
        self.x = 0
        self.row_h = 0
        return self.y

    def row(self) -> mdash.GridPos:
        """The position of a row header, on a line of its own."""
        if self.x:
            self.newline()
        pos = grid(0, self.y, 24, 1)
        self.y += 1
        return pos
