"""One dashboard per category, drilling from district to street: for each indicator its value
with the expected band and the catalog's thresholds, and its anomaly score; warnings (level
changes) as annotations.  Districts and streets are chosen by name; of the streets a panel
plots only the $top worst over the time range (10 by default, of up to 168)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from grafana_foundation_sdk.builders import common as gcommon
from grafana_foundation_sdk.builders import dashboard as gdash
from grafana_foundation_sdk.builders import timeseries as gts
from grafana_foundation_sdk.models import common as mcommon
from grafana_foundation_sdk.models import dashboard as mdash

from alerts.rules.links import DISPATCH_UID, OVERVIEW_UID, category_uid, dashboard_url
from indicators.language.model import Indicator

from . import queries as q
from .grafana import CITY_TIMEZONE, PROMETHEUS, TAG
from .panels import (
    Layout,
    PromAnnotation,
    catalog_thresholds,
    link,
    prom,
    tag_links,
)
from .units import grafana_unit

ANNOTATION_TEXT = "{{indicator}} · {{name}} {{name_en}} ({{area}}) · level {{level}}"
AREA_LEGEND = "{{name}} {{name_en}}"
# The levels a category dashboard can show; it opens at district level (one series per
# district), since every area at every level is over a hundred lines on one panel.
AREA_LEVELS: Final = ("district", "street", "city")
DEFAULT_LEVEL: Final = "district"
BAND_STYLE = [
    mdash.DynamicConfigValue(id_val="custom.lineStyle", value={"fill": "dash", "dash": [6, 6]}),
    mdash.DynamicConfigValue(id_val="custom.lineWidth", value=1),
    mdash.DynamicConfigValue(id_val="color", value={"mode": "fixed", "fixedColor": "text"}),
]


def category_dashboard(
    category: str, indicators: list[Indicator], base: str = ""
) -> gdash.Dashboard:
    lay = Layout()
    d = (
        gdash.Dashboard(f"citysigns: {category}")
        .uid(category_uid(category))
        .tags([TAG, category])
        .description(f"Indicators of category {category}, from district to street.")
        .refresh("1m")
        .time("now-24h", "now")
        .timezone(CITY_TIMEZONE)
        .readonly()
        .with_variable(
            gdash.QueryVariable("district")
            .label("District")
            .description("Listed by name; its value is the district's code.")
            .datasource(PROMETHEUS)
            .query(q.district_values(category))
            .regex(q.AREA_CHOICE_REGEX)
            .refresh(mdash.VariableRefresh.ON_TIME_RANGE_CHANGED)
            .sort(mdash.VariableSort.ALPHABETICAL_ASC)
            .include_all(True)
            .all_value(".*")
            .multi(True)
        )
        .with_variable(level_variable(category_levels(indicators)))
        .with_variable(
            gdash.QueryVariable("street")
            .description(
                "Listed by name; its value is the street's code.  Applies to street series; "
                "choosing a street needs level street or All."
            )
            .label("Street")
            .datasource(PROMETHEUS)
            .query(q.street_values(category))
            .regex(q.AREA_CHOICE_REGEX)
            .refresh(mdash.VariableRefresh.ON_TIME_RANGE_CHANGED)
            .sort(mdash.VariableSort.ALPHABETICAL_ASC)
            .include_all(True)
            .all_value(".*")
            .multi(True)
        )
        .with_variable(top_streets_variable())
        .annotation(warnings_annotation(category))
        .link(link("city overview", dashboard_url(base, OVERVIEW_UID)))
        .link(link("dispatch", dashboard_url(base, DISPATCH_UID)))
        .link(tag_links())
    )
    for ind in sorted(indicators, key=lambda i: i.id):
        d = d.with_row(gdash.Row(f"{ind.title.zh} · {ind.title.en}").grid_pos(lay.row()))
        panels = value_panels(ind)
        for i, panel in enumerate(panels):  # side by side in the value's 16 columns
            width = 16 // len(panels) + (1 if i < 16 % len(panels) else 0)
            d = d.with_panel(panel.grid_pos(lay.place(width, 8)))
        d = d.with_panel(score_panel(ind).grid_pos(lay.place(8, 8)))
    return d


def category_levels(indicators: list[Indicator]) -> list[str]:
    """The area levels of AREA_LEVELS that some indicator of the category has: a level none
    has would offer the wall an empty view (checkpoints have no city series)."""
    have = {lvl for ind in indicators for lvl in ind.value.levels}
    return [lvl for lvl in AREA_LEVELS if lvl in have] or [DEFAULT_LEVEL]


def level_variable(levels: list[str]) -> gdash.CustomVariable:
    """Which of `levels` are plotted, district by default (else the first): the district
    filter narrows districts, this picks districts, their streets or the city."""
    first = DEFAULT_LEVEL if DEFAULT_LEVEL in levels else levels[0]
    default = mdash.VariableOption(selected=True, text=[first], value=[first])
    return (
        gdash.CustomVariable("level")
        .label("Area level")
        .values(",".join(levels))
        .current(default)
        .options(
            [mdash.VariableOption(selected=lvl == first, text=lvl, value=lvl) for lvl in levels]
        )
        .include_all(True)
        .all_value(".*")
        .multi(True)
    )


def top_streets_variable() -> gdash.CustomVariable:
    """How many streets a panel plots (queries.worst_streets): the worst over the time range,
    10 by default, so a street-only indicator does not open on 168 lines."""
    n = q.DEFAULT_TOP_STREETS
    default = mdash.VariableOption(selected=True, text=str(n), value=str(n))
    return (
        gdash.CustomVariable(q.TOP_STREETS_VAR)
        .label("Streets shown")
        .description(
            "Street series: only this many streets, those whose value (score, on a score "
            "panel) went highest over the time range (lowest for an indicator warned below a "
            "value). Chosen streets are shown if they are no more than this."
        )
        .values(",".join(str(k) for k in q.TOP_STREETS))
        .current(default)
        .options(
            [
                mdash.VariableOption(selected=k == n, text=str(k), value=str(k))
                for k in q.TOP_STREETS
            ]
        )
        .allow_custom_value(False)  # a typed word would break every query
    )


def warnings_annotation(category: str) -> PromAnnotation:
    """A marker per warning in the selected districts and streets, saying which indicator,
    where and at what level (without a text a marker shows only its time)."""
    return PromAnnotation(
        gdash.AnnotationQuery()
        .name("Warnings")
        .datasource(PROMETHEUS)
        .enable(True)
        .icon_color("red")
        .expr(q.category_warnings(category)),
        title="{{level}} warning: {{indicator}}",
        text=ANNOTATION_TEXT,
        tags="level,indicator,area_level",
    )


def value_title(ind: Indicator) -> str:
    """The title with its unit; "1" is UCUM's dimensionless unit (a ratio), which a title
    would show as a meaningless "(1)"."""
    return ind.title.en if ind.unit == "1" else f"{ind.title.en} ({ind.unit})"


def plotted_levels(ind: Indicator) -> str:
    """The $level variable, or, for an indicator that has no district or city series (e.g.
    street only), its own levels: the variable would leave its panels empty by default.
    Either way only the $top worst streets are plotted (queries.worst_streets)."""
    if set(ind.value.levels) & {"district", "city"}:
        return "$level"
    return "|".join(lvl for lvl in AREA_LEVELS if lvl in ind.value.levels)


def ranked_lowest(ind: Indicator) -> bool:
    """Whether the worst streets of the value panel are those of lowest value: an indicator
    warned when its value falls below its thresholds (all others rank their highest)."""
    rules = ind.detection.warnings
    return rules.on == "value" and rules.direction == "below"


def coloured_levels(ind: Indicator) -> list[str]:
    """The area levels that need a value panel of their own: those a dashboard shows, when
    the indicator's value thresholds differ between them (a street warns at 5 reports, a
    district at 15: one panel cannot colour both).  Empty: one panel for every level."""
    rules = ind.detection.warnings
    shown = shown_levels(ind)
    if rules.on != "value" or rules.same_at(shown):
        return []
    return shown


def shown_levels(ind: Indicator) -> list[str]:
    """The indicator's area levels a category dashboard can show."""
    return [lvl for lvl in AREA_LEVELS if lvl in ind.value.levels]


