"""The city overview for the control-room wall: every category at a glance, warnings by level,
a map of open warnings and tickets, the hottest areas, tickets and the pipeline's health, each
linking to the dashboard that explains it."""

from __future__ import annotations

from typing import Final, cast

from grafana_foundation_sdk.builders import bargauge as gbargauge
from grafana_foundation_sdk.builders import common as gcommon
from grafana_foundation_sdk.builders import dashboard as gdash
from grafana_foundation_sdk.builders import geomap as ggeomap
from grafana_foundation_sdk.builders import stat as gstat
from grafana_foundation_sdk.builders import table as gtable
from grafana_foundation_sdk.models import common as mcommon
from grafana_foundation_sdk.models import dashboard as mdash
from grafana_foundation_sdk.models import geomap as mgeomap

from alerts.rules.links import (
    DISPATCH_UID,
    OVERVIEW_UID,
    PIPELINE_UID,
    category_uid,
    dashboard_url,
)
from alerts.rules.options import RulesOptions
from alerts.rules.pipeline_alerts import SEVERITY_LEVEL
from flows.city.model import load_city
from flows.metrics import TICKETS, TICKETS_OVERDUE, TICKETS_SUPERVISED
from indicators.language.registry import WARNING_LEVELS

from . import queries as q
from .grafana import CITY_TIMEZONE, MIXED, PROMETHEUS, TAG
from .names import category_title
from .panels import (
    LEVEL_COLOURS,
    LEVEL_NAMES,
    Layout,
    SqlQuery,
    down_mappings,
    link,
    number_stat,
    prom,
    tag_links,
    up_stat,
    warning_level_mappings,
    warning_level_thresholds,
)

# One 1920x1080 screen: Grafana's grid rows are 30 px with 8 px between them, so 27 rows are
# 1018 px, which leaves room for the dashboard's controls.
WALL_HEIGHT: Final = 27
TILE_HEIGHT: Final = 3
TILES_PER_LINE: Final = 6
MIDDLE_HEIGHT: Final = 14
NO_DATA: Final = "no data"
FLOW_DOWN: Final = "flow down"
API_DOWN: Final = "API down"

# The hottest-areas table's `street` column only feeds its link; the row shows `area`.
HIDDEN: Final = mdash.DynamicConfigValue(id_val="custom.hidden", value=True)

SHANGHAI = (31.23, 121.47)
# The wall is shared: a ticket is drawn at the centre of its street (or of the district or the
# city it was raised for), never where it was reported (a hotline caller's location is often
# their home).  Tickets of a grid or community fold into their street: codes are hierarchical
# and a street's code is the first 9 digits.  One marker per area, with its count and worst
# level; tickets raised from warnings carry no coordinates and are placed the same way.
STREET_CODE_LENGTH: Final = 9
TICKET_AREA_LEVELS: Final = ("city", "district", "street")
LEVEL_ORDER_SQL: Final = " ".join(
    f"WHEN '{name}' THEN {i}" for i, name in enumerate(LEVEL_NAMES) if i
)
OPEN_TICKETS_BY_AREA = f"""
SELECT a.latitude, a.longitude, a.name, a.name_en, a.code AS area,
       count(*) AS open_tickets,
       max(CASE t.level {LEVEL_ORDER_SQL} ELSE 0 END) AS level
FROM tickets t JOIN areas a ON a.code = substr(t.area_code, 1, {STREET_CODE_LENGTH})
WHERE t.status <> 'closed'
GROUP BY a.code, a.name, a.name_en, a.latitude, a.longitude
"""


def area_centres_sql() -> str:
    """`WITH areas(code, name, name_en, latitude, longitude) AS (VALUES ...)`: the city
    model's centres of the city, its districts and streets, for the ticket store (which keeps
    no geometry) to be joined with in SQL that PostgreSQL and SQLite both run."""
    city = load_city()
    rows = []
    for level in TICKET_AREA_LEVELS:
        t = city.level(level)
        for code, zh, en, lat, lon in zip(t.code.tolist(), t.name_zh.tolist(),
                                          t.name_en.tolist(), t.lat.tolist(), t.lon.tolist(),
                                          strict=True):  # fmt: skip
            rows.append(f"({_sql_text(code)}, {_sql_text(zh)}, {_sql_text(en)}, "
                        f"{round(lat, 5)}, {round(lon, 5)})")  # fmt: skip
    return (
        "WITH areas(code, name, name_en, latitude, longitude) AS (VALUES " + ", ".join(rows) + ")"
    )


