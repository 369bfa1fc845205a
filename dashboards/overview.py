"""The city overview for the control-room wall: every category at a glance, warnings by level,
a map of open warnings and tickets, the hottest areas, tickets and the pipeline's health, each
linking to the dashboard that explains it."""

from __future__ import annotations

from typing import cast

from grafana_foundation_sdk.builders import bargauge as gbargauge
from grafana_foundation_sdk.builders import common as gcommon
from grafana_foundation_sdk.builders import dashboard as gdash
from grafana_foundation_sdk.builders import geomap as ggeomap
from grafana_foundation_sdk.builders import stat as gstat
from grafana_foundation_sdk.builders import table as gtable
from grafana_foundation_sdk.models import common as mcommon
from grafana_foundation_sdk.models import dashboard as mdash

from alerts.rules.links import (
    DISPATCH_UID,
    OVERVIEW_UID,
    PIPELINE_UID,
    category_uid,
    dashboard_url,
)
from indicators.language.registry import WARNING_LEVELS

from . import queries as q
from .grafana import MIXED, PROMETHEUS, TAG
from .panels import (
    LEVEL_COLOURS,
    Layout,
    SqlQuery,
    link,
    prom,
    tag_links,
    warning_level_mappings,
    warning_level_thresholds,
)

SHANGHAI = (31.23, 121.47)
OPEN_TICKETS_ON_MAP = """
SELECT lat AS latitude, long AS longitude, id, level, department, status, area_code
FROM tickets
WHERE status <> 'closed' AND lat IS NOT NULL AND long IS NOT NULL
"""


def overview(categories: list[str], base: str = "") -> gdash.Dashboard:
    """`base` prefixes links (empty: relative to the Grafana they are served by)."""
    lay = Layout()
    d = (
        gdash.Dashboard("citysigns: the city at a glance")
        .uid(OVERVIEW_UID)
        .tags([TAG, "overview"])
        .description("城市运行体征总览: every category, warnings, tickets and the pipeline.")
        .refresh("30s")
        .time("now-6h", "now")
        .readonly()
        .link(tag_links())
    )
    d = d.with_row(gdash.Row("Categories (worst warning level now)").grid_pos(lay.row()))
    for category in categories:
        d = d.with_panel(
            gstat.Panel()
            .title(category)
            .datasource(PROMETHEUS)
            .with_target(prom(q.category_worst_level(category)))
            .mappings(warning_level_mappings())
            .thresholds(warning_level_thresholds())
            .color_mode(mcommon.BigValueColorMode.BACKGROUND)
            .graph_mode(mcommon.BigValueGraphMode.NONE)
            .no_value("none")
            .links([link(f"{category} dashboard", dashboard_url(base, category_uid(category)))])
            .grid_pos(lay.place(4, 4))
        )
    d = d.with_row(gdash.Row("Warnings").grid_pos(lay.row()))
    levels = gbargauge.Panel().title("Areas with a warning, by level").datasource(PROMETHEUS)
    for i, level in enumerate(WARNING_LEVELS, start=1):
        levels = levels.with_target(
            prom(q.warnings_by_level(i), legend=level, ref=level[0].upper())
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
        .unit("short")
        .min(0)
        .grid_pos(lay.place(6, 10))
    )
    d = d.with_panel(levels)
    d = d.with_panel(_map().grid_pos(lay.place(12, 10)))
    d = d.with_panel(
        gtable.Panel()
        .title("Hottest areas (highest anomaly score)")
        .datasource(PROMETHEUS)
        .with_target(prom(q.hottest_areas(10), instant=True))
        .unit("percentunit")
        .data_links(
            [
                gdash.DashboardLink("open the category")
                .url(
                    dashboard_url(base, "citysigns-${__data.fields.category}")
                    + "?var-district=${__data.fields.district}"
                )
                .keep_time(True)
            ]
        )
        .grid_pos(lay.place(6, 10))
    )
    d = d.with_row(gdash.Row("Tickets").grid_pos(lay.row()))
    for title, expr, colour in (
        ("Open tickets", q.OPEN_TICKETS, "blue"),
        ("Overdue tickets", q.OVERDUE_TICKETS, "orange"),
        ("Supervised tickets", q.SUPERVISED_TICKETS, "red"),
    ):
        d = d.with_panel(
            gstat.Panel()
            .title(title)
            .datasource(PROMETHEUS)
            .with_target(prom(expr))
            .color_scheme(gdash.FieldColor().mode(mdash.FieldColorModeId.FIXED).fixed_color(colour))
            .links([link("dispatch dashboard", dashboard_url(base, DISPATCH_UID))])
            .grid_pos(lay.place(8, 4))
        )
    d = d.with_row(gdash.Row("Pipeline").grid_pos(lay.row()))
    for title, expr, unit in (
        ("Events per second", q.EVENTS_RATE_TOTAL, "short"),
        ("Dead-letter ratio (10m)", q.DEAD_LETTER_RATIO, "percentunit"),
        ("Watermark lag", q.WATERMARK, "s"),
        ("Window close p95", q.window_latency_quantile(0.95), "s"),
        ("Tracked series", q.TRACKED, "short"),
        ("Since the last batch", q.SINCE_LAST_BATCH, "s"),
    ):
        d = d.with_panel(
            gstat.Panel()
            .title(title)
            .datasource(PROMETHEUS)
            .with_target(prom(expr))
            .unit(unit)
            .links([link("pipeline dashboard", dashboard_url(base, PIPELINE_UID))])
            .grid_pos(lay.place(4, 4))
        )
    return d


def _fixed(colour: str) -> dict[str, str]:
    return {"mode": "fixed", "fixedColor": LEVEL_COLOURS.get(colour, colour)}


def _map() -> ggeomap.Panel:
    """Warnings (Prometheus, placed at the area's centre) and open tickets (PostgreSQL, placed
    where they were reported) as two marker layers of one map."""
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
        .name("Open tickets")
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
                    "size": {"fixed": 5},
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
        .with_target(SqlQuery(OPEN_TICKETS_ON_MAP, ref="T"))
        .view(ggeomap.MapViewConfig().id("coords").lat(lat).lon(lon).zoom(9))
        .basemap(gcommon.MapLayerOptions().type("default").name("Basemap"))
        .layers([warnings_layer, tickets_layer])
        .mappings(warning_level_mappings())
        .thresholds(warning_level_thresholds())
    )
