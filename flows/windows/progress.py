"""The watermark: how far event time has certainly advanced.

Bytewax's own windowing keeps a watermark per key; when one key is fed from partitions that
advance at different speeds it silently sends rows to its `late` stream.  Ours is the minimum
over every input partition of the largest event time that partition has shown, so a slow
partition holds windows open instead of losing its events."""

from __future__ import annotations

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

    def update(self, partition: str, max_ts: int | None, *, finished: bool = False) -> None:
        if max_ts is not None and max_ts > self.max_ts.get(partition, NO_TIME):
            self.max_ts[partition] = int(max_ts)
        elif partition not in self.max_ts:
            self.max_ts[partition] = NO_TIME
        if finished:
            self.finished.add(partition)

    @property
    def watermark(self) -> int:
        if len(self.max_ts) < self.n_partitions:
            return NO_TIME
        live = [t for p, t in self.max_ts.items() if p not in self.finished]
        return min(live) if live else END_OF_TIME

    def snapshot(self) -> dict[str, object]:
        return {"n": self.n_partitions, "max_ts": dict(self.max_ts), "done": set(self.finished)}

    @classmethod
    def restore(cls, state: dict[str, object]) -> PartitionProgress:
        return cls(
            int(state["n"]),  # type: ignore[call-overload]
            dict(state["max_ts"]),  # type: ignore[call-overload]
            set(state["done"]),  # type: ignore[call-overload]
        )
