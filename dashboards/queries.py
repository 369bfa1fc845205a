"""PromQL the dashboards use, named after what the control room asks, built from the exporter's
metric names (flows/metrics.py) so a renamed metric cannot leave a dashboard silently empty."""

from __future__ import annotations

from typing import Final

from flows.metrics import (
    AREA_INFO,
    BATCH_EVENTS,
    DEAD_LETTERS,
    EVENTS,
    EVENTS_READ,
    EXPORTED_SERIES,
    INDICATOR_LOWER,
    INDICATOR_SCORE,
    INDICATOR_UPPER,
    INDICATOR_VALUE,
    INDICATOR_WARNING,
    LAST_BATCH,
    RECOVERY_RESETS,
    SERIES_BUDGET,
    TICKETS,
    TICKETS_CLOSED,
    TICKETS_OVERDUE,
    TICKETS_SUPERVISED,
    TRACKED_SERIES,
    UPDATES_DROPPED,
    WATERMARK_LAG,
    WATERMARK_TIME,
    WINDOW_CLOSE_LATENCY,
)
from indicators.language.registry import WARNING_LEVELS

# What a wall query reads while the job that feeds it is down.  A job that is down leaves no
# samples (Prometheus marks its series stale), and an empty answer or a 0 would read as a quiet
# city; -1 is no count, level or duration, so it can be mapped to a "down" state of its own.
JOB_DOWN: Final = -1


# -- scrape jobs -----------------------------------------------------------------------------
# The flow's job and the jobs of `citysigns serve` and `citysigns dispatch`, named as the
# pipeline alerts and the example prometheus.yml of `citysigns rules` name them.
def tickets_job(flow_job: str) -> str:
    return f"{flow_job}-tickets"


def dispatch_job(flow_job: str) -> str:
    return f"{flow_job}-dispatch"


def job_up(job: str) -> str:
    """1 when every target of `job` is scraped, 0 when one is not, nothing when Prometheus has
    no such target (the alerts fire per target, so one down target shows as down)."""
    return f'min(up{{job="{job}"}})'


def while_up(expr: str, job: str, zero: bool = False) -> str:
    """`expr` while a target of `job` is scraped and JOB_DOWN while none is.  With `zero`, a
    0 where `expr` has no sample but the job is up: a count of nothing, which only a live
    exporter can vouch for (an exporter that writes no series for 0 is indistinguishable
    from one that is down without the `up` series)."""
    up = f'max(up{{job="{job}"}})'
    out = f"({expr})\nand on() ({up} == 1)"
    if zero:
        out += f"\nor on() (0 * ({up} == 1))"
    return out + f"\nor on() (({up} == 0) - {-JOB_DOWN})"


def category_worst_level(category: str, flow_job: str) -> str:
    """The category's worst warning level over 5 minutes, JOB_DOWN while the flow is down."""
    return while_up(
        f'max(max_over_time({INDICATOR_WARNING}{{category="{category}"}}[5m]))', flow_job
    )


def warnings_by_level(level_index: int, flow_job: str) -> str:
    """How many areas have `level_index` as their worst level now.  An area has one series per
    indicator, so counting series would count one area once per indicator in warning."""
    return while_up(
        f"count(max by (area) ({INDICATOR_WARNING}) == {level_index})", flow_job, zero=True
    )


def open_warnings_on_map() -> str:
    """Every area with a warning, with its centre (from citysigns_area_info) for the map."""
    return (
        f"max by (area, area_level, district, category) ({INDICATOR_WARNING} > 0)\n"
        f"* on(area) group_left(name, name_en, latitude, longitude) {AREA_INFO}"
    )


# Grafana's value for "All" in a dashboard URL's var-<name> is "$__all"; a label_replace
# replacement writes "$" as "$$".
ALL_IN_URL: Final = "__all"


def hottest_areas(n: int = 10) -> str:
    """The `n` areas with the highest anomaly score, each with a `street` label for the link
    to its category: the area on a street's row, "$__all" (Grafana's All in a URL) on a
    district's or the city's, whose series the street filter does not touch."""
    top = f"topk({n}, max by (area, area_level, district, category) ({INDICATOR_SCORE}))"
    street = f'label_replace({top}, "street", "$1", "area", "(.*)")'
    return f'label_replace({street}, "street", "$${ALL_IN_URL}", "area_level", "city|district")'


# The category dashboards' variable of how many streets a panel plots, the values it offers
# and its default: every street of the city (168) is no readable graph.
TOP_STREETS_VAR: Final = "top"
TOP_STREETS: Final = (5, 10, 20, 50, 200)
DEFAULT_TOP_STREETS: Final = 10


