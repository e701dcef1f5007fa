"""How near help is: for every urban commune of the gazetteer, the distance to the nearest local point."""
from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass
from typing import Callable

from core.directory.model import SHELTER_KINDS, Directory, Entry
from core.places import Gazetteer, haversine_km

RADII_KM = (25, 50)
LOCAL_KINDS = SHELTER_KINDS | {"listening_centre", "police_cell", "court_cell", "hospital_unit"}
# The groups the report counts: by kind, and the places a source names (not inferred from the law
# nor from a study that does not name them).
GROUPS: dict[str, Callable[[Entry], bool]] = {
    "any": lambda e: e.kind in LOCAL_KINDS,
    "named by a source": lambda e: e.kind in LOCAL_KINDS and e.basis in ("sourced", "confirmed"),
    "association/space/shelter": lambda e: e.kind in SHELTER_KINDS | {"listening_centre"},
    "court": lambda e: e.kind == "court_cell",
    "hospital": lambda e: e.kind == "hospital_unit",
}


@dataclass(frozen=True)
class Coverage:
    towns: int
    shares: dict[str, dict[int, float]]  # group -> radius -> share of towns (0-1)
    medians: dict[str, float]  # group -> median km to the nearest point
    regions: dict[str, dict[str, float]]  # region -> towns, any@25, any@50, association@50, median


def nearest_km(town_lat: float, town_lng: float, entries: list[Entry]) -> float | None:
    return min((haversine_km(town_lat, town_lng, e.lat, e.lng) for e in entries), default=None)


def _or_inf(km: float | None) -> float:
    return float("inf") if km is None else km


def coverage(directory: Directory, gaz: Gazetteer) -> Coverage:
    towns = [p for p in gaz.places.values() if p.kind == "town"]
    by_group = {g: [e for e in directory.local() if keep(e)] for g, keep in GROUPS.items()}
    distances: dict[str, list[float]] = defaultdict(list)
    per_region: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for town in towns:
        near = {g: _or_inf(nearest_km(town.lat, town.lng, entries)) for g, entries in by_group.items()}
        for group, km in near.items():
            distances[group].append(km)
        per_region[town.region].append((near["any"], near["association/space/shelter"]))
    shares = {g: {r: sum(km <= r for km in kms) / len(kms) for r in RADII_KM} for g, kms in distances.items()}
    medians = {g: statistics.median(kms) for g, kms in distances.items()}
    regions = {
        region: {
            "towns": len(pairs),
            "any@25": sum(a <= 25 for a, _ in pairs) / len(pairs),
            "any@50": sum(a <= 50 for a, _ in pairs) / len(pairs),
            "median": statistics.median(a for a, _ in pairs),
            "association@50": sum(b <= 50 for _, b in pairs) / len(pairs),
        }
        for region, pairs in sorted(per_region.items())
    }
    return Coverage(len(towns), shares, medians, regions)


def format_report(cov: Coverage, gaz: Gazetteer) -> str:
    lines = [f"coverage of the {cov.towns} urban communes (nearest local point, great-circle distance)"]
    lines.append(f"{'kind':<28}{'<=25 km':>9}{'<=50 km':>9}{'median km':>11}")
    for group, shares in cov.shares.items():
        median = cov.medians[group]
        shown = f"{median:.0f}" if median != float("inf") else "-"
        lines.append(f"{group:<28}{100 * shares[25]:>8.1f}%{100 * shares[50]:>8.1f}%{shown:>11}")
    lines.append(f"{'region':<28}{'towns':>6}{'any <=25':>10}{'any <=50':>10}{'assoc. <=50':>13}{'median km':>11}")
    for region, row in cov.regions.items():
        name = gaz.places[region].name_fr if region in gaz.places else region
        shown = f"{row['median']:.0f}" if row["median"] != float("inf") else "-"
        lines.append(f"{name[:27]:<28}{row['towns']:>6}{100 * row['any@25']:>9.0f}%{100 * row['any@50']:>9.0f}%"
                     f"{100 * row['association@50']:>12.0f}%{shown:>11}")
    return "\n".join(lines)
