"""The series notation follows promtool's rule tests: `AxN` and `A+BxN` give N+1 values."""

from __future__ import annotations

import math

import pytest

from indicators.testing.notation import NotationError, expand


def test_promtool_expansion() -> None:
    assert expand("10+0x2 50x1 1+2x3") == [10, 10, 10, 50, 50, 1, 3, 5, 7]
    assert expand("5-2x2") == [5, 3, 1]
    assert expand("1.5 -2 1e2") == [1.5, -2, 100]
    assert len(expand("10+0x60 50x5 10x30")) == 61 + 6 + 31


def test_missing_readings() -> None:
    out = expand("1 _ _x2 4")
    assert out[0] == 1 and out[-1] == 4
    assert [math.isnan(v) for v in out] == [False, True, True, True, True, False]


def test_a_number_alone_is_one_value() -> None:
    assert expand(7) == [7.0]


@pytest.mark.parametrize(
    ("text", "term"),
    [("1 2 abc", 2), ("10+5", 0), ("_+1x3", 0), ("", 0), ("1 2x", 1)],
)
def test_bad_terms_say_which(text: str, term: int) -> None:
    with pytest.raises(NotationError) as e:
        expand(text)
    assert e.value.term == term