def worst_streets(metric: str, labels: str, lowest: bool = False) -> str:
    """The $top streets of those $district and $street select whose `metric{labels}` went
    highest (with `lowest`, lowest) over the dashboard's time range, ranked once at its end
    (`@ end()`): one fixed set of lines for the whole graph, where a plain topk would rank
    every step anew and draw a different handful at each.  A chosen street is among its own
    ranking, so choosing streets (up to $top of them) plots exactly those."""
    sel = f'{metric}{{{labels}, district=~"$district", area_level="street", area=~"$street"}}'
    agg, over = ("bottomk", "min_over_time") if lowest else ("topk", "max_over_time")
    return f"{agg}(${TOP_STREETS_VAR}, {over}({sel}[$__range] @ end()))"


def area_selector(
    metric: str, labels: str, levels: str = "$level", streets: str | None = None
) -> str:
    """`metric{labels}` in the areas the dashboard's filters select: the districts of
    $district at the levels of $level, and of their streets only those of $street (and, when
    `streets` is given, only those it returns: see worst_streets).  The street filter applies
    to street series only (as two selectors joined by `or`): a district or the city has no
    street, so `area=~"$street"` alone would drop them as soon as a street is chosen.
    `levels` is a regex of area levels (the $level variable by default)."""
    base = f'{metric}{{{labels}, district=~"$district", area_level=~"{levels}", area_level'
    street = f'{base}="street", area=~"$street"}}'
    if streets is not None:
        street = f"({street}\n  and on(area) {streets})"
    return f'({base}!="street"}}\n or {street})'


# Each area's names, deduplicated (two flow processes export the same info).
AREA_NAMES: Final = f"group by (area, name, name_en) ({AREA_INFO})"


def with_area_names(expr: str) -> str:
    """`expr` with each area's names (`name`, `name_en`) from citysigns_area_info, so legends
    and markers can say 黄浦区 Huangpu rather than 310101.  An area the info does not name keeps
    its series, with its code as its name (an inner join alone would drop it).  The info is
    deduplicated first (AREA_NAMES): two flow processes exporting it must not make the join
    ambiguous."""
    return (
        f"{expr}\n* on(area) group_left(name, name_en) {AREA_NAMES}\n"
        f'or on(area) label_replace({expr}, "name", "$1", "area", "(.*)")'
    )


def indicator_series(
    metric: str,
    indicator: str,
    levels: str = "$level",
    ranked_by: str | None = None,
    lowest: bool = False,
    only: str | None = None,
) -> str:
    """The indicator's `metric` in the selected areas, by name; of its streets only the
    worst_streets by `ranked_by` (by default `metric` itself), lowest first with `lowest`.
    `only`: of the levels selected, that one area level alone (a panel of its own, coloured
    at that level's thresholds)."""
    labels = f'indicator="{indicator}"' + (f', area_level="{only}"' if only else "")
    streets = worst_streets(ranked_by or metric, labels, lowest)
    return with_area_names(area_selector(metric, labels, levels, streets))


def indicator_value(
    indicator: str, levels: str = "$level", lowest: bool = False, only: str | None = None
) -> str:
    return indicator_series(INDICATOR_VALUE, indicator, levels, lowest=lowest, only=only)


def indicator_lower(
    indicator: str, levels: str = "$level", lowest: bool = False, only: str | None = None
) -> str:
    """The expected band's low edge, on the streets indicator_value plots."""
    return indicator_series(INDICATOR_LOWER, indicator, levels, INDICATOR_VALUE, lowest, only)


def indicator_upper(
    indicator: str, levels: str = "$level", lowest: bool = False, only: str | None = None
) -> str:
    """The expected band's high edge, on the streets indicator_value plots."""
    return indicator_series(INDICATOR_UPPER, indicator, levels, INDICATOR_VALUE, lowest, only)


def indicator_score(indicator: str, levels: str = "$level") -> str:
    return indicator_series(INDICATOR_SCORE, indicator, levels)


def category_warnings(category: str) -> str:
    """The category's warnings in the selected areas, each with a `level` label naming its
    level (blue to red): Grafana's annotation texts can show labels, not the value."""
    sel = area_selector(INDICATOR_WARNING, f'category="{category}"')
    levels = "\nor ".join(
        f'label_replace({sel} == {i}, "level", "{name}", "", "")'
        for i, name in enumerate(WARNING_LEVELS, start=1)
    )
    return with_area_names(f"({levels})")


# A query variable's options from area_choices: the code as the value, the names as the text.
AREA_CHOICE_REGEX: Final = '/area="(?<value>[^"]+)",text="(?<text>[^"]+)"/'


