"""Per-series state as named numpy arrays that grow together.

Snapshots are plain dicts of arrays (cheap to take at every Bytewax epoch, and to restore);
an ensemble nests its members' states under a prefix so the whole tree is one flat dict."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress

import numpy as np

SIZE_KEY = "n_series"

#: derives an array that a newer version added from a snapshot taken before it existed
Upgrade = Callable[[dict[str, np.ndarray]], np.ndarray]


class SeriesState:
    """Arrays whose first axis is the series index.  New series get each array's fill value."""

    def __init__(self) -> None:
        self._arrays: dict[str, np.ndarray] = {}
        self._fills: dict[str, float] = {}
        self._upgrades: dict[str, Upgrade] = {}
        self._children: dict[str, SeriesState] = {}
        self.n_series = 0

    def add(
        self,
        name: str,
        fill: float,
        shape: tuple[int, ...] = (),
        dtype: type = np.float64,
        *,
        upgrade: Upgrade | None = None,
    ) -> np.ndarray:
        """Declare an array (per series, with extra trailing axes `shape`) and return it.

        `upgrade` lets a recovery snapshot taken by an earlier version, before this array
        existed, be restored: it derives the array from that snapshot's own arrays, so a
        deployment keeps its state across the upgrade instead of refusing to resume."""
        if "." in name or name == SIZE_KEY:
            raise ValueError(f"state name {name!r} is reserved")
        self._fills[name] = fill
        if upgrade is not None:
            self._upgrades[name] = upgrade
        self._arrays[name] = np.full((self.n_series, *shape), fill, dtype=dtype)
        return self._arrays[name]

    def child(self, prefix: str, state: SeriesState) -> None:
        """Nest another detector's state (an ensemble member) under `prefix`."""
        self._children[prefix] = state

    def __getitem__(self, name: str) -> np.ndarray:
        return self._arrays[name]

    def grow(self, n_series: int) -> None:
        for c in self._children.values():
            c.grow(n_series)
        if n_series <= self.n_series:
            return
        capacity = max(n_series, 2 * self.n_series)
        for name, arr in self._arrays.items():
            new = np.full((capacity, *arr.shape[1:]), self._fills[name], dtype=arr.dtype)
            new[: self.n_series] = arr[: self.n_series]
            self._arrays[name] = new
        self.n_series = n_series
        self._capacity = capacity

    def remap(self, source: np.ndarray) -> None:
        """Renumber the series: new series i takes the state of old series `source[i]`, and
        starts fresh (fill values) where `source[i]` is -1 or beyond the series seen so far.

        For an indicator whose areas changed between a recovery snapshot and the restart
        (sensors added to or removed from the registry): the areas that remain keep their
        baselines under their new numbers instead of all warming up again."""
        source = np.asarray(source, dtype=np.int64)
        n = int(source.size)
        have = np.flatnonzero((source >= 0) & (source < self.n_series))
        for c in self._children.values():
            c.remap(source)
        for name, arr in self._arrays.items():
            new = np.full((n, *arr.shape[1:]), self._fills[name], dtype=arr.dtype)
            new[have] = arr[source[have]]
            self._arrays[name] = new
        self.n_series = n

    def snapshot(self) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {SIZE_KEY: np.array(self.n_series, dtype=np.int64)}
        for name, arr in self._arrays.items():
            out[name] = arr[: self.n_series].copy()
        for prefix, c in self._children.items():
            for name, arr in c.snapshot().items():
                out[f"{prefix}.{name}"] = arr
        return out

    def snapshot_keys(self) -> set[str]:
        """Every key a snapshot of this state holds."""
        out = {SIZE_KEY, *self._arrays}
        for prefix, c in self._children.items():
            out |= {f"{prefix}.{k}" for k in c.snapshot_keys()}
        return out

    def restore(self, state: dict[str, np.ndarray]) -> None:
        if SIZE_KEY not in state:
            raise ValueError(f"not a detector snapshot: no {SIZE_KEY!r} entry")
        unknown = set(state) - self.snapshot_keys()
        if unknown:
            raise ValueError(
                f"snapshot holds state this detector does not have ({', '.join(sorted(unknown))})"
                ": was it taken by a detector of another configuration?"
            )
        n = int(state[SIZE_KEY])
        for name in self._upgrades.keys() - state.keys():
            with suppress(KeyError):  # not an earlier version's snapshot either: refused below
                state = {**state, name: self._upgrades[name](state)}
        for name, arr in self._arrays.items():
            if name not in state:
                raise ValueError(
                    f"snapshot lacks state {name!r}: was it taken by another detector?"
                )
            got = np.asarray(state[name])
            if got.shape != (n, *arr.shape[1:]):
                raise ValueError(
                    f"snapshot state {name!r} has shape {got.shape}, expected {(n, *arr.shape[1:])}"
                )
        for prefix, c in self._children.items():
            c.restore(
                {k[len(prefix) + 1 :]: v for k, v in state.items() if k.startswith(prefix + ".")}
            )
        for name, arr in self._arrays.items():
            self._arrays[name] = np.array(state[name], dtype=arr.dtype, copy=True)
        self.n_series = n


def rows_view(s: np.ndarray) -> slice | np.ndarray:
    """How to index per-series state for the series `s` of a round.

    When the round holds series 0..n-1 in order (one row per series, the usual batch) a
    slice lets numpy read and write the state in place instead of gathering and scattering
    copies; otherwise the index array itself."""
    n = len(s)
    if n and s[0] == 0 and s[-1] == n - 1 and (n == 1 or bool(np.all(s[1:] > s[:-1]))):
        return slice(0, n)
    return s
