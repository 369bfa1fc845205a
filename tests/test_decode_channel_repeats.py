"""The channel-wide memory of ids (`ChannelSeenIds`, `ChannelRepeatsLogic`) on its own: its
clock, its snapshots, and a resume from a snapshot written before it existed."""

from __future__ import annotations

import numpy as np

from flows.decode.chunks import RawChunk
from flows.decode.dedupe import ChannelSeenIds, SeenIds
from flows.flow import ChannelRepeatsLogic, Decoded, DecodeLogic, context
from tests.reliability.fuzz_inputs import hotline_warm_up

DAY = 86_400_000


def _chunk(source: str, lines: list[bytes]) -> RawChunk:
    return RawChunk(source, 0, b"\n".join(lines) + b"\n")


def _ids(decoded: Decoded) -> list[str]:
    assert decoded.batch is not None
    return list(decoded.batch.record_id)  # type: ignore[union-attr]


def test_the_channel_clock_is_the_latest_partition_s_and_never_goes_back() -> None:
    seen = ChannelSeenIds(SeenIds(horizon_ms=2 * DAY))
    assert seen.first_seen(["a"], 10 * DAY).tolist() == [True]
    # a partition replaying an older export: its clock is behind, the channel's is not
    assert seen.first_seen(["a", "b"], 1 * DAY).tolist() == [False, True]
    assert seen.now_ms == 10 * DAY
    assert seen.first_seen(["c"], None).tolist() == [True]  # no time yet: the channel's
    # forgotten only two days of the channel's time after it was first seen
    assert seen.first_seen(["a"], 11 * DAY).tolist() == [False]
    seen.first_seen([], 13 * DAY)
    assert seen.first_seen(["a"], 13 * DAY).tolist() == [True]


def test_merge_keeps_the_ids_in_time_order_and_their_own_times() -> None:
    seen = SeenIds(horizon_ms=10)
    seen.first_seen(["b", "c"], 100)
    seen.merge({"a": 50, "b": 1, "z": 120})
    assert seen.snapshot() == {"a": 50, "b": 100, "c": 100, "z": 120}
    assert list(seen.snapshot()) == ["a", "b", "c", "z"]
    seen.first_seen([], 115)  # forgets the oldest first
    assert list(seen.snapshot()) == ["z"]


def test_a_snapshot_older_than_the_channel_memory_hands_its_ids_over() -> None:
    """A partition decoder restored from a snapshot without the `channel_wide` mark (written
    before the channel step existed) passes its seen ids to the step with its first batch,
    once, so the step drops another file's copies of what was read before the upgrade."""
    from citysigns.paths import CATALOG_DIR

    ctx = context((str(CATALOG_DIR),))
    orders = hotline_warm_up(30)
    first = DecodeLogic(ctx, None)
    (decoded,), _ = first.on_batch([_chunk("a.ndjson@0", orders[:20])])
    assert decoded.seen_before is None and decoded.now_ms is not None
    state = first.snapshot()
    assert state["channel_wide"] is True
    old = {k: v for k, v in state.items() if k != "channel_wide"}  # as the old code wrote it

    restored = DecodeLogic(ctx, old)
    assert restored.snapshot()["channel_wide"] is False  # until the ids are handed over
    (later,), _ = restored.on_batch([_chunk("a.ndjson@0", orders[20:25])])
    assert later.seen_before is not None and len(later.seen_before) == 20
    assert restored.snapshot()["channel_wide"] is True
    (again,), _ = restored.on_batch([_chunk("a.ndjson@0", orders[25:])])
    assert again.seen_before is None

    step = ChannelRepeatsLogic(None)  # the step had no state in the old snapshot
    (kept,), _ = step.on_batch([later])
    assert len(_ids(kept)) == 5 and kept.seen_before is None
    other = DecodeLogic(ctx, None)  # another file of the channel: a copy of the first 25
    (copy,), _ = other.on_batch([_chunk("b.ndjson@0", orders[:25])])
    (dropped,), _ = step.on_batch([copy])
    assert _ids(dropped) == [] and dropped.dead.counts["duplicate"] == 25
    assert dropped.max_ts == copy.max_ts  # the partition's progress is kept

    resumed = ChannelRepeatsLogic(step.snapshot())
    (none,), _ = resumed.on_batch([copy])
    assert _ids(none) == []
    assert np.array_equal(none.batch.ts, np.zeros(0, np.int64))  # type: ignore[union-attr]


def test_the_ids_are_handed_over_at_the_first_wake_up_even_if_the_input_has_ended() -> None:
    """A partition whose input ended before the upgrade gets no chunk after the resume: its
    ids go to the step at its first wake-up (`notify_at` at once), as a handover without a
    partition, which the step learns and does not pass on."""
    from citysigns.paths import CATALOG_DIR

    ctx = context((str(CATALOG_DIR),))
    orders = hotline_warm_up(10)
    first = DecodeLogic(ctx, None)
    first.on_batch([_chunk("a.ndjson@0", orders)])
    old = {k: v for k, v in first.snapshot().items() if k != "channel_wide"}
    restored = DecodeLogic(ctx, old)
    assert restored.notify_at() is not None
    (handover,), _ = restored.on_notify()
    assert handover.partition == "" and handover.seen_before is not None
    assert restored.notify_at() is None and restored.snapshot()["channel_wide"] is True
    step = ChannelRepeatsLogic(None)
    assert list(step.on_batch([handover])[0]) == []
    copy, _ = DecodeLogic(ctx, None).on_batch([_chunk("b.ndjson@0", orders)])
    (dropped,), _ = step.on_batch(list(copy))
    assert _ids(dropped) == [] and dropped.dead.counts["duplicate"] == 10
