"""Category dashboards: what the annotations say, which series the panels plot and which areas
the drop-downs offer, checked on the generated JSON and with Prometheus' own engine (promtool)
on synthetic series."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from dashboards import queries as q
from dashboards.category import ranked_lowest
from flows.metrics import INDICATOR_UPPER, INDICATOR_WARNING
from indicators.language.validate import Catalog
from tests.dashboards.conftest import run_promql

CITY, DISTRICT, OTHER_DISTRICT = "310000", "310101", "310104"
STREET, OTHER_STREET = "310101001", "310101002"


# Grafana's own variables and the dashboard's streets shown, as a query of a dashboard
# showing the last hour with the defaults would carry them.
GRAFANA = {"__range": "1h", "top": "10"}


def substitute(expr: str, **values: str) -> str:
    """`expr` as Grafana sends it with the variables set to `values` (regexes, as Grafana
    formats a multi-value variable for `=~`), and GRAFANA's unless given."""
    values = {**GRAFANA, **values}
    for name in sorted(values, key=len, reverse=True):
        expr = expr.replace(f"${name}", values[name])
    assert "$" not in expr.replace("$1", ""), expr
    return expr


def labels(**kv: str) -> str:
    """A label set as promtool writes it (an empty label is no label)."""
    return "{" + ",".join(f'{k}="{v}"' for k, v in kv.items() if v) + "}"


def area(level: str, code: str, district: str) -> dict[str, str]:
    return {"area": code, "area_level": level, "district": district}


# -- the warnings annotation -------------------------------------------------------------------
WARN = {"category": "water", "indicator": "water.pressure"}
WARNINGS = {  # area -> level index
    ("city", CITY, ""): 4,
    ("district", DISTRICT, DISTRICT): 1,
    ("street", STREET, DISTRICT): 2,
    ("street", OTHER_STREET, DISTRICT): 3,
}


def warning_series() -> dict[str, str]:
    return {INDICATOR_WARNING + labels(**WARN, **area(*a)): f"{v}x10" for a, v in WARNINGS.items()}


def expected_warnings(*areas: tuple[str, str, str]) -> list[dict[str, object]]:
    names = ("blue", "yellow", "orange", "red")
    return [
        {"labels": INDICATOR_WARNING
         + labels(**WARN, **area(*a), level=names[WARNINGS[a] - 1], name=a[1]),
         "value": WARNINGS[a]}
        for a in areas
    ]  # fmt: skip


def test_warning_markers_say_which_indicator_where_and_at_what_level(
    boards: dict[str, dict[str, Any]],
) -> None:
    """Before, the annotation had no title or text: a marker showed only its time."""
    for uid, board in boards.items():
        for ann in board["annotations"]["list"]:
            assert "{{indicator}}" in ann["titleFormat"] + ann["textFormat"], uid
            assert "{{area}}" in ann["textFormat"] and "{{level}}" in ann["textFormat"], uid
            assert "level" in ann["tagKeys"].split(","), uid
            assert '"$street"' in ann["expr"], uid


def test_warnings_annotation_follows_the_street_filter(tmp_path: Path) -> None:
    """A chosen street shows its own warnings (and its district's), not its neighbours'; each
    marker's `level` label names the level its value stands for (areas without area info
    here, so each is named by its code)."""
    expr = q.category_warnings("water")
    every = substitute(expr, district=".*", street=".*", level=".*")
    one_street = substitute(expr, district=DISTRICT, street=STREET, level=".*")
    cases = [
        (every, "5m", expected_warnings(*WARNINGS)),
        (one_street, "5m",
         expected_warnings(("district", DISTRICT, DISTRICT), ("street", STREET, DISTRICT))),
    ]  # fmt: skip
    run_promql(tmp_path, warning_series(), cases)


# -- the default view: districts, by name ------------------------------------------------------
VALUE = "citysigns_indicator_value"
IND = {"category": "hotline", "indicator": "hotline.noise"}
NAMES = {
    CITY: ("上海市", "Shanghai"),
    DISTRICT: ("黄浦区", "Huangpu"),
    OTHER_DISTRICT: ("徐汇区", "Xuhui"),
    STREET: ("南京东路街道", "Nanjing East Road"),
}  # OTHER_STREET has no area info: it keeps its code as its name
AREAS = [
    ("city", CITY, ""),
    ("district", DISTRICT, DISTRICT),
    ("district", OTHER_DISTRICT, OTHER_DISTRICT),
    ("street", STREET, DISTRICT),
    ("street", OTHER_STREET, DISTRICT),
]


