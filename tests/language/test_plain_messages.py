"""Type and constraint errors speak the catalog's language: what the key holds and how to
write it, never pydantic's wording ("Input should be a valid dictionary or instance of Title",
a raw regular expression, "after validation").  Each case is one edit of a valid file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from indicators.language.detection import CusumDetector
from indicators.language.model import ID_PATTERN
from indicators.language.validate import load_catalog, nearest_divisors
from indicators.language.wording import id_prefix, suggest_id

BASE = """\
version: 1
indicators:
  - id: noise.street
    title: {zh: 街道噪声, en: Street noise}
    category: noise
    unit: dB(A)
    owner: env
    source: {kind: noise, filter: [{field: LAeq, range: [20, 140]}]}
    value:
      field: LAeq
      aggregate: mean
      window: {type: tumbling, length: 15m, lateness: 5m}
      levels: [street]
    detection:
      detectors: [{type: ewma, halflife: 48, direction: above}]
      warnings:
        on: score
        levels:
          blue: {threshold: 0.99, for: 0s}
    dispatch:
      department: urban_management
      tiers: {blue: street}
      deadlines: {blue: {accept: 1h, handle: 1d}}
"""

PYDANTIC_WORDS = ("Input should", "after validation", "instance of", "^[a-z]", "String should")

CASES = [
    ("title: {zh: 街道噪声, en: Street noise}", "title: Street noise", "title needs both"),
    ("title: {zh: 街道噪声, en: Street noise}", "title: {zh: '', en: x}", '"zh" cannot be empty'),
    (
        "dispatch:\n      department: urban_management\n      tiers: {blue: street}\n"
        "      deadlines: {blue: {accept: 1h, handle: 1d}}\n",
        "dispatch: nothing\n",
        "dispatch is `none`",
    ),
    ("tiers: {blue: street}", "tiers: street", "tiers maps warning levels to tiers"),
    ("- id: noise.street", "- id: Noise.Street", "write noise.street"),
    ("- id: noise.street", "- id: 12345", "an id is lower-case words separated by dots"),
    (  # an id shaped like the catalog's, prefixed by the source kind's first word
        "- id: noise.street",
        "- id: Noise Night-LAeq",
        "write noise.night_laeq (got 'Noise Night-LAeq')",
    ),
    ("unit: dB(A)", "unit: 5", '"unit" is text; quote it'),
    ("levels: [street]", "levels: []", "at least one area level"),
    ("levels: [street]", "levels: street", "levels is a list of area levels"),
    # the example echoes what was written (it said "levels: [street, district]" to
    # `levels: sensor` and "source: {kind: noise, ...}" to `source: air_quality`)
    ("levels: [street]", "levels: district", "area levels: levels: [district]"),
    (
        "source: {kind: noise, filter: [{field: LAeq, range: [20, 140]}]}",
        "source: air_quality",
        "source is a mapping: source: {kind: air_quality}",
    ),
    (
        "window: {type: tumbling, length: 15m, lateness: 5m}",
        "window: 1h",
        "window is a mapping: window: {type: tumbling, length: 1h}",
    ),
    (
        "detectors: [{type: ewma, halflife: 48, direction: above}]",
        "detectors: cusum",
        "detectors is a list: detectors: [{type: cusum}]",
    ),
    (
        "dispatch:\n      department: urban_management\n      tiers: {blue: street}\n"
        "      deadlines: {blue: {accept: 1h, handle: 1d}}\n",
        "dispatch: urban_management\n",
        "dispatch: {department: urban_management}",
    ),
    ("range: [20, 140]", "range: [20, 140, 3]", "a range is two numbers"),
    ("range: [20, 140]", "range: [20]", "a range is two numbers"),
    ("range: [20, 140]", "range: 20", "a range is two numbers"),
    ("filter: [{field: LAeq, range: [20, 140]}]", "filter: {field: LAeq}", "filter is a list"),
    (
        "source: {kind: noise, filter: [{field: LAeq, range: [20, 140]}]}",
        "source: noise",
        "source is a mapping",
    ),
    ("halflife: 48", "halflife: 0", '"halflife" must be at least 1 (got 0)'),
    ("halflife: 48", "halflife: 1.5", '"halflife" is a whole number, not 1.5; write 1 or 2'),
    ("halflife: 48", "halflife: many", '"halflife" is a whole number'),
    ("direction: above}]", "learn_on_anomaly: maybe}]", '"learn_on_anomaly" is true or false'),
    (
        "{type: ewma, halflife: 48, direction: above}",
        "{type: spot, risk: 0.7}",
        '"risk" must be below 0.5',
    ),
    (
        "{type: ewma, halflife: 48, direction: above}",
        "{type: ensemble, members: []}",
        "an ensemble needs at least one member",
    ),
    (
        "detectors: [{type: ewma, halflife: 48, direction: above}]",
        "detectors: []",
        "at least one detector",
    ),
    (
        "detectors: [{type: ewma, halflife: 48, direction: above}]",
        "detectors: [ewma]",
        "a detector is a mapping with its type and options: {type: ewma}",
    ),
    ("{threshold: 0.99, for: 0s}", "{threshold: high, for: 0s}", '"threshold" is a number'),
    (  # numbers as written, not rounded to six digits (where both read 1.23457e+06)
        "{type: ewma, halflife: 48, direction: above}",
        "{type: threshold, lower: 1234568, upper: 1234567}",
        "`lower` (1234568) must be below `upper` (1234567)",
    ),
    (  # a required key left out: the form to write
        "    title: {zh: 街道噪声, en: Street noise}\n",
        "",
        'missing required key "title": write title: {zh: ..., en: ...}',
    ),
    (
        "deadlines: {blue: {accept: 1h, handle: 1d}}",
        "deadlines: {blue: {accept: 1h}}",
        'missing required key "handle": write handle: 1d',
    ),
    (
        "on: score\n        levels:\n          blue: {threshold: 0.99, for: 0s}",
        "on: score",
        'missing required key "levels": write levels: {blue: {threshold: ..., for: 0s}}',
    ),
    (
        "      levels: [street]\n",
        "",
        'missing required key "levels": write levels: [district]',
    ),
    (  # a range's numbers as written, and the order to write them in
        "range: [20, 140]",
        "range: [140, 20]",
        "range low 140 is above high 20; write [20, 140]",
    ),
    (  # a score threshold as written, not read back as 1.0 and 75.0
        "blue: {threshold: 0.99, for: 0s}",
        "blue: {threshold: 75, for: 0s}",
        "score thresholds lie in [0, 1] (got 75);",
    ),
    (  # numbers per area level as written, not rounded to six digits by `:g`
        "on: score\n        levels:\n          blue: {threshold: 0.99, for: 0s}",
        "on: value\n        levels:\n          blue: {threshold: {street: 1234567}, for: 0s}\n"
        "          yellow: {threshold: {street: 1234566}, for: 0s}",
        "at street level the yellow threshold (1234566) must be above the blue one (1234567)",
    ),
    (  # a "below" indicator's levels fall, and its clear lies above the first level
        "on: score\n        levels:\n          blue: {threshold: 0.99, for: 0s}",
        "on: value\n        direction: below\n        levels:\n"
        "          blue: {threshold: 40, for: 0s}\n          yellow: {threshold: 45, for: 0s}",
        "with `direction: below` levels fall blue > yellow > orange > red",
    ),
    (  # a clear beyond the first level's threshold: the warning would flap
        "on: score\n        levels:\n          blue: {threshold: 0.99, for: 0s}",
        "on: value\n        levels:\n          blue: {threshold: 80, for: 0s}\n"
        "        clear: {threshold: 85, for: 0s}",
        "the clear threshold must lie on the normal side of the lowest level (80), below it",
    ),
    (  # `for` holds at every level: only thresholds are per area level
        "{threshold: 0.99, for: 0s}",
        "{threshold: 0.99, for: {street: 0s}}",
        "the same at every area level (only thresholds are written per area level)",
    ),
    (  # values as YAML spells them, not as Python does
        "{threshold: 0.99, for: 0s}",
        "{threshold: null, for: 0s}",
        "(threshold: {street: 5, district: 15}), not null",
    ),
    (  # YAML's yes is true, which pydantic would read as 1
        "{threshold: 0.99, for: 0s}",
        "{threshold: yes, for: 0s}",
        "(threshold: {street: 5, district: 15}), not true",
    ),
    (  # a threshold per area level is a mapping
        "{threshold: 0.99, for: 0s}",
        "{threshold: [0.9, 0.99], for: 0s}",
        "or one number per area level (threshold: {street: 5, district: 15})",
    ),
    ("{threshold: 0.99, for: 0s}", "{threshold: {}, for: 0s}", '"threshold" is empty'),
    (
        "{threshold: 0.99, for: 0s}",
        "{threshold: {stret: 0.99}, for: 0s}",
        "unknown area level 'stret' (did you mean \"street\"?)",
    ),
    (
        "blue: {threshold: 0.99, for: 0s}",
        "blue: 0.99",
        "a warning level is a rule: blue: {threshold: 0.99, for: 0s}",
    ),
    ("blue: {threshold: 0.99, for: 0s}", "{}", "at least one warning level"),
    (
        "window: {type: tumbling, length: 15m, lateness: 5m}",
        "window: 15m",
        "window is a mapping: window: {type: tumbling, length: 15m}",
    ),
    (
        "deadlines: {blue: {accept: 1h, handle: 1d}}",
        "deadlines: {blue: 1d}",
        "a deadline has two durations",
    ),
    (
        "tiers: {blue: street}",
        "tiers: {blue: street}\n      working_hours_only: maybe",
        '"working_hours_only" is true or false',
    ),
    (
        "levels: [street]",
        "levels: [street]\n      min_count: 5000000",
        '"min_count" counts the records of one window and is at most 1,000,000',
    ),
    (  # YAML's true is not a count of one, nor a quoted number or 20.0 a whole number
        "levels: [street]",
        "levels: [street]\n      min_count: yes",
        '"min_count" is a whole number, not true; write a number of your own',
    ),
    (
        "levels: [street]",
        'levels: [street]\n      min_count: "20"',
        "\"min_count\" is a whole number, not '20'; write 20 without quotes",
    ),
    ("halflife: 48", "halflife: 48.0", '"halflife" is a whole number, not 48.0; write 48'),
    (  # a number in quotes is text, refused as a whole number's quotes are
        "{threshold: 0.99, for: 0s}",
        '{threshold: "0.99", for: 0s}',
        "\"threshold\" is a number, not the text '0.99': write it without quotes (threshold: 0.99)",
    ),
    (  # a key of another section: where to move it
        "detectors: [{type: ewma, halflife: 48, direction: above}]",
        "min_count: 20\n      detectors: [{type: ewma, halflife: 48, direction: above}]",
        'unknown key "min_count" (it belongs under `value:`)',
    ),
    (
        "levels: [street]\n    detection:",
        "levels: [street]\n      lateness: 5m\n    detection:",
        'unknown key "lateness" (it belongs under `window:`)',
    ),
]


@pytest.mark.parametrize(("old", "new", "words"), CASES, ids=[c[1] for c in CASES])
def test_type_errors_are_worded_for_analysts(
    tmp_path: Path, old: str, new: str, words: str
) -> None:
    assert old in BASE
    path = tmp_path / "c.yaml"
    path.write_text(BASE.replace(old, new, 1), "utf-8")
    _, diags = load_catalog([path])
    assert diags, "the edit should be refused"
    messages = [d.message for d in diags]
    assert any(words in m for m in messages), messages
    for m in messages:
        assert not any(p in m for p in PYDANTIC_WORDS), m


def test_the_base_file_is_valid(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(BASE, "utf-8")
    assert load_catalog([path])[1] == []


def test_the_style_a_number_is_written_in_decides_not_its_python_type(tmp_path: Path) -> None:
    """YAML 1.1 reads a plain `2e1` (an exponent without a dot) as text, as it reads `'2e1'`:
    the plain one is the number 20, the quoted one is refused, at the number."""
    path = tmp_path / "c.yaml"
    plain = "{type: cusum, k: 1e-1, h: 2e1}"
    path.write_text(BASE.replace("{type: ewma, halflife: 48, direction: above}", plain), "utf-8")
    catalog, diags = load_catalog([path])
    assert diags == []
    (detector,) = catalog["noise.street"].detection.detectors
    assert isinstance(detector, CusumDetector) and (detector.k, detector.h) == (0.1, 20.0)
    path.write_text(BASE.replace("{type: ewma, halflife: 48, direction: above}",
                                 "{type: cusum, k: 1e-1, h: '2e1'}"), "utf-8")  # fmt: skip
    (d,) = load_catalog([path])[1]
    assert (d.line, d.col) == (15, 45)
    assert d.message == "\"h\" is a number, not the text '2e1': write it without quotes (h: 2e1)"


def test_the_loader_marks_numbers_written_as_text() -> None:
    from indicators.language.yamlload import QuotedNumber, load_yaml_text

    doc = load_yaml_text(
        """\
