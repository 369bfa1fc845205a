"""Dead letters of refused rows in bulk: their masked records without parsing each line.

Why: the sensor decoder finds the rows it refuses with numpy masks over the whole chunk (a
value beyond its field's physical range, an unknown sensor or field, a bad timestamp...), but
it wrote their letters one row at a time: parse the line again with `json`, walk it for
names, mask every string, write it back as JSON, read the row out of polars for the detail.
That was about 66 µs a letter: a fleet sending one impossible value in ten cut decoding from
about 0.9M to 0.1M records/s.

A refused NDJSON line's masked record is `dumps(mask_record(json.loads(line)))`
(`flows.privacy.mask_raw_json`).  Most of the time it is known without parsing the line:
the line's cells are already in the chunk's columns.  Written back as JSON (keys in column
order, strings as json writes them, numbers as Python writes them), they give a text; when
that text *is* the line (compact, or with json.dumps' default spaces), json.loads(line) gives
exactly those cells, so when no key is personal and masking leaves every key and string as it
is, the masked record is that text in compact form.  The comparison with the line proves it for
each row; a row it does not prove (keys in another order, a number written `1e3`, a null, a
name field, a string that masking changes) takes the per-row path, so the letters are the
same either way (tests/test_decode_refusals.py compares the two).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from json.encoder import encode_basestring  # what json.dumps(ensure_ascii=False) writes
from typing import Any

import numpy as np
import polars as pl

from flows.privacy import is_personal_field, mask_text, nothing_to_mask, unmaskable_ids

# strings longer than this (a 200 kB id) are judged each time, not remembered
_MAX_REMEMBERED = 256
# ids up to this long are judged by the layout of their digits (longer ones one by one)
_MAX_LAID_OUT = 64
# an integer JSON number at least this large may be masked like a phone number (privacy):
# its row is not proven here, and takes the per-row path
_MASKED_INTEGER = 10**10


@functools.lru_cache(maxsize=1 << 16)
def _masking_keeps_remembered(text: str) -> bool:
    return mask_text(text) == text


def masking_keeps(text: str) -> bool:
    """Does `mask_text` leave `text` as it is?  Remembered for short strings: timestamps,
    metrics and unregistered sensors' ids come back chunk after chunk."""
    if nothing_to_mask(text):
        return True
    if len(text) > _MAX_REMEMBERED:
        return mask_text(text) == text
    return _masking_keeps_remembered(text)


def masked_text(text: str) -> str:
    """`mask_text(text)`, without running its patterns where nothing can match."""
    return text if nothing_to_mask(text) else mask_text(text)


class RegisteredIds:
    """Whether masking keeps each registered sensor's id as it is, judged once per row.

    A faulty fleet's refused readings name the same sensors chunk after chunk, and their ids
    ("AQ-310105-000002") hold enough digits that mask_text tries all its patterns (about
    5 µs).  New ids are judged together by the layout of their digits
    (`flows.privacy.unmaskable_ids`), the few it cannot clear by mask_text.  A registry row's
    verdict holds for any text that finds that row: the registry answers a row only for its
    own id, byte for byte, once ids with a NUL (which fixed-width bytes drop) are left out;
    those and unknown ids are judged as they come."""

    def __init__(self, rows: int) -> None:
        self._rows = rows
        self._verdict: np.ndarray | None = None  # int8 per row: 0 not judged, 1 kept, 2 masked

    def kept(self, rows: np.ndarray, ids: list[str | None]) -> np.ndarray:
        """Mask over `ids` (sensor_id cells, `rows` their registry rows, -1 unknown): True
        where masking leaves the id as it is (or there is none)."""
        if self._verdict is None:
            self._verdict = np.zeros(self._rows, dtype=np.int8)
        verdict = self._verdict
        rows = np.asarray(rows, dtype=np.int64)
        nul = np.array([s is not None and "\x00" in s for s in ids], dtype=bool)
        registered = (rows >= 0) & ~nul
        state = np.where(registered, verdict[np.where(registered, rows, 0)], 0)
        todo = np.flatnonzero(state == 0).tolist()
        plain: list[int] = []
        texts: list[str] = []
        for j in todo:
            text = ids[j]
            if text is not None and len(text) <= _MAX_LAID_OUT and text.isascii() and not nul[j]:
                plain.append(j)
                texts.append(text)
        if plain:  # most ids are cleared at once, by where their digits are
            state[np.array(plain)[unmaskable_ids(np.array(texts, dtype="S"))]] = 1
        for j in todo:
            text = ids[j]
            if text is None:
                state[j] = 1
            elif state[j] == 0:
                state[j] = 1 if masking_keeps(text) else 2
            if registered[j]:
                verdict[rows[j]] = state[j]
        return np.asarray(state == 1)


