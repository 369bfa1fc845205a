"""The control-room wall and the dashboards an operator lands on from an alert: a job that is
down reads as down (never as a quiet city or a count of 0), stats are coloured only at the
alerts' limits, the overview fits one 1920x1080 screen, the map shows no citizen's location,
and nothing is drawn that the exporter cannot fill."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from typing import Any

from alerts.rules.links import DISPATCH_UID, PIPELINE_UID
from alerts.rules.options import RulesOptions
from alerts.rules.pipeline_alerts import pipeline_alerts
from dashboards import queries as q
from dashboards.build import build_dashboards
from dashboards.names import CATEGORY_TITLES, category_title
from dashboards.overview import WALL_HEIGHT
from dashboards.panels import DOWN_COLOUR, NEUTRAL_COLOUR, step_above
from flows.city.model import load_city
from flows.metrics import (
    INDICATOR_WARNING,
    TICKETS,
    TICKETS_OVERDUE,
    MetricsConfig,
)
from indicators.language.validate import Catalog
from tests.dashboards.conftest import run_promql
from tests.dashboards.test_dashboards import metric_names, panels_of, walk
from tests.rules.servers import require_binary

OVERVIEW = "citysigns-overview"


def stats(board: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {p["title"]: p for p in panels_of(board) if p["type"] == "stat"}


def mapped(panel: dict[str, Any], value: int) -> dict[str, Any] | None:
    for m in panel["fieldConfig"]["defaults"].get("mappings", []):
        if m["type"] == "value" and str(value) in m["options"]:
            return dict(m["options"][str(value)])
    return None


# -- 1. a job that is down ---------------------------------------------------------------------
def test_category_tiles_show_a_flow_down_state_apart_from_all_clear(
    boards: dict[str, dict[str, Any]],
) -> None:
    tiles = [p for p in stats(boards[OVERVIEW]).values()
             if "citysigns_indicator_warning_level" in p["targets"][0]["expr"]]  # fmt: skip
    assert len(tiles) >= 10
    for tile in tiles:
        clear, down = mapped(tile, 0), mapped(tile, q.JOB_DOWN)
        assert clear and down
        assert down["color"] == DOWN_COLOUR and down["text"] != clear["text"]
        no_value = tile["fieldConfig"]["defaults"]["noValue"]
        assert no_value not in (clear["text"], "0")
        steps = tile["fieldConfig"]["defaults"]["thresholds"]["steps"]
        assert steps[0] == {"value": None, "color": DOWN_COLOUR}
        assert 'up{job="citysigns"}' in tile["targets"][0]["expr"]


def test_wall_queries_read_down_not_zero_when_their_job_is_down(tmp_path: Path) -> None:
    """The flow is scraped for 10 minutes then down; the ticket API likewise.  Before, the
    tiles read their last level (or nothing) and the counts 0; now they read JOB_DOWN."""
    warning = f'{INDICATOR_WARNING}{{category="water",indicator="water.pressure",'
    series = {
        'up{job="citysigns",instance="flow:9464"}': "1x10 0x10",
        'up{job="citysigns-tickets",instance="api:9465"}': "1x10 0x10",
        # one street with two indicators in warning (yellow and blue), another street yellow
        f'{warning}area_level="street",area="310101001",district="310101"}}': "2x10 _x10",
        f'{warning.replace("water.pressure", "water.flow_night")}area_level="street",'
        'area="310101001",district="310101"}': "1x10 _x10",
        f'{warning}area_level="street",area="310101002",district="310101"}}': "2x10 _x10",
        f'{TICKETS}{{department="water",level="blue",status="dispatched",tier="street"}}':
            "5x10 _x10",
    }  # fmt: skip
    down = [{"labels": "{}", "value": q.JOB_DOWN}]
    job = RulesOptions().job
    tile = q.category_worst_level("water", job)
    cases = [
        (tile, "5m", [{"labels": "{}", "value": 2}]),
        (q.category_worst_level("air", job), "5m", []),  # up, no series: "no data"
        (tile, "12m", down),  # still within max_over_time's 5 minutes
        (tile, "18m", down),
        # areas by their worst level: 310101001 once, at yellow
        (q.warnings_by_level(2, job), "5m", [{"labels": "{}", "value": 2}]),
        (q.warnings_by_level(1, job), "5m", [{"labels": "{}", "value": 0}]),
        (q.warnings_by_level(2, job), "18m", down),
        (q.ticket_count(TICKETS, job), "5m", [{"labels": "{}", "value": 5}]),
        (q.ticket_count(TICKETS_OVERDUE, job), "5m", [{"labels": "{}", "value": 0}]),
        (q.ticket_count(TICKETS, job), "15m", down),
        (q.ticket_count(TICKETS_OVERDUE, job), "15m", down),
        (q.while_up(q.EVENTS_RATE_TOTAL, job, zero=True), "15m", down),
        (q.job_up("citysigns"), "5m", [{"labels": "{}", "value": 1}]),
        (q.job_up("citysigns"), "15m", [{"labels": "{}", "value": 0}]),
    ]
    run_promql(tmp_path, series, cases)


def test_every_job_has_an_up_tile(boards: dict[str, dict[str, Any]]) -> None:
    jobs = {"citysigns", "citysigns-tickets", "citysigns-dispatch"}
    for uid, want in ((OVERVIEW, jobs), (PIPELINE_UID, jobs),
                      (DISPATCH_UID, jobs - {"citysigns"})):  # fmt: skip
        found = {
            m.group(1)
            for p in stats(boards[uid]).values()
            if (m := re.fullmatch(r'min\(up\{job="([\w-]+)"\}\)', p["targets"][0]["expr"]))
        }
        assert found == want, uid


def test_ticket_counts_never_fall_back_to_zero_unconditionally(
    boards: dict[str, dict[str, Any]],
) -> None:
    for uid in (OVERVIEW, DISPATCH_UID):
        counts = [p for p in stats(boards[uid]).values() if "tickets" in p["title"].lower()]
        assert len(counts) == 3, uid
        for p in counts:
            expr = p["targets"][0]["expr"]
            assert "vector(0)" not in expr and 'up{job="citysigns-tickets"}' in expr
            assert mapped(p, q.JOB_DOWN) == {"text": "API down", "color": DOWN_COLOUR,
                                             "index": 0}  # fmt: skip


# -- 2. colours of stats that are not warnings --------------------------------------------------
def test_overview_stats_are_coloured_only_at_the_alert_limits(catalog: Catalog) -> None:
    o = RulesOptions(watermark_lag_warning=700, watermark_lag_critical=2000, stalled_after=240)
    for options in (RulesOptions(), o):
        board = build_dashboards(catalog, options=options)[OVERVIEW]
        for title, p in stats(board).items():
            thresholds = p["fieldConfig"]["defaults"].get("thresholds")
            assert thresholds and thresholds["mode"] == "absolute", title
            assert {"value": 80, "color": "red"} not in thresholds["steps"], title
        limits = {
            title: {s["value"]: s["color"] for s in p["fieldConfig"]["defaults"]["thresholds"]
                    ["steps"] if s["value"] not in (None, 0)}
            for title, p in stats(board).items()
        }  # fmt: skip
        # the colour of the level the alert carries above that limit (warning yellow, major
        # orange, critical red); the alerts fire strictly above it (test_thresholds.py)
        assert limits["Watermark lag"] == {
            step_above(options.watermark_lag_warning): "yellow",
            step_above(options.watermark_lag_critical): "red",
        }
        assert limits["Since the last batch"] == {step_above(options.stalled_after): "orange"}
        assert limits["Dead letters (10m)"] == {step_above(options.dead_letter_ratio): "yellow"}
        for title in ("Events per second", "Tracked series", "Open tickets",
                      "Overdue tickets", "Supervised tickets"):  # fmt: skip
            steps = stats(board)[title]["fieldConfig"]["defaults"]["thresholds"]["steps"]
            assert {s["color"] for s in steps} == {DOWN_COLOUR, NEUTRAL_COLOUR}, title
            assert not stats(board)[title]["fieldConfig"]["defaults"]["color"].get("fixedColor")


# -- 3. one screen -----------------------------------------------------------------------------
def cells(board: dict[str, Any]) -> dict[tuple[int, int], list[int]]:
    out: dict[tuple[int, int], list[int]] = {}
    for p in board["panels"]:
        g = p["gridPos"]
        for x in range(g["x"], g["x"] + g["w"]):
            for y in range(g["y"], g["y"] + g["h"]):
                out.setdefault((x, y), []).append(p["id"])
    return out


def test_overview_fits_one_screen_without_holes_or_overlaps(
    boards: dict[str, dict[str, Any]],
) -> None:
    board = boards[OVERVIEW]
    assert not [p for p in board["panels"] if p["type"] == "row"]
    height = max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in board["panels"])
    assert height <= WALL_HEIGHT <= 27
    assert 30 * height + 8 * (height - 1) <= 1080 - 60  # grid rows of 30 px, 8 px apart
    grid = cells(board)
    assert all(p["gridPos"]["x"] + p["gridPos"]["w"] <= 24 for p in board["panels"])
    overlaps = {c: ids for c, ids in grid.items() if len(ids) > 1}
    assert not overlaps
    holes = [(x, y) for x in range(24) for y in range(height) if (x, y) not in grid]
    assert not holes, holes[:5]


def test_no_dashboard_has_overlapping_panels(boards: dict[str, dict[str, Any]]) -> None:
    for uid, board in boards.items():
        assert not {c for c, ids in cells(board).items() if len(ids) > 1}, uid


def test_no_dashboard_has_holes(boards: dict[str, dict[str, Any]]) -> None:
    """Before, dispatch left a 12x8 block empty beside "Overdue and supervised" and the
    pipeline's last line held one chart of three."""
    for uid, board in boards.items():
        grid = cells(board)
        height = max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in board["panels"])
        holes = [(x, y) for x in range(24) for y in range(height) if (x, y) not in grid]
        assert not holes, (uid, holes[:5])


