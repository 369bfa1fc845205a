"""The real data slices are replayed on the demo city's clock (docs/design.md, "Real data on
the demo city"): Boston's calls arrive at the hour Boston made them."""

from __future__ import annotations

import csv
import gzip
from datetime import datetime, timedelta
from itertools import islice
from zoneinfo import ZoneInfo

from flows.realdata import BOSTON_CSV, boston_records


def test_boston_calls_keep_their_local_hour_on_the_city_clock() -> None:
    with gzip.open(BOSTON_CSV, "rt", newline="") as f:
        opened = [
            datetime.strptime(row["OPEN_DT"], "%m/%d/%Y %I:%M:%S %p")
            for row in islice(csv.DictReader(f), 500)
        ]
    stamps = [
        datetime.fromisoformat(str(r["requested_datetime"])) for r in islice(boston_records(), 500)
    ]
    assert {s.utcoffset() for s in stamps} == {timedelta(hours=8)}
    assert [s.replace(tzinfo=None) for s in stamps] == opened
    # the first call of the slice came at 00:05 in Boston: it is read as 00:05 in the city,
    # and a day window cut at the city's midnight holds Boston's own day
    assert stamps[0].hour == 0


def test_the_boston_slice_has_no_daylight_saving_change() -> None:
    """One offset for the whole slice is what makes its wall clock a clean replay."""
    boston = ZoneInfo("America/New_York")
    with gzip.open(BOSTON_CSV, "rt", newline="") as f:
        offsets = {
            datetime.strptime(row["OPEN_DT"], "%m/%d/%Y %I:%M:%S %p")
            .replace(tzinfo=boston)
            .utcoffset()
            for row in csv.DictReader(f)
        }
    assert len(offsets) == 1
