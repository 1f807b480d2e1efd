"""Availability and quotes from memory, as correct as from the database.

What prices a stay (hotel, room types and their in-service rooms, nightly rates, taxes, promo codes,
the cancellation policy) changes rarely; every change bumps the hotel's catalogue version in the same
transaction (a trigger, migration ``0003_perf_catalog_versions``). An answer is kept under the version
it was computed at and served only while that is still the version read for the request, so a change
shows in the very next answer, on every replica. Holds are never cached: availability reads them live
in the same statement as the version.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any


class CatalogCache:
    """Per hotel: the version its entries were computed at, and the entries (bounded)."""

    def __init__(self, max_entries_per_hotel: int = 50_000) -> None:
        self.max_entries = max_entries_per_hotel
        self._hotels: dict[str, tuple[int, dict[Hashable, Any]]] = {}
        self.hits = 0
        self.misses = 0

    def get(self, hotel: str, version: int, key: Hashable) -> Any | None:
        kept = self._hotels.get(hotel)
        if kept is not None and kept[0] == version and key in kept[1]:
            self.hits += 1
            return kept[1][key]
        self.misses += 1
        return None

    def put(self, hotel: str, version: int, key: Hashable, value: Any) -> None:
        """Keep ``value``, computed from data at least as new as ``version`` (read it first)."""
        kept = self._hotels.get(hotel)
        if kept is None or kept[0] < version:
            kept = self._hotels[hotel] = (version, {})
        elif kept[0] > version:
            return  # computed before a change another request has already seen
        if len(kept[1]) >= self.max_entries:
            kept[1].clear()
        kept[1][key] = value

    def stats(self) -> dict:
        asked = self.hits + self.misses
        return {"hits": self.hits, "misses": self.misses, "hit_ratio": round(self.hits / asked, 4) if asked else None,
                "hotels": len(self._hotels), "entries": sum(len(e) for _, e in self._hotels.values())}