# -- 4. the map --------------------------------------------------------------------------------
def test_map_has_details_on_hover_and_no_reported_coordinates(
    boards: dict[str, dict[str, Any]],
) -> None:
    geomap = next(p for p in panels_of(boards[OVERVIEW]) if p["type"] == "geomap")
    assert geomap["options"]["tooltip"] == {"mode": "details"}
    sql = next(t["rawSql"] for t in geomap["targets"] if "rawSql" in t)
    main = sql[sql.index("SELECT") :]
    assert not re.search(r"\b(lat|long)\b", main), "the map reads where tickets were reported"


def test_map_places_every_open_ticket_at_its_area_centre(
    boards: dict[str, dict[str, Any]],
) -> None:
    """A hotline ticket reported at a caller's door, one of a community tier, and a warning
    ticket with no coordinates all show, at their street's or district's centre."""
    geomap = next(p for p in panels_of(boards[OVERVIEW]) if p["type"] == "geomap")
    sql = next(t["rawSql"] for t in geomap["targets"] if "rawSql" in t)
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE tickets (id TEXT, area_code TEXT, level TEXT, status TEXT, "
               "lat REAL, long REAL)")  # fmt: skip
    db.executemany("INSERT INTO tickets VALUES (?, ?, ?, ?, ?, ?)", [
        ("T-1", "310114001", "blue", "dispatched", 31.317469, 121.294656),
        ("T-2", "310114001005001", "yellow", "accepted", 31.318123, 121.295432),
        ("T-3", "310106", "orange", "dispatched", None, None),
        ("T-4", "310114001", "red", "closed", 31.3, 121.3),
    ])  # fmt: skip
    cols = ["latitude", "longitude", "name", "name_en", "area", "open_tickets", "level"]
    rows = [dict(zip(cols, r, strict=True)) for r in db.execute(sql).fetchall()]
    by_area = {r["area"]: r for r in rows}
    assert set(by_area) == {"310114001", "310106"}
    assert by_area["310114001"]["open_tickets"] == 2 and by_area["310114001"]["level"] == 2
    assert by_area["310106"]["open_tickets"] == 1 and by_area["310106"]["level"] == 3
    city = load_city()
    for level, code in (("street", "310114001"), ("district", "310106")):
        t = city.level(level)
        i = int(t.index_of([code])[0])
        assert (by_area[code]["latitude"], by_area[code]["longitude"]) == (
            round(float(t.lat[i]), 5), round(float(t.lon[i]), 5))  # fmt: skip
        assert by_area[code]["name"] == str(t.name_zh[i])
    reported = {(31.317469, 121.294656), (31.318123, 121.295432)}
    assert not reported & {(r["latitude"], r["longitude"]) for r in rows}


