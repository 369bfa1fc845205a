"""Deadlines in working time.

12345 practice counts working days: "accept within 1 working day, handle within 5".  With
`working_hours_only`, a duration's whole days are working days (same clock time N working days
later: Friday 15:00 + 1 day = Monday 15:00) and the rest is working hours within the day's
opening hours; a start outside working hours counts from the next opening.  Otherwise deadlines
are plain elapsed time.  Holidays and swapped working weekends (调休) are listed by date."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY = 86400


@dataclass(frozen=True)
class WorkingCalendar:
    tz: str = "Asia/Shanghai"
    workdays: frozenset[int] = frozenset({0, 1, 2, 3, 4})  # Monday = 0
    opens: time = time(9, 0)
    closes: time = time(17, 0)
    holidays: frozenset[date] = field(default_factory=frozenset)
    extra_workdays: frozenset[date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if self.closes <= self.opens:
            raise ValueError(
                f"working hours close ({self.closes}) before they open ({self.opens}); "
                "write hours as [start, end] within one day"
            )
        if not self.workdays and not self.extra_workdays:
            raise ValueError("a working calendar needs at least one working day")

    @classmethod
    def build(
        cls,
        tz: str,
        days: Iterable[str],
        opens: str,
        closes: str,
        holidays: Iterable[date] = (),
        extra_workdays: Iterable[date] = (),
    ) -> WorkingCalendar:
        def hm(text: str) -> time:
            h, m = text.split(":")
            return time(int(h), int(m))

        return cls(
            tz=tz,
            workdays=frozenset(WEEKDAYS.index(d) for d in days),
            opens=hm(opens),
            closes=hm(closes),
            holidays=frozenset(holidays),
            extra_workdays=frozenset(extra_workdays),
        )

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)

    def is_workday(self, d: date) -> bool:
        if d in self.extra_workdays:
            return True
        return d.weekday() in self.workdays and d not in self.holidays

    def _day_window(self, d: date) -> tuple[datetime, datetime]:
        z = self.zone
        return datetime.combine(d, self.opens, z), datetime.combine(d, self.closes, z)

    def next_working_instant(self, t: datetime) -> datetime:
        """`t` if it is within working hours, else the next opening."""
        d = t.date()
        for _ in range(400):
            if self.is_workday(d):
                o, c = self._day_window(d)
                if t < o:
                    return o
                if t < c:
                    return t
            d += timedelta(days=1)
            t = datetime.combine(d, time(0, 0), self.zone)
        raise ValueError("no working day within 400 days: check the holiday list")

    def add(self, start: int, seconds: int) -> int:
        """Epoch seconds of `start` + `seconds` of working time."""
        t = self.next_working_instant(datetime.fromtimestamp(start, self.zone))
        days, rest = divmod(int(seconds), DAY)
        d = t.date()
        while days > 0:
            d += timedelta(days=1)
            if self.is_workday(d):
                days -= 1
        if d != t.date():
            o, c = self._day_window(d)
            t = min(max(datetime.combine(d, t.timetz().replace(tzinfo=None), self.zone), o), c)
        while rest > 0:
            t = self.next_working_instant(t)
            _, c = self._day_window(t.date())
            room = int((c - t).total_seconds())
            if rest <= room:
                t = t + timedelta(seconds=rest)
                rest = 0
            else:
                rest -= room
                t = c + timedelta(seconds=1)  # step past closing into the next day's search
                t = self.next_working_instant(t)
        return int(t.timestamp())


def deadline(start: int, seconds: int, calendar: WorkingCalendar, working_hours_only: bool) -> int:
    """When a step started at `start` with `seconds` allowed is due."""
    if working_hours_only:
        return calendar.add(start, seconds)
    return int(start) + int(seconds)
