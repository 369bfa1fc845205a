"""Small panel helpers shared by the dashboards: Prometheus and SQL targets, warning-level
colours and mappings, thresholds from a catalog warning block."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Final

from grafana_foundation_sdk.builders import dashboard as gdash
from grafana_foundation_sdk.builders import prometheus as gprom
from grafana_foundation_sdk.builders import stat as gstat
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog import variants as cogvariants
from grafana_foundation_sdk.cog.runtime import UnknownDataquery
from grafana_foundation_sdk.models import common as mcommon
from grafana_foundation_sdk.models import dashboard as mdash
from grafana_foundation_sdk.models import prometheus as mprom

from indicators.language.detection import WarningRules
from indicators.language.registry import WARNING_LEVELS

from .grafana import POSTGRES, PROMETHEUS
from .queries import JOB_DOWN, job_up

# Grafana's named colours for the four levels; "green" for no warning.
LEVEL_COLOURS: Final[dict[str, str]] = {
    "none": "green", "blue": "blue", "yellow": "yellow", "orange": "orange", "red": "red",
}  # fmt: skip
LEVEL_NAMES: Final = ("none", *WARNING_LEVELS)  # index = citysigns_indicator_warning_level
# A job that is down, or no data at all: grey, which is no warning level and no "all clear".
DOWN_COLOUR: Final = "#8e8e8e"
# Counts and rates that are not warnings: the theme's text colour, never a level's colour.
NEUTRAL_COLOUR: Final = "text"


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


class FormattedAnnotation(mdash.AnnotationQuery):
    """A Prometheus annotation with the texts of its markers.  Grafana's Prometheus source
    reads `titleFormat`, `textFormat` and `tagKeys` from the annotation itself (templates of
    the series' labels), but the SDK's AnnotationQuery has no such fields, so without them a
    marker says nothing about what it marks."""

    def __init__(self, query: mdash.AnnotationQuery, formats: dict[str, str]) -> None:
        super().__init__(**{k: v for k, v in vars(query).items()})
        self.formats = dict(formats)

    def to_json(self) -> dict[str, object]:
        return {**super().to_json(), **self.formats}


class PromAnnotation(cogbuilder.Builder[mdash.AnnotationQuery]):
    """`query` (the SDK's builder) with a title, text and tags rendered from its series'
    labels, e.g. `{{indicator}}`; the series' value cannot be shown, only its labels."""

    def __init__(self, query: gdash.AnnotationQuery, title: str, text: str, tags: str) -> None:
        self.query = query
        self.formats = {"titleFormat": title, "textFormat": text, "tagKeys": tags}

    def build(self) -> mdash.AnnotationQuery:
        return FormattedAnnotation(self.query.build(), self.formats)


def warning_level_mappings(down: str = "") -> list[mdash.ValueMapping]:
    """Level index -> name and colour; with `down`, JOB_DOWN -> that text in grey."""
    options = {
        str(i): mdash.ValueMappingResult(text=name, color=LEVEL_COLOURS[name], index=i)
        for i, name in enumerate(LEVEL_NAMES)
    }
    if down:
        options[str(JOB_DOWN)] = down_result(down, len(options))
    return [mdash.ValueMap(options=options)]


def down_result(text: str, index: int = 0) -> mdash.ValueMappingResult:
    return mdash.ValueMappingResult(text=text, color=DOWN_COLOUR, index=index)


def down_mappings(text: str) -> list[mdash.ValueMapping]:
    """JOB_DOWN -> `text` in grey, for a stat whose value is otherwise a number."""
    return [mdash.ValueMap(options={str(JOB_DOWN): down_result(text)})]


def warning_level_thresholds(down: bool = False) -> gdash.ThresholdsConfig:
    """Level colours from 1 (blue) up; with `down`, grey below 0 (JOB_DOWN) and green from 0,
    so no value a query can take while its job is down is coloured as a quiet city."""
    if down:
        steps = [mdash.Threshold(value=None, color=DOWN_COLOUR),
                 mdash.Threshold(value=0.0, color=LEVEL_COLOURS["none"])]  # fmt: skip
    else:
        steps = [mdash.Threshold(value=None, color=LEVEL_COLOURS["none"])]
    steps += [
        mdash.Threshold(value=float(i), color=LEVEL_COLOURS[name])
        for i, name in enumerate(LEVEL_NAMES)
        if i > 0
    ]
    return gdash.ThresholdsConfig().mode(mdash.ThresholdsMode.ABSOLUTE).steps(steps)


#: A step just past a limit sits this many significant digits below the limit's leading one.
STEP_DIGITS: Final = 6


def step_above(limit: float) -> float:
    """The step that colours the values above `limit`, and not `limit` itself, written as a
    person would read it in Grafana's editor: 198.0001 for 198, 0.05000001 for 0.05.

    Grafana colours a value by the highest step at or below it, so a step at `limit` would
    colour `limit` too, and strictly-above has no exact clean number: the next float up
    (198.00000000000003) is exact but reads as a rounding error.  A millionth of the limit's
    leading power of ten is finer than any sensor measures and than any value a panel shows,
    so every value a person can tell apart from the limit is coloured as the flow and the
    alerts judge it; the limit itself keeps the colour below the step."""
    exact = Decimal(repr(float(limit)))
    if exact == 0:
        return float(Decimal(1).scaleb(-STEP_DIGITS))
    return float(exact + Decimal(1).scaleb(exact.adjusted() - STEP_DIGITS))


def limit_thresholds(*limits: tuple[float, str]) -> gdash.ThresholdsConfig:
    """Neutral up to the first limit, then each limit's colour: a stat that is not a warning
    level is coloured only where an alert would fire, never by Grafana's default (red from 80).
    The pipeline alerts fire strictly above their limits (`> limit`: "over 5% of records"),
    so the colour starts just above each, not at it.  Grey below 0, which only JOB_DOWN
    reaches."""
    steps = [mdash.Threshold(value=None, color=DOWN_COLOUR),
             mdash.Threshold(value=0.0, color=NEUTRAL_COLOUR)]  # fmt: skip
    steps += [mdash.Threshold(value=step_above(v), color=c) for v, c in sorted(limits)]
    return gdash.ThresholdsConfig().mode(mdash.ThresholdsMode.ABSOLUTE).steps(steps)


def number_stat(
    title: str, expr: str, unit: str, down: str, *limits: tuple[float, str]
) -> gstat.Panel:
    """A headline number of the wall: neutral (or coloured at `limits`), `down` in grey when
    the job behind it is down."""
    return (
        gstat.Panel()
        .title(title)
        .datasource(PROMETHEUS)
        .with_target(prom(expr))
        .unit(unit)
        .thresholds(limit_thresholds(*limits))
        .color_scheme(gdash.FieldColor().mode(mdash.FieldColorModeId.THRESHOLDS))
        .mappings(down_mappings(down))
        .color_mode(mcommon.BigValueColorMode.VALUE)
        .graph_mode(mcommon.BigValueGraphMode.NONE)
        .no_value("no data")
    )


def up_stat(title: str, job: str) -> gstat.Panel:
    """Whether Prometheus scrapes every target of `job`: "up" in green, "down" in red (the
    alerts on these jobs are critical), "no target" in grey when Prometheus has none."""
    mappings: list[mdash.ValueMapping] = [
        mdash.ValueMap(
            options={
                "1": mdash.ValueMappingResult(text="up", color=LEVEL_COLOURS["none"], index=0),
                "0": mdash.ValueMappingResult(text="down", color=LEVEL_COLOURS["red"], index=1),
            }
        )
    ]
    return (
        gstat.Panel()
        .title(title)
        .description(f'up{{job="{job}"}}: whether Prometheus can scrape every target of the job.')
        .datasource(PROMETHEUS)
        .with_target(prom(job_up(job)))
        .mappings(mappings)
        .thresholds(
            gdash.ThresholdsConfig()
            .mode(mdash.ThresholdsMode.ABSOLUTE)
            .steps(
                [
                    mdash.Threshold(value=None, color=LEVEL_COLOURS["red"]),
                    mdash.Threshold(value=1.0, color=LEVEL_COLOURS["none"]),
                ]
            )
        )
        .color_scheme(gdash.FieldColor().mode(mdash.FieldColorModeId.THRESHOLDS))
        .color_mode(mcommon.BigValueColorMode.BACKGROUND)
        .graph_mode(mcommon.BigValueGraphMode.NONE)
        .no_value("no target")
    )


def catalog_thresholds(rules: WarningRules, area_level: str) -> gdash.ThresholdsConfig:
    """Colour steps at the catalog's thresholds for series of `area_level` (thresholds may be
    written per area level).  A level holds at its threshold and past it (the flow's warnings
    and the alerts compare with >= and <=), and Grafana colours a value by the highest step at
    or below it.  So for `direction: above` a level's step is its threshold; for `direction:
    below` the steps run from red (lowest) up to green, each starting just above a threshold
    (`step_above`), so that a value exactly at it keeps that level's colour."""
    levels = list(rules.thresholds(area_level).items())
    if rules.direction == "above":
        steps = [mdash.Threshold(value=None, color=LEVEL_COLOURS["none"])]
        steps += [mdash.Threshold(value=t, color=LEVEL_COLOURS[lvl]) for lvl, t in levels]
    else:
        worst_first = list(reversed(levels))  # red (lowest threshold) first
        steps = [mdash.Threshold(value=None, color=LEVEL_COLOURS[worst_first[0][0]])]
        colours_above = [lvl for lvl, _ in worst_first[1:]] + ["none"]
        steps += [
            mdash.Threshold(value=step_above(t), color=LEVEL_COLOURS[above])
            for (_, t), above in zip(worst_first, colours_above, strict=True)
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

    WIDTH: Final = 24

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

    def fill(self, n: int, h: int, per_row: int) -> list[mdash.GridPos]:
        """`n` panels of height `h` on lines of their own, at most `per_row` a line, each line
        filled to the full width (widths differ by at most one column), so no hole is left
        whatever `n` is."""
        if self.x:
            self.newline()
        out: list[mdash.GridPos] = []
        lines = -(-n // per_row) if n else 0
        for line in range(lines):
            count = n // lines + (1 if line < n % lines else 0)
            widths = [self.WIDTH // count + (1 if i < self.WIDTH % count else 0)
                      for i in range(count)]  # fmt: skip
            out += [self.place(w, h) for w in widths]
            self.newline()
        return out

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
