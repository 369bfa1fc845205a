"""Batch lookup of fixed-width ASCII ids (sensor ids, venue ids) to row indices.

Decoding millions of readings a second cannot afford a Python dict lookup per record.  Ids that
follow a fixed pattern ("AA-DDDDDD-DDDDDD": A a capital letter, D a digit, anything else a
literal) are turned into one int64 each -- a mixed-radix number that sorts like the id -- and
a whole batch is looked up with one `np.searchsorted` on integers.  Ids without a pattern are
searched as sorted bytes (about ten times slower).  Unknown, malformed, too long or non-ASCII
ids come back as -1."""

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
        key = np.zeros(m.shape[0], dtype=np.int64)
        for j in range(len(var)):
            key *= int(radix[j])
            key += digits[:, j]
        return np.where(ok, key, -1)


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
                first = ids[order[1:][dup][0]].decode("ascii", "replace")
                raise ValueError(f"duplicate id {first!r}")
            self._order, self._sorted = order, sorted_col

    @property
    def searches_integers(self) -> bool:
        return self._pattern is not None

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
        # Sorted needles make searchsorted walk the table in order instead of jumping around
        # it: about ten times faster on large tables, far more than the sort costs.
        by_value = np.argsort(needle)
        pos = np.empty(needle.shape[0], dtype=np.int64)
        pos[by_value] = np.searchsorted(self._sorted, needle[by_value])
        np.minimum(pos, len(self) - 1, out=pos)
        hit = (self._sorted[pos] == needle) & fits
        rows = pos if self._order is None else self._order[pos]
        return np.where(hit, rows, -1)