class Cells:
    """The cells of a chunk's refused rows, each column taken out of polars once.

    Why: a polars call costs 0.05-0.3 ms (more on a busy machine), and the details and the
    records need a few things of each column: dozens of calls a chunk were a good part of
    the letters' time."""

    def __init__(self, df: pl.DataFrame) -> None:
        self.df = df
        self.height = df.height
        self.columns: list[str] = df.columns
        self._present: dict[str, np.ndarray] = {}
        self._floats: dict[str, np.ndarray] = {}
        self._values: dict[str, list[Any]] = {}

    def dtype(self, name: str) -> pl.DataType | None:
        return self.df.schema.get(name)

    def present(self, name: str) -> np.ndarray:
        """Where the column has a cell (all False for a column the chunk does not have)."""
        if name not in self._present:
            if name not in self.df.columns:
                self._present[name] = np.zeros(self.height, dtype=bool)
            else:
                self._present[name] = self.df[name].is_not_null().to_numpy()
        return self._present[name]

    def floats(self, name: str) -> np.ndarray:
        """A Float64 column as float64 (NaN where absent: see `present`)."""
        if name not in self._floats:
            self._floats[name] = self.df[name].to_numpy().astype(np.float64, copy=False)
        return self._floats[name]

    def values(self, name: str) -> list[Any]:
        """The cells as Python values, as a polars row gives them (None where absent)."""
        if name not in self._values:
            if name not in self.df.columns:
                self._values[name] = [None] * self.height
            else:
                self._values[name] = self.df[name].to_list()
        return self._values[name]


def _number_texts(values: np.ndarray, at: np.ndarray, m: int) -> tuple[list[str], list[str] | None]:
    """How json.dumps writes the floats `values` of the rows `at` (repr; NaN, Infinity), in a
    list over `m` rows; and the same list with whole values written as integers (None when
    there are none): a producer's `-50` is read as -50.0 by the columns, and json.loads gives
    the integer back."""
    texts = [""] * m
    for j, text in zip(at.tolist(), map(float.__repr__, values.tolist()), strict=True):
        texts[j] = text
    finite = np.isfinite(values)
    for j in np.flatnonzero(~finite).tolist():
        v = float(values[j])
        texts[int(at[j])] = "NaN" if v != v else ("Infinity" if v > 0 else "-Infinity")
    with np.errstate(invalid="ignore"):
        whole = np.flatnonzero(
            finite & (values == np.trunc(values)) & (np.abs(values) < _MASKED_INTEGER)
        )
    if len(whole) == 0:
        return texts, None
    ints = list(texts)
    for j, v in zip(at[whole].tolist(), values[whole].astype(np.int64).tolist(), strict=True):
        ints[j] = str(v)
    return texts, ints


def _shapes(present: np.ndarray) -> np.ndarray:
    """A number per row telling which columns it has (rows with the same columns, the same
    number), over a (rows, columns) mask."""
    if present.shape[1] <= 62:
        return np.asarray(present.astype(np.int64) @ (np.int64(1) << np.arange(present.shape[1])))
    _, inverse = np.unique(present, axis=0, return_inverse=True)
    return np.asarray(inverse).ravel()


