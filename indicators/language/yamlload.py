"""Safe YAML loading that keeps every node's line and column, and refuses hostile input.

PyYAML's SafeLoader is used only to scan, parse and compose; we build the Python values
ourselves so that we can (1) remember where each value and key came from, (2) count nodes as
aliases expand and stop an alias bomb long before it eats memory, (3) refuse documents nested
deeper than any real catalog, duplicate keys and non-UTF-8 bytes, each with its position."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

MAX_FILE_BYTES = 1 << 20  # 1 MiB: the largest real catalog file is a few kB
MAX_DEPTH = 40
MAX_NODES = 200_000  # after alias expansion

PathKey = tuple[str | int, ...]
_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"


@dataclass(frozen=True)
class Position:
    line: int  # 1-based
    col: int  # 1-based


@dataclass
class LoadedYaml:
    """A document's plain value plus where each part of it was written."""

    data: Any
    values: dict[PathKey, Position] = field(default_factory=dict)
    keys: dict[PathKey, Position] = field(default_factory=dict)
    text: str = ""

    def position(self, path: PathKey, *, key: bool = False) -> Position:
        """The position of `path`, or of its nearest written ancestor."""
        table = self.keys if key else self.values
        p = tuple(path)
        while p:
            if p in table:
                return table[p]
            if key and p in self.values:
                return self.values[p]
            p = p[:-1]
        return self.values.get((), Position(1, 1))


class QuotedNumber(str):
    """A number written as text: `"50"`, `'3.5'` (or a block scalar).  YAML reads it as a
    string, and pydantic would read that string as 50.0 in a number field, so the loader keeps
    how it was written for number fields to refuse.  The style decides, not the Python type:
    YAML 1.1 reads a plain `1e5` (no dot) as a string too, and that one is a number as written.
    Only the loader makes these; it is a `str` to every other reader, and pydantic's text
    fields hold it as a plain `str`."""

    __slots__ = ()


def _reads_as_number(text: str) -> bool:
    """Whether `text`, written without quotes, is an ordinary number (not nan or inf, and in
    ASCII digits: Python's float() also reads full-width ones, which YAML does not)."""
    if not text.isascii():
        return False
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