def area_info_series(
    names: dict[str, tuple[str, str]], areas: list[tuple[str, str, str]]
) -> dict[str, str]:
    """`citysigns_area_info` of each named area, exported by two flow processes: the joins and
    the drop-downs must not become ambiguous."""
    out = {}
    for code, (zh, en) in names.items():
        level, _, district = next(a for a in areas if a[1] == code)
        info = labels(area=code, area_level=level, district=district, name=zh, name_en=en)
        for instance in ("flow-a:9464", "flow-b:9464"):
            out[f'citysigns_area_info{info[:-1]},instance="{instance}"}}'] = "1x10"
    return out


def value_series() -> dict[str, str]:
    out = {VALUE + labels(**IND, **area(*a), job="citysigns"): "5x10" for a in AREAS}
    return out | area_info_series(NAMES, AREAS)


def expected_values(*codes: str) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for a in AREAS:
        if a[1] in codes:
            names = NAMES.get(a[1])
            extra = {"name": names[0], "name_en": names[1]} if names else {"name": a[1]}
            # the join drops the metric name; the fallback (code as name) keeps it
            metric = "" if names else VALUE
            out.append({"labels": metric + labels(**IND, **area(*a), job="citysigns", **extra),
                        "value": 5})  # fmt: skip
    return out


def test_category_dashboards_open_at_district_level(
    boards: dict[str, dict[str, Any]], catalog: Catalog
) -> None:
    """Before, the default view plotted every area at every level (128 to 168 series a
    query for hotline); now a level variable opens at district, and legends show names.
    It offers the levels the category's indicators have (checkpoints have no city)."""
    for uid, board in boards.items():
        if uid in ("citysigns-overview", "citysigns-dispatch", "citysigns-pipeline"):
            continue
        level = next(v for v in board["templating"]["list"] if v["name"] == "level")
        category = uid.removeprefix("citysigns-")
        have = {lvl for i in catalog if i.category == category for lvl in i.value.levels}
        offered = [o["value"] for o in level["options"]]
        assert set(offered) == have & {"city", "district", "street"}, uid
        # district when the category has it (gas has street series only)
        opens = "district" if "district" in offered else offered[0]
        assert level["current"]["value"] == [opens], uid
        if uid == "citysigns-checkpoint":
            assert set(offered) == {"district", "street"}
        for p in board["panels"]:
            for t in p.get("targets", []):
                # an indicator with street series only plots them whatever the level
                levels = '"$level"' in t["expr"] or 'area_level=~"street"' in t["expr"]
                assert levels and '"$street"' in t["expr"], (uid, p["title"])
                assert "group_left(name, name_en)" in t["expr"], (uid, p["title"])
                assert "{{area}}" not in t["legendFormat"] and "{{name" in t["legendFormat"]


def test_street_only_indicators_are_not_emptied_by_the_default_level(
    boards: dict[str, dict[str, Any]], catalog: Catalog
) -> None:
    street_only = [i for i in catalog if i.value.levels == ["street"]]
    assert street_only
    for ind in street_only:
        board = boards.get(f"citysigns-{ind.category}")
        exprs = [t["expr"] for p in (board or {}).get("panels", []) for t in p.get("targets", [])
                 if f'indicator="{ind.id}"' in t["expr"]]  # fmt: skip
        assert not board or (exprs and all('"$level"' not in e for e in exprs)), ind.id


def test_panels_plot_the_chosen_level_with_area_names(tmp_path: Path) -> None:
    expr = q.indicator_value("hotline.noise")
    default = substitute(expr, district=".*", level="district", street=".*")
    streets = substitute(expr, district=DISTRICT, level="street", street=".*")
    one_street = substitute(expr, district=DISTRICT, level="(district|street)", street=STREET)
    cases = [
        (default, "5m", expected_values(DISTRICT, OTHER_DISTRICT)),
        (streets, "5m", expected_values(STREET, OTHER_STREET)),
        (one_street, "5m", expected_values(DISTRICT, STREET)),
        (substitute(expr, district=".*", level=".*", street=".*"), "5m",
         expected_values(*(a[1] for a in AREAS))),
    ]  # fmt: skip
    run_promql(tmp_path, value_series(), cases)


