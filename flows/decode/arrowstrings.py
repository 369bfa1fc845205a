"""Zero-copy numpy views of an Arrow string column.

Why: turning a column of 50,000 strings into Python objects costs more than parsing the JSON
they came from.  The Arrow layout (one byte buffer plus offsets) lets numpy work on all the
strings at once: timestamps are parsed from it, and fixed-width identifiers become a numpy
`S<n>` array without touching Python strings.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa


def _as_large_string(array: pa.Array | pa.ChunkedArray) -> pa.LargeStringArray:
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks() if array.num_chunks != 1 else array.chunk(0)
    if not pa.types.is_large_string(array.type):
        array = array.cast(pa.large_string())
    return array


def string_buffers(
    array: pa.Array | pa.ChunkedArray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(bytes as uint8, start of each value, length of each value, valid mask)."""
    arr = _as_large_string(array)
    n = len(arr)
    _, offsets_buf, data_buf = arr.buffers()
    if offsets_buf is None or n == 0:
        empty = np.zeros(0, dtype=np.int64)
        return np.zeros(0, dtype=np.uint8), empty, empty, np.zeros(0, dtype=bool)
    offsets = np.frombuffer(offsets_buf, dtype=np.int64)[arr.offset : arr.offset + n + 1]
    data = (
        np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.zeros(0, np.uint8)
    )
    valid = (
        np.ones(n, dtype=bool)
        if arr.null_count == 0
        else np.asarray(arr.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    )
    starts = offsets[:-1]
    return data, starts, offsets[1:] - starts, valid


def fixed_width_bytes(array: pa.Array | pa.ChunkedArray) -> np.ndarray | None:
    """The column as a numpy `S<n>` array when every value is non-null and n bytes long.

    None otherwise (mixed lengths or nulls): the caller then takes the general path.
    """
    data, starts, lengths, valid = string_buffers(array)
    n = len(starts)
    if n == 0 or not valid.all():
        return None
    width = int(lengths[0])
    if width == 0 or not np.all(lengths == width):
        return None
    contiguous = data[int(starts[0]) : int(starts[0]) + n * width]
    return contiguous.view(f"S{width}")


def to_str_array(array: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """The column as a numpy unicode array ('' for nulls), for lookups keyed by str."""
    fixed = fixed_width_bytes(array)
    if fixed is not None:
        try:
            return fixed.astype(f"U{fixed.dtype.itemsize}")  # ASCII ids: a plain widening
        except UnicodeDecodeError:
            pass  # non-ASCII ids: decode them one by one below
    values = _as_large_string(array).fill_null("").to_pylist()
    return np.array(values, dtype=str) if values else np.zeros(0, dtype="U1")
