"""The generated Grafana JSON (no Grafana server can be installed here, so the JSON is what is
checked): every query names metrics the exporter really exposes, units and thresholds are the
catalog's, uids are unique and stable, the schema is Grafana 11.6's, SQL reads real columns of
the ticket store, and the provisioning files point at the data sources the panels use."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer
import yaml
from typer.testing import CliRunner

from alerts.rules import RulesOptions
from alerts.schema import tickets as tickets_table
from dashboards.build import build_dashboards, exported_by_category, write_dashboards
from dashboards.cli import app as dashboards_app
from dashboards.grafana import (
    POSTGRES_UID,
    PROMETHEUS_UID,
    SCHEMA_VERSION,
    SDK_VERSION,
    check_sdk_version,
)
from dashboards.names import category_title
from dashboards.panels import LEVEL_COLOURS, step_above
from dashboards.units import GRAFANA_UNITS, grafana_unit
from flows.metrics import MetricsConfig
from indicators.language.validate import Catalog

GOLDEN = Path(__file__).resolve().parents[1] / "metrics" / "golden" / "exposition.txt"
PROMQL_WORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or",
    "unless", "offset", "inf", "nan", "le",
}  # fmt: skip
GROUPING = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")


def metric_names(expr: str) -> set[str]:
    """Metric names in a PromQL expression: identifiers that are not functions, keywords,
    label names in grouping clauses, label matchers, strings, ranges or Grafana variables."""
    e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # strings
    e = re.sub(r"\{[^}]*\}", "", e)  # label matchers
    e = re.sub(r"\[[^\]]*\]", "", e)  # ranges
    e = GROUPING.sub(" ", e)
    e = re.sub(r"\$\{?[A-Za-z_][A-Za-z0-9_:]*\}?", "", e)  # Grafana variables
    names = set()
    for m in re.finditer(r"(?<![\w.])([A-Za-z_:][A-Za-z0-9_:]*)(\s*\()?", e):
        word, call = m.group(1), m.group(2)
        if call or word in PROMQL_WORDS:
            continue
        names.add(word)
    return names


def golden_names() -> set[str]:
    names: set[str] = set()
    for line in GOLDEN.read_text("utf-8").splitlines():
        if line.startswith("# TYPE "):
            names.add(line.split()[2])
        elif line and not line.startswith("#"):
            names.add(re.split(r"[{ ]", line, maxsplit=1)[0])
    return names


def walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for v in node.values():
            yield from walk(v)
    elif isinstance(node, list):
        for v in node:
            yield from walk(v)


def test_the_metric_name_extractor() -> None:
    assert metric_names(
        'topk(10, max by (area, district) (citysigns_x{a="b", c=~"$d"}))'
        " / on(area) group_left(name) citysigns_y[5m] > 0 or vector(0)"
    ) == {"citysigns_x", "citysigns_y"}
    assert metric_names("histogram_quantile(0.95, sum by (le) (rate(h_bucket[5m])))") == {
        "h_bucket"
    }


def test_every_query_uses_metrics_of_the_golden_exposition(
    boards: dict[str, dict[str, Any]],
) -> None:
    exposed = golden_names() | {"up"}  # Prometheus' own series of every scrape target
    assert "citysigns_indicator_value" in exposed
    checked = 0
    for uid, board in boards.items():
        exprs = [n["expr"] for n in walk(board) if isinstance(n.get("expr"), str)]
        exprs += [v["query"] for v in board["templating"]["list"] if v["type"] == "query"]
        for expr in exprs:
            inner = re.sub(r"^label_values\((.*),\s*\w+\)$", r"\1", expr.strip(), flags=re.S)
            names = metric_names(inner)
            assert names, f"{uid}: no metric in {expr!r}"
            missing = names - exposed
            assert not missing, f"{uid}: {sorted(missing)} not in the exporter's exposition"
            checked += 1
    assert checked > 100


def test_uids_unique_stable_and_schema_pinned(
    boards: dict[str, dict[str, Any]], catalog: Catalog
) -> None:
    assert check_sdk_version() == SDK_VERSION == "1769699379!11.6.0"
    categories = set(exported_by_category(catalog)[0])
    expected = {"citysigns-overview", "citysigns-dispatch", "citysigns-pipeline"}
    assert set(boards) == expected | {f"citysigns-{c}" for c in categories}
    again = build_dashboards(catalog)
    assert json.dumps(again, sort_keys=True) == json.dumps(boards, sort_keys=True)
    for uid, board in boards.items():
        assert board["uid"] == uid and len(uid) <= 40
        assert board["schemaVersion"] == SCHEMA_VERSION == 41
        ids = [p["id"] for p in board["panels"]]
        assert len(ids) == len(set(ids)) and 0 not in ids
        assert "citysigns" in board["tags"]
        assert board["timezone"] == "Asia/Shanghai"  # the city's clock, not the wall PC's


def test_every_panel_names_its_queries_apart(boards: dict[str, dict[str, Any]]) -> None:
    """Grafana keys a panel's queries by refId: two alike and one of them is not shown."""
    for uid, board in boards.items():
        for node in walk(board):
            refs = [t.get("refId") for t in node.get("targets", []) if isinstance(t, dict)]
            assert len(refs) == len(set(refs)), (uid, node.get("title"), refs)


