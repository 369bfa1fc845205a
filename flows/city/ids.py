"""Batch lookup of fixed-width ASCII ids (sensor ids, venue ids) to row indices.

Decoding millions of readings a second cannot afford a Python dict lookup per record.  Ids that
follow a fixed pattern ("AA-DDDDDD-DDDDDD": A a capital letter, D a digit, anything else a
literal) are turned into one int64 each -- a mixed-radix number that sorts like the id -- and
a whole batch is looked up with one `np.searchsorted` on integers.  Ids without a pattern are
searched as sorted bytes (about ten times slower).  Unknown, malformed, too long or non-ASCII
ids come back as -1.

Registered ids are usually numbered densely inside their prefix (AQ-310101-000001, -000002,
...), so the integer keys fill a few dense runs: then a table with one slot per possible key of
each run (`DenseKeys`) answers with one gather instead of a sort and a search, about four
times faster on a million sensors."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
BytesArray = npt.NDArray[np.bytes_]
_NOT_ASCII = b"\xff"  # can never match: registered ids are printable ASCII


def _ascii(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        try:
            return value.encode("ascii")
        except UnicodeEncodeError:
            return _NOT_ASCII
    return _NOT_ASCII


def _unicode_to_bytes(arr: npt.NDArray[np.str_], width: int) -> BytesArray:
    """U -> S{width} through the code points: numpy's own astype is ten times slower."""
    chars = arr.dtype.itemsize // 4
    points = arr.view(np.uint32).reshape(-1, chars)
    out = np.zeros((points.shape[0], width), dtype=np.uint8)
    keep = min(chars, width)
    head = points[:, :keep]
    out[:, :keep] = head  # truncated code points only matter where not ASCII; see below
    not_ascii = (head > 127).any(axis=1)
    out[not_ascii, 0] = _NOT_ASCII[0]
    return out.view(f"S{width}").ravel()


def as_fixed_bytes(ids: npt.ArrayLike, width: int) -> tuple[BytesArray, npt.NDArray[np.bool_]]:
    """(ids as S{width}, mask of those that fit in `width` bytes).

    Strings longer than `width` would be silently truncated by numpy (and could then match a
    different id), so they are flagged instead."""
    arr = np.asarray(ids).ravel()
    if arr.dtype.kind == "S" and arr.dtype.itemsize <= width:  # nothing to truncate
        return arr.astype(f"S{width}", copy=False), np.ones(arr.shape[0], dtype=bool)
    wide_dtype = np.dtype(f"S{width + 1}")
    wide: BytesArray
    if arr.dtype.kind == "U":
        wide = _unicode_to_bytes(arr, width + 1)
    elif arr.dtype.kind == "S":
        wide = arr.astype(wide_dtype)
    else:
        wide = np.array([_ascii(v) for v in arr.tolist()], dtype=wide_dtype)
    fits = wide.view(np.uint8).reshape(-1, width + 1)[:, width] == 0
    return wide.astype(f"S{width}"), fits


class IdPattern:
    """A fixed-width id layout: "A" a capital letter, "D" a digit, any other character itself.

    `keys` maps ids to int64 numbers that sort like the ids (-1 where an id does not fit)."""

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self.width = len(pattern)
        radix = {"A": 26, "D": 10}
        capacity = 1
        for ch in pattern:
            capacity *= radix.get(ch, 1)
        if capacity >= 2**63:
            raise ValueError(f"id pattern {pattern!r} has too many variable places for int64")

    def divisors(self) -> list[int]:
        """Products of the radices of the last 1, 2, ... variable places: dividing a key by
        one cuts the id at that place (e.g. 10**6 splits "AA-DDDDDD-" from its serial)."""
        out, product = [], 1
        for ch in reversed(self.pattern):
            if ch in "AD":
                product *= 26 if ch == "A" else 10
                out.append(product)
        return out

    def keys(self, raw: BytesArray) -> IntArray:
        """Keys of ids given as S{width} bytes (shorter ids are NUL-padded and fail)."""
        m = raw.view(np.uint8).reshape(-1, self.width)
        var = [j for j, ch in enumerate(self.pattern) if ch in "AD"]
        lit = [j for j, ch in enumerate(self.pattern) if ch not in "AD"]
        base = np.array(
            [ord("A") if self.pattern[j] == "A" else ord("0") for j in var], dtype=np.uint8
        )
        radix = np.array([26 if self.pattern[j] == "A" else 10 for j in var], dtype=np.uint8)
        digits = m[:, var] - base  # uint8 arithmetic: bytes below the base wrap to >= 128
        ok = (digits < radix).all(axis=1)
        if lit:
            literal = np.frombuffer("".join(self.pattern[j] for j in lit).encode(), np.uint8)
            ok &= (m[:, lit] == literal).all(axis=1)
        key = _combine(digits, [int(r) for r in radix])
        return np.where(ok, key, -1)


