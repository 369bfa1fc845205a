"""Clocks.  Deadlines and verification periods are judged against an injected clock so that a
replay of last month, the demo and the tests run the lifecycle in data time, not wall time."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> int:
        """Epoch seconds (UTC)."""
        ...


class SystemClock:
    def now(self) -> int:
        return int(time.time())


class ManualClock:
    """A clock that moves only when told to (replays, the demo, tests)."""

    def __init__(self, start: int = 0) -> None:
        self._now = int(start)

    def now(self) -> int:
        return self._now

    def set(self, ts: int) -> None:
        """Move to `ts`; never backwards, so a late event cannot rewind deadlines."""
        self._now = max(self._now, int(ts))

    def advance(self, seconds: int) -> None:
        self._now += int(seconds)


class EventClock:
    """The time of the event being applied.  Unlike `ManualClock` it may go back: with
    several workers the flow interleaves different indicators' warnings in no fixed order,
    and a clock that kept the latest time seen would stamp a ticket with another indicator's
    time instead of its own."""

    def __init__(self, start: int = 0) -> None:
        self._now = int(start)

    def now(self) -> int:
        return self._now

    def set(self, ts: int) -> None:
        self._now = int(ts)
