"""The pipeline's health in detail (the overview shows its headline numbers): input by source
and outcome, dead letters by reason, watermark lag and the watermark against the wall clock,
window-close latency, batch sizes, series tracked and exported against the budget, and
indicators that resumed without part of their recovery state after a catalog or registry
change."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as gdash
from grafana_foundation_sdk.builders import timeseries as gts
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.models import dashboard as mdash

from alerts.rules.links import DISPATCH_UID, OVERVIEW_UID, PIPELINE_UID, dashboard_url
from alerts.rules.options import RulesOptions

from . import queries as q
from .grafana import CITY_TIMEZONE, PROMETHEUS, TAG
from .panels import Layout, link, prom, tag_links, up_stat

LIVE_ONLY: dict[str, str] = {"Window close latency": q.LIVE_ONLY}

PANELS: list[tuple[str, list[tuple[str, str]], str]] = [
    ("Events per second by source and outcome", [(q.EVENTS_RATE, "{{source}} {{outcome}}")],
     "short"),
    ("Dead letters per second by reason", [(q.DEAD_LETTERS_RATE, "{{reason}}")], "short"),
    ("Watermark lag", [(q.WATERMARK, "lag")], "s"),
    ("Watermark behind real time", [(q.BEHIND_REAL_TIME, "wall clock - watermark")], "s"),
    ("Window close latency", [(q.window_latency_quantile(0.5), "p50"),
                              (q.window_latency_quantile(0.95), "p95"),
                              (q.window_latency_quantile(0.99), "p99")], "s"),
    ("Mean events per batch", [(q.mean_batch_size(), "events/batch")], "short"),
    ("Since the last batch", [(q.SINCE_LAST_BATCH, "seconds")], "s"),
    ("Tracked series (top 10 indicators)", [(q.TRACKED_BY_INDICATOR, "{{indicator}}")], "short"),
    ("Exported samples / budget", [(q.EXPORTED_VS_BUDGET, "used")], "percentunit"),
    ("Area updates not exported", [(q.DROPPED_RATE, "{{reason}}")], "short"),
    ("Resumed without part of their state (catalog or registry changed), last day",
     [(q.RECOVERY_RESETS_DAY, "{{indicator}} {{reason}}")], "short"),
]  # fmt: skip


def pipeline_dashboard(base: str = "", options: RulesOptions | None = None) -> gdash.Dashboard:
    """Whether each job is scraped first (a job that is down explains every empty panel
    below it), then the flow's health."""
    o = options or RulesOptions()
    lay = Layout()
    d = (
        gdash.Dashboard("citysigns: pipeline")
        .uid(PIPELINE_UID)
        .tags([TAG, "pipeline"])
        .description("The flow's own health: input, dead letters, event time, latency, series.")
        .refresh("30s")
        .time("now-6h", "now")
        .timezone(CITY_TIMEZONE)
        .readonly()
        .link(link("city overview", dashboard_url(base, OVERVIEW_UID)))
        .link(tag_links())
    )
    dispatch = link("dispatch dashboard", dashboard_url(base, DISPATCH_UID))
    ups: list[tuple[str, str, list[cogbuilder.Builder[mdash.DashboardLink]]]] = [
        ("Flow", o.job, []),
        ("Ticket API", q.tickets_job(o.job), [dispatch]),
        ("Dispatcher", q.dispatch_job(o.job), [dispatch]),
    ]
    for (title, job, links), pos in zip(ups, lay.fill(len(ups), 3, 3), strict=True):
        d = d.with_panel(up_stat(title, job).links(links).grid_pos(pos))
    # lines of at most three charts, each line filled to the full width (no empty last third)
    for (title, targets, unit), pos in zip(PANELS, lay.fill(len(PANELS), 8, 3), strict=True):
        p = gts.Panel().title(title).datasource(PROMETHEUS).unit(unit)
        if title in LIVE_ONLY:
            p = p.description(LIVE_ONLY[title])
        for i, (expr, legend) in enumerate(targets):
            p = p.with_target(prom(expr, legend=legend, ref=chr(ord("A") + i)))
        d = d.with_panel(p.grid_pos(pos))
    return d
