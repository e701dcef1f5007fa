"""Places (regions, provinces, towns), a lookup's result, and distances on the Earth."""
from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Place:
    id: str
    kind: str  # "town" | "province" | "region"
    name_fr: str
    name_ar: str
    town: str | None
    province: str | None
    region: str
    lat: float | None
    lng: float | None
    code: str | None = None  # HCP code (towns, provinces) or None (regions)
    province_code: str | None = None
    # "town": the commune's centroid; "province_seat": the seat of the province (the seat is
    # assumed for a few, see provinces.csv seat_basis); "city": a Casablanca prefecture of
    # arrondissements, placed at Casablanca's centroid; None for regions.
    precision: str | None = None


@dataclass(frozen=True)
class Resolution:
    status: str  # "found" | "ambiguous" | "unknown"
    place: Place | None = None
    candidates: list[Place] = field(default_factory=list)
    score: int = 0
    matched: str = ""  # the part of the message that named the place


@dataclass(frozen=True)
class _Alias:
    text: str  # as written in the data
    place: str  # place key: town id, province code or region slug
    weak: bool
    tokens: int


@dataclass
class _Hit:
    place: str
    score: float
    start: int
    end: int
    alias: _Alias


def haversine_km(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(a))
