"""A scanner for planted personal data: proof, after a run, that no output kept it.

`flows/privacy.py` masks personal data at decode; this module checks the result from the other
end. Given the phone numbers, identity-card numbers, names, e-mail addresses and messaging
handles that were planted in the inputs, it searches output files (NDJSON, logs, metrics
expositions, dashboards, SQLite ticket stores and their write-ahead logs) for each of them in
every form a program could have written it: as typed, with its digits regrouped by spaces or
dashes, JSON-escaped (`\\u5f20`), percent-encoded, or inside a SQLite page. Findings never
contain the value itself (a report of a leak must not be a second leak): only its kind, where,
and a masked hint."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

SQLITE_MAGIC = b"SQLite format 3\x00"
_FULLWIDTH = str.maketrans("０１２３４５６７８９＋－Ｘｘ", "0123456789+-Xx")
# separators a program may have put between digit groups: spaces, dashes, dots, brackets
_BETWEEN_DIGITS = re.compile(r"(?<=[\dXx])[\s\-\.\(\)]+(?=[\dXx])")


@dataclass(frozen=True)
class Planted:
    """What was planted in the inputs."""

    phones: tuple[str, ...] = ()
    id_numbers: tuple[str, ...] = ()
    names: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    handles: tuple[str, ...] = ()  # messaging ids (WeChat, QQ)


@dataclass(frozen=True)
class Finding:
    kind: str  # "phone", "id_number", "name", "email" or "handle"
    where: str  # the file (or label) it was found in
    hint: str  # the first characters and the length, never the value

    def __str__(self) -> str:
        return f"{self.kind} {self.hint} in {self.where}"


def _hint(value: str) -> str:
    return f"{value[:2]}*** ({len(value)} chars)"


def _core_digits(number: str) -> str:
    """The digits that identify a phone or ID number (no +86 / 0086, no separators)."""
    core = "".join(ch for ch in number.translate(_FULLWIDTH) if ch.isdigit() or ch in "Xx")
    for prefix in ("0086", "86"):
        if core.startswith(prefix) and len(core) - len(prefix) == 11:
            return core[len(prefix) :]
    return core


def _text_forms(value: str) -> set[str]:
    """Ways a program may have written `value` into a text file."""
    forms = {value, json.dumps(value)[1:-1], quote(value), quote(value, safe="")}
    return {f for f in forms if f}


@dataclass
class Scanner:
    planted: Planted
    _names: list[tuple[str, str, set[str]]] = field(init=False, default_factory=list)  # words
    _numbers: list[tuple[str, str, str]] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        self._names = [("name", n, _text_forms(n)) for n in self.planted.names if n.strip()]
        self._names += [("email", e, _text_forms(e)) for e in self.planted.emails if e.strip()]
        self._names += [("handle", h, _text_forms(h)) for h in self.planted.handles if h.strip()]
        for kind, values in (
            ("phone", self.planted.phones),
            ("id_number", self.planted.id_numbers),
        ):
            for v in values:
                core = _core_digits(v)
                if len(core) >= 7:  # shorter would match innocent numbers
                    self._numbers.append((kind, v, core.upper()))

    def scan_text(self, text: str, where: str) -> list[Finding]:
        """Every planted value found in `text`."""
        found: list[Finding] = []
        normal = text.translate(_FULLWIDTH)
        # digits with the separators between them removed, so "139 8765-0123" is found too
        compact = _BETWEEN_DIGITS.sub("", normal).upper()
        for kind, value, core in self._numbers:
            if value in text or core in compact:
                found.append(Finding(kind, where, _hint(value)))
        for kind, value, forms in self._names:
            if any(f in text for f in forms):
                found.append(Finding(kind, where, _hint(value)))
        return found

    def scan_file(self, path: Path, label: str | None = None) -> list[Finding]:
        """A file's findings; SQLite databases are read both as rows and as raw pages."""
        where = label or str(path)
        data = path.read_bytes()
        texts = [data.decode("utf-8", "replace")]
        if data.startswith(SQLITE_MAGIC):
            texts.append(_sqlite_dump(path))
        found: dict[tuple[str, str], Finding] = {}
        for text in texts:
            for f in self.scan_text(text, where):
                found[(f.kind, f.hint)] = f
        return list(found.values())

    def scan_tree(self, root: Path, skip: Iterable[Path] = ()) -> tuple[int, list[Finding]]:
        """(files scanned, findings) over every file under `root` but those under `skip`."""
        skipped = [p.resolve() for p in skip]
        files = 0
        findings: list[Finding] = []
        for path in sorted(root.rglob("*")):
            if not path.is_file():
                continue
            if any(path.resolve().is_relative_to(s) for s in skipped):
                continue
            files += 1
            findings += self.scan_file(path, str(path.relative_to(root)))
        return files, findings


def _sqlite_dump(path: Path) -> str:
    """The SQL text of a database, read-only (a damaged or locked file gives what it can)."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error:
        return ""
    try:
        return "\n".join(conn.iterdump())
    except sqlite3.Error:
        return ""
    finally:
        conn.close()
