"""Pydantic's type and constraint errors in an analyst's words.

Pydantic words its errors for programmers ("Input should be a valid dictionary or instance of
Title", a raw regular expression, "Dictionary should have at least 1 item after validation"),
and names classes the analyst never wrote.  Each error a catalog can produce is restated here
as what the key holds and how to write it, with an example in the catalog's own notation;
`validate._message` falls back to pydantic's text only for a kind of error not listed here."""

from __future__ import annotations

import math
import re
from typing import Any

import yaml

from .detection import DETECTOR_TYPES, MAX_WINDOWS, PER_LEVEL_TAG
from .model import ID_PATTERN
from .registry import departments
from .strict import NUMBER_QUOTED
from .yamlload import QuotedNumber

ID_RULE = (
    "an id is lower-case words separated by dots, each of letters, digits and _ (the first "
    "starting with a letter), e.g. noise.street_night"
)

#: What a mapping-valued key holds, written as the analyst would write it.
MAPPING_EXAMPLES = {
    "title": "title needs both languages: title: {zh: ..., en: ...}",
    "dispatch": (
        "dispatch is `none` (an indicator that only informs) or a mapping with `department` "
        "and, if needed, tiers and deadlines: dispatch: {department: env, tiers: {blue: "
        "street}, deadlines: {blue: {accept: 1h, handle: 1d}}}"
    ),
    "source": "source is a mapping: source: {kind: noise, filter: [...]}",
    "value": "value is a mapping: value: {field: ..., aggregate: mean, window: ..., levels: ...}",
    "window": "window is a mapping: window: {type: tumbling, length: 15m}",
    "detection": "detection is a mapping: detection: {detectors: [...], warnings: {...}}",
    "warnings": "warnings is a mapping: warnings: {on: score, levels: {blue: {...}}}",
    "clear": "clear is a rule like a level's: clear: {threshold: 0.8, for: 1h}",
    "tiers": "tiers maps warning levels to tiers: tiers: {blue: street, yellow: district}",
    "deadlines": "deadlines maps warning levels to deadlines: deadlines: {blue: {accept: 1h, "
    "handle: 1d}}",
    "levels": "levels maps warning levels to rules: levels: {blue: {threshold: ..., for: ...}}",
}

#: What a list-valued key holds.
LIST_EXAMPLES = {
    "indicators": "`indicators:` holds a list of indicators, each starting with `- id:`",
    "filter": "filter is a list of conditions: filter: [{field: ..., range: [low, high]}]",
    "detectors": "detectors is a list: detectors: [{type: ewma}]",
    "members": "members is a list of detectors: members: [{type: ewma}, {type: cusum}]",
    "levels": "levels is a list of area levels: levels: [street, district]",
}

#: A list or mapping that must not be empty, and what its first item looks like.
AT_LEAST_ONE = {
    "warning_levels": "at least one warning level: levels: {blue: {threshold: ..., for: 0s}}",
    "levels": "at least one area level: levels: [district]",
    "detectors": (
        "at least one detector: detectors: [{type: ewma}]; or leave `detectors:` out for the "
        "default ensemble"
    ),
    "members": "an ensemble needs at least one member: members: [{type: ewma}]",
    "categories": (
        "an empty list selects nothing: leave the key out to count every record, or list the "
        "hotline categories to count: categories: [water_outage]"
    ),
    "keywords": (
        "an empty list selects nothing: leave the key out to count every record, or list the "
        "words to look for in the description: keywords: [停水]"
    ),
    "in": (
        "an empty list matches no record: list the values to keep, in: [wechat, app]; or "
        "leave the filter out to keep every record"
    ),
    "not_in": (
        "an empty list leaves out nothing: list the values to leave out, not_in: [phone]; or "
        "leave the filter out"
    ),
    "indicators": (
        "`indicators:` is empty: list indicators under it, each starting with `- id:`; a file "
        "defines at least one indicator"
    ),
}