plain: 1e5
double: "50"
single: ' 3.5 '
block: |
  7
word: "high"
not_finite: "nan"
full_width: "５０"
"""
    )
    marked = {k for k, v in doc.data.items() if isinstance(v, QuotedNumber)}
    assert marked == {"double", "single", "block"}
    assert doc.data["double"] == "50" and doc.data["plain"] == "1e5"


#: A name written in another case than the registry's, and the suggestion it gets.
WRONG_CASE = [
    ("{field: LAeq, range", "{field: laeq, range", 'field "laeq" for source kind "noise" (did '
     'you mean "LAeq"?)'),
    ("kind: noise", "kind: Noise", 'unknown source kind "Noise" (did you mean "noise"?)'),
    ("category: noise", "category: NOISE", 'unknown category "NOISE" (did you mean "noise"?)'),
    ("owner: env", "owner: ENV", 'unknown department "ENV" (did you mean "env"?)'),
    ("{type: ewma,", "{type: EWMA,", 'unknown detector type "EWMA" (did you mean "ewma"?)'),
    ("aggregate: mean", "Aggregate: mean", 'unknown key "Aggregate" (did you mean "aggregate"?)'),
    ("levels: [street]", "levels: [Street]", "level 'Street' (did you mean \"street\"?)"),
]  # fmt: skip


@pytest.mark.parametrize(("old", "new", "words"), WRONG_CASE, ids=[c[1] for c in WRONG_CASE])
def test_a_name_in_the_wrong_case_gets_a_suggestion(
    tmp_path: Path, old: str, new: str, words: str
) -> None:
    """A case slip is the likeliest misspelling, yet difflib, comparing characters, found
    `laeq` no match for `LAeq` while it matched `LAmx`."""
    assert old in BASE
    path = tmp_path / "c.yaml"
    path.write_text(BASE.replace(old, new, 1), "utf-8")
    messages = [d.message for d in load_catalog([path])[1]]
    assert any(words in m for m in messages), messages


def test_the_suggestion_keeps_the_choice_as_spelt() -> None:
    from indicators.language.registry import closest, did_you_mean

    assert did_you_mean("laeq", ["LAeq", "LAmax"]) == ' (did you mean "LAeq"?)'
    assert closest("lamx", ["LAeq", "LAmax"]) == "LAmax"
    assert closest("LAmx", ["LAeq", "LAmax"]) == "LAmax"
    assert closest("wind", ["LAeq", "LAmax"]) is None


@pytest.mark.parametrize(
    ("got", "kind", "fix"),
    [
        ("Noise Night-LAeq", "noise", "noise.night_laeq"),
        ("Night LAeq", "noise", "noise.night_laeq"),
        ("Traffic Speed", "traffic_flow", "traffic.speed"),
        ("PM25", "air_quality", "air.pm25"),
        ("Noise.Street Night", "noise", "noise.street_night"),  # the analyst's own parts
        ("Noise Night-LAeq", None, "noise_night_laeq"),  # no kind written: no prefix to add
    ],
)
def test_the_id_suggested_looks_like_the_catalogs(got: str, kind: str | None, fix: str) -> None:
    """Not `noise_night_laeq`: the rule accepts it, but no catalog id is written so."""
    assert suggest_id(got, kind) == fix
    assert re.fullmatch(ID_PATTERN, fix)


def test_every_packaged_id_starts_with_its_kinds_prefix() -> None:
    """The convention `suggest_id` follows: `prefix.name`, the source kind's first word."""
    from citysigns.paths import CATALOG_DIR

    catalog, _ = load_catalog([CATALOG_DIR])
    assert len(catalog) > 0
    assert all(i.id.startswith(f"{id_prefix(i.source.kind)}.") for i in catalog)


