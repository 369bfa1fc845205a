"""Every bad fixture file declares the errors it must produce (`# expect: L:C: text`) and
gets exactly those, at those positions; the shipped catalog is clean."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from citysigns.paths import CATALOG_DIR
from indicators.language.validate import load_catalog

BAD = Path(__file__).resolve().parent.parent / "fixtures" / "catalog" / "bad"
EXPECT = re.compile(r"^# expect: (\d+):(\d+): (.+)$")


def expectations(path: Path) -> list[tuple[int, int, str]]:
    out = []
    for line in path.read_text("utf-8").splitlines():
        m = EXPECT.match(line)
        if m:
            out.append((int(m[1]), int(m[2]), m[3]))
    return out


def test_shipped_catalog_is_clean_and_large_enough() -> None:
    catalog, diags = load_catalog([CATALOG_DIR])
    assert [str(d) for d in diags] == []
    assert len(catalog) >= 25
    categories = {i.category for i in catalog}
    for needed in ("air", "water", "traffic", "flood", "power", "gas", "noise", "elevator",
                   "manhole", "hotline", "photo_report", "checkpoint"):  # fmt: skip
        assert needed in categories


def test_every_catalog_file_points_editors_at_the_schema() -> None:
    for f in sorted(CATALOG_DIR.glob("*.yaml")):
        first = f.read_text("utf-8").splitlines()[0]
        assert first == "# yaml-language-server: $schema=../schema/indicators.schema.json", f


@pytest.mark.parametrize("path", sorted(BAD.glob("*.yaml")), ids=lambda p: p.name)
def test_bad_fixture_gives_exactly_its_expected_errors(path: Path) -> None:
    expected = expectations(path)
    assert expected, f"{path.name} declares no `# expect:` line"
    _, diags = load_catalog([path])
    got = [(d.line, d.col, d.message) for d in diags]
    assert len(got) == len(expected), "\n".join(str(d) for d in diags)
    for (line, col, text), (gline, gcol, gmsg) in zip(expected, got, strict=True):
        assert (gline, gcol) == (line, col), f"{gmsg!r} at {gline}:{gcol}, expected {line}:{col}"
        assert text in gmsg
    for d in diags:
        assert str(d).startswith(f"{path}:{d.line}:{d.col}: ")


def test_five_mistakes_in_one_file_give_five_located_messages() -> None:
    _, diags = load_catalog([BAD / "five_mistakes.yaml"])
    assert len(diags) == 5
    assert all(str(d).split(": ", 2)[1] == 'indicator "water.pressure"' for d in diags)


def test_errors_of_all_files_are_collected_in_one_run() -> None:
    _, diags = load_catalog([BAD])
    files = {d.path for d in diags}
    assert files == {str(p) for p in BAD.glob("*.yaml")}