#: How to write each required key, for "missing required key": the analyst sees the form
#: to add, not only its name.  ("levels" is a list of area levels under `value:` and the
#: warning rules under `warnings:`: `REQUIRED_UNDER` tells them apart.)
REQUIRED = {
    "indicators": "`indicators:` and under it at least one indicator, each starting with `- id:`",
    "id": "id: noise.street_night",
    "title": "title: {zh: ..., en: ...}",
    "zh": "zh: ... (the Chinese title)",
    "en": "en: ... (the English title)",
    "category": "category: noise",
    "unit": "unit: dB(A)",
    "owner": "owner: env (a department id)",
    "source": "source: {kind: noise}",
    "kind": "kind: noise (a sensor kind or citizen channel)",
    "field": "field: ... (a field of the source kind)",
    "value": "value: {field: ..., aggregate: mean, window: {length: 15m}, levels: [district]}",
    "aggregate": "aggregate: mean",
    "window": "window: {type: tumbling, length: 15m}",
    "levels": "levels: [district]",
    "length": "length: 15m",
    "detection": "detection: {warnings: {on: score, levels: {blue: {threshold: 0.99, for: 0s}}}}",
    "warnings": "warnings: {on: score, levels: {blue: {threshold: 0.99, for: 0s}}}",
    "threshold": "threshold: ... (a number, or one per area level)",
    "members": "members: [{type: ewma}]",
    "type": "type: ewma",
    "department": "department: env",
    "accept": "accept: 1h",
    "handle": "handle: 1d",
}
REQUIRED_UNDER = {("warnings", "levels"): "levels: {blue: {threshold: ..., for: 0s}}"}


def missing_key(key: str, parent: str) -> str:
    """The error of a required key left out under `parent`, with the form to write."""
    form = REQUIRED_UNDER.get((parent, key), REQUIRED.get(key))
    return f'missing required key "{key}"' + (f": write {form}" if form else "")


#: The keys that take one number, or one per area level (detection.PerAreaLevel).
LIMITS = ("threshold", "upper", "lower")
PER_LEVEL_EXAMPLE = "{street: 5, district: 15}"


class _Shown(yaml.SafeDumper):
    """YAML's own spelling of a value as read, numbers written in quotes included."""


_Shown.add_representer(QuotedNumber, yaml.SafeDumper.represent_str)


def id_prefix(kind: str) -> str:
    """The first part of the catalog's ids for an indicator of source kind `kind`: the
    kind's first word (air_quality -> air.pm25, traffic_flow -> traffic.speed,
    photo_report -> photo.reports, noise -> noise.laeq), as every packaged id is written."""
    return kind.split("_")[0]


def suggest_id(got: str, kind: str | None = None) -> str:
    """A valid id close to `got`, or '', shaped like the catalog's `prefix.name` ids
    (`id_prefix` of the source `kind`): "Noise Night-LAeq" -> "noise.night_laeq" rather than
    "noise_night_laeq", which the rule accepts but no catalog id looks like.  An id written
    with dots keeps the analyst's parts ("Noise.Street Night" -> "noise.street_night")."""
    fixed = re.sub(r"[^a-z0-9_.]+", "_", got.strip().lower()).strip("_.")
    fixed = re.sub(r"_*\._*", ".", fixed)
    prefix = id_prefix(kind.strip().lower()) if kind else ""
    if "." not in fixed and re.fullmatch(r"[a-z][a-z0-9]*", prefix):
        name = fixed.removeprefix(f"{prefix}_") if fixed != prefix else ""
        fixed = f"{prefix}.{name}" if name else fixed
    return fixed if re.fullmatch(ID_PATTERN, fixed) else ""


def _shown(got: Any) -> str:
    """A value as YAML spells it: true, null, {a: 1}; text quoted, as Python does."""
    if isinstance(got, bool):  # (`yes` and `on` are true too)
        return "true" if got else "false"
    if got is None:
        return "null"
    if isinstance(got, dict | list):
        text = yaml.dump(got, Dumper=_Shown, default_flow_style=True, allow_unicode=True).strip()
        return text if len(text) <= 40 else text[:37] + "..."
    text = repr(got)
    return text if len(text) <= 40 else text[:37] + "..."


