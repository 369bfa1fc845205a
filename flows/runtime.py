"""What happens to one indicator's share of the stream, without Bytewax: windows, closed by
the watermark of all input partitions.  The Bytewax flow wraps one of these per indicator key
(its state is sharded across workers by indicator); tests and backtests call it directly."""

from __future__ import annotations

from dataclasses import dataclass, field

from flows.plan import IndicatorPlan, Routed
from flows.windows import ClosedWindows, IndicatorWindows, PartitionProgress
from flows.windows.progress import END_OF_TIME


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
        step = Step()
        if len(routed):
            late = self.windows.add(routed.area, routed.ts, routed.value)
            step.late = int(late.sum())
            if step.late:
                value = None if routed.value is None else routed.value[late]
                step.late_events = Routed(routed.area[late], routed.ts[late], value)
        self.progress.update(partition, partition_max_ts, finished=finished)
        step.closed = self.windows.close_until(self.progress.watermark)
        return step

    def on_quiet(self) -> Step:
        """No batch for a while (live sources): close what the watermark allows now that idle
        partitions have left it (PartitionProgress), so a stream that stops still closes the
        windows its last events completed."""
        return Step(closed=self.windows.close_until(self.progress.watermark))

    def on_eof(self) -> Step:
        return Step(closed=self.windows.close_until(END_OF_TIME))

    def snapshot(self) -> dict[str, object]:
        return {"windows": self.windows.snapshot(), "progress": self.progress.snapshot()}