# -- the district and street drop-downs: names, with the code as the value ----------------------
def grafana_options(
    variable: dict[str, Any], series: list[dict[str, str]]
) -> list[tuple[str, str]]:
    """(text, value) of each option Grafana makes of a `query_result(...)` variable's answer:
    each series as it writes it (`{label="value",...} value time`, labels in Prometheus'
    order), matched with the variable's regex and its named groups `text` and `value` (a
    JavaScript regex; Python spells the groups ?P<>)."""
    body = variable["regex"]
    assert body.startswith("/") and body.endswith("/"), body
    regex = re.compile(body[1:-1].replace("(?<", "(?P<"))
    out = []
    for labels_ in series:
        line = "{" + ",".join(f'{k}="{v}"' for k, v in sorted(labels_.items())) + "} 1 60000"
        m = regex.search(line)
        assert m, (line, body)
        out.append((m.group("text"), m.group("value")))
    return out


def variables_of(board: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {v["name"]: v for v in board["templating"]["list"]}


def query_of(variable: dict[str, Any]) -> str:
    """The PromQL inside Grafana's `query_result(...)`, which Grafana reads only when the query
    is one line (its pattern for it has `.+` without the s flag)."""
    query = variable["query"]
    m = re.fullmatch(r"query_result\((.+)\)\s*", query)
    assert m and "\n" not in query, query
    return m.group(1)


OTHER_DISTRICT_STREET = "310104001"  # in OTHER_DISTRICT, named in the info
NAMES_MORE = {**NAMES, OTHER_DISTRICT_STREET: ("天平路街道", "Tianping Road")}


def choice_series(category: str) -> dict[str, str]:
    """Street and district series of `category` (and one street of another category), with
    the area info of every area but OTHER_STREET, exported by two flow processes."""
    areas = [*AREAS, ("street", OTHER_DISTRICT_STREET, OTHER_DISTRICT)]
    ind = {"category": category, "indicator": f"{category}.x"}
    out = {VALUE + labels(**ind, **area(*a), job="citysigns"): "5x10" for a in areas}
    out[VALUE + labels(category="other", indicator="other.x",
                       **area("street", "310101099", DISTRICT))] = "5x10"  # fmt: skip
    return out | area_info_series(NAMES_MORE, areas)


def choices(*pairs: tuple[str, str]) -> list[dict[str, object]]:
    return [{"labels": labels(area=code, text=text), "value": 1} for code, text in pairs]


def test_street_and_district_drop_downs_list_names_with_codes_as_values(
    boards: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    """Before, the street drop-down (and the district one) listed codes (310101001): the
    operator had to know them.  Now each option reads "南京东路街道 Nanjing East Road
    (310101001)" and its value, which the queries and links use, is still the code."""
    board = boards["citysigns-hotline"]
    variables = variables_of(board)
    district, street = variables["district"], variables["street"]
    assert district["refresh"] == street["refresh"] == 2  # on time range change
    assert 'category="hotline"' in query_of(district) and '"$district"' in query_of(street)

    # Prometheus' answer (promtool): the category's streets of the chosen districts, each with
    # its names and code as `text`; a street the info does not name, by its code
    series = choice_series("hotline")
    street_q = query_of(street)
    nanjing = (STREET, "南京东路街道 Nanjing East Road (310101001)")
    tianping = (OTHER_DISTRICT_STREET, "天平路街道 Tianping Road (310104001)")
    unnamed = (OTHER_STREET, OTHER_STREET)
    districts = [(DISTRICT, "黄浦区 Huangpu (310101)"), (OTHER_DISTRICT, "徐汇区 Xuhui (310104)")]
    cases = [
        (substitute(street_q, district=".*"), "5m", choices(nanjing, unnamed, tianping)),
        (substitute(street_q, district=DISTRICT), "5m", choices(nanjing, unnamed)),
        (substitute(query_of(district)), "5m", choices(*districts)),
    ]
    run_promql(tmp_path, series, cases)

    # and what Grafana makes of those series: the names shown, the code as the value
    answer = [{"area": c, "text": t} for c, t in (nanjing, unnamed, tianping)]
    assert grafana_options(street, answer) == [(t, c) for c, t in (nanjing, unnamed, tianping)]
    answer = [{"area": c, "text": t} for c, t in districts]
    assert grafana_options(district, answer) == [(t, c) for c, t in districts]


def test_every_category_dashboard_lists_areas_by_name(boards: dict[str, dict[str, Any]]) -> None:
    for uid, board in boards.items():
        if uid in ("citysigns-overview", "citysigns-dispatch", "citysigns-pipeline"):
            continue
        for name in ("district", "street"):
            variable = variables_of(board)[name]
            assert "citysigns_area_info" in query_of(variable), (uid, name)
            assert variable["regex"] == q.AREA_CHOICE_REGEX, (uid, name)


# -- street series: the worst $top streets, not every street of the city ----------------------
RANKED = [f"3101010{i:02d}" for i in range(1, 15)]  # 14 streets of DISTRICT
HOT = {"category": "hotline", "indicator": "hotline.street_lights"}


def ranked_series(metric: str = VALUE, values: dict[str, str] | None = None) -> dict[str, str]:
    """14 streets whose value is their rank (1 .. 14) all along, but for the first, which
    peaked at 20 forty minutes ago and reads 0 now."""
    values = values or {code: f"{i + 1}x60" for i, code in enumerate(RANKED)}
    values = {**values, RANKED[0]: "0x20 20 0x39"} if metric == VALUE else values
    return {metric + labels(**HOT, **area("street", code, DISTRICT)): v
            for code, v in values.items()}  # fmt: skip


def plotted(metric: str, *codes: str, value: dict[str, float]) -> list[dict[str, object]]:
    """The series a panel plots of these streets (no area info: named by their code)."""
    return [{"labels": metric + labels(**HOT, **area("street", c, DISTRICT), name=c),
             "value": value[c]} for c in codes]  # fmt: skip


def test_street_only_indicators_plot_the_worst_streets_not_all_of_them(
    boards: dict[str, dict[str, Any]], catalog: Catalog
) -> None:
    """Before, a street-only indicator (hotline.street_lights, .noise_complaints,
    .sanitation) plotted every street of the chosen districts: 168 lines by default.  Now
    every street series of a category panel is limited to the $top worst (10 by default)."""
    street_only = {i.id for i in catalog if i.value.levels == ["street"]}
    assert {"hotline.street_lights", "hotline.noise_complaints"} <= street_only
    for uid, board in boards.items():
        if uid in ("citysigns-overview", "citysigns-dispatch", "citysigns-pipeline"):
            continue
        top = variables_of(board)["top"]
        assert top["current"]["value"] == "10" and not top.get("includeAll"), uid
        assert "10" in [o["value"] for o in top["options"]]
        for p in board["panels"]:
            for t in p.get("targets", []):
                assert "k($top, " in t["expr"] and "[$__range] @ end()" in t["expr"], (
                    uid, p["title"])  # fmt: skip


def test_the_worst_streets_over_the_time_range_are_plotted(tmp_path: Path) -> None:
    """The 10 highest over the time range (the one that peaked earlier included), a chosen
    street whatever its rank, and the expected band on the value's streets, not its own."""
    value = q.indicator_value("hotline.street_lights", "street")
    upper = q.indicator_upper("hotline.street_lights", "street")
    now = {code: float(i + 1) for i, code in enumerate(RANKED)} | {RANKED[0]: 0.0}
    # the band's high edge ranks the streets the other way round
    band = {code: f"{100 - i}x60" for i, code in enumerate(RANKED)}
    band_now = {code: float(100 - i) for i, code in enumerate(RANKED)}
    series = {**ranked_series(), **ranked_series(INDICATOR_UPPER, band)}
    top10 = [RANKED[0], *RANKED[5:]]  # 20 (forty minutes ago), then 14 .. 6
    cases = [
        (substitute(value, district=".*", street=".*"), "59m", plotted(VALUE, *top10, value=now)),
        (substitute(value, district=DISTRICT, street=".*", top="5"), "59m",
         plotted(VALUE, RANKED[0], *RANKED[10:], value=now)),
        (substitute(value, district=".*", street=RANKED[2]), "59m",
         plotted(VALUE, RANKED[2], value=now)),
        (substitute(upper, district=".*", street=".*"), "59m",
         plotted(INDICATOR_UPPER, *top10, value=band_now)),
    ]  # fmt: skip
    run_promql(tmp_path, series, cases)


def test_an_indicator_warned_below_plots_its_lowest_streets(
    boards: dict[str, dict[str, Any]], catalog: Catalog, tmp_path: Path
) -> None:
    below = [i for i in catalog if "street" in i.value.levels and ranked_lowest(i)]
    assert below  # e.g. power.voltage_low
    for ind in below:
        exprs = [t["expr"] for p in boards[f"citysigns-{ind.category}"]["panels"]
                 for t in p.get("targets", []) if f'citysigns_indicator_value{{indicator="{ind.id}"'
                 in t["expr"]]  # fmt: skip
        assert exprs and all("bottomk($top, min_over_time(" in e for e in exprs), ind.id
    expr = q.indicator_value("hotline.street_lights", "street", lowest=True)
    now = {code: float(i + 1) for i, code in enumerate(RANKED)} | {RANKED[0]: 0.0}
    cases = [(substitute(expr, district=".*", street=".*", top="3"), "59m",
              plotted(VALUE, *RANKED[:3], value=now))]  # fmt: skip
    run_promql(tmp_path, ranked_series(), cases)