def open_tickets_on_map_sql() -> str:
    return area_centres_sql() + "\n" + OPEN_TICKETS_BY_AREA


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def overview(
    categories: list[str], base: str = "", options: RulesOptions | None = None
) -> gdash.Dashboard:
    """`base` prefixes links (empty: relative to the Grafana they are served by); `options`
    are the rules' (job names, pipeline limits), so the wall colours what the alerts fire on.

    The wall is one 1920x1080 screen without scrolling (at most WALL_HEIGHT grid units, no row
    headers): the categories, then warnings, map and hottest areas, then the jobs, tickets and
    pipeline as one band of small stats."""
    o = options or RulesOptions()
    flow, tickets, dispatcher = o.job, q.tickets_job(o.job), q.dispatch_job(o.job)
    lay = Layout()
    d = (
        gdash.Dashboard("citysigns: the city at a glance")
        .uid(OVERVIEW_UID)
        .tags([TAG, "overview"])
        .description("城市运行体征总览: every category, warnings, tickets and the pipeline.")
        .refresh("30s")
        .time("now-6h", "now")
        .timezone(CITY_TIMEZONE)
        .readonly()
        .link(tag_links())
    )
    tiles = lay.fill(len(categories), TILE_HEIGHT, TILES_PER_LINE)
    for category, pos in zip(categories, tiles, strict=True):
        d = d.with_panel(
            gstat.Panel()
            .title(category_title(category))
            .description(
                f"The worst warning level of {category_title(category)} over the last 5 minutes."
            )
            .datasource(PROMETHEUS)
            .with_target(prom(q.category_worst_level(category, flow)))
            .mappings(warning_level_mappings(down=FLOW_DOWN))
            .thresholds(warning_level_thresholds(down=True))
            .color_mode(mcommon.BigValueColorMode.BACKGROUND)
            .graph_mode(mcommon.BigValueGraphMode.NONE)
            .no_value(NO_DATA)
            .links([link(f"{category} dashboard", dashboard_url(base, category_uid(category)))])
            .grid_pos(pos)
        )
    levels = (
        gbargauge.Panel()
        .title("Areas with a warning, by their worst level")
        .description(
            "Streets, districts and the city, each counted once at its worst level whatever "
            "the number of its indicators in warning."
        )
        .datasource(PROMETHEUS)
    )
    for i, level in enumerate(WARNING_LEVELS, start=1):
        levels = levels.with_target(
            prom(q.warnings_by_level(i, flow), legend=level, ref=level[0].upper())
        )
    levels = (
        levels.override_by_name(
            "blue", [mdash.DynamicConfigValue(id_val="color", value=_fixed("blue"))]
        )
        .override_by_name(
            "yellow", [mdash.DynamicConfigValue(id_val="color", value=_fixed("yellow"))]
        )
        .override_by_name(
            "orange", [mdash.DynamicConfigValue(id_val="color", value=_fixed("orange"))]
        )
        .override_by_name("red", [mdash.DynamicConfigValue(id_val="color", value=_fixed("red"))])
        .mappings(down_mappings(FLOW_DOWN))
        .no_value(NO_DATA)
        .unit("short")
        .min(0)
        .grid_pos(lay.place(6, MIDDLE_HEIGHT))
    )
    d = d.with_panel(levels)
    d = d.with_panel(_map().grid_pos(lay.place(12, MIDDLE_HEIGHT)))
    d = d.with_panel(
        gtable.Panel()
        .title("Hottest areas (highest anomaly score)")
        .datasource(PROMETHEUS)
        .with_target(prom(q.hottest_areas(10), instant=True))
        .unit("percentunit")
        .override_by_name("street", [HIDDEN])
        .data_links(
            [
                gdash.DashboardLink("open the category")
                .url(
                    dashboard_url(base, "citysigns-${__data.fields.category}")
                    + "?var-district=${__data.fields.district}"
                    + "&var-level=${__data.fields.area_level}"
                    + "&var-street=${__data.fields.street}"
                )
                .keep_time(True)
            ]
        )
        .grid_pos(lay.place(6, MIDDLE_HEIGHT))
    )
    pipeline = link("pipeline dashboard", dashboard_url(base, PIPELINE_UID))
    dispatch = link("dispatch dashboard", dashboard_url(base, DISPATCH_UID))
    stats: list[tuple[gstat.Panel, gdash.DashboardLink]] = [
        (up_stat("Flow", flow), pipeline),
        (up_stat("Ticket API", tickets), dispatch),
        (up_stat("Dispatcher", dispatcher), dispatch),
    ]
    stats += [
        (number_stat(title, q.ticket_count(metric, o.job), "short", API_DOWN), dispatch)
        for title, metric in (
            ("Open tickets", TICKETS),
            ("Overdue tickets", TICKETS_OVERDUE),
            ("Supervised tickets", TICKETS_SUPERVISED),
        )
    ]
    for title, expr, zero, unit, limits in _pipeline_stats(o):
        stat = number_stat(title, q.while_up(expr, flow, zero), unit, FLOW_DOWN, *limits)
        if q.WINDOW_CLOSE_LATENCY in expr:
            stat = stat.description(q.LIVE_ONLY)
        stats.append((stat, pipeline))
    for (panel, to), pos in zip(stats, lay.fill(len(stats), TILE_HEIGHT, 6), strict=True):
        d = d.with_panel(panel.links([to]).grid_pos(pos))
    return d


