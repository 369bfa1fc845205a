"""The stream's own time, and the records absurdly far from it.

A reading stamped 2099, or 1970 because a device lost its clock, would stretch every window
it touches and drag watermarks around.  Such records are refused at decode: more than
`max_ahead_ms` ahead of, or `max_behind_ms` behind, the stream's time.

The stream's time is taken from the data, robustly: each batch is cut into blocks of
`block` records in arrival order and the median timestamp of each block is a vote.  A few
wild timestamps cannot move a median, while a real jump (a replay moving on, a gap in a
sparse stream) moves every later block and so is followed at once.  The time never goes
back.  Ordinary lateness is not judged here: that is the windows engine's business.

A batch smaller than a block (the citizen channels deliver a few records at a time) is a weak
vote: one wild record in a batch of one or two would be its median.  Such a vote may move the
time more than `max_ahead_ms` forward only when a second small vote confirms the jump (lands
within `max_ahead_ms` of it); until then it is held back and the wild record is judged too far.
A real jump in a sparse stream therefore costs its first record, not the whole stream: without
this, one record stamped 9999 moved the time to 9999 and every later record was "too far".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DAY_MS = 86_400_000


@dataclass
class StreamClock:
    max_ahead_ms: int | None = DAY_MS
    max_behind_ms: int | None = 30 * DAY_MS
    block: int = 64
    now_ms: int | None = None  # None until the first batch
    pending_ms: int | None = None  # a jump ahead voted by a small batch, not yet confirmed

    def __post_init__(self) -> None:
        if self.block < 1:
            raise ValueError("StreamClock.block must be at least 1 record")
        for name in ("max_ahead_ms", "max_behind_ms"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ValueError(f"StreamClock.{name} must be positive (or None to disable)")

    def _anchors(self, ts: np.ndarray) -> np.ndarray:
        """Stream time seen by each record: running max of block medians (and of now_ms)."""
        n = len(ts)
        full = n // self.block
        medians = []
        if full:
            medians.append(np.median(ts[: full * self.block].reshape(full, self.block), axis=1))
        if n % self.block:
            medians.append(np.array([np.median(ts[full * self.block :])]))
        votes = np.concatenate(medians)
        if n % self.block and self.max_ahead_ms is not None:
            before = [self.now_ms] if self.now_ms is not None else []
            if full:
                before.append(int(np.max(votes[:-1])))
            if before and votes[-1] > max(before) + self.max_ahead_ms:
                vote = int(votes[-1])
                confirmed = (
                    self.pending_ms is not None and abs(vote - self.pending_ms) <= self.max_ahead_ms
                )
                self.pending_ms = None if confirmed else vote
                if not confirmed:
                    votes[-1] = max(before)  # held back: the small vote does not count yet
        block_time = np.maximum.accumulate(votes).astype(np.int64)
        if self.now_ms is not None:
            np.maximum(block_time, self.now_ms, out=block_time)
        return np.repeat(block_time, self.block)[:n]

    def judge(self, ts: np.ndarray, usable: np.ndarray | None = None) -> np.ndarray:
        """Mask of records too far from the stream's time, and advance the time.

        `usable` marks the records whose timestamp parsed; the others are neither judged nor
        allowed to vote.
        """
        far = np.zeros(len(ts), dtype=bool)
        rows = np.flatnonzero(usable) if usable is not None else np.arange(len(ts))
        if len(rows) == 0:
            return far
        t = ts[rows]
        anchor = self._anchors(t)
        bad = np.zeros(len(t), dtype=bool)
        if self.max_ahead_ms is not None:
            bad |= t > anchor + self.max_ahead_ms
        if self.max_behind_ms is not None:
            bad |= t < anchor - self.max_behind_ms
        far[rows] = bad
        self.now_ms = int(anchor[-1])
        return far

    def snapshot(self) -> int | None:
        return self.now_ms
