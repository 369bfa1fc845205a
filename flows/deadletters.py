"""The dead-letter sink: DIR/dead_letters.ndjson, one rejected record a line.

Each line is `{"record", "reason", "detail", "source", "position"}`; `record` is the raw text
with personal data already masked by the decoder (and masked once more here, so that a
letter made elsewhere cannot leak either).  Counts per reason are kept for the metrics.

Several workers may share the file: each batch is written with a single `write` on a file
opened in append mode, so lines from different workers never interleave mid-line.
"""

from __future__ import annotations

import json
import os
import threading
from collections import Counter
from pathlib import Path
from typing import Any

from bytewax.outputs import DynamicSink, StatelessSinkPartition

from flows.decode.reasons import DeadLetter, DeadLetters
from flows.jsontext import dumps
from flows.privacy import mask_text

DEAD_LETTERS_FILE = "dead_letters.ndjson"


def letter_line(letter: DeadLetter) -> str:
    """One NDJSON line (with its newline) for a dead letter."""
    data = letter.to_dict()
    data["record"] = mask_text(str(data["record"]))
    data["detail"] = mask_text(str(data["detail"]))
    return dumps(data, compact=True) + "\n"


class DeadLetterWriter:
    """Appends dead letters to a file and counts them per reason (thread-safe)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._fd: int | None = None

    def _open(self) -> int:
        if self._fd is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        return self._fd

    def write(self, letters: DeadLetters) -> None:
        """Write a batch's letters and add its counts (duplicates are counted, not written)."""
        text = "".join(letter_line(letter) for letter in letters.letters).encode("utf-8")
        with self._lock:
            self.counts.update(letters.counts)
            if text:
                fd = self._open()
                view = memoryview(text)
                while view:
                    written = os.write(fd, view)
                    view = view[written:]

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    def __enter__(self) -> DeadLetterWriter:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def read_dead_letters(path: str | Path) -> list[dict[str, Any]]:
    """The letters of a dead-letter file (for tests and the CLI)."""
    p = Path(path)
    if not p.exists():
        return []
    with p.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


_WRITERS: dict[Path, DeadLetterWriter] = {}
_WRITERS_LOCK = threading.Lock()


def shared_writer(directory: str | Path) -> DeadLetterWriter:
    """One writer per file per process, shared by the workers (threads) of that process."""
    path = (Path(directory) / DEAD_LETTERS_FILE).resolve()
    with _WRITERS_LOCK:
        if path not in _WRITERS:
            _WRITERS[path] = DeadLetterWriter(path)
        return _WRITERS[path]


class _DeadLetterPartition(StatelessSinkPartition[DeadLetters]):
    def __init__(self, writer: DeadLetterWriter) -> None:
        self._writer = writer

    def write_batch(self, items: list[DeadLetters]) -> None:
        for letters in items:
            self._writer.write(letters)


class DeadLetterSink(DynamicSink[DeadLetters]):
    """Bytewax sink of `DeadLetters` items into DIR/dead_letters.ndjson."""

    def __init__(self, directory: str | Path) -> None:
        self._directory = Path(directory)

    def build(self, step_id: str, worker_index: int, worker_count: int) -> _DeadLetterPartition:
        return _DeadLetterPartition(shared_writer(self._directory))
