"""Windows line up where people expect them: local midnight for days, Monday for weeks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from flows.plan import window_origin

SHANGHAI = timezone(timedelta(hours=8))


def _first_start_after(step: int, ts: datetime) -> datetime:
    origin = window_origin(step)
    t = int(ts.timestamp())
    start = t - (t - origin) % step
    return datetime.fromtimestamp(start, UTC).astimezone(SHANGHAI)


def test_weekly_windows_start_on_monday_at_local_midnight() -> None:
    for day in range(1, 30):
        start = _first_start_after(7 * 86400, datetime(2026, 3, day, 15, 30, tzinfo=SHANGHAI))
        assert start.weekday() == 0 and (start.hour, start.minute) == (0, 0)
        assert start <= datetime(2026, 3, day, 15, 30, tzinfo=SHANGHAI) < start + timedelta(7)


def test_daily_windows_start_at_local_midnight_and_short_ones_on_the_clock() -> None:
    start = _first_start_after(86400, datetime(2026, 3, 4, 1, 0, tzinfo=SHANGHAI))
    assert start == datetime(2026, 3, 4, tzinfo=SHANGHAI)
    start = _first_start_after(900, datetime(2026, 3, 4, 1, 7, tzinfo=SHANGHAI))
    assert start == datetime(2026, 3, 4, 1, 0, tzinfo=SHANGHAI)
