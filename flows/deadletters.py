"""The dead letters as `citysigns run` writes them: OUT/dead_letters.ndjson, one rejected
record a line, `{"record", "reason", "detail", "source", "position"}`.

`record` is the raw text with personal data masked by the decoder that refused it (or, for a
`late` letter, the event as its indicator saw it); nothing masks it again on the way out, so
a test of what the file may hold reads these lines, not a copy of them made another way.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from flows.decode.reasons import DeadLetter
from flows.jsontext import dumps


def dead_letter_lines(letters: Iterable[DeadLetter]) -> list[str]:
    """The lines (without their newline) the flow's dead-letter sink writes for `letters`."""
    return [dumps(d.to_dict()) for d in letters]


def read_dead_letters(path: str | Path) -> list[dict[str, Any]]:
    """The letters of a dead-letter file, none when it does not exist."""
    p = Path(path)
    if not p.exists():
        return []
    with p.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]
