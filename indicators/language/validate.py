"""Load catalog files into one resolved catalog, collecting every error of every file.

Three passes, each keeping positions: YAML -> plain values (yamlload), plain values -> strict
models (pydantic; its error locations are mapped back to lines), models -> cross-references
(kinds, fields, departments, levels, duplicate ids).  Nothing stops at the first error: an
analyst fixing a file sees all of its problems in one run."""

from __future__ import annotations

import itertools
import math
import re
import types
import typing
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from . import registry
from .detection import (
    ALARM_SCORE,
    DAY,
    DETECTOR_TYPES,
    Detection,
    DetectorConfig,
    EnsembleDetector,
    LevelRule,
    Limit,
    SeasonalDetector,
    ThresholdDetector,
    WarningRules,
    alarm_rest,
    all_detectors,
    number_at,
    per_level,
)
from .diagnostics import CatalogError, Diagnostic
from .durations import WRITTEN, format_duration
from .model import SENSOR_ID, CatalogFile, Dispatch, Indicator, Source, Value, Window
from .strict import AT_VALUE, as_written
from .wording import AT_LEAST_ONE, missing_key, plain_words
from .yamlload import LoadedYaml, PathKey, Position, YamlLoadError, load_yaml_file

CATALOG_SUFFIXES = (".yaml", ".yml")
#: fields every sensor record has besides its kind's own (citizen records have none)
RECORD_FIELDS = (SENSOR_ID,)
#: how `sensor_id` is compared: as text, like a text field of a citizen record
_SENSOR_ID_SPEC = registry.FieldSpec(SENSOR_ID, "string", None)
WEEK = 7 * DAY
#: The most windows an event may arrive late by.  A window is scored, and its warnings raised,
#: only once its lateness has passed, and every series keeps each window open until then:
#: `lateness: 30d` on 15-minute windows would hold 2,880 open windows per series and warn a
#: month late.  The catalog's longest is 1 day on weekly windows (a seventh of a window);
#: data later than 100 windows is history for a backtest, not for the live flow.
MAX_LATENESS_WINDOWS = 100
_RANGE_NEEDS_NUMBER = (
    "a `range` filter compares numbers; test a text field with `equals`, `in` or `not_in`"
)
#: Aggregates whose value is the field's own value, in the field's unit and range.
SAME_UNIT = ("mean", "min", "max", "p50", "p90", "p95", "p99")
_WRITTEN = {WRITTEN: True}  # values an analyst wrote: a duration needs its unit


@dataclass(frozen=True)
class Origin:
    path: str
    position: Position


@dataclass
class Catalog:
    """The resolved manifest: every valid indicator by id, with where it was defined."""

    indicators: dict[str, Indicator] = field(default_factory=dict)
    origins: dict[str, Origin] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)
    # the sensor ids each indicator's `sensor_id` filters name, where each is written: the
    # registry is the deployment's, known to run, test and backtest (`unknown_sensors`)
    sensor_ids: dict[str, list[tuple[str, Position]]] = field(default_factory=dict)

    def __iter__(self) -> Iterator[Indicator]:
        return iter(self.indicators.values())

    def __len__(self) -> int:
        return len(self.indicators)

    def __getitem__(self, indicator_id: str) -> Indicator:
        return self.indicators[indicator_id]


def catalog_files(paths: Iterable[Path | str]) -> list[Path]:
    """Files named by `paths`: files as given, directories searched for *.yaml / *.yml."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(
                sorted(f for f in p.rglob("*") if f.suffix in CATALOG_SUFFIXES and f.is_file())
            )
        else:
            out.append(p)
    return out


def load_catalog(paths: Iterable[Path | str]) -> tuple[Catalog, list[Diagnostic]]:
    """Load and validate; return what is valid and every error found."""
    catalog = Catalog()
    diags: list[Diagnostic] = []
    paths = list(paths)
    files = catalog_files(paths)
    if not files:
        # (named by the folder given, not ".": the analyst may have given several)
        where = ", ".join(str(p) for p in paths) or "."
        diags.append(
            Diagnostic(
                where,
                1,
                1,
                None,
                f"no catalog files ({' or '.join('*' + s for s in CATALOG_SUFFIXES)}) found in "
                "this folder or below; give the folder that holds them, or the files",
            )
        )
    for path in files:
        _load_file(path, catalog, diags)
    return catalog, sorted(diags, key=lambda d: (d.path, d.line, d.col))


def id_clashes(catalog: Catalog, beside: Catalog, what: str) -> list[Diagnostic]:
    """Ids of `catalog` that `beside` (`what`: the catalog the flow runs them with) defines
    too, at each id of `catalog`: a draft checked alone passed with the id of a shipped
    indicator, and the clash only surfaced once both were loaded."""
    out = []
    for ident, here in catalog.origins.items():
        there = beside.origins.get(ident)
        if there is None:
            continue
        out.append(
            Diagnostic(
                here.path,
                here.position.line,
                here.position.col,
                ident,
                f"duplicate id: already defined at {there.path}:{there.position.line}:"
                f"{there.position.col} ({what}); ids are unique across the whole catalog: "
                "choose another id",
            )
        )
    return out


def unknown_sensors(catalog: Catalog, sensors: Mapping[str, str]) -> list[Diagnostic]:
    """`sensor_id` filters naming a sensor the registry does not have, or has as another kind
    than the indicator's, each at its file:line:col.  `sensors`: the registry's sensor ids
    and their kinds.  A misspelt id matches no reading: the indicator would watch fewer
    sensors than written without a word."""
    out: list[Diagnostic] = []
    for ind_id, named in catalog.sensor_ids.items():
        kind = catalog.indicators[ind_id].source.kind
        path = catalog.origins[ind_id].path
        for sensor, pos in named:
            got = sensors.get(sensor)
            if got == kind:
                continue
            if got is None:
                mine = [s for s, k in sensors.items() if k == kind]
                like = f"; its {kind} sensors have ids like {mine[0]}" if mine else ""
                message = (
                    f'no sensor "{sensor}" in the sensor registry'
                    f"{_did_you_mean_sensor(sensor, mine)}{like}"
                )
            else:
                message = (
                    f'sensor "{sensor}" is a {got} sensor, not {kind}: this indicator reads '
                    f"{kind} sensors only"
                )
            out.append(Diagnostic(path, pos.line, pos.col, ind_id, message))
    return sorted(out)


def _did_you_mean_sensor(sensor: str, ids: list[str]) -> str:
    """A suggestion for a misspelt sensor id: first an id that differs only in case or in the
    zero padding of its numbers ("aq-310101-1" for AQ-310101-000001), which difflib ranks no
    higher than any other id one digit away (it offered AQ-310101-000032 for
    AQ-310101-00002), then difflib's closest."""

    def plain(text: str) -> str:
        return re.sub(r"\d+", lambda m: str(int(m.group())), text.casefold())

    same = [i for i in ids if plain(i) == plain(sensor)]
    if len(same) == 1:
        return f' (did you mean "{same[0]}"?)'
    return registry.did_you_mean(sensor, ids)


