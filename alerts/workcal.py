"""Deadlines in working time.

12345 practice counts working days: "accept within 1 working day, handle within 5".  With
`working_hours_only`, a duration's whole days are working days (same clock time N working days
later: Friday 15:00 + 1 day = Monday 15:00) and the rest is working hours within the day's
opening hours; a start outside working hours counts from the next opening.  Otherwise deadlines
are plain elapsed time.

Days off and swapped working weekends (调休) come from a statutory calendar (`statutory: cn`
in alerts/routing.yaml: mainland China's official holidays, from the chinesecalendar package)
and from the dates the routing file lists itself (`holidays`, `workdays`: local holidays, or a
year the package does not cover yet), which win over the statutory ones.  A year the
statutory calendar does not cover counts the plain weekdays (and the listed dates), and says
so: a warning is logged the first time a deadline reaches such a year."""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY = 86400
log = logging.getLogger(__name__)

# The statutory calendars `calendar.statutory` can name (besides `none`), and what each is.
STATUTORY = {
    "cn": "mainland China's official holidays (法定节假日) and swapped working days (调休), as "
    "the State Council announces them each year (the chinesecalendar package)",
}


@dataclass(frozen=True)
class StatutoryCalendar:
    """A country's days off and swapped working days by date, for the years it covers."""

    name: str  # as routing.yaml names it: "cn"
    source: str  # where the dates come from, with its version
    holidays: frozenset[date]
    workdays: frozenset[date]  # weekend days worked instead (调休)
    first_year: int
    last_year: int

    def covers(self, year: int) -> bool:
        return self.first_year <= year <= self.last_year

    @property
    def years(self) -> str:
        return f"{self.first_year}-{self.last_year}"


@functools.cache
def statutory_calendar(name: str) -> StatutoryCalendar:
    """The statutory calendar `name` (a key of STATUTORY; ValueError for another)."""
    if name != "cn":
        raise ValueError(f"unknown statutory calendar {name!r}; known: {', '.join(STATUTORY)}")
    import chinese_calendar  # the holidays are data in the package: nothing is fetched

    holidays = frozenset(chinese_calendar.holidays)
    return StatutoryCalendar(
        name=name,
        source=f"chinesecalendar {chinese_calendar.__version__}",
        holidays=holidays,
        workdays=frozenset(chinese_calendar.workdays),
        first_year=min(d.year for d in holidays),
        last_year=max(d.year for d in holidays),
    )


@dataclass(frozen=True)
class WorkingCalendar:
    tz: str = "Asia/Shanghai"
    workdays: frozenset[int] = frozenset({0, 1, 2, 3, 4})  # Monday = 0
    opens: time = time(9, 0)
    closes: time = time(17, 0)
    holidays: frozenset[date] = field(default_factory=frozenset)  # listed: win over statutory
    extra_workdays: frozenset[date] = field(default_factory=frozenset)  # listed: win too
    statutory: StatutoryCalendar | None = None
    # years outside the statutory calendar that a deadline reached (each warned of once)
    _uncovered_seen: set[int] = field(
        default_factory=set, init=False, compare=False, hash=False, repr=False
    )

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
        statutory: str | None = None,
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
            statutory=statutory_calendar(statutory) if statutory else None,
        )

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)

    def is_workday(self, d: date) -> bool:
        """Listed dates first, then the statutory calendar's, then the day of the week."""
        if d in self.extra_workdays:
            return True
        if d in self.holidays:
            return False
        s = self.statutory
        if s is not None:
            if s.covers(d.year):
                if d in s.workdays:
                    return True
                if d in s.holidays:
                    return False
            elif d.year not in self._uncovered_seen:
                self._uncovered_seen.add(d.year)
                log.warning("%s", self.uncovered_message([d.year]))
        return d.weekday() in self.workdays

    def uncovered_years(self, start: date, end: date) -> list[int]:
        """The years from `start` to `end` that the statutory calendar does not cover."""
        s = self.statutory
        if s is None:
            return []
        return [y for y in range(start.year, end.year + 1) if not s.covers(y)]

    def uncovered_message(self, years: list[int]) -> str:
        """What working days in `years` (outside the statutory calendar) count, and the fix."""
        s = self.statutory
        assert s is not None
        named = ", ".join(str(y) for y in years)
        days = ", ".join(WEEKDAYS[i] for i in sorted(self.workdays)) or "none"
        return (
            f"working days in {named} count the weekdays only ({days}) and the dates "
            f"calendar.holidays/workdays list: the statutory calendar {s.name} "
            f"({s.source}) covers {s.years}; install a release that covers {named} "
            "(pip install -U chinesecalendar), or list its holidays and 调休 working days in "
            "the routing file's calendar.holidays and calendar.workdays"
        )

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
