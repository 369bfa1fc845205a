"""Venues with a venue code (场所码) or a digital sentinel (数字哨兵): id -> community.

A checkpoint record names only its venue ("V-310106-0012") and keeps no identity, so the venue
is what places the check in the city.  Venues are generated from the city model with a fixed
seed (they are cheap to rebuild and need no data file): about one per five communities."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, cached_property

import numpy as np
import numpy.typing as npt

from .ids import BytesArray, IdIndex, IntArray
from .model import City, load_city

VENUE_PATTERN = "V-DDDDDD-DDDD"
DEFAULT_VENUE_SEED = 2022


@dataclass(frozen=True, eq=False)
class VenueRegistry:
    venue_id: BytesArray
    community: npt.NDArray[np.int32]

    def __len__(self) -> int:
        return int(self.venue_id.shape[0])

    @cached_property
    def _index(self) -> IdIndex:
        return IdIndex(self.venue_id, VENUE_PATTERN)

    def lookup(self, ids: npt.ArrayLike) -> IntArray:
        """Row of each venue id; -1 for unknown ids."""
        return self._index.lookup(ids)

    def ids(self, rows: npt.ArrayLike | None = None) -> list[str]:
        sel = self.venue_id if rows is None else self.venue_id[np.asarray(rows)]
        return [b.decode("ascii") for b in sel.tolist()]


def generate_venues(
    city: City, seed: int = DEFAULT_VENUE_SEED, communities_per_venue: int = 5
) -> VenueRegistry:
    """One venue per `communities_per_venue` communities of each district, each placed in a
    random community of its district; serials count from 1 within the district."""
    if communities_per_venue < 1:
        raise ValueError("communities_per_venue must be at least 1")
    rng = np.random.default_rng(seed)
    comm_district = city.community_ancestors("district")
    district_codes = city.level("district").code
    ids: list[str] = []
    comms: list[npt.NDArray[np.int64]] = []
    for d, code in enumerate(district_codes.tolist()):
        members = np.flatnonzero(comm_district == d)
        n = max(1, -(-members.shape[0] // communities_per_venue))
        if n > 9999:
            raise ValueError(f"district {code} would need {n} venues; the id has 4 digits")
        comms.append(np.sort(rng.choice(members, size=n, replace=True)))
        ids.extend(f"V-{code}-{k:04d}" for k in range(1, n + 1))
    return VenueRegistry(np.array(ids, dtype="S13"), np.concatenate(comms).astype(np.int32))


@cache
def load_default_venues() -> VenueRegistry:
    return generate_venues(load_city())