def load_catalog_or_raise(paths: Iterable[Path | str]) -> Catalog:
    catalog, diags = load_catalog(paths)
    if diags:
        raise CatalogError(diags)
    return catalog


def _load_file(path: Path, catalog: Catalog, diags: list[Diagnostic]) -> None:
    name = str(path)
    if not path.exists():
        diags.append(Diagnostic(name, 1, 1, None, "no such file or directory"))
        return
    try:
        doc = load_yaml_file(path)
    except YamlLoadError as e:
        diags.append(Diagnostic(name, e.position.line, e.position.col, None, e.message))
        if e.text is not None:
            catalog.texts[name] = e.text
        return
    catalog.texts[name] = doc.text
    _FileChecker(name, doc, catalog, diags).run()


#: how the warning levels' thresholds go, by the indicator's direction
_LEVELS_GO = {
    "above": "levels rise blue < yellow < orange < red",
    "below": "with `direction: below` levels fall blue > yellow > orange > red",
}


class _FileChecker:
    def __init__(
        self, name: str, doc: LoadedYaml, catalog: Catalog, diags: list[Diagnostic]
    ) -> None:
        self.name = name
        self.doc = doc
        self.catalog = catalog
        self.diags = diags
        self.current: str | None = None

    # -- reporting --------------------------------------------------------------------------
    def error(self, path: PathKey, message: str, *, key: bool = False) -> None:
        pos = self.doc.position(path, key=key)
        self.diags.append(Diagnostic(self.name, pos.line, pos.col, self.current, message))

    # -- passes -----------------------------------------------------------------------------
    def run(self) -> None:
        data = self.doc.data
        if data is None:
            self.error((), "the file is empty; a catalog file has `indicators:` with a list")
            return
        if not isinstance(data, dict):
            self.error((), "a catalog file is a mapping with `indicators:` holding a list")
            return
        try:
            CatalogFile.model_validate(data, context=_WRITTEN)
        except ValidationError as e:
            self._pydantic_errors(e, data, (), CatalogFile)
            if not isinstance(data.get("indicators"), list):
                return
        for i, raw in enumerate(data.get("indicators") or []):
            self._indicator(i, raw)

    def _indicator(self, i: int, raw: Any) -> None:
        base: PathKey = ("indicators", i)
        ident = raw.get("id") if isinstance(raw, dict) else None
        self.current = ident if isinstance(ident, str) else f"#{i + 1}"
        try:
            if not isinstance(raw, dict):
                self.error(base, "each entry under `indicators:` is a mapping (id, title, ...)")
                return
            before = len(self.diags)
            # Names are checked on the raw values, so they are reported even when the
            # structure has errors too: one run shows everything.
            self._names(raw, base)
            try:
                ind = Indicator.model_validate(raw, context=_WRITTEN)
            except ValidationError as e:
                self._pydantic_errors(e, raw, base, Indicator)
                self._valid_parts(raw, base)
                return
            self._semantics(ind, base)
            if len(self.diags) == before:
                self._register(ind, base)
        finally:
            self.current = None

    def _valid_parts(self, raw: dict[str, Any], base: PathKey) -> None:
        """The rules within `value:` and `detection:` on an indicator with errors elsewhere,
        for each block that is valid by itself: one run shows every error, not the second
        only once the first is fixed."""
        area_levels: list[str] | None = None
        try:
            value = Value.model_validate(raw.get("value"), context=_WRITTEN)
        except ValidationError:
            pass
        else:
            self._value(value, (*base, "value"))
            area_levels = list(value.levels)
        try:
            detection = Detection.model_validate(raw.get("detection"), context=_WRITTEN)
        except ValidationError:
            pass
        else:
            self._detection(detection, (*base, "detection"), area_levels)

    def _register(self, ind: Indicator, base: PathKey) -> None:
        here = Origin(self.name, self.doc.position((*base, "id")))
        first = self.catalog.origins.get(ind.id)
        if first is not None:
            self.error(
                (*base, "id"),
                f"duplicate id: already defined at {first.path}:{first.position.line}:"
                f"{first.position.col}; ids are unique across the whole catalog",
            )
            return
        self.catalog.indicators[ind.id] = ind
        self.catalog.origins[ind.id] = here
        named = []
        for j, flt in enumerate(ind.source.filter):
            if flt.field != SENSOR_ID:
                continue
            fpath = (*base, "source", "filter", j)
            if flt.equals is not None:
                named.append((str(flt.equals), self.doc.position((*fpath, "equals"))))
            for op, values in (("in", flt.in_), ("not_in", flt.not_in)):
                for k, v in enumerate(values or []):
                    named.append((str(v), self.doc.position((*fpath, op, k))))
        if named:
            self.catalog.sensor_ids[ind.id] = named

    # -- pydantic errors -> positioned messages ------------------------------------------
    def _pydantic_errors(
        self, exc: ValidationError, raw: Any, base: PathKey, model: type[BaseModel]
    ) -> None:
        seen: set[tuple[PathKey, str]] = set()
        errors = exc.errors(include_url=False)
        # A NaN under `equals: str | float | bool` fails every member of the union; the
        # "not a string" and "not a boolean" halves are noise next to "must be finite".
        nonfinite = {
            _data_path(raw, tuple(err["loc"]))[0]
            for err in errors
            if err["type"] == "finite_number"
        }
        for err in errors:
            loc = tuple(err["loc"])
            path, rest = _data_path(raw, loc)
            etype = err["type"]
            if path in nonfinite and etype != "finite_number":
                continue
            if model is CatalogFile and etype == "missing" and _misspelt(raw, loc[-1]):
                continue  # (`indicator:` is an unknown key with a did-you-mean: one slip)
            # A mapping key that fails its type (`amber:` under `levels:`): point at the key.
            key_err = etype in ("extra_forbidden", "missing") or loc[-1:] == ("[key]",)
            msg = _message(err, loc, path, rest, model, _source_kind(raw))
            full = (*base, *path)
            if etype == "extra_forbidden" and rest:
                full = (*full, rest[-1])
            elif etype == "union_tag_invalid":
                full = (*full, "type")  # point at the misspelt type itself
            elif etype == AT_VALUE:
                full = (*full, *err["ctx"]["at"])  # the number a rule across keys blames
            marker = (full, msg)
            if marker in seen:
                continue
            seen.add(marker)
            self.error(full, msg, key=key_err)

    # -- cross-references ------------------------------------------------------------------
    def _names(self, raw: dict[str, Any], base: PathKey) -> None:
        """Every name an indicator refers to: kinds, fields, categories, departments."""
        if isinstance(raw.get("category"), str):
            self._check_category(raw["category"], (*base, "category"))
        if isinstance(raw.get("owner"), str):
            self._check_department(raw["owner"], (*base, "owner"))
        disp = raw.get("dispatch")
        if isinstance(disp, dict) and isinstance(disp.get("department"), str):
            self._check_department(disp["department"], (*base, "dispatch", "department"))
        src = raw.get("source")
        if not (isinstance(src, dict) and isinstance(src.get("kind"), str)):
            return
        spath = (*base, "source")
        kind = self._check_kind(src["kind"], (*spath, "kind"))
        if kind is None:
            return
        filters = src.get("filter")
        for j, flt in enumerate(filters if isinstance(filters, list) else []):
            if isinstance(flt, dict) and isinstance(flt.get("field"), str):
                need = _RANGE_NEEDS_NUMBER if "range" in flt else None
                fpath = (*spath, "filter", j)
                if flt["field"] == _SELECTS_BY["keywords"] and kind.channel:
                    # (the flow keeps the description masked, for explanations only: a
                    # filter on it matched nothing)
                    self.error(
                        (*fpath, "field"),
                        f'"{flt["field"]}" is free text, which a filter cannot compare whole: '
                        "select records by words of it with `keywords: [...]` on the source",
                    )
                elif self._check_field(kind, flt["field"], (*fpath, "field"), need):
                    self._filter_values(kind, flt, fpath)
                    self._filter_reach(kind, flt, fpath)
        for opt, needs in _SELECTS_BY.items():
            if opt in src and needs not in kind.fields:
                # (by the records' fields, not `channel`: a checkpoint's records have neither a
                # category nor a description, and the flow would count none of them)
                takers = [k.name for k in registry.kinds().values() if needs in k.fields]
                what = (
                    f'citizen channel "{kind.name}", whose records have no {needs}'
                    if kind.channel
                    else f'sensor kind "{kind.name}"'
                )
                self.error(
                    (*spath, opt),
                    f"`{opt}` applies to citizen channels with a {needs} "
                    f"({', '.join(takers)}), not to {what}; use `filter` instead",
                    key=True,
                )
            elif opt in src and src[opt] is None:
                # (`categories:` with nothing after it: null, which the model takes for no
                # selection, as it took `[]` before `[]` was refused)
                self.error((*spath, opt), AT_LEAST_ONE[opt], key=True)
        cats = registry.hotline_categories()
        categories = src.get("categories")
        for j, c in enumerate(categories if isinstance(categories, list) else []):
            if isinstance(c, str) and c not in cats:
                self.error(
                    (*spath, "categories", j),
                    f'unknown hotline category "{c}"{registry.did_you_mean(c, cats)}; '
                    "categories are listed in indicators/registry/hotline_categories.yaml",
                )
        keywords = src.get("keywords")
        for j, word in enumerate(keywords if isinstance(keywords, list) else []):
            if isinstance(word, str):
                self._check_keyword(word, (*spath, "keywords", j))
        value = raw.get("value")
        if not isinstance(value, dict):
            return
        vpath = (*base, "value")
        agg = value.get("aggregate")
        if isinstance(value.get("field"), str):
            numeric = agg not in ("count", "rate", "distinct")
            need = f'aggregate "{agg}" needs a number' if numeric else None
            if agg == "distinct" and kind.channel and value["field"] == _SELECTS_BY["keywords"]:
                # (the flow keeps the description masked, for explanations only)
                others = [f for f in kind.fields if f != value["field"]]
                self.error(
                    (*vpath, "field"),
                    f'"{value["field"]}" is free text, whose different wordings of one problem '
                    f"`distinct` would count apart; count distinct values of another field: "
                    f"{registry.one_of(others)}",
                )
            else:
                self._check_field(kind, value["field"], (*vpath, "field"), need)
        levels = value.get("levels")
        if kind.channel and isinstance(levels, list) and "sensor" in levels:
            self.error(
                (*vpath, "levels", levels.index("sensor")),
                f'"{kind.name}" records come from citizens, not sensors: use community, grid, '
                "street, district or city",
            )

    def _check_kind(self, kind: str, path: PathKey) -> registry.KindSpec | None:
        kinds = registry.kinds()
        if kind not in kinds:
            self.error(
                path,
                f'unknown source kind "{kind}"{registry.did_you_mean(kind, kinds)}; '
                f"one of: {registry.one_of(kinds)}",
            )
            return None
        return kinds[kind]

    def _check_department(self, dept: str, path: PathKey) -> None:
        depts = registry.departments()
        if dept not in depts:
            self.error(
                path,
                f'unknown department "{dept}"{registry.did_you_mean(dept, depts)}; departments '
                "are listed in indicators/registry/departments.yaml",
            )

    def _check_category(self, cat: str, path: PathKey) -> None:
        if cat not in registry.CATEGORIES:
            self.error(
                path,
                f'unknown category "{cat}"{registry.did_you_mean(cat, registry.CATEGORIES)}; '
                f"one of: {registry.one_of(registry.CATEGORIES)}",
            )

    def _check_keyword(self, word: str, path: PathKey) -> None:
        """A keyword is looked for inside each description, so an empty one (`''`, or only
        spaces, which every description of two words holds) is found in every record: the
        indicator counted every order, its other keywords and its categories for nothing."""
        if word.strip():
            return
        shown = "an empty keyword" if not word else f"the keyword {word!r}, only spaces,"
        self.error(
            path,
            f"{shown} is found in every description, so the indicator would count every "
            "record: remove it, or write the word to look for: keywords: [停水]",
        )

    def _check_field(
        self, kind: registry.KindSpec, name: str, path: PathKey, need: str | None
    ) -> bool:
        """An unknown field, or a text field where `need` (a reason) asks for a number;
        whether the field is known."""
        names = [*kind.fields, *([] if kind.channel else RECORD_FIELDS)]
        if name == SENSOR_ID and kind.channel:
            self.error(
                path,
                f'"{kind.name}" records come from citizens, not sensors: they have no '
                f'"{SENSOR_ID}"; fields: {registry.one_of(names)}',
            )
            return False
        if name not in names:
            self.error(
                path,
                f'unknown field "{name}" for source kind "{kind.name}"'
                f"{registry.did_you_mean(name, names)}; fields: {registry.one_of(names)}",
            )
            return False
        spec = kind.fields.get(name)
        if need is not None and (spec is None or not spec.numeric):
            numbers = [f for f, sp in kind.fields.items() if sp.numeric]
            listing = f"; numeric fields: {registry.one_of(numbers)}" if numbers else ""
            self.error(path, f'field "{name}" is not numeric; {need}{listing}')
        return True

    def _filter_values(self, kind: registry.KindSpec, flt: dict[str, Any], path: PathKey) -> None:
        """The values of `equals`, `in` and `not_in` have the field's type.  The flow compares
        a numeric field's values as numbers (a text there made it crash on its first record)
        and a text field's as text (a number there, read as 12345.0, never matches)."""
        name = flt["field"]
        spec = _SENSOR_ID_SPEC if name == SENSOR_ID else kind.fields.get(name)
        if spec is None or (not kind.channel and not spec.numeric and spec is not _SENSOR_ID_SPEC):
            return  # a text sensor field: refused as the indicator's row field
        for op in ("equals", "in", "not_in"):
            written = flt.get(op)
            if written is None or (op != "equals" and not isinstance(written, list)):
                continue  # (a list where one value goes, or the reverse: pydantic's error)
            many = isinstance(written, list)
            paths = [(*path, op, k) for k in range(len(written))] if many else [(*path, op)]
            values = written if many else [written]
            wrong = [
                (where, got)
                for where, got in zip(paths, values, strict=True)
                if (isinstance(got, str) if spec.numeric else isinstance(got, bool | int | float))
            ]
            if not wrong:
                continue
            if spec.numeric:
                fixed = [
                    (_as_number(v) or "...") if isinstance(v, str) else self._written(w)
                    for w, v in zip(paths, values, strict=True)
                ]
            else:
                fixed = [
                    f'"{self._written(w) if not isinstance(v, str) else v}"'
                    for w, v in zip(paths, values, strict=True)
                ]
            fix = f"{op}: [{', '.join(fixed)}]" if many else f"{op}: {fixed[0]}"
            for where, got in wrong:
                shown = self._written(where)
                if spec.numeric:
                    advice = "write it as a number" if _as_number(got) else "write a number"
                    message = (
                        f'field "{name}" holds numbers, so `{op}` compares numbers, not the '
                        f"text {got!r}: {advice} ({fix})"
                    )
                else:
                    what = (
                        f"the value {shown}, which YAML reads as {str(got).lower()}"
                        if (isinstance(got, bool))
                        else f"the number {shown}"
                    )
                    message = (
                        f'field "{name}" holds text, so `{op}` compares text, not {what}: '
                        f"write it in quotes ({fix})"
                    )
                self.error(where, message)

    def _filter_reach(self, kind: registry.KindSpec, flt: dict[str, Any], path: PathKey) -> None:
        """A filter that no value of its field can pass, by the field's `min` / `max` in the
        registry (a `range: [-5, -1]` on turbidity, `in: [2, 3]` on a 0/1 flag), kept nothing:
        the indicator counted nothing for ever, as `in: []` did."""
        spec = kind.fields.get(flt["field"])
        if spec is None or not spec.numeric or (spec.minimum is None and spec.maximum is None):
            return
        lo = -math.inf if spec.minimum is None else spec.minimum
        hi = math.inf if spec.maximum is None else spec.maximum

        def number(v: Any) -> bool:
            return isinstance(v, int | float) and not isinstance(v, bool)

        def shown(values: list[Any]) -> str:
            return ", ".join(as_written(v) for v in values)

        rng = flt.get("range")
        if isinstance(rng, list) and len(rng) == 2 and all(number(v) for v in rng):
            if rng[1] < lo or rng[0] > hi:
                what = f"the range [{shown(rng)}] lies outside the values"
                self._unreachable(kind, spec, flt["field"], (*path, "range"), what)
            return
        for op in ("equals", "in"):
            written = flt.get(op)
            values: list[Any] = written if isinstance(written, list) else [written]
            if written is None or not values or not all(number(v) for v in values):
                continue
            if all(v < lo or v > hi for v in values):
                what = (
                    f"{shown(values)} is not one of the values"
                    if op == "equals"
                    else f"none of [{shown(values)}] is one of the values"
                )
                self._unreachable(kind, spec, flt["field"], (*path, op), what)

    def _unreachable(
        self, kind: registry.KindSpec, spec: registry.FieldSpec, name: str, path: PathKey, what: str
    ) -> None:
        span = field_span(spec)
        span = f"from {span}" if " to " in span else span
        unit = f" {spec.unit}" if spec.unit and spec.unit != "1" else ""
        records = "record" if kind.channel else "reading"
        self.error(
            path,
            f'{what} "{name}" can take ({span}{unit}): the filter keeps no {records} and the '
            f"indicator would count nothing; write values {span}",
        )

    def _written(self, path: PathKey) -> str:
        """A scalar as the analyst wrote it (`55`, `1e5`, `yes`), not as YAML read it, for
        messages that echo it."""
        pos = self.doc.position(path)
        lines = self.doc.text.splitlines()
        if not 1 <= pos.line <= len(lines):
            return "?"
        tail = lines[pos.line - 1][pos.col - 1 :]
        token = re.match(r"[^,\]\}#]*", tail)
        return token.group().strip() if token and token.group().strip() else "?"

    def _semantics(self, ind: Indicator, base: PathKey) -> None:
        """Rules across keys, on a structurally valid indicator."""
        for j, flt in enumerate(ind.source.filter):
            conds = flt.conditions()
            if len(conds) != 1:
                self.error(
                    (*base, "source", "filter", j),
                    "a filter has exactly one condition (equals, in, not_in or range); "
                    f"this one has {len(conds) or 'none'}",
                )
        self._sensor_rows(ind, base)
        self._field_unit_and_range(ind, base)
        self._value(ind.value, (*base, "value"))
        self._detection(ind.detection, (*base, "detection"), list(ind.value.levels))
        self._event_shaped(ind, (*base, "detection"))
        disp = ind.dispatched()
        if disp is not None:
            dpath = (*base, "dispatch")
            used = set(ind.detection.warnings.levels)
            missing = sorted(used - set(disp.tiers), key=registry.WARNING_LEVELS.index)
            if missing:
                self.error(
                    (*dpath, "tiers"),
                    f"no dispatch tier for level(s) {', '.join(missing)}; add them to `tiers`",
                )
            self._unused_levels(ind, dpath)
            for lvl, dl in disp.deadlines.items():
                for step, limit in (("accept", dl.accept), ("handle", dl.handle)):
                    if limit == 0:
                        self.error(
                            (*dpath, "deadlines", lvl, step),
                            "a deadline of 0s has passed when the ticket opens, so every "
                            "ticket would be supervised at once; give the time allowed, "
                            f"e.g. {step}: {'30m' if step == 'accept' else '4h'}",
                        )
                if dl.handle < dl.accept:
                    self.error(
                        (*dpath, "deadlines", lvl, "handle"),
                        "the handling deadline is shorter than the accepting one",
                    )

    def _unused_levels(self, ind: Indicator, dpath: PathKey) -> None:
        """A tier or deadline written for a level the indicator never raises is never used:
        most likely the level was meant to be there, or was renamed, and the analyst should
        know which.  (The default tiers cover every level and are not written, so exempt.)"""
        disp = ind.dispatched()
        if disp is None:
            return
        used = [lvl for lvl in registry.WARNING_LEVELS if lvl in ind.detection.warnings.levels]
        tables = (("tiers", "tier", disp.tiers), ("deadlines", "deadline", disp.deadlines))
        for key, noun, table in tables:
            if key not in disp.model_fields_set:
                continue
            for lvl in table:
                if lvl not in used:
                    self.error(
                        (*dpath, key, lvl),
                        f"the indicator never raises {lvl} (its warning levels: "
                        f"{', '.join(used)}), so this {noun} is never used; remove it, or add "
                        f"{lvl} "
                        "under detection.warnings.levels",
                        key=True,
                    )

    def _field_unit_and_range(self, ind: Indicator, base: PathKey) -> None:
        """Where the indicator's value is its field's value (a mean, an extreme, a
        percentile: `SAME_UNIT`), it has the field's registry unit and stays within the
        field's possible range, so a unit that differs is a mistake (`%` for a share the
        registry holds as 0..1), and a limit beyond the range can never be reached, or
        always is.  Counts, rates, sums and distinct counts have units and ranges of their
        own and are not compared."""
        kind = registry.kinds().get(ind.source.kind)
        name = ind.value.field
        if kind is None or name is None or ind.value.aggregate not in SAME_UNIT:
            return
        spec = kind.fields.get(name)
        if spec is None or not spec.numeric:
            return  # reported with the field
        if spec.unit is not None and ind.unit != spec.unit:
            self.error(
                (*base, "unit"),
                f'the {ind.value.aggregate} of "{name}" is in its registry unit "{spec.unit}", '
                f'not "{ind.unit}": write unit: "{spec.unit}" (and thresholds in {spec.unit}'
                f"{', a share as 0.9 for 90%' if spec.unit == '1' else ''})",
            )
        if spec.minimum is None and spec.maximum is None:
            return
        dpath = (*base, "detection")
        limits: list[tuple[PathKey, str, Limit | None]] = []
        rules = ind.detection.warnings
        if rules.on == "value":
            wpath = (*dpath, "warnings")
            for lvl, rule in rules.rules():
                limits.append(
                    ((*wpath, "levels", lvl, "threshold"), f"the {lvl} threshold", rule.threshold)
                )
            if rules.clear is not None:
                limits.append(
                    ((*wpath, "clear", "threshold"), "the clear threshold", rules.clear.threshold)
                )
        for path, config in all_detectors(ind.detection.detectors, (*dpath, "detectors")):
            if isinstance(config, ThresholdDetector):
                for side in ("upper", "lower"):
                    limits.append(
                        ((*path, side), f"the detector's `{side}`", getattr(config, side))
                    )
        lo, hi = spec.minimum, spec.maximum
        span = field_span(spec)
        for path, what, limit in limits:
            if limit is None:
                continue
            numbers = limit.items() if isinstance(limit, Mapping) else [(None, limit)]
            for area_level, number in numbers:
                beyond = "below" if lo is not None and number < lo else None
                beyond = "above" if hi is not None and number > hi else beyond
                if beyond is None:
                    continue
                where = path if area_level is None else (*path, area_level)
                at = f" at {area_level} level" if area_level else ""
                self.error(
                    where,
                    f"{what}{at} ({self._written(where)}) lies {beyond} every value "
                    f'"{name}" can take ({span}, in "{spec.unit}"): no value can cross it; '
                    f"write a number {'from ' if ' to ' in span else ''}{span}",
                )

    def _sensor_rows(self, ind: Indicator, base: PathKey) -> None:
        """Sensor readings travel one field per row, so an indicator reads one field: its
        value field, or for a count the field its filters test."""
        kind = registry.kinds().get(ind.source.kind)
        if kind is None or kind.channel:
            return
        row_field = ind.row_field()
        if row_field is None:
            which = (
                f" (a `{SENSOR_ID}` filter says which sensors, not which of their readings)"
                if ind.source.filter
                else ""
            )
            self.error(
                (*base, "value"),
                f"say which readings to count: set `field`, or a `filter` on one field{which}",
            )
            return
        known = {*kind.fields, *RECORD_FIELDS}
        if row_field not in known:
            return  # reported as an unknown field; the filters may well be right
        spec = kind.fields.get(row_field)
        numeric_agg = ind.value.aggregate not in ("count", "rate", "distinct")
        if (spec is None or not spec.numeric) and not (ind.value.field and numeric_agg):
            # (a numeric aggregate of a text field is refused where its names are checked)
            if ind.value.field:
                where: PathKey = ("value", "field")
            else:  # (the first filter on a reading)
                first = [f.field for f in ind.source.filter].index(row_field)
                where = ("source", "filter", first, "field")
            what = "text" if spec is not None else "the sensor's id, not a reading"
            numbers = [f for f, sp in kind.fields.items() if sp.numeric]
            self.error(
                (*base, *where),
                f'"{row_field}" is {what}: the flow windows the numeric readings of '
                f'"{kind.name}" sensors only, one field per indicator; use one of: '
                f"{registry.one_of(numbers)}",
            )
            return
        for j, flt in enumerate(ind.source.filter):
            if flt.field not in (row_field, SENSOR_ID) and flt.field in known:
                self.error(
                    (*base, "source", "filter", j, "field"),
                    f'a sensor filter must test the indicator\'s own field "{row_field}" '
                    f'(not "{flt.field}"): readings of other fields arrive as separate rows',
                )

    def _value(self, v: Value, vpath: PathKey) -> None:
        if v.aggregate not in ("count", "rate") and v.field is None:
            self.error(vpath, f'aggregate "{v.aggregate}" needs a `field` to aggregate')
        if v.min_count is not None and v.aggregate in ("count", "rate", "distinct", "sum"):
            self.error(
                (*vpath, "min_count"),
                f"a {v.aggregate} is itself made of the window's records, and a thin window is "
                "what it measures; `min_count` is for means, shares, extremes and percentiles: "
                "remove it",
            )
        w = v.window
        wpath = (*vpath, "window")
        if w.length <= 0:
            self.error((*wpath, "length"), "a window must be longer than 0s")
        if w.type == "sliding":
            if w.step is None:
                self.error(wpath, "a sliding window needs `step` (how often a window starts)")
            elif w.step <= 0 or w.step > w.length or w.length % w.step:
                self.error((*wpath, "step"), _step_message(w.length, w.step))
        elif w.step is not None:
            self.error(
                (*wpath, "step"),
                "a tumbling window has no `step`; write `type: sliding` for overlapping windows",
                key=True,
            )
        spacing = w.spacing
        if spacing > 0 and w.lateness > MAX_LATENESS_WINDOWS * spacing:
            most = format_duration(MAX_LATENESS_WINDOWS * spacing)
            self.error(
                (*wpath, "lateness"),
                f"lateness {format_duration(w.lateness)} is {w.lateness // spacing:,} windows "
                f"of {format_duration(spacing)}: a window is scored only once its lateness has "
                "passed, so every warning would come that late; lateness is at most "
                f"{MAX_LATENESS_WINDOWS} windows (here {most}), and older data is for a backtest",
            )
        if len(set(v.levels)) != len(v.levels):
            self.error((*vpath, "levels"), "an area level is listed twice")

    def _detection(self, det: Detection, dpath: PathKey, area_levels: list[str] | None) -> None:
        """The warning rules, at every area level (`area_levels`: the indicator's, None when
        its `value:` block is itself invalid)."""
        w = det.warnings
        wpath = (*dpath, "warnings")
        self._limits_per_level(det, dpath, area_levels)
        named = _named_levels(w)
        # ("": the one set of numbers of rules written without a level)
        for area_level in (area_levels or named) if named else [""]:
            self._level_order(w, wpath, area_level)
        if w.on == "score":
            for lvl, rule in w.levels.items():
                if isinstance(rule.threshold, dict):
                    continue  # refused in _limits_per_level
                if not 0 <= rule.threshold <= 1:
                    self.error(
                        (*wpath, "levels", lvl, "threshold"),
                        f"score thresholds lie in [0, 1] (got {as_written(rule.threshold)}); "
                        "write `on: value` to threshold the value itself",
                    )
            if w.direction == "below":
                self.error((*wpath, "direction"), "scores rise with anomaly: use `above`")

    def _level_order(self, w: WarningRules, wpath: PathKey, area_level: str) -> None:
        """Blue < yellow < orange < red, and `clear` on the normal side of the first level, at
        one area level ("" when no threshold is written per level).  A number written per
        level is pointed at in its mapping, and the message names the level."""
        order = [(lvl, rule) for lvl, rule in w.rules() if _has_level(rule, area_level)]
        sign = 1 if w.direction == "above" else -1
        for (lo, lo_rule), (hi, hi_rule) in itertools.pairwise(order):
            lo_t, hi_t = lo_rule.at(area_level), hi_rule.at(area_level)
            if sign * hi_t > sign * lo_t:
                continue
            rel = "above" if sign > 0 else "below"
            if area_level and (per_level(lo_rule.threshold) or per_level(hi_rule.threshold)):
                self._once(
                    _number_path((*wpath, "levels", hi), hi_rule, area_level),
                    f"at {area_level} level the {hi} threshold ({as_written(hi_t)}) must be {rel} "
                    f"the {lo} one ({as_written(lo_t)}); {_LEVELS_GO[rel]} at every area level",
                )
            else:
                self._once(
                    (*wpath, "levels", hi, "threshold"),
                    f"the {hi} threshold must be {rel} the {lo} one "
                    f"({as_written(lo_t)}); {_LEVELS_GO[rel]}",
                )
        if w.clear is None or not order or not _has_level(w.clear, area_level):
            return
        lowest, clear = order[0][1].at(area_level), w.clear.at(area_level)
        if sign * clear <= sign * lowest:  # (equal: no gap, but no level left undefined)
            return
        normal = "below" if sign > 0 else "above"
        if area_level and (per_level(order[0][1].threshold) or per_level(w.clear.threshold)):
            self._once(
                _number_path((*wpath, "clear"), w.clear, area_level),
                f"at {area_level} level the clear threshold ({as_written(clear)}) must lie on the "
                f"normal side of the lowest level ({order[0][0]}: {as_written(lowest)}), {normal} "
                "it, so that "
                "warnings do not flap",
            )
        else:
            self._once(
                (*wpath, "clear", "threshold"),
                f"the clear threshold must lie on the normal side of the lowest level "
                f"({as_written(lowest)}), {normal} it, so that warnings do not flap",
            )

    def _once(self, path: PathKey, message: str) -> None:
        """An error not already reported at `path` (the same rule judged at several area
        levels fails the same way at each when its numbers are plain)."""
        pos = self.doc.position(path)
        here = Diagnostic(self.name, pos.line, pos.col, self.current, message)
        if here not in self.diags:
            self.diags.append(here)

    def _limits_per_level(
        self, det: Detection, dpath: PathKey, area_levels: list[str] | None
    ) -> None:
        """Every number written per area level names exactly the indicator's area levels,
        and only where a level's number can differ: on values, not on scores."""
        w = det.warnings
        wpath = (*dpath, "warnings")
        held: list[tuple[PathKey, Limit | None]] = [
            ((*wpath, "levels", lvl, "threshold"), rule.threshold) for lvl, rule in w.rules()
        ]
        if w.clear is not None:
            held.append(((*wpath, "clear", "threshold"), w.clear.threshold))
        if w.on == "score":
            for path, limit in held:
                if isinstance(limit, dict):
                    self.error(
                        path,
                        "a score threshold is one number: a score is each series judged "
                        "against its own history, so it means the same at every area level; "
                        "thresholds per area level are for `on: value`",
                    )
            held = []
        for path, config in all_detectors(det.detectors, (*dpath, "detectors")):
            if isinstance(config, ThresholdDetector):
                held += [((*path, side), getattr(config, side)) for side in ("upper", "lower")]
        if area_levels is None:
            return
        for path, limit in held:
            if isinstance(limit, Mapping):
                self._names_levels(path, limit, area_levels)

    def _names_levels(
        self, path: PathKey, limit: Mapping[str, float], area_levels: list[str]
    ) -> None:
        listed = ", ".join(area_levels)
        for area_level in limit:
            if area_level not in area_levels:
                self.error(
                    (*path, area_level),
                    f"{area_level} is not one of the indicator's area levels (value.levels: "
                    f"{listed}); remove it, or add it to value.levels",
                    key=True,
                )
        missing = [lvl for lvl in area_levels if lvl not in limit]
        if missing:
            example = ", ".join(f"{lvl}: ..." for lvl in area_levels)
            self.error(
                path,
                f"no number for {', '.join(missing)}: a limit written per area level gives one "
                f"for every level of value.levels ({{{example}}}), or is one number for all",
            )

    def _times_of(self, config: DetectorConfig, path: PathKey, spacing: int) -> None:
        """Settings that compare times of day (or of the week) on windows too far apart for
        any two of them to fall at different times: every window lands in the same slot."""
        if isinstance(config, EnsembleDetector) and config.recurrence and spacing >= DAY:
            self.error(
                (*path, "recurrence"),
                _too_coarse("the recurrence memory", "day", spacing, "remove `recurrence`"),
            )
        if not isinstance(config, SeasonalDetector):
            return
        span = DAY if config.period == "day" else WEEK
        if spacing < span:
            return
        written = "period" in config.model_fields_set
        what = f"a {config.period} profile" + ("" if written else " (the default period)")
        if config.period == "day" and spacing < WEEK:
            fix = "write `period: week` for a profile by day of the week"
        else:
            fix = "use a detector without a profile, such as ewma or a threshold"
        where = (*path, "period") if written else path
        self.error(where, _too_coarse(what, config.period, spacing, fix))

    def _whole_windows(self, rules: WarningRules, wpath: PathKey, spacing: int) -> None:
        """Warnings are judged once per window, so a `for` holds for a whole number of
        windows: one that is not a multiple of the spacing acts as the next multiple, and
        the analyst who wrote it should choose which they meant."""
        held = [((*wpath, "levels", lvl, "for"), r) for lvl, r in rules.levels.items()]
        if rules.clear is not None:
            held.append(((*wpath, "clear", "for"), rules.clear))
        for path, rule in held:
            if rule.for_ % spacing == 0:
                continue
            below = rule.for_ // spacing * spacing
            above = below + spacing
            self.error(
                path,
                f"warnings are judged once per window, so `for` holds in whole "
                f"{format_duration(spacing)} windows: write {format_duration(below)} or "
                f"{format_duration(above)} ({format_duration(rule.for_)} acts as "
                f"{format_duration(above)})",
            )

    def _event_shaped(self, ind: Indicator, dpath: PathKey) -> None:
        """Rules that depend on the window spacing: the recurrence memory needs windows less
        than a day apart, and an alarm that rests `dead_time` windows cannot be held."""
        w = ind.value.window
        spacing = w.spacing
        if spacing <= 0:
            return  # reported with the window
        if w.type == "sliding" and w.step is not None and (w.step > w.length or w.length % w.step):
            return  # a wrong step (reported with the window) gives no spacing to judge by
        det = ind.detection
        if "detectors" in det.model_fields_set:  # (left out: the default, which adapts)
            for path, config in all_detectors(det.detectors, (*dpath, "detectors")):
                self._times_of(config, path, spacing)
        self._whole_windows(det.warnings, (*dpath, "warnings"), spacing)
        rules = det.warnings
        # (an ensemble nested in another rests too: `alarm_rest` looks through members)
        resting = [alarm_rest(d) for d in det.concrete(spacing)]
        if rules.on != "score" or not resting or min(resting) == 0:
            return  # some detector can hold a high score for several windows
        for lvl, rule in rules.levels.items():
            if isinstance(rule.threshold, dict):
                continue  # (refused on scores)
            if rule.threshold >= ALARM_SCORE and rule.for_ > spacing:
                self.error(
                    (*dpath, "warnings", "levels", lvl, "for"),
                    f"after an alarm (a score of {as_written(ALARM_SCORE)}) the ensemble raises "
                    f"nothing for {min(resting)} windows, so a score of at least "
                    f"{as_written(rule.threshold)} never "
                    f"holds for {format_duration(rule.for_)} ({format_duration(spacing)} windows); "
                    "write `for: 0s`",
                )