def test_links_point_at_dashboards_that_exist(boards: dict[str, dict[str, Any]]) -> None:
    for uid, board in boards.items():
        for node in walk(board):
            url = node.get("url")
            if isinstance(url, str) and "/d/" in url:
                target = url.split("/d/")[1].split("?")[0]
                if "${" in target:  # a data link templated on the row's category
                    target = target.replace("${__data.fields.category}", "air")
                assert target in boards, f"{uid} links to unknown dashboard {target}"
    overview = boards["citysigns-overview"]
    stat_links = [p["links"][0]["url"] for p in overview["panels"] if p["type"] == "stat"]
    assert "/d/citysigns-air" in stat_links


def panels_of(board: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in board["panels"] if p["type"] != "row"]


def test_units_and_thresholds_match_the_catalog(
    boards: dict[str, dict[str, Any]], catalog: Catalog
) -> None:
    assert set(GRAFANA_UNITS.values()) <= _sdk_unit_ids()
    split = 0
    for ind in (i for inds in exported_by_category(catalog)[0].values() for i in inds):
        board = boards[f"citysigns-{ind.category}"]
        values = [p for p in panels_of(board)
                  if f'citysigns_indicator_value{{indicator="{ind.id}"'
                  in p["targets"][0]["expr"]]  # fmt: skip
        score = next(p for p in panels_of(board)
                     if f'citysigns_indicator_anomaly_score{{indicator="{ind.id}"'
                     in p["targets"][0]["expr"])  # fmt: skip
        rules = ind.detection.warnings
        shown = [lvl for lvl in ("district", "street", "city") if lvl in ind.value.levels]
        if len(values) > 1:  # one panel per area level, each of that level alone
            split += 1
            assert rules.on == "value" and not rules.same_at(shown), ind.id
            assert [p["title"].rsplit(" · ", 1)[1] for p in values] == shown
        else:
            assert rules.same_at(shown), ind.id
        for value, at in zip(values, shown if len(values) > 1 else shown[:1], strict=False):
            if len(values) > 1:
                assert all(f'area_level="{at}"' in t["expr"] for t in value["targets"])
            unit = value["fieldConfig"]["defaults"]["unit"]
            assert unit == grafana_unit(ind.unit)
            assert unit in GRAFANA_UNITS.values() or unit == f"suffix: {ind.unit}"
            panel = value if rules.on == "value" else score
            steps = panel["fieldConfig"]["defaults"]["thresholds"]["steps"]
            want = rules.thresholds(at)
            got = {s["value"] for s in steps[1:]}
            # a level holds at its threshold: for `below` its step starts just above it
            at_steps = {t if rules.direction == "above" else step_above(t) for t in want.values()}
            assert got == at_steps, ind.id
            # colour above each threshold: the level itself (above) or the next milder one
            for s in steps[1:]:
                levels_at = [lvl for lvl, t in want.items() if t == s["value"] or (
                    rules.direction == "below" and step_above(t) == s["value"])]  # fmt: skip
                if rules.direction == "above":
                    assert s["color"] in {LEVEL_COLOURS[lvl] for lvl in levels_at}, ind.id
            assert steps[0]["value"] is None
            if rules.direction == "below":
                worst = max(want, key=lambda lvl: ("blue", "yellow", "orange", "red").index(lvl))
                assert steps[0]["color"] == LEVEL_COLOURS[worst]
                assert steps[-1]["color"] == "green"
            for target in value["targets"]:
                assert 'district=~"$district"' in target["expr"]
                assert 'area=~"$street"' in target["expr"]
    assert split >= 3  # water outages, flooding, snow and ice


def _sdk_unit_ids() -> set[str]:
    import grafana_foundation_sdk.models.units as units

    return {v for k, v in vars(units).items() if isinstance(v, str) and not k.startswith("_")}


def test_category_dashboards_drill_from_district_to_street(
    boards: dict[str, dict[str, Any]],
) -> None:
    board = boards["citysigns-flood"]
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert list(variables) == ["district", "level", "street", "top"]
    assert 'district=~"$district"' in variables["street"]["query"]
    assert all(v["includeAll"] for n, v in variables.items() if n != "top")
    annotations = board["annotations"]["list"]
    assert any("citysigns_indicator_warning_level" in a.get("expr", "") for a in annotations)


def test_overview_has_the_wall_panels(boards: dict[str, dict[str, Any]], catalog: Catalog) -> None:
    board = boards["citysigns-overview"]
    panels = panels_of(board)
    categories = sorted(exported_by_category(catalog)[0])
    titles = [category_title(c) for c in categories]
    assert [p["title"] for p in panels if p["type"] == "stat"][: len(categories)] == titles
    geomap = next(p for p in panels if p["type"] == "geomap")
    assert geomap["datasource"]["uid"] == "-- Mixed --"
    sources = {t["datasource"]["uid"] for t in geomap["targets"]}
    assert sources == {PROMETHEUS_UID, POSTGRES_UID}
    layers = geomap["options"]["layers"]
    assert {layer["filterData"]["options"] for layer in layers} == {"W", "T"}
    assert any("topk" in t["expr"] for p in panels if p["type"] == "table" for t in p["targets"])