def area_choices(codes: str) -> str:
    """A Grafana query variable (with AREA_CHOICE_REGEX) offering the areas of `codes` (an
    expression with an `area` label) by name, with their code as the value: one series per
    area labelled `text` "江宁路街道 Jiangning Road (310106001)", from citysigns_area_info as the
    legends are; an area the info does not name is offered by its code.  One line: Grafana
    reads `query_result(...)` only when it has no line break."""
    named = f"{codes} * on(area) group_left(name, name_en) {AREA_NAMES}"
    text = f'label_join({named}, "text", " ", "name", "name_en")'
    text = f'label_join({text}, "text", " (", "text", "area")'
    text = f'label_replace({text}, "text", "$1)", "text", "(.*)")'
    bare = f'label_replace({codes}, "text", "$1", "area", "(.*)")'
    return f"query_result(group by (area, text) ({text} or on(area) {bare}))"


def district_values(category: str) -> str:
    """The districts with series of the category in the time range, by name."""
    seen = f'{INDICATOR_VALUE}{{category="{category}", district!=""}}'
    codes = f"group by (district) (last_over_time({seen}[$__range]))"
    return area_choices(f'label_replace({codes}, "area", "$1", "district", "(.*)")')


def street_values(category: str) -> str:
    """The streets of the chosen districts with series of the category in the time range, by
    name."""
    seen = f'{INDICATOR_VALUE}{{category="{category}", area_level="street", district=~"$district"}}'
    return area_choices(f"group by (area) (last_over_time({seen}[$__range]))")


# -- tickets ---------------------------------------------------------------------------------
def ticket_count(metric: str, flow_job: str, selector: str = "") -> str:
    """Tickets counted by the ticket API; 0 only while the API is scraped (it writes no
    overdue or supervised series when there are none), JOB_DOWN while it is not."""
    series = f"{metric}{{{selector}}}" if selector else metric
    return while_up(f"sum({series})", tickets_job(flow_job), zero=True)


OPEN_BY_DEPARTMENT_STATUS = f"sum by (department, status) ({TICKETS})"
OVERDUE_BY_DEPARTMENT = f"sum by (department) ({TICKETS_OVERDUE})"
SUPERVISED_BY_DEPARTMENT = f"sum by (department) ({TICKETS_SUPERVISED})"
OPEN_BY_LEVEL = f"sum by (level) ({TICKETS})"


def deadline_compliance(selector: str) -> str:
    """The share of closed tickets that met their handle deadline, by department, for the
    departments `selector` (label matchers) selects."""
    return (
        f'sum by (department) ({TICKETS_CLOSED}_total{{deadline="met", {selector}}})\n'
        f"/ sum by (department) ({TICKETS_CLOSED}_total{{{selector}}})"
    )


# -- pipeline --------------------------------------------------------------------------------
EVENTS_RATE = f"sum by (source, outcome) (rate({EVENTS}_total[5m]))"
# records read: not `unplaced`, a share of `accepted` (flows.metrics.EVENTS_READ)
EVENTS_RATE_TOTAL = f"sum(rate({EVENTS}_total{{{EVENTS_READ}}}[5m]))"
DEAD_LETTERS_RATE = f"sum by (reason) (rate({DEAD_LETTERS}_total[5m]))"
DEAD_LETTER_RATIO = (
    f"sum(rate({DEAD_LETTERS}_total[10m])) / sum(rate({EVENTS}_total{{{EVENTS_READ}}}[10m]))"
)
WATERMARK = f"max({WATERMARK_LAG})"
SINCE_LAST_BATCH = f"time() - max({LAST_BATCH})"
# the slowest flow's watermark against the wall clock: a flow whose inputs all arrive late
BEHIND_REAL_TIME = f"time() - min({WATERMARK_TIME})"
TRACKED = f"sum({TRACKED_SERIES})"
TRACKED_BY_INDICATOR = f"topk(10, {TRACKED_SERIES})"
EXPORTED_VS_BUDGET = f"sum({EXPORTED_SERIES}) / sum({SERIES_BUDGET})"
DROPPED_RATE = f"sum by (reason) (rate({UPDATES_DROPPED}_total[5m]))"
# indicators that resumed without part of their state after a catalog or registry change.
# A restart counts its resets before the first scrape: the series appears at its final value
# and never increases, so increase() would read 0 (tests/dashboards/test_queries_promtool.py).
RECOVERY_RESETS_DAY = f"max by (indicator, reason) (max_over_time({RECOVERY_RESETS}_total[1d]))"


# The latency histogram observes only windows closing within minutes of the wall clock
# (flows/instrument.py), so a replay leaves it empty and its quantiles read NaN there.
LIVE_ONLY: Final = (
    "Live only: a replay records no window-close latency (its windows close long after their "
    "time), so this reads no data or NaN there."
)


def window_latency_quantile(q: float) -> str:
    return f"histogram_quantile({q}, sum by (le) (rate({WINDOW_CLOSE_LATENCY}_bucket[5m])))"


def mean_batch_size() -> str:
    return f"sum(rate({BATCH_EVENTS}_sum[5m])) / sum(rate({BATCH_EVENTS}_count[5m]))"