def plain_records(
    refused: Cells, raws: list[str], judged: Mapping[str, np.ndarray] | None = None
) -> list[str | None]:
    """The masked record of each refused row (`refused`: their cells, `raws`: their lines as
    text) where the line is proven to be the JSON text of its cells (see the module's
    docstring); None where the row must take the per-row path.

    `judged`: per string column, a mask over the rows of where masking is already known to
    keep the cell as it is (the sensor ids, `RegisteredIds`); other strings are judged here."""
    m = refused.height
    out: list[str | None] = [None] * m
    if m == 0:
        return out
    judged = judged or {}
    usable = np.ones(m, dtype=bool)
    kept: list[tuple[str, np.ndarray]] = []  # the columns written back, and where they are
    for name in refused.columns:
        has = refused.present(name)
        if not has.any():
            continue
        dtype = refused.dtype(name)
        # a personal field's value is blanked elsewhere in the record too; a key holding a
        # phone number is masked itself
        if is_personal_field(name) or not masking_keeps(name):
            usable &= ~has
        elif dtype == pl.String:
            keeps = judged.get(name)
            if keeps is None:  # (a chunk's timestamps are a few distinct texts)
                cells = refused.values(name)
                verdict = {s: masking_keeps(s) for s in set(cells) if s is not None}
                keeps = np.array([s is None or verdict[s] for s in cells], dtype=bool)
            usable &= keeps | ~has
            kept.append((name, has))
        elif dtype == pl.Float64:
            # a whole number of 11 digits or more may be a phone number that masking takes
            # (a float or an integer in the line): such rows take the per-row path
            with np.errstate(invalid="ignore"):
                values = refused.floats(name)
                large = (np.abs(values) >= _MASKED_INTEGER) & (values == np.trunc(values))
            usable &= ~(has & large)
            kept.append((name, has))
        else:  # no other type is written back here
            usable &= ~has
    # the cells as json writes them, for the rows that may be proven only
    names: list[str] = []
    present_cols: list[np.ndarray] = []
    cells_as_json: list[tuple[list[str], list[str] | None]] = []  # as written, as integers
    for name, has in kept:
        at = np.flatnonzero(has & usable)
        if len(at) == 0:
            continue
        if refused.dtype(name) == pl.Float64:
            cells_as_json.append(_number_texts(refused.floats(name)[at], at, m))
        else:
            texts = [""] * m
            strings = refused.values(name)
            for j in at.tolist():
                texts[j] = encode_basestring(strings[j])
            cells_as_json.append((texts, None))
        names.append(name)
        present_cols.append(has)
    candidates = np.flatnonzero(usable)
    if len(candidates) == 0:
        return out
    present = np.stack(present_cols, axis=1) if present_cols else np.zeros((m, 0), dtype=bool)
    shape_of = _shapes(present[candidates])
    order = np.argsort(shape_of, kind="stable")
    bounds = np.flatnonzero(np.diff(shape_of[order])) + 1
    for group in np.split(candidates[order], bounds):
        members = group.tolist()
        cols = np.flatnonzero(present[members[0]]).tolist()
        keys = [encode_basestring(names[c]).replace("%", "%%") for c in cols]
        compact = "{" + ",".join(k + ":%s" for k in keys) + "}"
        spaced = "{" + ", ".join(k + ": %s" for k in keys) + "}"
        forms = [[cells_as_json[c][0] for c in cols]]
        if any(cells_as_json[c][1] is not None for c in cols):
            forms.append([cells_as_json[c][1] or cells_as_json[c][0] for c in cols])
        for form in forms:
            left = []
            rows = zip(*([texts[j] for j in members] for texts in form), strict=True)
            for j, row in zip(members, rows if form else [()] * len(members), strict=True):
                text = compact % row
                raw = raws[j]
                if text == raw or spaced % row == raw:
                    out[j] = text
                else:
                    left.append(j)
            members = left
            if not members:
                break
    return out