def test_sql_reads_columns_of_the_ticket_store(boards: dict[str, dict[str, Any]]) -> None:
    columns = {c.name for c in tickets_table.columns}
    sqls = [n["rawSql"] for b in boards.values() for n in walk(b) if "rawSql" in n]
    assert len(sqls) >= 4
    for sql in sqls:
        assert "FROM tickets" in sql
        # the map's centres of areas (a CTE from the city model) are not ticket columns
        sql = re.sub(r"^WITH areas\(.*?\) AS \(VALUES .*?\)\)\s*", "", sql, flags=re.S)
        sql = re.sub(r"\ba\.\w+", "", sql).replace("t.", "")
        select = re.search(r"SELECT (.*?) FROM", sql, re.S)
        assert select
        used = set(re.findall(r"\b([a-z_]+)\b", re.sub(r"'[^']*'", "", select.group(1))))
        used -= {"as", "to_timestamp", "avg", "case", "when", "then", "else", "end", "coalesce",
                 "latitude", "longitude", "opened", "on_time", "count", "max",
                 "area", "open_tickets"}  # fmt: skip
        assert used <= columns, sorted(used - columns)
    dispatch = boards["citysigns-dispatch"]
    tables = [p for p in panels_of(dispatch) if p["type"] == "table"]
    assert tables and all(p["datasource"]["uid"] == POSTGRES_UID for p in tables)
    # compliance against the step's original deadline, which supervision does not restart
    (compliance,) = [s for s in sqls if "on_time" in s]
    assert "<= coalesce(handle_due_original, handle_due)" in " ".join(compliance.split())


def test_cli_writes_dashboards_and_provisioning(tmp_path: Path) -> None:
    root = typer.Typer()
    root.add_typer(dashboards_app, name="dashboards")
    done = CliRunner().invoke(root, ["dashboards", "--out", str(tmp_path)])
    assert done.exit_code == 0, done.output
    files = sorted(p.name for p in (tmp_path / "dashboards").glob("*.json"))
    assert "citysigns-overview.json" in files and "citysigns-dispatch.json" in files
    ds = yaml.safe_load((tmp_path / "provisioning/datasources/citysigns.yaml").read_text())
    by_uid = {d["uid"]: d for d in ds["datasources"]}
    assert by_uid[PROMETHEUS_UID]["type"] == "prometheus"
    assert by_uid[POSTGRES_UID]["type"] == "grafana-postgresql-datasource"
    assert "$CITYSIGNS_PG_PASSWORD" in json.dumps(by_uid[POSTGRES_UID])
    prov = yaml.safe_load((tmp_path / "provisioning/dashboards/citysigns.yaml").read_text())
    assert prov["providers"][0]["type"] == "file"
    used = {n["uid"] for f in (tmp_path / "dashboards").glob("*.json")
            for n in walk(json.loads(f.read_text())) if isinstance(n.get("uid"), str)
            and n.get("type") in ("prometheus", "grafana-postgresql-datasource")}  # fmt: skip
    assert used == set(by_uid)
    no_out = CliRunner().invoke(root, ["dashboards"])
    assert no_out.exit_code == 2


def test_a_rerun_removes_the_dashboards_an_earlier_catalog_generated(
    catalog: Catalog, tmp_path: Path
) -> None:
    """`cp out/grafana/dashboards/*.json` provisions every file there: a rerun at a coarser
    --max-area-level used to leave the earlier run's noise, gas and manhole dashboards, whose
    panels could never show data again.  A rerun removes the dashboards it no longer writes
    and keeps a JSON file it did not generate."""
    write_dashboards(catalog, tmp_path)
    folder = tmp_path / "dashboards"
    assert (folder / "citysigns-noise.json").exists()
    own = folder / "team-board.json"
    own.write_text('{"uid": "team-board", "tags": ["team"]}', encoding="utf-8")
    coarse = RulesOptions(metrics=MetricsConfig(max_area_level="district"))
    written = write_dashboards(catalog, tmp_path, options=coarse)
    assert not (folder / "citysigns-noise.json").exists()
    assert own.exists()
    assert {p.name for p in folder.glob("*.json")} - {own.name} == {
        p.name for p in written if p.suffix == ".json"
    }


def test_cli_refuses_an_out_it_cannot_write(tmp_path: Path) -> None:
    """An --out that is a file ended in a NotADirectoryError traceback."""
    root = typer.Typer()
    root.add_typer(dashboards_app, name="dashboards")
    a_file = tmp_path / "a_file"
    a_file.write_text("", encoding="utf-8")
    done = CliRunner().invoke(root, ["dashboards", "--out", str(a_file)])
    assert done.exit_code == 2, done.output
    assert f"--out {a_file} is a file, not a directory" in done.output
