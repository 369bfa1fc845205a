"""Event-time windows over columnar batches: panes of numpy accumulators per area, closed by
a watermark that is the minimum over input partitions, rolled up to coarser area levels."""

from .aggregate import AGGREGATES
from .engine import ClosedWindows, IndicatorWindows, WindowSpec
from .progress import PartitionProgress

__all__ = [
    "AGGREGATES",
    "ClosedWindows",
    "IndicatorWindows",
    "PartitionProgress",
    "WindowSpec",
]
