"""The dispatch dashboard: open, overdue and supervised tickets, deadline compliance by
department (Prometheus), and the tickets themselves from the PostgreSQL ticket store."""

from __future__ import annotations

from grafana_foundation_sdk.builders import bargauge as gbargauge
from grafana_foundation_sdk.builders import common as gcommon
from grafana_foundation_sdk.builders import dashboard as gdash
from grafana_foundation_sdk.builders import table as gtable
from grafana_foundation_sdk.builders import timeseries as gts
from grafana_foundation_sdk.models import common as mcommon
from grafana_foundation_sdk.models import dashboard as mdash

from alerts.rules.links import DISPATCH_UID, OVERVIEW_UID, dashboard_url
from alerts.rules.options import RulesOptions
from flows.metrics import (
    TICKET_OUTBOX_PENDING,
    TICKET_STORE_UP,
    TICKETS,
    TICKETS_OVERDUE,
    TICKETS_SUPERVISED,
)
from indicators.language.registry import departments

from . import queries as q
from .grafana import CITY_TIMEZONE, POSTGRES, PROMETHEUS, TAG
from .panels import Layout, SqlQuery, link, number_stat, prom, tag_links, up_stat

# Columns of alerts/schema.py's `tickets` table; times there are epoch seconds (UTC).
OPEN_TICKETS_SQL = """
SELECT id, status, level, tier, department, area_code, title_en,
       to_timestamp(opened_at) AS opened, to_timestamp(accept_due) AS accept_due,
       to_timestamp(handle_due) AS handle_due, supervised, supervise_count
FROM tickets
WHERE status <> 'closed' AND department IN (${department:sqlstring})
ORDER BY handle_due
LIMIT 500
"""
OVERDUE_TICKETS_SQL = """
SELECT id, status, level, department, area_code, title_en,
       to_timestamp(handle_due) AS handle_due, supervised
FROM tickets
WHERE status <> 'closed' AND department IN (${department:sqlstring})
  AND ((accepted_at IS NULL AND accept_due < extract(epoch from now()))
       OR (feedback_at IS NULL AND handle_due < extract(epoch from now())))
ORDER BY handle_due
LIMIT 500
"""
# judged against the step's original deadline: a supervision restarts handle_due, and a
# late ticket answered within the restarted time was not on time
COMPLIANCE_SQL = """
SELECT department,
       avg(CASE WHEN coalesce(feedback_at, closed_at)
                     <= coalesce(handle_due_original, handle_due) THEN 1.0 ELSE 0.0 END)
         AS on_time
FROM tickets
WHERE status = 'closed' AND department IN (${department:sqlstring})
  AND closed_at >= extract(epoch from $__timeFrom()::timestamptz)
GROUP BY department
ORDER BY on_time
"""


def department_variable() -> gdash.CustomVariable:
    """Every department of the registry, named.  Read from the open-ticket gauge, the list
    held only departments with open tickets, so under "All" the ticket store's panels (which
    expand "All" into the listed departments) lost those whose tickets were all closed."""
    names = departments()
    values = ", ".join(f"{d['zh']} {d['en']} : {key}" for key, d in sorted(names.items()))
    return (
        gdash.CustomVariable("department")
        .label("Department")
        .values(values)
        .include_all(True)
        .multi(True)
        .current(mdash.VariableOption(selected=True, text=["All"], value=["$__all"]))
    )


