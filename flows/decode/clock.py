"""The stream's own time, and the records absurdly far from it.

A reading stamped 2099, or 1970 because a device lost its clock, would stretch every window
it touches and drag watermarks around.  Such records are refused at decode: more than
`max_ahead_ms` ahead of, or `max_behind_ms` behind, the stream's time, give or take the
records' own spread in time (below).

The stream's time is taken from the data, robustly: each batch is cut into blocks of
`block` records in arrival order and the median timestamp of each block is a vote.  A few
wild timestamps cannot move a median, while a real jump (a replay moving on, a gap in a
sparse stream) moves every later block and so is followed at once.  The time never goes
back.  Ordinary lateness is not judged here: that is the windows engine's business.

A block is a count of records, not a span of time: 64 readings of a dense stream span a
second, 64 hourly readings of one station span more than two days, and judging the latter
against their median alone refused their last hours as "too far ahead" (72 hourly readings
lost 16, two weeks of a small district's hotline 12 of 28).  So each block also gives its
reach: about twice the median distance of its records from its median (the median absolute
deviation, which half the block can be wild without moving; `_reach`), which for records in
time order is half the time the block spans, whatever their density.  A record is judged
against its block's time widened by that reach.  In a dense stream the reach is a second and
changes nothing; a wild timestamp (years ahead, epoch 0, milliseconds read as seconds) is
still far outside.  A reach is at most `max_reach_ms` (a year): where most of a small batch is
wild its spread is theirs, and a year still keeps out what is years off (it also means a
block may span two years: records sparser than one in 11 days lose its ends).  A batch
smaller than a block spreads at least as the block before it did (`reach_ms` carries it from
one batch to the next; like `pending_ms` it is not in the decoders' snapshots, so the first
small batch after a restart is judged without it).  For being ahead, a block's records are
also judged against the next block's vote: a real jump late in a block (a minority of it after
the jump) is confirmed by the block after it, which a few wild records cannot move.

A batch smaller than a block (the citizen channels deliver a few records at a time) is a weak
vote: one wild record in a batch of one or two would be its median.  Such a vote may move the
time further forward than `max_ahead_ms` plus the reaches of the block before it and of its
own only when a second small vote confirms the jump (lands within `max_ahead_ms` of it); until
then it is held back and the wild record is judged too far.  A real jump in a sparse stream
therefore costs its first record, not the whole stream: without this, one record stamped 9999
moved the time to 9999 and every later record was "too far".  The same holds for the first
batch of one or two records more than a day apart (no reach of their own, none before them).

Medians are lower medians (`_low_median`): a batch of four, two honest records and two
stamped 9999, votes an honest time with an honest reach; a mean of the two middle values
would vote halfway to 9999, with a reach over all four.
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
    max_reach_ms: int = 365 * DAY_MS  # a block's reach, at most (a majority of wild records)
    now_ms: int | None = None  # None until the first batch
    pending_ms: int | None = None  # a jump ahead voted by a small batch, not yet confirmed
    reach_ms: int = 0  # the reach of the last block that voted (a next small batch's jump test)

    def __post_init__(self) -> None:
        if self.block < 1:
            raise ValueError("StreamClock.block must be at least 1 record")
        if self.max_reach_ms < 0:
            raise ValueError("StreamClock.max_reach_ms must not be negative")
        for name in ("max_ahead_ms", "max_behind_ms"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ValueError(f"StreamClock.{name} must be positive (or None to disable)")

    def _votes(self, ts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each block's vote and reach, in order (see `_low_median` and `_reach`)."""
        n = len(ts)
        full = n // self.block
        medians, reaches = [], []
        for x in (
            ts[: full * self.block].reshape(full, self.block),
            ts[full * self.block :].reshape(1, -1),
        ):
            if x.size:
                m = _low_median(x)
                medians.append(m)
                reaches.append(_reach(_low_median(np.abs(x - m[:, None])), x.shape[1]))
        return np.concatenate(medians), np.minimum(np.concatenate(reaches), self.max_reach_ms)

    def _bounds(self, ts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per block: the earliest and the latest time a record of it may have."""
        n = len(ts)
        votes, reach = self._votes(ts)
        # a batch smaller than a block spreads at least as the stream did before it: one or
        # two records alone have no reach, the step to them is the stream's
        reach_before = int(reach[-2]) if len(votes) > 1 else self.reach_ms
        if n % self.block:
            reach[-1] = max(reach[-1], reach_before)
        if n % self.block and self.max_ahead_ms is not None:
            before = [self.now_ms] if self.now_ms is not None else []
            if len(votes) > 1:
                before.append(int(np.max(votes[:-1])))
            limit = self.max_ahead_ms + reach_before + reach[-1]
            if before and votes[-1] > max(before) + limit:
                vote = int(votes[-1])
                confirmed = (
                    self.pending_ms is not None and abs(vote - self.pending_ms) <= self.max_ahead_ms
                )
                self.pending_ms = None if confirmed else vote
                if not confirmed:
                    votes[-1] = max(before)  # held back: the small vote does not count yet
                    reach[-1] = reach_before  # nor does its spread
        block_time = np.maximum.accumulate(votes)
        if self.now_ms is not None:
            np.maximum(block_time, self.now_ms, out=block_time)
        self.now_ms = int(block_time[-1])
        self.reach_ms = int(reach[-1])
        lo = np.full(len(votes), np.iinfo(np.int64).min, dtype=np.int64)
        hi = np.full(len(votes), np.iinfo(np.int64).max, dtype=np.int64)
        if self.max_behind_ms is not None:
            lo = block_time - self.max_behind_ms - reach
        if self.max_ahead_ms is not None:
            # ahead: the next block's vote counts too (block_time is a running max)
            hi = np.append(block_time[1:], block_time[-1]) + self.max_ahead_ms + reach
        return lo, hi

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
        lo, hi = self._bounds(t)
        if self.max_ahead_ms is None and self.max_behind_ms is None:
            return far
        n = len(t)
        far[rows] = (t < np.repeat(lo, self.block)[:n]) | (t > np.repeat(hi, self.block)[:n])
        return far

    def snapshot(self) -> int | None:
        return self.now_ms


def _low_median(x: np.ndarray) -> np.ndarray:
    """Per row, the lower median: the ((n - 1) // 2)-th smallest value, not a mean of two.

    Half the row, no more, may be wild ahead without moving it (a row of two, one honest and
    one stamped 9999, has the honest one, where a mean would be halfway to 9999); wild values
    behind move it back, and the clock never goes back.  The same holds for the deviations.
    """
    k = (x.shape[1] - 1) // 2
    return np.partition(x, k, axis=1)[:, k]


def _reach(mad: np.ndarray, size: int) -> np.ndarray:
    """How far from its vote a block of `size` records in time order reaches, from its MAD.

    For evenly spaced records the median deviation is a quarter of the block's span, less
    half a step where the (lower) median's rank falls short: twice it and one step (the MAD
    over half its rank) reaches the block's first and last records.  A row of one or two
    records has a MAD of 0, and no reach.
    """
    k = max((size - 1) // 2, 1)
    return 2 * mad + 2 * mad // k
