"""`citysigns rules`: the generated rules follow the catalog, promtool accepts them and their
generated tests pass (and fail when a rule drifts from the catalog), and the Alertmanager
example routes and inhibits as documented."""

from __future__ import annotations

import inspect
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml
from typer.testing import CliRunner

from alerts.rules import RuleSet, RulesOptions, build_rule_set, write_rules
from alerts.rules.cli import app as rules_app
from alerts.rules.links import runbook_anchor
from alerts.scored import ScoredBatch
from alerts.warning_state import WarningStateMachine
from citysigns.cli import serve as serve_command
from flows.metrics import MetricsConfig
from indicators.language.durations import format_duration
from indicators.language.model import Indicator
from indicators.language.registry import WARNING_LEVELS
from indicators.language.validate import Catalog
from tests.rules.servers import require_binary

T0 = 1772330400  # 2026-03-01 10:00 +08:00
SEVERITY = {"blue": "info", "yellow": "warning", "orange": "major", "red": "critical"}


def rules_of(out: Path) -> dict[str, dict[str, Any]]:
    """alert name -> rule, over every generated rule file."""
    found: dict[str, dict[str, Any]] = {}
    for f in sorted((out / "rules").glob("*.rules.yml")):
        for group in yaml.safe_load(f.read_text("utf-8"))["groups"]:
            for rule in group["rules"]:
                if "alert" in rule:
                    assert rule["alert"] not in found, f"duplicate alert {rule['alert']}"
                    found[rule["alert"]] = rule
    return found


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    exe = require_binary("promtool")
    return subprocess.run([exe, *args], capture_output=True, text=True, check=False, timeout=300)


@pytest.mark.slow
def test_promtool_checks_the_rules_and_passes_the_generated_tests(
    written: tuple[RuleSet, Path],
) -> None:
    rule_set, out = written
    rules = sorted(str(p) for p in (out / "rules").glob("*.rules.yml"))
    tests = sorted(str(p) for p in (out / "tests").glob("*.test.yml"))
    assert len(tests) == len(rules) == len(rule_set.rules)
    check = promtool("check", "rules", *rules)
    assert check.returncode == 0, check.stdout + check.stderr
    found = sum(int(n) for n in re.findall(r"SUCCESS: (\d+) rules found", check.stdout))
    assert found == rule_set.alert_count + 5  # + the recording rules
    run = promtool("test", "rules", *tests)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.count("SUCCESS") == len(tests)
    config = promtool("check", "config", str(out / "prometheus.yml"))
    assert config.returncode == 0, config.stdout + config.stderr


def test_generated_tests_catch_a_rule_that_drifts_from_the_catalog(
    written: tuple[RuleSet, Path], tmp_path: Path
) -> None:
    _, out = written
    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    path = copy / "rules" / "indicator-air.pm25.rules.yml"
    text = path.read_text("utf-8")
    assert ">= 115\n" in text
    path.write_text(text.replace(">= 115\n", ">= 215\n"), encoding="utf-8")
    run = promtool("test", "rules", str(copy / "tests" / "indicator-air.pm25.test.yml"))
    assert run.returncode != 0
    assert "AirPm25Yellow" in run.stdout + run.stderr


def test_alerts_name_their_area_from_the_exported_area_info(
    written: tuple[RuleSet, Path], tmp_path: Path
) -> None:
    """A duty officer read "PM2.5: yellow warning in 310106": the summaries and descriptions
    now name the area as citysigns_area_info does ("Jing'an (310106)", "静安区 (310106)"),
    looked up by Prometheus when it expands them, and give the code alone for an area the
    info does not name.  Checked by promtool on the generated test: without the info series
    the named annotations no longer hold; with them renamed to an unnamed area's code, the
    expected annotation is the code alone."""
    _, out = written
    rule = rules_of(out)["AirPm25Yellow"]
    assert "citysigns_area_info" in rule["annotations"]["summary"]
    test_file = out / "tests" / "indicator-air.pm25.test.yml"
    doc = yaml.safe_load(test_file.read_text("utf-8"))
    named = [a["exp_annotations"] for t in doc["tests"] for c in t["alert_rule_test"]
             if c["alertname"] == "AirPm25Yellow" for a in c["exp_alerts"]]  # fmt: skip
    assert named and all(a["summary"].endswith("warning in Jing'an (310106)")
                         and a["summary_zh"].endswith("静安区 (310106)")
                         and "in district Jing'an (310106) (" in a["description"]
                         for a in named)  # fmt: skip
    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    without = yaml.safe_load(test_file.read_text("utf-8"))
    for t in without["tests"]:
        t["input_series"] = [s for s in t["input_series"]
                             if not s["series"].startswith("citysigns_area_info")]  # fmt: skip
    path = copy / "tests" / test_file.name
    path.write_text(yaml.safe_dump(without, allow_unicode=True), encoding="utf-8")
    run = promtool("test", "rules", str(path))
    assert run.returncode != 0 and "Jing'an" in run.stdout + run.stderr
    # ... and the code alone is what Prometheus gives then
    for t in without["tests"]:
        for c in t["alert_rule_test"]:
            for a in c["exp_alerts"]:
                for k in ("summary", "summary_zh", "description"):
                    a["exp_annotations"][k] = (
                        a["exp_annotations"][k]
                        .replace("Jing'an (310106)", "310106")
                        .replace("静安区 (310106)", "310106")
                    )
    path.write_text(yaml.safe_dump(without, allow_unicode=True), encoding="utf-8")
    run = promtool("test", "rules", str(path))
    assert run.returncode == 0, run.stdout + run.stderr


