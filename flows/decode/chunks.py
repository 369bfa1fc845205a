"""The unit that sources hand to decoders: whole lines of raw bytes and where they came from.

Decoding works on many records at once (one parse call for thousands of lines), so sources
deliver chunks, not lines.  A chunk remembers its source and the line number of its first
line, so that each rejected record can be reported with its exact position.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

Format = Literal["ndjson", "csv"]
FORMATS: tuple[str, ...] = ("ndjson", "csv")


@dataclass(frozen=True, eq=False)
class RawChunk:
    """Whole lines of one source.

    `data` holds complete lines, each ending in a newline except perhaps the last.  For CSV,
    `header` is the file's header line and `data` never contains it.  `positions`, when given,
    is the position of each line (e.g. Kafka offsets); otherwise line i is at first_line + i.
    `last` marks the end of the source's input (`end_of`): no lines, and nothing after it.
    """

    source: str
    first_line: int
    data: bytes
    fmt: Format = "ndjson"
    header: bytes | None = None
    positions: np.ndarray | None = None
    last: bool = False

    def __post_init__(self) -> None:
        if self.fmt not in FORMATS:
            raise ValueError(f"unknown format {self.fmt!r}: use one of {', '.join(FORMATS)}")
        if self.fmt == "csv" and not self.header:
            raise ValueError(f"{self.source}: a CSV chunk needs the file's header line")

    @classmethod
    def end_of(cls, source: str) -> RawChunk:
        """The mark a source sends when the input of `source` has ended (a replayed file at
        its end, stdin closed): the flow then knows how far that input goes, and it stops
        holding the watermark back (flows.windows.progress)."""
        return cls(source, 0, b"", last=True)

    def position(self, line_index: int) -> int:
        """Position of the line_index-th line of this chunk (0-based index)."""
        if self.positions is not None:
            return int(self.positions[line_index])
        return self.first_line + line_index


def chunk_of_lines(
    source: str,
    lines: list[bytes],
    first_line: int = 1,
    fmt: Format = "ndjson",
    header: bytes | None = None,
) -> RawChunk:
    """A chunk from separate lines (tests, stdin, Kafka messages)."""
    data = b"".join(line if line.endswith(b"\n") else line + b"\n" for line in lines)
    return RawChunk(source, first_line, data, fmt, header)
