"""The series notation follows promtool's rule tests: `AxN` and `A+BxN` give N+1 values."""

from __future__ import annotations

import math

import pytest

from indicators.testing.notation import MAX_RECORDS, NotationError, expand


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


@pytest.mark.timeout(10)
@pytest.mark.parametrize(
    ("text", "term"),
    [
        ("0x5 20x99999999 30x2", 1),
        ("1x50000 2x49999", 1),  # 50,001 + 50,000 values
        ("_x100000", 0),
        ("1+1x" + "9" * 5000, 0),  # past Python's limit on converting digits to an int
    ],
)
def test_a_series_past_the_limit_is_refused_at_its_term(text: str, term: int) -> None:
    with pytest.raises(NotationError, match="more than 100,000 values") as e:
        expand(text)
    assert e.value.term == term


def test_the_limit_itself_is_allowed() -> None:
    assert MAX_RECORDS == 100_000
    assert len(expand("1x49999 2x49999")) == MAX_RECORDS


@pytest.mark.timeout(10)
def test_a_count_series_past_the_limit_is_refused_before_any_record_is_made() -> None:
    assert expand("1x60 99999999999 1x5")[61] == 99999999999  # a reading: any value
    with pytest.raises(NotationError, match="more than 100,000 records") as e:
        expand("1x60 99999999999 1x5", counts=True)
    assert e.value.term == 1
    with pytest.raises(NotationError, match="more than 100,000 records") as e:
        expand("0x3 1000x100 1+1x1000", counts=True)  # 101,000 by the second term
    assert e.value.term == 1
    assert sum(expand("0x3 1000x99", counts=True)) == MAX_RECORDS


def test_overflowing_values_are_refused() -> None:
    with pytest.raises(NotationError, match="finite") as e:
        expand("1 1e308+1e308x3")
    assert e.value.term == 1