def dispatch_dashboard(base: str = "", options: RulesOptions | None = None) -> gdash.Dashboard:
    """Whether the ticket API and the dispatcher are scraped, then the tickets: a count of 0
    is shown only while the API that counts them is up."""
    o = options or RulesOptions()
    lay = Layout()
    dep = 'department=~"$department"'
    d = (
        gdash.Dashboard("citysigns: dispatch")
        .uid(DISPATCH_UID)
        .tags([TAG, "dispatch"])
        .description("派单调度: tickets by department, deadlines, supervision.")
        .refresh("1m")
        .time("now-7d", "now")
        .timezone(CITY_TIMEZONE)
        .readonly()
        .with_variable(department_variable())
        .link(link("city overview", dashboard_url(base, OVERVIEW_UID)))
        .link(tag_links())
    )
    stats = [
        up_stat("Ticket API", q.tickets_job(o.job)),
        up_stat("Dispatcher", q.dispatch_job(o.job)),
    ]
    stats += [
        number_stat(f"{title} tickets", q.ticket_count(metric, o.job, dep), "short", "API down")
        for title, metric in (
            ("Open", TICKETS),
            ("Overdue", TICKETS_OVERDUE),
            ("Supervised", TICKETS_SUPERVISED),
        )
    ]
    for panel, pos in zip(stats, lay.fill(len(stats), 4, len(stats)), strict=True):
        d = d.with_panel(panel.grid_pos(pos))
    # five half-width charts: on lines of two, the fifth a full line (no empty half)
    charts: list[gts.Panel | gbargauge.Panel] = []
    charts.append(
        gts.Panel()
        .title("Open tickets by department and status")
        .datasource(PROMETHEUS)
        .with_target(
            prom(
                f"sum by (department, status) ({TICKETS}{{{dep}}})",
                legend="{{department}} {{status}}",
            )
        )
        .stacking(gcommon.StackingConfig().mode(mcommon.StackingMode.NORMAL))
        .unit("short")
    )
    charts.append(
        gts.Panel()
        .title("Ticket store: warnings waiting in the outbox, and whether the store takes writes")
        .description(
            "An outage shows as store up 0 and a growing backlog; nothing is lost, the backlog "
            "drains once the store is back (CitySignsTicketStoreDown alerts after 2 minutes)."
        )
        .datasource(PROMETHEUS)
        .with_target(prom(f"sum({TICKET_OUTBOX_PENDING})", legend="waiting in the outbox"))
        .with_target(prom(f"min({TICKET_STORE_UP})", legend="store up (1) / down (0)", ref="B"))
        .unit("short")
    )
    charts.append(
        gbargauge.Panel()
        .title("Deadline compliance by department (closed tickets, all time)")
        .datasource(PROMETHEUS)
        .with_target(prom(q.deadline_compliance(dep), legend="{{department}}", instant=False))
        .unit("percentunit")
        .min(0)
        .max(1)
        .thresholds(
            gdash.ThresholdsConfig()
            .mode(mdash.ThresholdsMode.ABSOLUTE)
            .steps(
                [
                    mdash.Threshold(value=None, color="red"),
                    mdash.Threshold(value=0.8, color="orange"),
                    mdash.Threshold(value=0.95, color="green"),
                ]
            )
        )
        .orientation(mcommon.VizOrientation.HORIZONTAL)
    )
    charts.append(
        gbargauge.Panel()
        .title("Deadline compliance in the time range (ticket store)")
        .datasource(POSTGRES)
        .with_target(SqlQuery(COMPLIANCE_SQL))
        .unit("percentunit")
        .min(0)
        .max(1)
        .orientation(mcommon.VizOrientation.HORIZONTAL)
    )
    charts.append(
        gbargauge.Panel()
        .title("Overdue and supervised by department")
        .datasource(PROMETHEUS)
        .with_target(
            prom(
                f"sum by (department) ({TICKETS_OVERDUE}{{{dep}}})",
                legend="{{department}} overdue",
                ref="A",
            )
        )
        .with_target(
            prom(
                f"sum by (department) ({TICKETS_SUPERVISED}{{{dep}}})",
                legend="{{department}} supervised",
                ref="B",
            )
        )
        .orientation(mcommon.VizOrientation.HORIZONTAL)
    )
    for chart, pos in zip(charts, lay.fill(len(charts), 8, 2), strict=True):
        d = d.with_panel(chart.grid_pos(pos))
    d = d.with_panel(
        gtable.Panel()
        .title("Open tickets (ticket store)")
        .datasource(POSTGRES)
        .with_target(SqlQuery(OPEN_TICKETS_SQL))
        .filterable(True)
        .grid_pos(lay.place(24, 12))
    )
    d = d.with_panel(
        gtable.Panel()
        .title("Overdue tickets (ticket store)")
        .datasource(POSTGRES)
        .with_target(SqlQuery(OVERDUE_TICKETS_SQL))
        .filterable(True)
        .grid_pos(lay.place(24, 10))
    )
    return d