def _whole(got: Any) -> str:
    """What to write instead: `write 1 or 2` for 1.5, `write 20` for 20.0 or a quoted "20"
    (YAML reads `true`, `yes` and `on` as true, which is not a count of one)."""
    if isinstance(got, bool):
        return "; write a number of your own"
    if isinstance(got, float) and math.isfinite(got):
        lo, hi = math.floor(got), math.ceil(got)
        return f"; write {lo} or {hi}" if lo != hi else f"; write {lo}"
    if isinstance(got, str) and got.strip().lstrip("+-").isdigit():
        return f"; write {int(got)} without quotes"
    return ""


def _unquoted(names: list[str], last: Any, got: Any, number: str) -> str:
    """A number written in quotes, and how to write it: the key it is for, and the key as the
    analyst writes it without them (`threshold: 50`; `district: 3` in a per-level mapping)."""
    key = names[-1] if names else "value"
    if len(names) >= 3 and names[-2] == PER_LEVEL_TAG:  # (loc: ..., upper, per_level, street)
        what, fix = f'"{names[-3]}" at {key} level', f"{key}: {number}"
    elif isinstance(last, int):  # an item of a list: a range's low or high
        return f'"{key}" holds numbers, not the text {_shown(got)}: write {number} without quotes'
    else:
        what, fix = f'"{key}"', f"{key}: {number}"
    return f"{what} is a number, not the text {_shown(got)}: write it without quotes ({fix})"


def _scalar(got: Any) -> bool:
    """A single value as written (text or a number), which an example can echo."""
    return isinstance(got, str | int | float) and not isinstance(got, bool) and str(got) != ""


#: How a mapping-valued key reads with the one value written in its place, at the key that
#: value most likely meant: `source: air_quality` is source: {kind: air_quality}
MAPPING_OF_ONE = {
    "source": "source is a mapping: source: {{kind: {got}}}",
    "window": "window is a mapping: window: {{type: tumbling, length: {got}}}",
    "clear": "clear is a rule like a level's: clear: {{threshold: {got}, for: 1h}}",
    "dispatch": (
        "dispatch is `none` (an indicator that only informs) or a mapping with `department` "
        "and, if needed, tiers and deadlines: dispatch: {{department: {got}}}"
    ),
}


def _mapping_example(key: str, got: Any) -> str:
    """MAPPING_EXAMPLES[key], with the analyst's own value where one was written in place of
    the mapping (`source: air_quality` was told "source: {kind: noise, ...}")."""
    known = key != "dispatch" or got in departments()  # (`dispatch: nothing` is not one)
    if _scalar(got) and key in MAPPING_OF_ONE and known:
        return MAPPING_OF_ONE[key].format(got=got)
    return MAPPING_EXAMPLES[key]


def _list_example(key: str, got: Any) -> str:
    """LIST_EXAMPLES[key], with the analyst's own value as the list's item where one was
    written in place of the list (`levels: sensor` was told "levels: [street, district]")."""
    if not _scalar(got):
        return LIST_EXAMPLES[key]
    if key == "levels":
        return f"levels is a list of area levels: levels: [{got}]"
    if key in ("detectors", "members") and got in DETECTOR_TYPES:
        return f"{key} is a list: {key}: [{{type: {got}}}]"
    if key == "filter":
        return f"filter is a list of conditions: filter: [{{field: {got}, range: [low, high]}}]"
    return LIST_EXAMPLES[key]


