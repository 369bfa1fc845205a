"""JSON text that can always be written as UTF-8.

Output lines keep Chinese text readable (`ensure_ascii=False`), but JSON lets a record carry
a lone UTF-16 surrogate (`"\\ud800"`), which `json.loads` accepts and no UTF-8 encoder will
write: one such string in a dead letter or an order stopped the whole flow at its file sink.
`dumps` writes those code points back as the escapes they came in as, so the line is valid
JSON, reads back to the same string, and encodes."""

from __future__ import annotations

import json
import re
from typing import Any

_SURROGATE_RE = re.compile("[\ud800-\udfff]")
#: escapes worth a closer look in raw NDJSON: NUL, and halves of UTF-16 pairs
SUSPECT_ESCAPE_RE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})")
LONE_SURROGATE = "a string holds a lone UTF-16 surrogate escape (\\ud800-\\udfff), not text"
NUL_CHARACTER = "a string holds a NUL character (\\u0000)"
MAX_DEPTH = 32  # as privacy.MAX_DEPTH


def escape_surrogates(text: str) -> str:
    """`text` with every lone surrogate written as a JSON escape (\\udxxx)."""
    if text.isascii():
        return text
    return _SURROGATE_RE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def not_text(value: Any, depth: int = 0) -> str | None:
    """Why a decoded JSON value is not plain text, or None.

    Two escapes decode to strings that nothing downstream can keep: a lone surrogate
    (`\\ud800`: no character at all, and no UTF-8 writer takes it) and NUL (`\\u0000`:
    numpy's fixed-width strings drop trailing NULs, so `"AQ-1\\u0000"` would pass for the
    registered sensor `AQ-1`, and an order id for another order's)."""
    if depth > MAX_DEPTH:  # (masking replaces such values whole)
        return None
    if isinstance(value, str):
        if "\x00" in value:
            return NUL_CHARACTER
        if not value.isascii() and _SURROGATE_RE.search(value) is not None:
            return LONE_SURROGATE
        return None
    if isinstance(value, dict):
        for k, v in value.items():
            why = not_text(k, depth + 1) or not_text(v, depth + 1)
            if why:
                return why
    elif isinstance(value, list):
        for v in value:
            why = not_text(v, depth + 1)
            if why:
                return why
    return None


def dumps(obj: Any, *, compact: bool = False, **kwargs: Any) -> str:
    """json.dumps with readable non-ASCII text and lone surrogates escaped."""
    separators = (",", ":") if compact else None
    return escape_surrogates(json.dumps(obj, ensure_ascii=False, separators=separators, **kwargs))