def test_every_required_key_has_a_form_to_write() -> None:
    """`missing required key` shows what to write, for every key some model requires."""
    from pydantic import BaseModel

    from indicators.language import detection, model
    from indicators.language.wording import REQUIRED

    models = [
        c
        for mod in (model, detection)
        for c in vars(mod).values()
        if isinstance(c, type) and issubclass(c, BaseModel)
    ]
    required = {f.alias or n for m in models for n, f in m.model_fields.items() if f.is_required()}
    assert required and required <= set(REQUIRED), required - set(REQUIRED)


@pytest.mark.parametrize("written", ["indicators:\n", "indicators: []\n"])
def test_an_empty_indicators_key_says_what_to_list(tmp_path: Path, written: str) -> None:
    """`indicators: []` passed as "ok: 0 indicators" where `indicators:` alone was refused:
    both define nothing, and both are refused alike."""
    path = tmp_path / "c.yaml"
    path.write_text(f"version: 1\n{written}", "utf-8")
    (d,) = load_catalog([path])[1]
    assert (d.line, d.col) == (2, 12 if written == "indicators:\n" else 13)
    assert d.message == (
        "`indicators:` is empty: list indicators under it, each starting with `- id:`; a file "
        "defines at least one indicator"
    )


def test_a_file_without_indicators_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("version: 1\n", "utf-8")
    (d,) = load_catalog([path])[1]
    assert "at least one indicator" in d.message, d.message


@pytest.mark.parametrize(
    ("length", "near", "expected"),
    [
        (900, 420, [300, 900]),
        (3600, 1500, [1200, 1800]),
        (3600, 420, [360, 600]),
        (86400, 7200, [7200, 10800]),
        (90, 40, [30, 45]),
    ],
)
def test_steps_offered_are_the_round_divisors_either_side(
    length: int, near: int, expected: list[int]
) -> None:
    assert nearest_divisors(length, near) == expected