def test_thresholds_per_area_level_fire_each_level_at_its_own_number(
    written: tuple[RuleSet, Path], tmp_path: Path
) -> None:
    """Before, one threshold applied at every area level: 5 no-water calls in a district of
    dozens of streets raised the street's blue.  The rule now compares each level with its
    own number, and its generated tests check each level: a rule that judged the district by
    the street's 5 (or kept it firing by the street's clear of 2) fails them."""
    _, out = written
    rule = rules_of(out)["HotlineWaterOutageBlue"]
    value = 'citysigns_indicator_value{indicator="hotline.water_outage",area_level=~'
    assert rule["expr"].startswith(f'{value}"street"}} >= 5\nor {value}"district"}} >= 15\nor\n(')
    assert f'{value}"district"}} >= 6\n' in rule["expr"]
    assert "5 orders in a street, 15 orders in a district" in rule["annotations"]["description"]
    runbooks = (out / "runbooks.md").read_text("utf-8")
    assert "| blue | 5 (street), 15 (district) | 0s |" in runbooks
    assert (
        "Clears when back past 2 (street), 6 (district) for 1h. A higher level steps down "
        "once its threshold has not held for 1h."
    ) in runbooks
    name = "indicator-hotline.water_outage"
    for old, new in ((" >= 15\n", " >= 5\n"), (" >= 6\n", " >= 2\n")):
        copy = tmp_path / old.strip().replace(" ", "")
        shutil.copytree(out, copy)
        path = copy / "rules" / f"{name}.rules.yml"
        text = path.read_text("utf-8")
        assert text.count(old) == 1
        path.write_text(text.replace(old, new), encoding="utf-8")
        run = promtool("test", "rules", str(copy / "tests" / f"{name}.test.yml"))
        assert run.returncode != 0
        assert "HotlineWaterOutageBlue: >= 15 in a district" in run.stdout + run.stderr


def test_every_alert_carries_the_catalogs_threshold_duration_and_routing(
    written: tuple[RuleSet, Path], catalog: Catalog
) -> None:
    rule_set, out = written
    rules = rules_of(out)
    runbooks = (out / "runbooks.md").read_text("utf-8")
    checked = 0
    for a in rule_set.indicator_alerts:
        ind = catalog[a.indicator.id]
        w = ind.detection.warnings
        level_rule = w.levels[a.level]  # type: ignore[index]
        rule = rules[a.name]
        op = ">=" if w.direction == "above" else "<="  # a level holds at its threshold
        metric = (
            "citysigns_indicator_value" if w.on == "value" else "citysigns_indicator_anomaly_score"
        )
        # one line per set of area levels sharing a threshold: each against its own
        fire = rule["expr"].split("\nor\n(")[0].splitlines()
        assert len(fire) == len(a.conditions)
        for line, cond in zip(fire, a.conditions, strict=True):
            levels = "|".join(cond.area_levels)
            selector = f'{metric}{{indicator="{ind.id}",area_level=~"{levels}"}}'
            assert line.removeprefix("or ") == f"{selector} {op} {cond.threshold:g}", line
            assert all(level_rule.at(lvl) == cond.threshold for lvl in cond.area_levels)
        assert {lvl for c in a.conditions for lvl in c.area_levels} == set(a.area_levels)
        # the flow counts `for` from the first window's start, Prometheus from its end
        spacing = ind.value.window.spacing
        assert rule.get("for", "0s") == format_duration(max(0, level_rule.for_ - spacing))
        disp = ind.dispatched()
        assert rule["labels"] == {
            "severity": SEVERITY[a.level],
            "level": a.level,
            "category": ind.category,
            "department": disp.department if disp else ind.owner,
            "tier": disp.tiers.get(a.level, "city") if disp else "none",  # type: ignore[call-overload]
            "dispatch": "true" if disp else "false",
        }
        ann = rule["annotations"]
        assert set(ann) == {"summary", "summary_zh", "description", "value", "runbook_url",
                            "dashboard_url"}  # fmt: skip
        assert "{{ $value" in ann["description"] and ind.title.en in ann["summary"]
        anchor = runbook_anchor(ind.id)
        assert ann["runbook_url"].endswith(f"#{anchor}") and f'id="{anchor}"' in runbooks
        assert f"/d/citysigns-{ind.category}?" in ann["dashboard_url"]
        mildest = min(w.levels, key=WARNING_LEVELS.index)
        if a.level == mildest and w.clear is not None:
            assert "ALERTS{" in rule["expr"]
            for cond in a.conditions:
                assert cond.clear == w.clear.at(cond.area_levels[0])
                assert f" {cond.clear:g}\n" in rule["expr"]
        else:
            assert "ALERTS" not in rule["expr"]
        # every level steps down `clear.for` after its condition fails, as the flow's does
        if w.clear is not None and w.clear.for_ > spacing:
            assert rule["keep_firing_for"] == format_duration(w.clear.for_ - spacing)
        else:
            assert "keep_firing_for" not in rule
        checked += 1
    levels_in_catalog = sum(len(i.detection.warnings.levels) for i in catalog
                            if i.id not in dict(rule_set.skipped))  # fmt: skip
    assert checked == levels_in_catalog