def value_panels(ind: Indicator) -> list[gts.Panel]:
    """The value panel, or one per area level whose thresholds differ (`coloured_levels`),
    each plotting that level and coloured at its thresholds."""
    levels = coloured_levels(ind)
    if not levels:
        return [value_panel(ind)]
    return [value_panel(ind, lvl) for lvl in levels]


def value_panel(ind: Indicator, area_level: str | None = None) -> gts.Panel:
    """The value with its expected band and, on an indicator warned on its value, the
    thresholds as coloured steps.  With `area_level`, that level's series alone (when $level
    selects it) coloured at its own thresholds; without, the levels of `plotted_levels`,
    whose thresholds are all the same."""
    rules = ind.detection.warnings
    levels = plotted_levels(ind)
    low = ranked_lowest(ind)
    title = value_title(ind) + (f" · {area_level}" if area_level else "")
    about = " ".join(ind.description.split()) or ind.title.en
    if area_level:
        about += (
            f" {area_level.capitalize()} series, coloured at a {area_level}'s thresholds (each "
            "area level has its own, so each has its panel)."
        )

    def query(series: Callable[..., str]) -> str:
        return series(ind.id, levels, low, area_level)

    p = (
        gts.Panel()
        .title(title)
        .description(about)
        .datasource(PROMETHEUS)
        .with_target(prom(query(q.indicator_value), legend=AREA_LEGEND, ref="A"))
        .with_target(prom(query(q.indicator_lower), legend="{{name}} expected low", ref="B"))
        .with_target(prom(query(q.indicator_upper), legend="{{name}} expected high", ref="C"))
        .override_by_query("B", BAND_STYLE)
        .override_by_query("C", BAND_STYLE)
        .unit(grafana_unit(ind.unit))
        .line_width(2)
        .span_nulls(False)
        .legend(
            gcommon.VizLegendOptions()
            .show_legend(True)
            .display_mode(mcommon.LegendDisplayMode.LIST)
            .placement(mcommon.LegendPlacement.BOTTOM)
        )
    )
    if area_level:
        p = p.no_value(f"no {area_level} series: choose Area level {area_level} (or All)")
    if rules.on == "value":
        at = area_level or (shown_levels(ind) or ind.value.levels)[0]  # (same at each shown)
        p = p.thresholds(catalog_thresholds(rules, at)).thresholds_style(
            gcommon.GraphThresholdsStyleConfig().mode(mcommon.GraphThresholdsStyleMode.DASHED)
        )
    return p


def score_panel(ind: Indicator) -> gts.Panel:
    rules = ind.detection.warnings
    levels = plotted_levels(ind)
    p = (
        gts.Panel()
        .title(f"{ind.title.en}: anomaly score")
        .description(f"{ind.id}: how unusual the value is for the area and time (0 to 1).")
        .datasource(PROMETHEUS)
        .with_target(prom(q.indicator_score(ind.id, levels), legend=AREA_LEGEND))
        .unit("percentunit")
        .min(0)
        .max(1)
    )
    if rules.on == "score":  # (a score threshold is one number at every area level)
        return p.thresholds(catalog_thresholds(rules, ind.value.levels[0])).thresholds_style(
            gcommon.GraphThresholdsStyleConfig().mode(mcommon.GraphThresholdsStyleMode.DASHED)
        )
    # Warned on its value: the score has no limits (warning levels 1-4 are no scores).
    return p