# -- 5. nothing drawn that the exporter cannot fill -----------------------------------------------
def test_categories_without_exported_series_get_no_tile_or_dashboard(
    boards: dict[str, dict[str, Any]], catalog: Catalog
) -> None:
    """air.station_silent is sensor-level only, finer than the exported street level: the
    rules write no alert for it, and the dashboards draw nothing for it either."""
    assert "citysigns-sensor_health" not in boards
    tile = category_title("sensor_health")
    assert tile not in stats(boards[OVERVIEW])
    exprs = " ".join(n["expr"] for b in boards.values() for n in walk(b) if "expr" in n)
    assert "air.station_silent" not in exprs
    finer = build_dashboards(
        catalog, options=RulesOptions(metrics=MetricsConfig(max_area_level="sensor"))
    )
    assert "citysigns-sensor_health" in finer and tile in stats(finer[OVERVIEW])


# -- 7. an alert links to the dashboard that shows what it fires on -------------------------
def test_pipeline_alerts_link_to_a_dashboard_showing_their_series(
    boards: dict[str, dict[str, Any]],
) -> None:
    o = RulesOptions()
    by_name = {}
    for alert in pipeline_alerts(o):
        rule = alert.rule(o)
        uid = rule["annotations"]["dashboard_url"].split("/d/")[1]
        by_name[alert.name] = uid
        if alert.name == "Watchdog":
            continue
        exprs = [n["expr"] for n in walk(boards[uid]) if isinstance(n.get("expr"), str)]
        for job in re.findall(r'up\{job="([\w-]+)"\}', alert.expr):
            assert any(f'up{{job="{job}"}}' in e for e in exprs), (alert.name, uid)
        for name in metric_names(alert.expr) - {"up", "ALERTS"}:
            assert any(name in e for e in exprs), (alert.name, uid, name)
    for name in ("CitySignsTicketStoreDown", "CitySignsTicketApiDown", "CitySignsDispatcherDown"):
        assert by_name[name] == DISPATCH_UID
    assert by_name["CitySignsFlowDown"] == PIPELINE_UID