def plain_words(
    etype: str, loc: tuple[Any, ...], got: Any, ctx: dict[str, Any], kind: str | None = None
) -> str | None:
    """The analyst's wording of one pydantic error at `loc`, or None if not covered (`kind`:
    the indicator's source kind, if written, which shapes the id suggested)."""
    names = [p for p in loc if isinstance(p, str) and p not in ("float", "int", "str", "bool")]
    key = names[-1] if names else ""
    parent = names[-2] if len(names) >= 2 else ""
    last = loc[-1] if loc else None
    if etype == NUMBER_QUOTED:
        return _unquoted(names, last, got, str(ctx.get("number", got)))
    if key == "id" and etype in ("string_type", "string_pattern_mismatch"):
        fix = suggest_id(got, kind) if isinstance(got, str) else ""
        return f"{ID_RULE}{f'; write {fix}' if fix and fix != got else ''} (got {_shown(got)})"
    if key == "range" and etype in ("tuple_type", "too_long", "too_short", "missing"):
        return "a range is two numbers, low and high: range: [20, 140]"
    if etype in ("model_type", "dict_type", "model_attributes_type"):
        if isinstance(last, int) and key in ("detectors", "members"):
            example = got if got in DETECTOR_TYPES else "ewma"
            return f"a detector is a mapping with its type and options: {{type: {example}}}"
        if parent == "levels" and key in ("blue", "yellow", "orange", "red"):
            thr = got if isinstance(got, int | float) and not isinstance(got, bool) else "..."
            return f"a warning level is a rule: {key}: {{threshold: {thr}, for: 0s}}"
        if parent == "deadlines":
            return f"a deadline has two durations: {key}: {{accept: 1h, handle: 1d}}"
        if key in MAPPING_EXAMPLES:
            return _mapping_example(key, got)
        return f'"{key}" is a mapping (`key: value` pairs), not {_shown(got)}'
    if etype == "list_type":
        if key == "indicators" and got is None:
            return AT_LEAST_ONE["indicators"]
        if key in LIST_EXAMPLES:
            return _list_example(key, got)
        if _scalar(got):
            return f'"{key}" is a list: {key}: [{got}]'
        return f'"{key}" is a list, in brackets [a, b] or one `- ` item per line'
    if etype == "too_short" and key == PER_LEVEL_TAG:
        return (
            f'"{parent}" is empty: write one number per area level ({parent}: '
            f"{PER_LEVEL_EXAMPLE}), or one number for all"
        )
    if etype in ("float_type", "float_parsing") and key in LIMITS and last == "float":
        return (
            f'"{key}" is a number (e.g. 15 or 0.99), or one number per area level '
            f"({key}: {PER_LEVEL_EXAMPLE}), not {_shown(got)}"
        )
    if etype == "too_short":
        which = "warning_levels" if key == "levels" and "warnings" in names else key
        return AT_LEAST_ONE.get(which, f'"{key}" needs at least {ctx.get("min_length", 1)} item')
    if etype == "string_too_short":
        return f'"{key}" cannot be empty'
    if etype == "string_type":
        return f'"{key}" is text; quote it if it looks like a number: {key}: "{got}"'
    if etype in ("int_type", "int_parsing", "int_from_float"):
        return f'"{key}" is a whole number, not {_shown(got)}{_whole(got)}'
    if etype in ("float_type", "float_parsing"):
        return f'"{key}" is a number (e.g. 15 or 0.99), not {_shown(got)}'
    if etype in ("bool_type", "bool_parsing"):
        return f'"{key}" is true or false, not {_shown(got)}'
    if etype == "less_than_equal" and ctx.get("le") == MAX_WINDOWS and key == "min_count":
        return (
            f'"{key}" counts the records of one window and is at most {MAX_WINDOWS:,} (got '
            f"{_shown(got)}): a larger count is a slipped digit; check the number"
        )
    if etype == "less_than_equal" and ctx.get("le") == MAX_WINDOWS:
        return (
            f'"{key}" counts windows and is at most {MAX_WINDOWS:,} (got {_shown(got)}): a '
            "million windows of one minute are almost two years, so a larger count is a "
            "slipped digit; check the number"
        )
    bounds = {
        "greater_than_equal": ("at least", "ge"),
        "greater_than": ("above", "gt"),
        "less_than_equal": ("at most", "le"),
        "less_than": ("below", "lt"),
    }
    if etype in bounds:
        word, name = bounds[etype]
        return f'"{key}" must be {word} {ctx.get(name)} (got {_shown(got)})'
    return None