def _combine(digits: npt.NDArray[np.uint8], radices: list[int]) -> IntArray:
    """Mixed-radix number of each row of digits, neighbours combined pairwise.

    Pairing the columns level by level, in the narrowest integer type that holds each level,
    takes a few whole-matrix operations instead of one int64 pass per digit (half the time
    for a 14-place id)."""
    n, places = digits.shape
    if places == 0:
        return np.zeros(n, dtype=np.int64)
    vals: npt.NDArray[Any] = digits
    caps = list(radices)
    while vals.shape[1] > 1:
        odd = vals.shape[1] % 2  # a leftover first column rides alone to the next level
        lo_caps = caps[odd + 1 :: 2]
        new_caps = [a * b for a, b in zip(caps[odd::2], lo_caps, strict=True)]
        top = max(new_caps + caps[:odd])
        dtype = np.uint16 if top < 2**16 else np.uint32 if top < 2**32 else np.int64
        pairs = vals[:, odd::2].astype(dtype) * np.array(lo_caps, dtype=dtype)
        pairs += vals[:, odd + 1 :: 2]
        if odd:
            pairs = np.concatenate([vals[:, :1].astype(dtype), pairs], axis=1)
        vals, caps = pairs, caps[:odd] + new_caps
    return vals[:, 0].astype(np.int64)


class DenseKeys:
    """Row of each non-negative integer key through a table of dense blocks.

    Keys are cut as `key // divisor` (the block) and `key % divisor` (the place in it); each
    block gets slots up to its largest place.  Worth it only when the slots are not many more
    than the keys (`build` returns None otherwise)."""

    MAX_SLOTS_PER_KEY = 2

    def __init__(
        self,
        divisor: int,
        block: IntArray,
        base: IntArray,
        size: IntArray,
        table: npt.NDArray[Any],
    ) -> None:
        self.divisor = divisor
        self.block, self.base, self.size, self.table = block, base, size, table
        # block numbers usually span a short range (the areas of one city): then a directory
        # finds a key's block with one gather, ten times faster than a binary search
        self.directory: IntArray | None = None
        span = int(block[-1] - block[0]) + 1
        if span <= 4 * len(block) + 4096:
            self.directory = np.zeros(span, dtype=np.int64)
            self.directory[block - block[0]] = np.arange(len(block))

    @classmethod
    def build(cls, sorted_keys: IntArray, rows: IntArray, divisors: list[int]) -> DenseKeys | None:
        """From keys in increasing order (no repeats) and the row of each."""
        n = len(sorted_keys)
        if n == 0 or int(sorted_keys[0]) < 0:
            return None
        best: tuple[int, int, int] | None = None  # (slots, blocks, divisor)
        for divisor in divisors:
            hi = sorted_keys // divisor
            ends = np.append(np.flatnonzero(hi[1:] != hi[:-1]), n - 1)
            slots = int((sorted_keys[ends] % divisor).sum()) + len(ends)
            if best is None or (slots, len(ends)) < best[:2]:
                best = (slots, len(ends), divisor)
        if best is None or best[0] > cls.MAX_SLOTS_PER_KEY * n + 4096:
            return None
        divisor = best[2]
        hi, lo = np.divmod(sorted_keys, divisor)
        ends = np.append(np.flatnonzero(hi[1:] != hi[:-1]), n - 1)
        size = lo[ends] + 1
        base = np.concatenate(([0], np.cumsum(size)[:-1])).astype(np.int64)
        block_of = np.repeat(np.arange(len(ends)), np.diff(np.concatenate(([-1], ends))))
        row_type = np.int32 if n < 2**31 else np.int64
        table = np.full(int(size.sum()), -1, dtype=row_type)
        table[base[block_of] + lo] = rows
        return cls(divisor, hi[ends], base, size, table)

    def lookup(self, keys: IntArray) -> IntArray:
        """Row of each key, -1 for keys not in the table (negative keys included)."""
        hi, lo = np.divmod(keys, self.divisor)
        if self.directory is not None:
            b = np.clip(hi - self.block[0], 0, len(self.directory) - 1)
            b = self.directory[b]
        else:
            b = np.searchsorted(self.block, hi)
            np.minimum(b, len(self.block) - 1, out=b)
        ok = (self.block[b] == hi) & (lo < self.size[b]) & (keys >= 0)
        slot = self.base[b] + lo
        slot[~ok] = 0
        return np.where(ok, self.table[slot], -1).astype(np.int64, copy=False)