def test_every_dashboard_query_parses(boards: dict[str, dict[str, Any]], tmp_path: Path) -> None:
    """Prometheus' own parser (promtool check rules, one recording rule per query)."""
    import subprocess

    import yaml

    exprs = {n["expr"] for b in boards.values() for n in walk(b) if isinstance(n.get("expr"), str)}
    # the query variables' PromQL, inside Grafana's query_result()
    exprs |= {v["query"][len("query_result("):-1] for b in boards.values()
              for v in b["templating"]["list"]
              if str(v.get("query", "")).startswith("query_result(")}  # fmt: skip
    # as Grafana sends them: its own $__range and a value of the dashboards' number variables
    rendered = sorted(e.replace("$__range", "1h").replace("$top", "10") for e in exprs)
    rules = [{"record": f"dashboard:query_{i}", "expr": e} for i, e in enumerate(rendered)]
    path = tmp_path / "queries.rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "q", "rules": rules}]}), "utf-8")
    run = subprocess.run([require_binary("promtool"), "check", "rules", str(path)],
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr


def test_category_panel_titles_are_readable(
    boards: dict[str, dict[str, Any]], catalog: Catalog
) -> None:
    """No "(1)" for a dimensionless ratio, no raw indicator id as a title."""
    titles = [p["title"] for b in boards.values() for p in panels_of(b)]
    assert not [t for t in titles if t.endswith("(1)")]
    ids = {i.id for i in catalog}
    assert not [t for t in titles if any(t.startswith(f"{i}:") for i in ids)]
    power = [p["title"] for p in panels_of(boards["citysigns-power"])]
    assert "Distribution transformer load ratio" in power


def test_dispatch_filters_every_department_panel_and_lists_every_department(
    boards: dict[str, dict[str, Any]],
) -> None:
    """Before, the Prometheus deadline-compliance panel ignored $department, and the variable
    came from open tickets only, so departments with only closed tickets vanished under All
    from the ticket store's panels."""
    from indicators.language.registry import departments

    board = boards[DISPATCH_UID]
    for p in panels_of(board):
        for t in p["targets"]:
            expr = t.get("expr") or t.get("rawSql", "")
            if "department" in expr.replace("by (department", ""):
                assert 'department=~"$department"' in expr or "${department:sqlstring}" in expr, p[
                    "title"
                ]
    compliance = next(p for p in panels_of(board) if p["title"].startswith("Deadline compliance")
                      and p["datasource"]["type"] == "prometheus")  # fmt: skip
    assert all('department=~"$department"' in t["expr"] for t in compliance["targets"])
    var = next(v for v in board["templating"]["list"] if v["name"] == "department")
    listed = {part.rsplit(" : ", 1)[1].strip() for part in var["query"].split(",")}
    assert listed == set(departments())
    assert var["includeAll"] and var["multi"]


# -- smaller things ------------------------------------------------------------------------------
def test_category_tiles_are_named_in_chinese_and_english(
    boards: dict[str, dict[str, Any]],
) -> None:
    """Before, tiles read raw keys such as "photo_report"."""
    from indicators.language.registry import CATEGORIES

    assert set(CATEGORY_TITLES) == set(CATEGORIES)
    titles = set(stats(boards[OVERVIEW]))
    assert "随申拍 Photo reports" in titles and "photo_report" not in titles
    for zh, en in CATEGORY_TITLES.values():
        assert re.search(r"[\u4e00-\u9fff]", zh) and en.isascii()


def test_a_weighted_levels_keep_their_unit() -> None:
    """Before, dB(A) was shown as Grafana's "dB", a different quantity."""
    from dashboards.units import grafana_unit

    assert grafana_unit("dB(A)") == "suffix: dB(A)"
    assert grafana_unit("dB") == "dB"


def test_score_panels_of_value_based_indicators_have_no_level_thresholds(
    boards: dict[str, dict[str, Any]], catalog: Catalog
) -> None:
    """Warning levels 1-4 on a 0-1 score axis were meaningless steps."""
    checked = 0
    for ind in catalog:
        board = boards.get(f"citysigns-{ind.category}")
        if board is None or ind.detection.warnings.on != "value":
            continue
        key = f'citysigns_indicator_anomaly_score{{indicator="{ind.id}"'
        score = next(p for p in panels_of(board) if key in p["targets"][0]["expr"])
        assert "thresholds" not in score["fieldConfig"]["defaults"], ind.id
        checked += 1
    assert checked


def test_hottest_areas_link_passes_level_and_street(
    boards: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    """Before, only the district was passed: a street's row opened the whole district."""
    table = next(p for p in panels_of(boards[OVERVIEW]) if p["type"] == "table")
    url = table["fieldConfig"]["defaults"]["links"][0]["url"]
    assert "var-level=${__data.fields.area_level}" in url
    assert "var-street=${__data.fields.street}" in url
    score = "citysigns_indicator_anomaly_score"
    series = {
        f'{score}{{category="water",indicator="water.pressure",area_level="{lvl}",'
        f'area="{code}",district="{dist}"}}': f"{v}x5"
        for lvl, code, dist, v in (("street", "310101001", "310101", 0.9),
                                   ("district", "310101", "310101", 0.8),
                                   ("city", "310000", "", 0.7))
    }  # fmt: skip
    common = 'category="water",district="310101"'
    expected: list[dict[str, object]] = [
        {"labels": f'{{area="310101001",area_level="street",{common},street="310101001"}}',
         "value": 0.9},
        {"labels": f'{{area="310101",area_level="district",{common},street="$__all"}}',
         "value": 0.8},
        {"labels": '{area="310000",area_level="city",category="water",street="$__all"}',
         "value": 0.7},
    ]  # fmt: skip
    run_promql(tmp_path, series, [(q.hottest_areas(10), "3m", expected)])


def test_window_close_latency_panels_say_live_only(boards: dict[str, dict[str, Any]]) -> None:
    def reads_latency(p: dict[str, Any]) -> bool:
        return any("window_close_latency" in t.get("expr", "") for t in p["targets"])

    latency = [p for b in boards.values() for p in panels_of(b) if reads_latency(p)]
    assert len(latency) >= 2
    assert all(p.get("description", "").startswith("Live only") for p in latency)
