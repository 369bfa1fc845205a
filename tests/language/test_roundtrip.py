"""Generated valid indicators survive load -> validate -> dump -> load unchanged, and the JSON
Schema that editors use accepts the catalog and agrees with the checker on bad keys."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from citysigns.paths import CATALOG_DIR
from indicators.language import registry
from indicators.language.dump import catalog_to_yaml
from indicators.language.model import Indicator
from indicators.language.schema import SCHEMA_PATH, json_schema, schema_text
from indicators.language.validate import load_catalog, load_catalog_or_raise
from indicators.language.yamlload import load_yaml_text

LEVELS = list(registry.WARNING_LEVELS)
# (fields with no upper bound and a lower bound of 0 at most: the generated thresholds, 0 to
# 130, are then within every value the field can take, as `check` requires)
UNBOUNDED = {
    k: [
        f
        for f, spec in ks.fields.items()
        if spec.type == "number" and spec.maximum is None and (spec.minimum or 0) <= 0
    ]
    for k, ks in registry.kinds().items()
    if not ks.channel
}
NUMERIC_KINDS = {k: fields for k, fields in UNBOUNDED.items() if fields}
durations = st.sampled_from(["0s", "30s", "5m", "15m", "1h", "1h30m", "8h"])  # 8h: 96 windows of 5m
words = st.text(alphabet="abcdefghij 水压空气", min_size=1, max_size=12).map(str.strip).filter(bool)


@st.composite
def indicators(draw: st.DrawFn, index: int = 0) -> dict:
    kind = draw(st.sampled_from(sorted(NUMERIC_KINDS)))
    field = draw(st.sampled_from(NUMERIC_KINDS[kind]))
    sliding = draw(st.booleans())
    step = draw(st.sampled_from([300, 600, 900]))
    length = step * draw(st.integers(1, 4))
    window: dict = {"type": "sliding" if sliding else "tumbling",
                    "length": f"{length}s",
                    "lateness": draw(durations)}  # fmt: skip
    if sliding:
        window["step"] = f"{step}s"
    spacing = step if sliding else length
    # (a level holds in whole windows, so its `for` is a multiple of their spacing)
    holds = st.integers(0, 8).map(lambda n: f"{n * spacing}s")
    used = sorted(draw(st.sets(st.sampled_from(LEVELS), min_size=1)), key=LEVELS.index)
    on_value = draw(st.booleans())
    base = draw(st.floats(0, 100, allow_nan=False)) if on_value else 0.5
    warn_levels = {
        lvl: {"threshold": (base + i * 10) if on_value else round(0.5 + i * 0.1, 2),
              "for": draw(holds)}
        for i, lvl in enumerate(used)
    }  # fmt: skip
    detectors = draw(st.lists(st.sampled_from([
        {"type": "threshold", "upper": 10.0},
        {"type": "seasonal", "period": "day", "slot": "30m"},
        {"type": "ewma", "halflife": 12},
        {"type": "cusum", "k": 0.25, "h": 4.0},
        {"type": "no_signal", "after": 2},
        {"type": "ensemble", "members": [{"type": "spot"}, {"type": "stuck"}]},
    ]), min_size=1, max_size=3))  # fmt: skip
    ind: dict = {
        "id": f"gen.ind{index}_{draw(st.integers(0, 999))}",
        "title": {"zh": draw(words), "en": draw(words)},
        "category": draw(st.sampled_from(registry.CATEGORIES)),
        "unit": registry.kinds()[kind].fields[field].unit,
        "owner": draw(st.sampled_from(sorted(registry.departments()))),
        "source": {"kind": kind, "filter": [{"field": field, "range": [0, 1000]}]},
        "value": {"field": field, "aggregate": draw(st.sampled_from(["mean", "max", "p95"])),
                  "window": window,
                  "levels": draw(st.lists(st.sampled_from(registry.AREA_LEVELS), min_size=1,
                                          max_size=3, unique=True))},
        "detection": {"detectors": detectors,
                      "warnings": {"on": "value" if on_value else "score",
                                   "levels": warn_levels}},
    }  # fmt: skip
    if draw(st.booleans()):
        ind["dispatch"] = {
            "department": draw(st.sampled_from(sorted(registry.departments()))),
            "deadlines": {used[0]: {"accept": "1h", "handle": "1d"}},
        }
    return ind


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(raw=st.lists(indicators(), min_size=1, max_size=4, unique_by=lambda d: d["id"]))
def test_generated_indicators_round_trip(raw: list[dict], tmp_path: Path) -> None:
    src = tmp_path / "gen.yaml"
    src.write_text(yaml.safe_dump({"indicators": raw}, allow_unicode=True), encoding="utf-8")
    first = load_catalog_or_raise([src])
    dumped = tmp_path / "dumped.yaml"
    dumped.write_text(catalog_to_yaml(list(first)), encoding="utf-8")
    second = load_catalog_or_raise([dumped])
    assert list(second.indicators) == [d["id"] for d in raw]
    for ind_id, ind in first.indicators.items():
        assert second[ind_id] == ind
    # YAML 1.2 reading, as editors do (PyYAML's safe_load would turn `on:` into True)
    jsonschema.validate(load_yaml_text(dumped.read_text("utf-8")).data, json_schema())


def test_shipped_catalog_round_trips(tmp_path: Path) -> None:
    catalog = load_catalog_or_raise([CATALOG_DIR])
    out = tmp_path / "all.yaml"
    out.write_text(catalog_to_yaml(list(catalog)), encoding="utf-8")
    again = load_catalog_or_raise([out])
    assert again.indicators == catalog.indicators


def test_schema_file_in_repo_is_current() -> None:
    assert SCHEMA_PATH.read_text("utf-8") == schema_text(), "run `citysigns schema --write`"


def test_schema_accepts_every_catalog_file() -> None:
    schema = json.loads(SCHEMA_PATH.read_text("utf-8"))
    for f in sorted(CATALOG_DIR.glob("*.yaml")):
        jsonschema.validate(load_yaml_text(f.read_text("utf-8")).data, schema)


def test_schema_and_checker_both_reject_a_misspelt_key(tmp_path: Path) -> None:
    doc = load_yaml_text((CATALOG_DIR / "air.yaml").read_text("utf-8")).data
    doc["indicators"][0]["value"]["windw"] = doc["indicators"][0]["value"].pop("window")
    validator = jsonschema.Draft202012Validator(json_schema())
    assert list(validator.iter_errors(doc)), "the schema must reject an unknown key"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    _, diags = load_catalog([bad])
    assert any('unknown key "windw" (did you mean "window"?)' in d.message for d in diags)
    assert any('missing required key "window"' in d.message for d in diags)


def test_model_is_frozen() -> None:
    ind = next(iter(load_catalog_or_raise([CATALOG_DIR])))
    assert isinstance(ind, Indicator)
    try:
        ind.unit = "x"  # type: ignore[misc]
    except Exception as e:  # pydantic raises ValidationError for frozen models
        assert "frozen" in str(e)
    else:
        raise AssertionError("indicator models must be immutable")


def test_schema_and_checker_both_reject_a_duration_without_unit(tmp_path: Path) -> None:
    doc = load_yaml_text((CATALOG_DIR / "air.yaml").read_text("utf-8")).data
    doc["indicators"][0]["value"]["window"]["length"] = 15
    validator = jsonschema.Draft202012Validator(json_schema())
    assert list(validator.iter_errors(doc)), "the schema must reject a bare number"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    _, diags = load_catalog([bad])
    assert [d.message for d in diags] == ['"length": 15 has no unit: write 15m or 15s (or h, d, w)']


def test_schema_and_checker_both_refuse_a_file_without_indicators(tmp_path: Path) -> None:
    validator = jsonschema.Draft202012Validator(json_schema())
    assert list(validator.iter_errors({"version": 1, "indicators": []}))
    path = tmp_path / "c.yaml"
    path.write_text("version: 1\nindicators: []\n", "utf-8")
    assert load_catalog([path])[1]


def test_schema_and_checker_both_refuse_another_version(tmp_path: Path) -> None:
    """The schema said `version` is any integer while `check` accepts 1 only."""
    doc = load_yaml_text((CATALOG_DIR / "air.yaml").read_text("utf-8")).data
    validator = jsonschema.Draft202012Validator(json_schema())
    assert not list(validator.iter_errors(doc))
    doc["version"] = 2
    assert list(validator.iter_errors(doc)), "the schema must refuse version 2"
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), "utf-8")
    assert any("version" in d.message for d in load_catalog([path])[1])