class DuplicateIdError(ValueError):
    """An id column lists an id more than once: the id, its first two rows and how often."""

    def __init__(self, id_: str, rows: tuple[int, int], count: int) -> None:
        super().__init__(f"duplicate id {id_!r}")
        self.id, self.rows, self.count = id_, rows, count


class IdIndex:
    """Row index of every id of a fixed-width id column.

    `pattern` is a hint: when every id follows it, lookups search integers; otherwise (ids
    from some other numbering) they fall back to searching the bytes."""

    def __init__(self, ids: BytesArray, pattern: str | None = None) -> None:
        if ids.dtype.kind != "S":
            raise TypeError(f"ids must be a numpy bytes array (dtype S), not {ids.dtype}")
        self.width = ids.dtype.itemsize
        self._pattern: IdPattern | None = None
        column: npt.NDArray[Any] = ids
        if pattern is not None and len(pattern) == self.width:
            keys = IdPattern(pattern).keys(ids)
            if not np.any(keys < 0):
                self._pattern, column = IdPattern(pattern), keys
        self._order: IntArray | None = None
        self._sorted = column
        if column.size > 1 and not bool(np.all(column[1:] > column[:-1])):
            order = np.argsort(column, kind="stable").astype(np.int64)
            sorted_col = column[order]
            dup = sorted_col[1:] == sorted_col[:-1]
            if np.any(dup):
                k = int(np.argmax(dup))
                rows = np.sort(order[sorted_col == sorted_col[k]])
                first = ids[rows[0]].decode("ascii", "replace")
                raise DuplicateIdError(first, (int(rows[0]), int(rows[1])), int(rows.size))
            self._order, self._sorted = order, sorted_col
        self._dense: DenseKeys | None = None
        if self._pattern is not None:
            rows = self._order if self._order is not None else np.arange(len(self._sorted))
            self._dense = DenseKeys.build(self._sorted, rows, self._pattern.divisors())

    @property
    def searches_integers(self) -> bool:
        return self._pattern is not None

    @property
    def uses_table(self) -> bool:
        """Are lookups answered by a table of dense id blocks (no search at all)?"""
        return self._dense is not None

    def __len__(self) -> int:
        return int(self._sorted.shape[0])

    def lookup(self, ids: npt.ArrayLike) -> IntArray:
        """Row of each id, -1 for ids that are not registered (vectorised)."""
        q, fits = as_fixed_bytes(ids, self.width)
        if len(self) == 0:
            return np.full(q.shape, -1, dtype=np.int64)
        needle: npt.NDArray[Any] = q
        if self._pattern is not None:
            needle = self._pattern.keys(q)
            fits &= needle >= 0
            if self._dense is not None:
                return np.where(fits, self._dense.lookup(needle), -1)
        # Sorted needles make searchsorted walk the table in order instead of jumping around
        # it: about ten times faster on large tables, far more than the sort costs.
        by_value = np.argsort(needle)
        pos = np.empty(needle.shape[0], dtype=np.int64)
        pos[by_value] = np.searchsorted(self._sorted, needle[by_value])
        np.minimum(pos, len(self) - 1, out=pos)
        hit = (self._sorted[pos] == needle) & fits
        rows = pos if self._order is None else self._order[pos]
        return np.where(hit, rows, -1)