def _pipeline_stats(
    o: RulesOptions,
) -> list[tuple[str, str, bool, str, tuple[tuple[float, str], ...]]]:
    """(title, query, 0 when empty, unit, coloured limits): coloured only from the limits of
    the pipeline alerts, in the colour of the level each alert carries (SEVERITY_LEVEL: a
    warning is yellow, a major alert orange, a critical one red), so the wall and the alert
    agree."""
    warn, major, crit = (SEVERITY_LEVEL[s] for s in ("warning", "major", "critical"))
    return [
        ("Events per second", q.EVENTS_RATE_TOTAL, True, "short", ()),
        ("Dead letters (10m)", q.DEAD_LETTER_RATIO, False, "percentunit",
         ((o.dead_letter_ratio, warn),)),  # CitySignsDeadLetterRate: warning
        ("Watermark lag", q.WATERMARK, False, "s",  # CitySignsWatermarkLag(Critical)
         ((o.watermark_lag_warning, warn), (o.watermark_lag_critical, crit))),
        ("Window close p95", q.window_latency_quantile(0.95), False, "s", ()),
        ("Tracked series", q.TRACKED, False, "short", ()),
        ("Since the last batch", q.SINCE_LAST_BATCH, False, "s",
         ((o.stalled_after, major),)),  # CitySignsFlowStalled: major
    ]  # fmt: skip


def _fixed(colour: str) -> dict[str, str]:
    return {"mode": "fixed", "fixedColor": LEVEL_COLOURS.get(colour, colour)}


def _map() -> ggeomap.Panel:
    """Warnings (Prometheus) and open tickets (PostgreSQL) as two marker layers of one map,
    both at their area's centre, with the details of a marker on hover (the layers' own
    `tooltip` does nothing while the panel's tooltip mode is "none", the SDK's default)."""
    warnings_layer = (
        gcommon.MapLayerOptions()
        .type("markers")
        .name("Warnings")
        .location(
            gcommon.FrameGeometrySource()
            .mode(mcommon.FrameGeometrySourceMode.COORDS)
            .latitude("latitude")
            .longitude("longitude")
        )
        .filter_data({"id": "byRefId", "options": "W"})
        .config(
            {
                "showLegend": True,
                "style": {
                    "color": {"field": "Value", "fixed": "red"},
                    "size": {"fixed": 8, "min": 4, "max": 16},
                    "symbol": {"fixed": "img/icons/marker/circle.svg", "mode": "fixed"},
                },
            }
        )
        .tooltip(True)
    )
    tickets_layer = (
        gcommon.MapLayerOptions()
        .type("markers")
        .name("Open tickets (at their area's centre)")
        .location(
            gcommon.FrameGeometrySource()
            .mode(mcommon.FrameGeometrySourceMode.COORDS)
            .latitude("latitude")
            .longitude("longitude")
        )
        .filter_data({"id": "byRefId", "options": "T"})
        .config(
            {
                "showLegend": True,
                "style": {
                    "color": {"fixed": "purple"},
                    "size": {"field": "open_tickets", "fixed": 5, "min": 4, "max": 16},
                    "symbol": {"fixed": "img/icons/marker/square.svg", "mode": "fixed"},
                },
            }
        )
        .tooltip(True)
    )
    # The SDK types the view's centre as int; Grafana stores degrees as floats.
    lat, lon = (cast(int, v) for v in SHANGHAI)
    return (
        ggeomap.Panel()
        .title("Open warnings and tickets")
        .datasource(MIXED)
        .with_target(prom(q.open_warnings_on_map(), ref="W", instant=True))
        .with_target(SqlQuery(open_tickets_on_map_sql(), ref="T"))
        .view(ggeomap.MapViewConfig().id("coords").lat(lat).lon(lon).zoom(9))
        .basemap(gcommon.MapLayerOptions().type("default").name("Basemap"))
        .layers([warnings_layer, tickets_layer])
        .tooltip(ggeomap.TooltipOptions().mode(mgeomap.TooltipMode.DETAILS))
        .mappings(warning_level_mappings())
        .thresholds(warning_level_thresholds())
    )
