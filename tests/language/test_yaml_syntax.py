"""YAML syntax errors in plain words, at the place to fix: where a quote, bracket or key
opened when PyYAML only knows where it gave up (for an unclosed quote: the end of the file)."""

from __future__ import annotations

from pathlib import Path

import pytest

from indicators.language.validate import load_catalog

BASE = """\
indicators:
  - id: noise.street
    title: {zh: 街道噪声, en: Street noise}
    category: noise
    unit: dB(A)
    owner: env
    source: {kind: noise}
    value:
      field: LAeq
      aggregate: mean
      window: {type: tumbling, length: 15m}
      levels: [street]
    detection:
      warnings:
        levels: {blue: {threshold: 0.99}}
"""


@pytest.mark.parametrize(
    ("old", "new", "where", "words"),
    [
        (
            "category: noise",
            'category: "noise',
            "4:15",
            "the quote opened at 4:15 is never closed (the file ends inside it, at 16:1): "
            'add the closing "',
        ),
        (
            "unit: dB(A)",
            "unit: 'dB(A)",
            "5:11",
            "the quote opened at 5:11 is never closed",
        ),
        (
            "aggregate: mean",
            "aggregate:mean",
            "10:7",
            "put a space after ':' in 'aggregate:mean' (write aggregate: mean)",
        ),
        (
            "levels: [street]",
            "levels: [street",
            "12:15",
            "the '[' opened at 12:15 is not closed: at 13:14 YAML found ':' where ',' or ']' "
            "belongs; close it with ']'",
        ),
        (
            "title: {zh: 街道噪声, en: Street noise}",
            "title: {zh: 街道噪声, en: Street noise",
            "3:12",
            "the '{' opened at 3:12 is not closed",
        ),
        (
            "      aggregate: mean",
            "     aggregate: mean",
            "10:6",
            "this line is indented by 5 spaces, which does not match the keys of the mapping "
            "opened at 2:5 (line 9 is indented by 6): indent this key like its siblings",
        ),
        (
            "      aggregate: mean",
            "        aggregate: mean",
            "10:9",
            "this key is indented by 8 spaces, more than the key above it (line 9 is indented "
            "by 6)",
        ),
        (
            "unit: dB(A)",
            "unit: level: dB(A)",
            "5:16",
            "a second ': ' on one line: if the value contains ': ', put it in quotes",
        ),
        ("unit: dB(A)", "unit: @dB", "5:11", "a value cannot start with '@' in YAML: put the"),
        ("      aggregate: mean", "\taggregate: mean", "10:1", "a tab character"),
        ("indicators:\n", "version: 1\n---\nindicators:\n", "2:1", "a second document starts"),
        ("unit: dB(A)", 'unit: "d\\B"', "5:14", "\\B is not an escape in a double-quoted value"),
    ],
)
def test_syntax_errors_point_at_the_fix(
    tmp_path: Path, old: str, new: str, where: str, words: str
) -> None:
    assert old in BASE
    f = tmp_path / "draft.yaml"
    f.write_text(BASE.replace(old, new, 1), "utf-8")
    _, diags = load_catalog([f])
    assert len(diags) == 1, [str(d) for d in diags]
    assert str(diags[0]).startswith(f"{f}:{where}: YAML syntax: {words}"), str(diags[0])
    for raw in ("while scanning", "while parsing", "could not find", "<block", "stream"):
        assert raw not in diags[0].message


def test_the_base_document_is_valid(tmp_path: Path) -> None:
    f = tmp_path / "draft.yaml"
    f.write_text(BASE, "utf-8")
    _, diags = load_catalog([f])
    assert [str(d) for d in diags] == []