def _expand(values: str) -> list[float]:
    """promtool's `vxN` terms (the only ones the generated tests write) as samples."""
    out: list[float] = []
    for term in values.split():
        v, n = term.split("x")
        out += [float(v)] * (int(n) + 1)
    return out


def _minutes(at: str) -> int:
    return int(at.removesuffix("m"))


def _up_to(ind: Indicator, level: str) -> Indicator:
    """The indicator with its warning levels up to `level` only."""
    w = ind.detection.warnings
    top = WARNING_LEVELS.index(level)
    levels = {lv: r for lv, r in w.levels.items() if WARNING_LEVELS.index(lv) <= top}
    warnings = w.model_copy(update={"levels": levels})
    return ind.model_copy(
        update={"detection": ind.detection.model_copy(update={"warnings": warnings})}
    )


def test_generated_tests_fire_and_clear_when_the_flows_own_warning_does(
    written: tuple[RuleSet, Path], catalog: Catalog
) -> None:
    """The flow counts a level's `for` from the first window's start, Prometheus from when it
    sees that window's value, at its end: the catalog's `for: 2h` copied as is fired
    AirPm25Blue at the third hourly window past 75, where the flow warns at the second.  Each
    generated scenario, one value per window as the flow exports it, goes through the flow's
    warning state machine: its first warning at the alert's level comes at the time the
    promtool test expects the alert to fire, and the mildest level's warning clears at the
    time the alert must be gone.  (The flow's warning has only the levels up to the alert's:
    the scenario's value may pass a higher one too, which the flow would raise instead.)"""
    rule_set, _ = written
    by_name = {a.name: a for a in rule_set.indicator_alerts}
    checked = 0
    for file in rule_set.tests.values():
        for test in file["tests"]:
            name = test["name"].split(":")[0]
            alert = by_name.get(name)
            if alert is None:
                continue  # (a pipeline alert, a recording rule)
            step = 60 * _minutes(test["interval"])
            samples = _expand(test["input_series"][0]["values"])
            level = test["input_series"][0]["series"].split('area_level="')[1].split('"')[0]
            ind = _up_to(catalog[alert.indicator.id], alert.level)
            on_score = ind.detection.warnings.on == "score"
            window = ind.value.window.spacing
            per_window = max(1, window // step)
            ends = [T0 + k * window for k in range(-(-len(samples) // per_window))]
            values = [samples[k * per_window] for k in range(len(ends))]
            batch = ScoredBatch.from_columns(
                indicator_id=[ind.id] * len(ends), area_code=["a"] * len(ends),
                area_level=[level] * len(ends), window_start=[e - window for e in ends],
                window_end=ends, value=[0.0 if on_score else v for v in values],
                score=[v if on_score else 0.0 for v in values], detectors="threshold",
            )  # fmt: skip
            events = WarningStateMachine([ind]).process(batch)
            fired = next(e.at for e in events if e.level == alert.level and e.kind != "resolved")
            checks = test["alert_rule_test"]
            firing_at = next(_minutes(c["eval_time"]) for c in checks if c["exp_alerts"])
            assert (fired - T0) // 60 == firing_at, (test["name"], events)
            if alert.hysteresis:
                resolved = next((e.at for e in events if e.kind == "resolved"), -1)
                assert (resolved - T0) // 60 == _minutes(checks[-1]["eval_time"]), (test, events)
            else:  # the flow leaves the level (steps down or resolves) when the alert goes
                steps = ("deescalated", "resolved")
                left = next((e.at for e in events if e.at > fired and e.kind in steps), -1)
                assert (left - T0) // 60 == _minutes(checks[-1]["eval_time"]), (test, events)
            checked += 1
    assert checked == sum(len(a.conditions) for a in rule_set.indicator_alerts)


def test_pipeline_alerts_and_the_watchdog(written: tuple[RuleSet, Path]) -> None:
    _, out = written
    rules = rules_of(out)
    assert rules["Watchdog"]["expr"] == "vector(1)"
    assert rules["CitySignsFlowDown"]["expr"] == 'up{job="citysigns"} == 0'
    assert "citysigns_watermark_lag_seconds" in rules["CitySignsWatermarkLag"]["expr"]
    assert "citysigns_dead_letters_total" in rules["CitySignsDeadLetterRate"]["expr"]
    for name in ("CitySignsFlowDown", "CitySignsWatermarkLag", "CitySignsDeadLetterRate"):
        assert rules[name]["labels"]["category"] == "pipeline"


def test_tests_sit_outside_the_rules_glob(written: tuple[RuleSet, Path]) -> None:
    _, out = written
    prom = yaml.safe_load((out / "prometheus.yml").read_text("utf-8"))
    assert prom["rule_files"] == ["rules/*.rules.yml"]
    matched = list(out.glob(prom["rule_files"][0]))
    assert matched and not any(p.name.endswith(".test.yml") for p in matched)
    for t in (out / "tests").glob("*.test.yml"):
        doc = yaml.safe_load(t.read_text("utf-8"))
        assert all((t.parent / f).resolve().exists() for f in doc["rule_files"])


def test_levels_finer_than_the_exporter_get_no_alert(catalog: Catalog) -> None:
    default = build_rule_set(catalog, RulesOptions())
    assert "air.station_silent" in dict(default.skipped)
    fine = build_rule_set(catalog, RulesOptions(metrics=MetricsConfig(max_area_level="sensor")))
    assert not fine.skipped
    silent = [a for a in fine.indicator_alerts if a.indicator.id == "air.station_silent"]
    assert silent and 'area_level=~"sensor"' in silent[0].expr


def amtool_route(config: Path, *labels: str) -> str:
    exe = require_binary("amtool")
    done = subprocess.run([exe, "config", "routes", "test", f"--config.file={config}", *labels],
                          capture_output=True, text=True, check=False, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.strip()


def test_alertmanager_example_routes_by_severity_and_district(
    written: tuple[RuleSet, Path],
) -> None:
    _, out = written
    config = out / "alertmanager" / "alertmanager.yml"
    exe = require_binary("amtool")
    check = subprocess.run([exe, "check-config", str(config)], capture_output=True, text=True,
                           check=False, timeout=60)  # fmt: skip
    assert check.returncode == 0, check.stdout + check.stderr
    base = ("category=air", "dispatch=true", "indicator=air.pm25")
    assert amtool_route(config, *base, "severity=critical", "district=310106") == "district-310106"
    assert amtool_route(config, *base, "severity=info", "district=310101") == "district-310101"
    assert amtool_route(config, *base, "severity=critical") == "city"
    assert amtool_route(config, "alertname=Watchdog", "severity=none") == "watchdog"
    assert amtool_route(config, "category=pipeline", "severity=critical") == "pipeline-oncall"
    assert amtool_route(config, "category=flood", "dispatch=false", "severity=warning",
                        "district=310106") == "informational"  # fmt: skip
    doc = yaml.safe_load(config.read_text("utf-8"))
    red = doc["inhibit_rules"][0]
    assert 'level="red"' in red["source_matchers"]
    assert 'level=~"blue|yellow|orange"' in red["target_matchers"]
    assert red["equal"] == ["indicator", "area"]
    hooks = [h for r in doc["receivers"] for h in r.get("webhook_configs", [])]
    assert hooks and all(h["send_resolved"] for h in hooks)
    assert all(h["url"].endswith("/alertmanager/webhook") for h in hooks)


def test_cli_writes_the_files_and_refuses_a_broken_catalog(tmp_path: Path) -> None:
    root = typer.Typer()
    root.add_typer(rules_app, name="rules")
    runner = CliRunner()
    done = runner.invoke(root, ["rules", "--out", str(tmp_path / "out"), "--job", "city"])
    assert done.exit_code == 0, done.output
    assert "pipeline alerts" in done.output
    text = (tmp_path / "out" / "rules" / "citysigns-pipeline.rules.yml").read_text("utf-8")
    assert 'up{job="city"} == 0' in text
    # the webhook goes to `citysigns serve` where it listens by default, with the token file
    # Alertmanager reads (the API refuses a webhook without a dispatcher's token)
    done = runner.invoke(
        root, ["rules", "--out", str(tmp_path / "am"), "--webhook-token-file", "/etc/am/token"]
    )
    assert done.exit_code == 0, done.output
    am = yaml.safe_load((tmp_path / "am" / "alertmanager" / "alertmanager.yml").read_text("utf-8"))
    hooks = [h for r in am["receivers"] for h in r.get("webhook_configs", [])]
    serve_port = inspect.signature(serve_command).parameters["port"].default
    assert hooks and all(
        h["url"] == f"http://127.0.0.1:{serve_port}/alertmanager/webhook"
        and h["http_config"]["authorization"]
        == {"type": "Bearer", "credentials_file": "/etc/am/token"}
        for h in hooks
    )
    bad = (
        Path(__file__).resolve().parents[1] / "fixtures" / "catalog" / "bad" / "missing_title.yaml"
    )
    broken = runner.invoke(root, ["rules", "--out", str(tmp_path / "x"), "--catalog", str(bad)])
    assert broken.exit_code == 1
    assert "fix the catalog first" in broken.output
    assert not (tmp_path / "x").exists()


def test_a_rerun_removes_the_rule_files_an_earlier_catalog_generated(
    catalog: Catalog, tmp_path: Path
) -> None:
    """Prometheus loads every file of rules/*.rules.yml: a rerun at a coarser
    --max-area-level (or after an indicator left the catalog) used to leave the earlier
    run's files there, so street alerts with the old thresholds kept being evaluated and
    `--check` counted them.  A rerun removes the generated files it no longer writes, and
    keeps a rule file written by hand."""
    out = tmp_path / "out"
    write_rules(catalog, out, RulesOptions())
    street_only = out / "rules" / "indicator-hotline.noise_complaints.rules.yml"
    assert street_only.exists()
    own = out / "rules" / "local.rules.yml"
    own.write_text("groups: []\n", encoding="utf-8")
    coarse = RulesOptions(metrics=MetricsConfig(max_area_level="district"))
    rule_set, written = write_rules(catalog, out, coarse)
    assert not street_only.exists()
    assert not (out / "tests" / "indicator-hotline.noise_complaints.test.yml").exists()
    assert own.exists()
    generated = {p.name for p in (out / "rules").glob("*.rules.yml")} - {own.name}
    assert generated == set(rule_set.rules)
    assert {p.name for p in (out / "tests").glob("*.test.yml")} == set(rule_set.tests)
    assert all(p.exists() for p in written)


def test_cli_refuses_an_out_it_cannot_write_and_a_webhook_that_is_no_url(tmp_path: Path) -> None:
    """An --out that is a file, or a folder holding a directory where a rule file goes,
    ended in an OSError traceback; a --webhook-url without its scheme wrote an
    alertmanager.yml that Alertmanager refuses ("unsupported scheme"). Each is one line and
    exit 2 now."""
    root = typer.Typer()
    root.add_typer(rules_app, name="rules")
    runner = CliRunner()
    a_file = tmp_path / "a_file"
    a_file.write_text("", encoding="utf-8")
    done = runner.invoke(root, ["rules", "--out", str(a_file)])
    assert done.exit_code == 2, done.output
    assert f"--out {a_file} is a file, not a directory" in done.output
    blocked = tmp_path / "blocked"
    (blocked / "rules" / "citysigns-pipeline.rules.yml").mkdir(parents=True)
    done = runner.invoke(root, ["rules", "--out", str(blocked)])
    assert done.exit_code == 2, done.output
    assert "cannot write" in done.output and "citysigns-pipeline.rules.yml" in done.output
    done = runner.invoke(
        root, ["rules", "--out", str(tmp_path / "am"), "--webhook-url", "127.0.0.1:8080/hook"]
    )
    assert done.exit_code == 2, done.output
    assert "--webhook-url '127.0.0.1:8080/hook' is not an http:// or https:// URL" in done.output
    assert not (tmp_path / "am").exists()