class YamlLoadError(Exception):
    """A file that cannot be read as a catalog document at all."""

    def __init__(self, message: str, position: Position, text: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.position = position
        self.text = text  # the document, when it could be decoded, for excerpts


def _pos(mark: Any) -> Position:
    if mark is None:
        return Position(1, 1)
    return Position(mark.line + 1, mark.column + 1)


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        before = raw[: e.start]
        line = before.count(b"\n") + 1
        col = e.start - (before.rfind(b"\n") + 1) + 1
        raise YamlLoadError(
            f"byte 0x{raw[e.start]:02x} is not UTF-8; save the file as UTF-8 "
            "(catalog files are UTF-8 so that Chinese titles survive every tool)",
            Position(line, col),
        ) from None


def _check_depth(text: str) -> None:
    """Walk parse events (iterative, unlike the composer) so deep nesting is refused cheaply."""
    depth = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise YamlLoadError(
                    f"nested more than {MAX_DEPTH} levels deep; a catalog file never needs "
                    "that much nesting: flatten the document",
                    _pos(event.start_mark),
                )
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


class _Builder:
    def __init__(self, loader: yaml.SafeLoader, result: LoadedYaml) -> None:
        self.loader = loader
        self.result = result
        self.count = 0
        self.active: set[int] = set()

    def build(self, node: yaml.Node, path: PathKey) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise YamlLoadError(
                f"the document expands to more than {MAX_NODES:,} values (aliases "
                "repeated inside aliases?); write the values out or use fewer aliases",
                _pos(node.start_mark),
            )
        self.result.values.setdefault(path, _pos(node.start_mark))
        if isinstance(node, yaml.ScalarNode):
            return self._scalar(node)
        if id(node) in self.active:
            raise YamlLoadError(
                "an alias refers to the collection that contains it (a recursive alias); "
                "remove the self-reference",
                _pos(node.start_mark),
            )
        if node.tag not in (_SEQ, _MAP):
            raise YamlLoadError(
                f"tag {node.tag!r} is not allowed; only plain YAML values are allowed "
                "(no !!python or custom tags)",
                _pos(node.start_mark),
            )
        self.active.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                return [self.build(child, (*path, i)) for i, child in enumerate(node.value)]
            if isinstance(node, yaml.MappingNode):
                return self._mapping(node, path)
        finally:
            self.active.discard(id(node))
        raise YamlLoadError(f"unsupported YAML node {node.tag}", _pos(node.start_mark))

    def _scalar(self, node: yaml.ScalarNode) -> Any:
        try:
            value = self.loader.construct_object(node, deep=True)
        except yaml.constructor.ConstructorError as e:
            raise YamlLoadError(
                f"{e.problem}; only plain YAML values are allowed (no !!python or custom tags)",
                _pos(node.start_mark),
            ) from None
        if isinstance(value, dt.datetime | dt.date):
            return value.isoformat()
        if isinstance(value, bytes):
            raise YamlLoadError("binary values are not allowed", _pos(node.start_mark))
        if node.style and isinstance(value, str) and _reads_as_number(value):
            return QuotedNumber(value)  # (style None: plain; '"', "'", '|' or '>': text)
        return value

    def _mapping(self, node: yaml.MappingNode, path: PathKey) -> dict[str, Any]:
        out: dict[str, Any] = {}
        pairs = list(node.value)
        # Merge keys (<<: *base) first, so explicit keys override them, as YAML says.
        merged: list[tuple[yaml.Node, yaml.Node]] = []
        for k, v in pairs:
            if k.tag == "tag:yaml.org,2002:merge":
                sources = v.value if isinstance(v, yaml.SequenceNode) else [v]
                for src in sources:
                    if not isinstance(src, yaml.MappingNode):
                        raise YamlLoadError("`<<` must merge a mapping", _pos(src.start_mark))
                    merged.extend(src.value)
        explicit = [(k, v) for k, v in pairs if k.tag != "tag:yaml.org,2002:merge"]
        explicit_ids = {id(k) for k, _ in explicit}
        seen: dict[str, Position] = {}
        for k, v in merged + explicit:
            if not isinstance(k, yaml.ScalarNode):
                raise YamlLoadError("mapping keys must be plain strings", _pos(k.start_mark))
            # Keys are names, never values: take the text as written, so that YAML 1.1's
            # `on:` / `yes:` do not turn into booleans.
            key = str(k.value)
            is_explicit = id(k) in explicit_ids
            if is_explicit and key in seen and seen[key] != Position(-1, -1):
                first = seen[key]
                raise YamlLoadError(
                    f'key "{key}" appears twice in this mapping (first at line {first.line}); '
                    "keep one",
                    _pos(k.start_mark),
                )
            seen[key] = _pos(k.start_mark) if is_explicit else Position(-1, -1)
            child = (*path, key)
            self.result.keys[child] = _pos(k.start_mark)
            self.result.values.pop(child, None)
            out[key] = self.build(v, child)
        return out


def _at(p: Position) -> str:
    return f"{p.line}:{p.col}"


def _line(text: str, p: Position) -> str:
    lines = text.splitlines()
    return lines[p.line - 1] if 1 <= p.line <= len(lines) else ""


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _previous_line(text: str, p: Position) -> tuple[int, str] | None:
    """The nearest line above `p` that holds something (not blank, not only a comment)."""
    lines = text.splitlines()
    for n in range(min(p.line, len(lines) + 1) - 1, 0, -1):
        line = lines[n - 1]
        if line.strip() and not line.lstrip().startswith("#"):
            return n, line
    return None


def syntax_error(e: yaml.MarkedYAMLError, text: str) -> tuple[str, Position]:
    """PyYAML's error in plain words, at the place to fix it.

    PyYAML reports where it gave up (`problem_mark`), which for an unclosed quote is the end
    of the file; its `context_mark` says where the construct it was reading opened (the
    quote, the bracket, the key).  Both are used: the opening is usually where the fix goes."""
    problem = e.problem or ""
    context = e.context or ""
    gave_up = _pos(e.problem_mark or e.context_mark)
    opened = _pos(e.context_mark) if e.context_mark is not None else None
    line = _line(text, gave_up)
    if opened is not None and "quoted scalar" in context and "end of stream" in problem:
        quote = _line(text, opened)[opened.col - 1 : opened.col] or '"'
        return (
            f"the quote opened at {_at(opened)} is never closed (the file ends inside it, at "
            f"{_at(gave_up)}): add the closing {quote} where the value ends",
            opened,
        )
    if "unknown escape character" in problem:
        char = problem.rsplit(" ", 1)[-1].strip("'")
        return (
            f"\\{char} is not an escape in a double-quoted value: write \\\\ for a "
            "backslash, or quote the value with single quotes",
            gave_up,
        )
    if opened is not None and "simple key" in context:
        written = _line(text, opened)[opened.col - 1 :].split("#", 1)[0].strip()
        if ":" in written and not written.startswith(("'", '"')):
            key, _, value = written.partition(":")
            return (
                f"put a space after ':' in {written!r} (write {key}: {value.strip()}); "
                f"without it, line {opened.line} reads as a key that never gets its ': '",
                opened,
            )
        return (
            f"the text at {_at(opened)} reads as a key, but no ': ' follows it (YAML gave up "
            f"at {_at(gave_up)}): write `key: value`, or indent it as the value above",
            opened,
        )
    if opened is not None and ("flow sequence" in context or "flow mapping" in context):
        open_char, close_char = ("[", "]") if "sequence" in context else ("{", "}")
        found = problem.rsplit("but got ", 1)[-1]
        found = "the end of the file" if "stream end" in found else found
        return (
            f"the {open_char!r} opened at {_at(opened)} is not closed: at {_at(gave_up)} YAML "
            f"found {found} where ',' or {close_char!r} belongs; close it with {close_char!r} "
            "(or separate its entries with ', ')",
            opened,
        )
    if "expected <block end>" in problem:
        prev = _previous_line(text, gave_up)
        where = f" (line {prev[0]} is indented by {_indent(prev[1])})" if prev else ""
        since = f" opened at {_at(opened)}" if opened is not None else ""
        if "block collection" in context:
            return (
                f"this line does not continue the list{since}{where}: start a new item "
                "with '- ', or indent the line under its item",
                gave_up,
            )
        return (
            f"this line is indented by {_indent(line)} spaces, which does not match the keys "
            f"of the mapping{since}{where}: indent this key like its siblings",
            gave_up,
        )
    if "mapping values are not allowed" in problem:
        before = line[: gave_up.col - 1]
        if ": " in before.strip():  # `key: text: more` rather than a misplaced key
            return (
                "a second ': ' on one line: if the value contains ': ', put it in quotes "
                '("..."); if this is a key, start it on its own line',
                gave_up,
            )
        prev = _previous_line(text, gave_up)
        where = f" (line {prev[0]} is indented by {_indent(prev[1])})" if prev else ""
        return (
            f"this key is indented by {_indent(line)} spaces, more than the key above it"
            f"{where}, so it reads as the end of that key's value: indent it like its "
            "siblings, or quote a value that contains ': '",
            Position(gave_up.line, _indent(line) + 1),
        )
    if "cannot start any token" in problem:
        char = line[gave_up.col - 1 : gave_up.col]
        if char == "\t":
            return "a tab character: YAML indents with spaces only; replace it with spaces", gave_up
        return (
            f"a value cannot start with {char!r} in YAML: put the value in quotes",
            gave_up,
        )
    if "another document" in problem:
        return (
            "a second document starts here; a file holds one document: remove the '---' "
            "line (or split the file)",
            gave_up,
        )
    if "undefined alias" in problem:
        name = problem.rsplit(" ", 1)[-1].strip("'")
        return f"*{name} refers to no anchor &{name} above it: define the anchor first", gave_up
    detail = f" ({context} opened at {_at(opened)})" if opened is not None and context else ""
    return f"{problem or context or 'invalid YAML'}{detail}", gave_up


def load_yaml_text(text: str) -> LoadedYaml:
    """Load one YAML document from text, with positions.  Raises YamlLoadError."""
    result = LoadedYaml(data=None, text=text)
    try:
        _check_depth(text)
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as e:
        message, position = syntax_error(e, text)
        raise YamlLoadError(f"YAML syntax: {message}", position) from None
    except yaml.YAMLError as e:  # reader errors: control characters and the like
        raise YamlLoadError(f"YAML: {e}", Position(1, 1)) from None
    if node is None:
        return result
    result.data = _Builder(loader, result).build(node, ())
    return result


def load_yaml_file(path: Path) -> LoadedYaml:
    """Load a catalog file: size checked before reading, bytes checked before parsing."""
    try:
        size = path.stat().st_size
    except OSError as e:
        raise YamlLoadError(f"cannot read the file: {e.strerror}", Position(1, 1)) from None
    if size > MAX_FILE_BYTES:
        raise YamlLoadError(
            f"the file is {size / 1e6:.1f} MB, over the {MAX_FILE_BYTES >> 20} MiB limit of a "
            "catalog file; split it into several files",
            Position(1, 1),
        )
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise YamlLoadError(f"cannot read the file: {e.strerror}", Position(1, 1)) from None
    if b"\x00" in raw:
        i = raw.index(b"\x00")
        line = raw[:i].count(b"\n") + 1
        raise YamlLoadError(
            "the file contains NUL bytes; is it a binary file?",
            Position(line, i - (raw[:i].rfind(b"\n") + 1) + 1),
        )
    text = _decode(raw)
    try:
        return load_yaml_text(text)
    except YamlLoadError as e:
        e.text = text
        raise