#: A source's selections of citizen records, and the field of the records each one reads.
_SELECTS_BY = {"categories": "category", "keywords": "description"}


#: Words an analyst may write for a yes/no or small count, as the number a field holds.
_NUMBER_WORDS = {
    **dict.fromkeys(("yes", "y", "true", "on"), 1),
    **dict.fromkeys(("no", "n", "false", "off"), 0),
    **{w: i for i, w in enumerate(("zero", "one", "two", "three", "four", "five"))},
}


def _as_number(text: str) -> str | None:
    """The number an analyst meant by a text ("1", "yes", "two"), as they would write it."""
    word = text.strip().lower()
    if word in _NUMBER_WORDS:
        return str(_NUMBER_WORDS[word])
    try:
        number = float(word)
    except ValueError:
        return None
    return text.strip() if number == number and abs(number) != float("inf") else None


def _too_coarse(what: str, period: str, spacing: int, fix: str) -> str:
    """One wording for every setting that compares times of a day or week, which windows a
    day (or a week) apart cannot tell apart."""
    times = "times of day" if period == "day" else f"times of the {period}"
    return (
        f"{what} compares {times}, so it needs windows less than a {period} apart "
        f"(these are {format_duration(spacing)} apart); {fix}"
    )


def _step_message(length: int, step: int) -> str:
    """Why a sliding window's step is wrong, with the steps that would do around it."""
    near = step if 0 < step <= length else length // 2
    fits = " or ".join(format_duration(d) for d in nearest_divisors(length, near))
    size = format_duration(length)
    if step <= 0:
        return f"a window slides by a step longer than 0s that divides it: e.g. {fits}"
    if step > length:
        return (
            f"the step ({format_duration(step)}) is longer than the window ({size}), which "
            f"would leave time between windows uncounted; a {size} window slides by a step "
            f"that divides it: {fits}"
        )
    return f"a {size} window slides by a step that divides it: {fits}, not {format_duration(step)}"


