"""Places named by free-text addresses: which township or village of a county an
address (or a region code) points at. Used wherever a report arrives as text — the
12345 hotline import, public reports, Open311 requests."""

from __future__ import annotations

from .models import Region
from .roles import RegionLevel


class PlaceFinder:
    """The county's townships and villages, read once: finds the place of a ticket by its
    region code, else by the township or village its address names (longest name first,
    a full name before its stem without 镇/乡/街道/村/社区), and tells addresses and codes
    of other counties. Addresses are cached (bounded)."""

    SUFFIXES = ("街道", "社区", "镇", "乡", "村")
    CACHE = 50_000

    def __init__(self, county: Region) -> None:
        self.county = county
        self.by_code: dict[str, Region] = {}
        self.township_of: dict[int, Region] = {}
        names: dict[str, tuple[int, Region]] = {}
        regions = Region.objects.filter(
            path__startswith=county.path,
            level__in=(RegionLevel.TOWNSHIP, RegionLevel.VILLAGE),
        ).select_related("parent")
        for region in regions:
            self.by_code[region.code] = region
            township = region if region.level == RegionLevel.TOWNSHIP else region.parent
            if township is not None:
                self.township_of[region.pk] = township
            candidates = [(region.name, 0)]
            for suffix in self.SUFFIXES:
                stem = region.name.removesuffix(suffix)
                if stem != region.name and len(stem) >= 2:
                    candidates.append((stem, 1))
            for name, rank in candidates:
                known = names.get(name)
                # A full name wins over a stem; a village's name over a township's stem.
                if known is None or rank < known[0]:
                    names[name] = (rank, region)
        self.by_first: dict[str, list[tuple[str, int, Region]]] = {}
        for name, (rank, region) in names.items():
            self.by_first.setdefault(name[0], []).append((name, rank, region))
        for entries in self.by_first.values():
            entries.sort(key=lambda e: (-len(e[0]), e[1]))
        # Other counties of the same city: an address naming one of them is outside.
        self.others: list[str] = []
        if county.parent_id:
            for name in (
                Region.objects.filter(parent_id=county.parent_id)
                .exclude(pk=county.pk)
                .values_list("name", flat=True)
            ):
                self.others.append(name)
        self.cache: dict[str, Region | bool | None] = {}

    def by_address(self, address: str) -> Region | bool | None:
        """The place the address names; False when it names another county."""
        cached = self.cache.get(address, 0)
        if cached != 0:
            return cached  # type: ignore[return-value]
        text = address.replace(" ", "")
        best: tuple[int, int, Region] | None = None
        for i, char in enumerate(text):
            for name, rank, region in self.by_first.get(char, ()):
                if text.startswith(name, i):
                    key = (len(name), -rank)
                    if best is None or key > best[:2]:
                        best = (key[0], key[1], region)
                    break
        found: Region | bool | None = best[2] if best else None
        if found is None and self.county.name not in text:
            for other in self.others:
                if other in text:
                    found = False
                    break
        if len(self.cache) >= self.CACHE:
            self.cache.clear()
        self.cache[address] = found
        return found

    def township(self, region: Region | None) -> Region | None:
        return self.township_of.get(region.pk) if region is not None else None
