"""PromQL the dashboards use, named after what the control room asks, built from the exporter's
metric names (flows/metrics.py) so a renamed metric cannot leave a dashboard silently empty."""

from __future__ import annotations

from flows.metrics import (
    AREA_INFO,
    BATCH_EVENTS,
    DEAD_LETTERS,
    EVENTS,
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
    WINDOW_CLOSE_LATENCY,
)

AREA_FILTER = 'district=~"$district", area=~"$street"'


def category_worst_level(category: str) -> str:
    return f'max(max_over_time({INDICATOR_WARNING}{{category="{category}"}}[5m]))'


def warnings_by_level(level_index: int) -> str:
    return f"count({INDICATOR_WARNING} == {level_index}) or vector(0)"


def open_warnings_on_map() -> str:
    """Every area with a warning, with its centre (from citysigns_area_info) for the map."""
    return (
        f"max by (area, area_level, district, category) ({INDICATOR_WARNING} > 0)\n"
        f"* on(area) group_left(name, name_en, latitude, longitude) {AREA_INFO}"
    )


def hottest_areas(n: int = 10) -> str:
    return f"topk({n}, max by (area, area_level, district, category) ({INDICATOR_SCORE}))"


def indicator_series(metric: str, indicator: str, filt: str = AREA_FILTER) -> str:
    return f'{metric}{{indicator="{indicator}", {filt}}}'


def indicator_value(indicator: str) -> str:
    return indicator_series(INDICATOR_VALUE, indicator)


def indicator_lower(indicator: str) -> str:
    return indicator_series(INDICATOR_LOWER, indicator)


def indicator_upper(indicator: str) -> str:
    return indicator_series(INDICATOR_UPPER, indicator)


def indicator_score(indicator: str) -> str:
    return indicator_series(INDICATOR_SCORE, indicator)


def category_warnings(category: str) -> str:
    return f'{INDICATOR_WARNING}{{category="{category}", district=~"$district"}} > 0'


def district_values(category: str) -> str:
    return f'label_values({INDICATOR_VALUE}{{category="{category}"}}, district)'


def street_values(category: str) -> str:
    return (
        f'label_values({INDICATOR_VALUE}{{category="{category}", area_level="street", '
        f'district=~"$district"}}, area)'
    )


# -- tickets ---------------------------------------------------------------------------------
OPEN_TICKETS = f"sum({TICKETS}) or vector(0)"
OVERDUE_TICKETS = f"sum({TICKETS_OVERDUE}) or vector(0)"
SUPERVISED_TICKETS = f"sum({TICKETS_SUPERVISED}) or vector(0)"
OPEN_BY_DEPARTMENT_STATUS = f"sum by (department, status) ({TICKETS})"
OVERDUE_BY_DEPARTMENT = f"sum by (department) ({TICKETS_OVERDUE})"
SUPERVISED_BY_DEPARTMENT = f"sum by (department) ({TICKETS_SUPERVISED})"
OPEN_BY_LEVEL = f"sum by (level) ({TICKETS})"
DEADLINE_COMPLIANCE = (
    f'sum by (department) ({TICKETS_CLOSED}_total{{deadline="met"}})\n'
    f"/ sum by (department) ({TICKETS_CLOSED}_total)"
)

# -- pipeline --------------------------------------------------------------------------------
EVENTS_RATE = f"sum by (source, outcome) (rate({EVENTS}_total[5m]))"
EVENTS_RATE_TOTAL = f"sum(rate({EVENTS}_total[5m])) or vector(0)"
DEAD_LETTERS_RATE = f"sum by (reason) (rate({DEAD_LETTERS}_total[5m]))"
DEAD_LETTER_RATIO = f"sum(rate({DEAD_LETTERS}_total[10m])) / sum(rate({EVENTS}_total[10m]))"
WATERMARK = f"max({WATERMARK_LAG})"
SINCE_LAST_BATCH = f"time() - max({LAST_BATCH})"
TRACKED = f"sum({TRACKED_SERIES})"
TRACKED_BY_INDICATOR = f"topk(10, {TRACKED_SERIES})"
EXPORTED_VS_BUDGET = f"sum({EXPORTED_SERIES}) / sum({SERIES_BUDGET})"
DROPPED_RATE = f"sum by (reason) (rate({UPDATES_DROPPED}_total[5m]))"
# indicators that resumed without part of their state after a catalog or registry change.
# A restart counts its resets before the first scrape: the series appears at its final value
# and never increases, so increase() would read 0 (tests/dashboards/test_queries_promtool.py).
RECOVERY_RESETS_DAY = f"max by (indicator, reason) (max_over_time({RECOVERY_RESETS}_total[1d]))"


def window_latency_quantile(q: float) -> str:
    return f"histogram_quantile({q}, sum by (le) (rate({WINDOW_CLOSE_LATENCY}_bucket[5m])))"


def mean_batch_size() -> str:
    return f"sum(rate({BATCH_EVENTS}_sum[5m])) / sum(rate({BATCH_EVENTS}_count[5m]))"