def nearest_divisors(length: int, near: int) -> list[int]:
    """The divisors of `length` closest to `near` below and above it, in the coarsest round
    unit (hour, minute, second) that divides `length` and is not above `near`, so that a 15m
    window near 7m gives 5m and 15m rather than 7m30s."""
    unit = next((u for u in (3600, 60) if length % u == 0 and u <= max(near, 1)), 1)
    divisors = [d * unit for d in range(1, length // unit + 1) if (length // unit) % d == 0]
    below = [d for d in divisors if d <= near]
    above = [d for d in divisors if d > near]
    return ([below[-1]] if below else []) + ([above[0]] if above else [])


def _named_levels(w: WarningRules) -> list[str]:
    """The area levels the warning thresholds name, in the order written."""
    rules = [r for _, r in w.rules()] + ([w.clear] if w.clear is not None else [])
    named = [lvl for r in rules if isinstance(r.threshold, dict) for lvl in r.threshold]
    return list(dict.fromkeys(named))


def _has_level(rule: LevelRule, area_level: str) -> bool:
    """Whether a rule has a number at `area_level` ("": a plain number, as every rule has
    when nothing is written per level)."""
    return not isinstance(rule.threshold, dict) or area_level in rule.threshold


def _number_path(path: PathKey, rule: LevelRule, area_level: str) -> PathKey:
    """Where a rule's number for `area_level` is written: in its mapping, or the plain one
    (as a threshold detector's errors point at its `lower` and `upper`)."""
    return (*path, *number_at("threshold", rule.threshold, area_level))


# -- mapping pydantic locations to YAML paths ----------------------------------------------
def _data_path(raw: Any, loc: tuple[Any, ...]) -> tuple[PathKey, PathKey]:
    """Split a pydantic loc into the part that exists in the data and what is left.

    Union tags (detector types, member class names) appear in locs but not in the data; they
    are skipped.  What is left is the missing or extra key, if any."""
    node = raw
    path: list[str | int] = []
    rest: list[str | int] = []
    for i, part in enumerate(loc):
        in_dict = isinstance(node, dict) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if in_dict or in_list:
            node = node[part]
            path.append(part)
        elif isinstance(part, str) and i < len(loc) - 1:
            continue  # a union tag
        else:
            rest.append(part)
    return tuple(path), tuple(rest)


def _unwrap(tp: Any) -> Any:
    while typing.get_origin(tp) is typing.Annotated:
        tp = typing.get_args(tp)[0]
    return tp


def model_at(model: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model class whose field list applies at `loc` (for did-you-mean on keys); the
    routing file's loader uses it too."""
    tp: Any = model
    for part in loc:
        tp = _unwrap(tp)
        origin = typing.get_origin(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            by_alias = {(f.alias or n): f for n, f in tp.model_fields.items()}
            if part in by_alias:
                tp = by_alias[part].annotation
                continue
            return None
        if origin in (list, tuple):
            tp = typing.get_args(tp)[0]
            continue
        if origin is dict:
            tp = typing.get_args(tp)[1]
            continue
        if origin in (typing.Union, types.UnionType):
            members = [_unwrap(a) for a in typing.get_args(tp)]
            chosen = None
            for m in members:
                if isinstance(m, type) and issubclass(m, BaseModel):
                    tag = m.model_fields.get("type")
                    tags = typing.get_args(tag.annotation) if tag else ()
                    if part == m.__name__ or part in tags:
                        chosen = m
            if chosen is None:
                models = [m for m in members if isinstance(m, type) and issubclass(m, BaseModel)]
                if len(models) != 1:
                    return None
                chosen = models[0]
                tp = chosen
                # part was not a tag: apply it to the chosen model
                by_alias = {(f.alias or n): f for n, f in chosen.model_fields.items()}
                if part not in by_alias:
                    return None
                tp = by_alias[part].annotation
                continue
            tp = chosen
            continue
        return None
    tp = _unwrap(tp)
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        models = [
            m for m in map(_unwrap, typing.get_args(tp))
            if isinstance(m, type) and issubclass(m, BaseModel)
        ]  # fmt: skip
        tp = models[0] if len(models) == 1 else None
    return tp if isinstance(tp, type) and issubclass(tp, BaseModel) else None


def model_keys(model: type[BaseModel]) -> list[str]:
    return [f.alias or n for n, f in model.model_fields.items()]


#: The sections of an indicator whose keys an analyst may write one level too high or low.
_SECTIONS: dict[str, type[BaseModel]] = {
    "source": Source,
    "value": Value,
    "window": Window,
    "detection": Detection,
    "warnings": WarningRules,
    "dispatch": Dispatch,
}


def _belongs_under(key: str, owner: type[BaseModel] | None) -> str:
    """ " (it belongs under `value:`)" when `key` is a key of another section (`min_count`
    written under `detection:`), so the message says where to move it; "" otherwise."""
    for section, model in _SECTIONS.items():
        if model is not owner and key in model_keys(model):
            return f" (it belongs under `{section}:`)"
    return ""


def _field_name(loc: tuple[Any, ...]) -> str:
    """The key a value sits under: `range` for `range[0]`, `equals` for the `float` member of
    its union (pydantic names a union's members in the location)."""
    names = [p for p in loc if isinstance(p, str) and p not in ("float", "int", "str", "bool")]
    return names[-1] if names else "value"


def _nonfinite(value: Any) -> str:
    """How YAML spelt a NaN or infinite number, and what to write instead."""
    if isinstance(value, float) and value != value:
        shown = ".nan (YAML's not-a-number)"
    elif isinstance(value, float) and value < 0:
        shown = "minus infinity (-.inf, or a number below -1.8e308)"
    else:
        shown = "infinity (.inf, or a number above 1.8e308 such as 1e999)"
    return f"{shown}; write an ordinary number (e.g. 15 or 0.99)"


def _misspelt(raw: Any, key: Any) -> bool:
    """Whether a mapping has an unknown key that misspells `key` (a file's `indicator:`
    for `indicators:`): its did-you-mean already points at the missing key."""
    known = model_keys(CatalogFile)
    others = [k for k in raw if k not in known] if isinstance(raw, dict) else []
    return any(registry.closest(str(k), [str(key)]) is not None for k in others)


def _source_kind(raw: Any) -> str | None:
    """The source kind an indicator's raw mapping names, if it names one as text."""
    src = raw.get("source") if isinstance(raw, dict) else None
    kind = src.get("kind") if isinstance(src, dict) else None
    return kind if isinstance(kind, str) else None


def _message(
    err: Any,
    loc: tuple[Any, ...],
    path: PathKey,
    rest: PathKey,
    model: type[BaseModel],
    kind: str | None = None,
) -> str:
    """An error in the analyst's words (`kind`: the indicator's source kind, for the id
    suggested to one that breaks the rule)."""
    etype = err["type"]
    key = str(loc[-1]) if loc else ""
    plain = plain_words(etype, loc, err.get("input"), err.get("ctx") or {}, kind)
    if plain is not None:
        return plain
    if etype == "extra_forbidden":
        owner = model_at(model, loc[:-1])
        allowed = model_keys(owner) if owner else []
        hint = registry.did_you_mean(key, allowed) or _belongs_under(key, owner)
        listing = f"; allowed here: {', '.join(allowed)}" if allowed else ""
        return f'unknown key "{key}"{hint}{listing}'
    if etype == "missing":
        parent = [p for p in loc[:-1] if isinstance(p, str)]
        return missing_key(key, parent[-1] if parent else "")
    if etype == "union_tag_invalid":
        tag = err["ctx"]["tag"]
        return (
            f'unknown detector type "{tag}"{registry.did_you_mean(tag, DETECTOR_TYPES)}; '
            f"one of: {', '.join(DETECTOR_TYPES)}"
        )
    if etype == "finite_number":
        return f'"{_field_name(loc)}" must be a finite number, not {_nonfinite(err.get("input"))}'
    if etype == AT_VALUE:  # (worded by the model; its location names no key to prefix)
        return str(err["msg"])
    if etype == "union_tag_not_found":
        return f"a detector needs `type:` (one of: {', '.join(DETECTOR_TYPES)})"
    if etype == "literal_error":
        expected = err["ctx"]["expected"]
        choices = [c.strip().strip("'") for c in expected.replace(" or ", ", ").split(",")]
        got = err.get("input")
        if key == "[key]":  # a mapping's key (levels, tiers, deadlines are keyed by level)
            label = "warning level" if "red" in choices else f'key under "{loc[-3]}"'
            label = "area level" if "city" in choices else label  # (a limit per area level)
        elif len(loc) >= 2 and loc[-2] == "tiers":
            label = f"dispatch tier for {key}"
        elif key == "levels" or (len(loc) >= 2 and loc[-2] == "levels"):
            label = "area level" if "city" in choices else "warning level"
        else:
            label = f'value for "{key}"'
        return (
            f"unknown {label} {got!r}{registry.did_you_mean(got, choices)}; "
            f"one of: {', '.join(choices)}"
        )
    msg = str(err["msg"])
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    where = f'"{key}": ' if isinstance(loc[-1] if loc else None, str) and key else ""
    got = err.get("input")
    quiet = isinstance(got, dict | list) or got is None or str(got) in msg
    shown = "" if quiet else f" (got {got!r})"
    return f"{where}{msg}{shown}"


__all__ = [
    "Catalog",
    "CatalogError",
    "Diagnostic",
    "EnsembleDetector",
    "Origin",
    "catalog_files",
    "id_clashes",
    "load_catalog",
    "load_catalog_or_raise",
]


def field_span(spec: registry.FieldSpec) -> str:
    """The values a field can take as messages say them: "0 to 1", "at least 0", "at most
    100" (a field with a range at one end at least)."""
    lo, hi = spec.minimum, spec.maximum
    if lo is not None and hi is not None:
        return f"{as_written(lo)} to {as_written(hi)}"
    return f"at least {as_written(lo)}" if lo is not None else f"at most {as_written(hi or 0)}"
