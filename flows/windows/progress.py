"""The watermark: how far event time has certainly advanced.

Bytewax's own windowing keeps a watermark per key; when one key is fed from partitions that
advance at different speeds it silently sends rows to its `late` stream.  Ours is the minimum
over every input partition of the largest event time that partition has shown, so a slow
partition holds windows open instead of losing its events.

A live partition can also fall silent (a Kafka partition that nobody writes to, a district's
gateway that is off): left in the minimum it would stop every window of the city.  With
`idle_after_ms`, a partition that has shown no event for that long on the wall clock (or never
any, that long after the start) leaves the minimum until it shows one again; its events that
are then behind the watermark are late, as in Flink's `withIdleness`.  Replays leave it off,
so their results do not depend on the machine's speed."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

NO_TIME = np.iinfo(np.int64).min
END_OF_TIME = np.iinfo(np.int64).max


@dataclass
class PartitionProgress:
    """Progress of `n_partitions` inputs; the watermark holds until every one has reported."""

    n_partitions: int
    max_ts: dict[str, int] = field(default_factory=dict)
    finished: set[str] = field(default_factory=set)
    idle_after_ms: int | None = None
    clock: Callable[[], float] = field(default=time.monotonic, repr=False, compare=False)
    heard_at: dict[str, float] = field(default_factory=dict, repr=False, compare=False)
    started_at: float = field(default=-1.0, repr=False, compare=False)
    _shown: int = field(default=NO_TIME, repr=False, compare=False)  # never goes back

    def __post_init__(self) -> None:
        if self.started_at < 0:
            self.started_at = self.clock()

    def update(self, partition: str, max_ts: int | None, *, finished: bool = False) -> None:
        if max_ts is not None:
            self.heard_at[partition] = self.clock()
        if max_ts is not None and max_ts > self.max_ts.get(partition, NO_TIME):
            self.max_ts[partition] = int(max_ts)
        elif partition not in self.max_ts:
            self.max_ts[partition] = NO_TIME
        if finished:
            self.finished.add(partition)

    @property
    def watermark(self) -> int:
        if self.idle_after_ms is not None:
            # a partition back from idleness may be behind: the watermark does not go back
            self._shown = max(self._shown, self._watermark_without_idle())
            return self._shown
        if len(self.max_ts) < self.n_partitions:
            return NO_TIME
        live = [t for p, t in self.max_ts.items() if p not in self.finished]
        return min(live) if live else END_OF_TIME

    def _watermark_without_idle(self) -> int:
        assert self.idle_after_ms is not None
        now, idle_s = self.clock(), self.idle_after_ms / 1000.0
        if len(self.max_ts) < self.n_partitions and now - self.started_at <= idle_s:
            return NO_TIME  # not every partition has had its chance to report yet
        live = {p: t for p, t in self.max_ts.items() if p not in self.finished}
        if not live and len(self.finished) >= self.n_partitions:
            return END_OF_TIME
        heard = self.heard_at
        active = [t for p, t in live.items() if now - heard.get(p, self.started_at) <= idle_s]
        if active:
            return min(active)
        return max(live.values(), default=NO_TIME)  # all quiet: what has been seen is final

    def snapshot(self) -> dict[str, object]:
        return {"n": self.n_partitions, "max_ts": dict(self.max_ts), "done": set(self.finished)}

    @classmethod
    def restore(
        cls,
        state: dict[str, object],
        idle_after_ms: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> PartitionProgress:
        """Idleness is wall-clock state and is not kept: after a restart every partition has
        `idle_after_ms` again to show it is alive."""
        return cls(
            int(state["n"]),  # type: ignore[call-overload]
            dict(state["max_ts"]),  # type: ignore[call-overload]
            set(state["done"]),  # type: ignore[call-overload]
            idle_after_ms,
            clock,
        )
