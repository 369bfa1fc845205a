"""What happens to one indicator's share of the stream, without Bytewax: windows, closed by
the watermark of all input partitions.  The Bytewax flow wraps one of these per indicator key
(its state is sharded across workers by indicator); tests and backtests call it directly."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from flows.plan import IndicatorPlan, Routed
from flows.windows import ClosedWindows, IndicatorWindows, PartitionProgress
from flows.windows.progress import END_OF_TIME, NO_TIME


@dataclass
class Step:
    """What one call produced: closed windows, and the events that came too late."""

    closed: list[ClosedWindows] = field(default_factory=list)
    late: int = 0
    late_events: Routed | None = None  # the late events themselves, for the dead letters


class IndicatorRuntime:
    def __init__(
        self,
        plan: IndicatorPlan,
        n_partitions: int,
        state: dict[str, object] | None = None,
        idle_after_s: float | None = None,
    ) -> None:
        """`idle_after_s`: live sources only (see PartitionProgress): a partition silent that
        long stops holding the watermark back."""
        self.plan = plan
        self.windows: IndicatorWindows = plan.new_windows()
        idle_ms = None if idle_after_s is None else int(idle_after_s * 1000)
        self.progress = PartitionProgress(n_partitions, idle_after_ms=idle_ms)
        if state is not None:
            self.windows.restore(state["windows"])  # type: ignore[arg-type]
            self.progress = PartitionProgress.restore(
                state["progress"],  # type: ignore[arg-type]
                idle_after_ms=idle_ms,
            )

    def on_batch(
        self, routed: Routed, partition: str, partition_max_ts: int | None, finished: bool
    ) -> Step:
        """One batch of `partition` (its largest time `partition_max_ts`); `finished`: the
        partition's input has ended, so it no longer holds the watermark back."""
        step = Step()
        before = self.progress.watermark
        self.progress.update(partition, partition_max_ts)
        if len(routed):
            arrived = arrival_watermarks(routed, before, self.progress.watermark)
            late, step.closed = self.windows.ingest(routed.area, routed.ts, routed.value, arrived)
            step.late = int(np.count_nonzero(late))
            if step.late:
                step.late_events = routed.take(late)
        if finished:
            self.progress.update(partition, None, finished=True)
        step.closed += self._close(self.progress.watermark)
        return step

    def on_quiet(self) -> Step:
        """No batch for a while (live sources): close what the watermark allows now that idle
        partitions have left it (PartitionProgress), so a stream that stops still closes the
        windows its last events completed."""
        return Step(closed=self._close(self.progress.watermark))

    def on_eof(self) -> Step:
        return Step(closed=self._close(END_OF_TIME))

    def _close(self, watermark: int) -> list[ClosedWindows]:
        """Close what `watermark` allows.  Once every input has ended (END_OF_TIME), first
        what the latest time any of them showed allows, as a watermark there would (with the
        zeros and no-signal rows of quiet areas), then every window still open: so the end
        closes the same windows whichever input ended last, a short file or the longest."""
        if watermark != END_OF_TIME:
            return self.windows.close_until(watermark)
        latest = max(self.progress.max_ts.values(), default=NO_TIME)
        return self.windows.close_until(latest) + self.windows.close_until(END_OF_TIME)

    def snapshot(self) -> dict[str, object]:
        return {"windows": self.windows.snapshot(), "progress": self.progress.snapshot()}


def arrival_watermarks(routed: Routed, before: int, after: int) -> np.ndarray:
    """The watermark when each row of a batch arrived, the batch having moved it from
    `before` to `after`.

    The watermark is the minimum over partitions of how far each has got; within the batch
    only its own partition moves, to `routed.high` at each row (the running maximum of the
    times accepted so far, wild ones refused at decode: flows.decode.clock).  The minimum of
    that and the other partitions' progress is that running maximum held between the
    watermarks before and after the batch, whatever the other partitions are at."""
    # without `high`, the rows (in arrival order) are all the partition's batch holds
    arrived = np.maximum.accumulate(routed.ts) if routed.high is None else routed.high.copy()
    return np.clip(arrived, before, max(before, after), out=arrived)
