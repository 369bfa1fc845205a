"""The outbox: every inbound warning event and hotline order is written here first and removed
only after the store has committed it, so a store that is down, restarting or locked loses
nothing: the items wait and are retried in order.

With a journal file the outbox also survives a crash of this process: items are appended as
JSON lines (flushed and fsynced once per batch), acknowledgements too, and the file is rewritten
empty once everything is acknowledged.  Replaying an item twice is harmless because the store
applies each event key at most once."""

from __future__ import annotations

import json
import os
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flows.jsontext import dumps


@dataclass(frozen=True)
class OutboxItem:
    key: str
    kind: str  # "warning" | "order"
    payload: dict[str, Any]

    @property
    def at(self) -> int | None:
        """The item's own time (a warning event's, an order's), epoch seconds; None when the
        payload holds none."""
        at = (self.payload.get("event") or {}).get("at") if self.kind == "warning" else \
            self.payload.get("ts")  # fmt: skip
        return at if isinstance(at, int) and not isinstance(at, bool) else None


class Outbox:
    def __init__(self, journal: Path | str | None = None, fsync: bool = True) -> None:
        self._items: OrderedDict[str, OutboxItem] = OrderedDict()
        self._path = Path(journal) if journal is not None else None
        self._fsync = fsync
        if self._path is not None:
            self._load()

    def __len__(self) -> int:
        return len(self._items)

    @property
    def durable(self) -> bool:
        """Whether queued items survive a crash (a journal file holds them)."""
        return self._path is not None

    def _load(self) -> None:
        assert self._path is not None
        if not self._path.exists():
            return
        with self._path.open("r", encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if not line:
                    continue
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a torn last line from a crash mid-write: it was never acked
                if rec.get("op") == "put":
                    item = OutboxItem(rec["key"], rec["kind"], rec["payload"])
                    self._items.setdefault(item.key, item)
                elif rec.get("op") == "ack":
                    self._items.pop(rec["key"], None)

    def _append(self, records: list[dict[str, Any]]) -> None:
        if self._path is None or not records:
            return
        with self._path.open("a", encoding="utf-8") as f:
            for rec in records:
                f.write(dumps(rec) + "\n")
            f.flush()
            if self._fsync:
                os.fsync(f.fileno())

    def put_many(self, items: list[OutboxItem]) -> None:
        new = [i for i in items if i.key not in self._items]
        self._append(
            [{"op": "put", "key": i.key, "kind": i.kind, "payload": i.payload} for i in new]
        )
        for i in new:
            self._items[i.key] = i

    def pending(self, limit: int | None = None) -> list[OutboxItem]:
        out: list[OutboxItem] = []
        for item in self._items.values():
            if limit is not None and len(out) >= limit:
                break
            out.append(item)
        return out

    def ack_many(self, keys: list[str]) -> None:
        gone = [k for k in keys if k in self._items]
        for k in gone:
            del self._items[k]
        if self._path is None:
            return
        if not self._items:
            self._path.write_text("", encoding="utf-8")  # compact: nothing outstanding
        else:
            self._append([{"op": "ack", "key": k} for k in gone])
