"""Durations need a unit and stay within MAX_DURATION, wherever an analyst writes one; code
that builds models itself, and dispatch settings read back from the ticket outbox, pass whole
seconds."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from indicators.language.durations import MAX_DURATION, WRITTEN, parse_duration
from indicators.language.model import Dispatch, Window


def test_the_bound_is_a_year_and_a_day() -> None:
    assert MAX_DURATION == 366 * 86400
    assert parse_duration("366d") == MAX_DURATION
    assert parse_duration("52w2d") == MAX_DURATION
    with pytest.raises(ValueError, match="longer than 366 days"):
        parse_duration("366d1s")


@pytest.mark.parametrize("text", ["99999999999999999999d", "9" * 5000 + "s", "0" * 30 + "400d"])
def test_huge_numbers_are_refused_with_the_bound(text: str) -> None:
    with pytest.raises(ValueError, match="longer than 366 days") as e:
        parse_duration(text)
    assert len(str(e.value)) < 300  # the message does not repeat a 5000-digit number


def test_leading_zeros_within_the_bound_are_fine() -> None:
    assert parse_duration("000000000000000000015m") == 900


def test_a_bare_number_has_no_unit() -> None:
    with pytest.raises(ValueError, match="15 has no unit: write 15m or 15s"):
        parse_duration(15)
    assert parse_duration(15, seconds=True) == 15
    with pytest.raises(ValueError, match="longer than 366 days"):
        parse_duration(10**30, seconds=True)


def test_written_values_need_units_but_code_passes_seconds() -> None:
    with pytest.raises(ValidationError, match="has no unit"):
        Window.model_validate({"length": 900}, context={WRITTEN: True})
    assert Window.model_validate({"length": 900}).length == 900
    # A warning's dispatch settings travel through the outbox as model_dump() (seconds).
    d = Dispatch.model_validate(
        {"department": "env", "deadlines": {"blue": {"accept": "1h", "handle": "1d"}}}
    )
    assert Dispatch.model_validate(d.model_dump(by_alias=True)) == d
