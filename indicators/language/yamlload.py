"""Safe YAML loading that keeps every node's line and column, and refuses hostile input.

PyYAML's SafeLoader is used only to scan, parse and compose; we build the Python values
ourselves so that we can (1) remember where each value and key came from, (2) count nodes as
aliases expand and stop an alias bomb long before it eats memory, (3) refuse documents nested
deeper than any real catalog, duplicate keys and non-UTF-8 bytes, each with its position."""

from __future__ import annotations

import datetime as dt
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
        mark = e.problem_mark or e.context_mark
        problem = e.problem or e.context or "invalid YAML"
        raise YamlLoadError(f"YAML syntax: {problem}", _pos(mark)) from None
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
