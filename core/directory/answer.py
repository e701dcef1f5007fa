"""The nearest-help answer: which local points to name, and what to say about each, in her variety.

For each group (association/space/shelter, court, hospital; for a shelter request: places that
take women in, listening centres, courts) the nearest point, the surest and freshest first when
several share a town; at most three, nearest first. Each line says the kind, the distance, what
the place is and how sure we are (by law, a study, a phone confirmation, or the source's year);
a shelter's address is never given. 8350 closes every answer.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable, Iterable, Optional

import yaml

from core.directory.model import CONFIDENCES, MIGRANT_KINDS, ROOT, SHELTER_KINDS, Directory, Entry, age_status
from core.places import Gazetteer, Place, haversine_km, tokenize

WORDS_PATH = ROOT / "data" / "texts" / "directory.yml"
CUES_PATH = ROOT / "data" / "contacts" / "migrant_cues.yml"
ARABIC_SCRIPT = {"dar_ar", "ar"}
MAX_POINTS = 3
NEAR_KM = 50  # the header says "near her" only when something is this close
FAR_KM = 150  # a group's nearest point farther than this is left out when two others are closer
SAME_TOWN_KM = 2
MIGRANT_LOCAL_KM = 100  # a local migrant line this close is given rather than the national one

Group = Callable[[Entry], bool]
CONTACT_GROUPS: list[Group] = [
    lambda e: e.kind in SHELTER_KINDS | {"listening_centre"},
    lambda e: e.kind == "court_cell",
    lambda e: e.kind == "hospital_unit",
]
SHELTER_GROUPS: list[Group] = [
    lambda e: e.hides_address,
    lambda e: e.kind == "listening_centre" and not e.hides_address,
    lambda e: e.kind == "court_cell",
]


@dataclass(frozen=True)
class Point:
    entry: Entry
    km: float | None  # None for a national line


@lru_cache(maxsize=4)
def _table(path: Path) -> dict:
    return yaml.safe_load(Path(path).read_text(encoding="utf-8"))


def word(key: str, variety: Optional[str], path: Path = WORDS_PATH, /, **values: object) -> str:
    table = _table(path)[key]
    return table.get(variety or "dar_ar", table["dar_ar"]).format(**values)


def choose(directory: Directory, lat: float, lng: float, shelter: bool = False, migrant: bool = False) -> list[Point]:
    """The points to name, nearest first."""
    local = [(e, haversine_km(lat, lng, e.lat, e.lng)) for e in directory.local() if e.kind not in MIGRANT_KINDS]
    picks: list[tuple[Entry, float]] = []
    for group in SHELTER_GROUPS if shelter else CONTACT_GROUPS:
        members = [(e, km) for e, km in local if group(e) and e not in [p for p, _ in picks]]
        if members:
            picks.append(min(members, key=_rank))
    picks.sort(key=lambda pair: pair[1])
    close = [p for p in picks if p[1] <= FAR_KM]
    # Far from everything, she still gets the two nearest, with their distance.
    points = [Point(e, km) for e, km in (close if len(close) >= 2 else picks[:2])][:MAX_POINTS]
    if migrant:
        points = [_migrant_point(directory, lat, lng)] + points[: MAX_POINTS - 1]
    return [p for p in points if p is not None]


def _rank(pair: tuple[Entry, float]) -> tuple:
    """Nearest first; in one town, the surest, then the freshest."""
    entry, km = pair
    sure = 0 if entry.basis == "confirmed" else 1 + CONFIDENCES.index(entry.confidence or "low")
    return round(km), sure, -(entry.source_year or 0), entry.id


def _migrant_point(directory: Directory, lat: float, lng: float) -> Point | None:
    lines = [e for e in directory.entries if e.kind in MIGRANT_KINDS]
    near = [(e, haversine_km(lat, lng, e.lat, e.lng)) for e in lines if e.has_location]
    near = [pair for pair in near if pair[1] <= MIGRANT_LOCAL_KM]
    if near:
        entry, km = min(near, key=lambda pair: pair[1])
        return Point(entry, km)
    national = next((e for e in lines if not e.has_location), None)
    return Point(national, None) if national else None


def answer(points: list[Point], place: Place, variety: Optional[str], gaz: Gazetteer,
           today: dt.date | None = None) -> str:
    """The whole reply: a header, one line per point, then 8350."""
    arabic = variety in ARABIC_SCRIPT
    near = any(p.km is not None and p.km <= NEAR_KM for p in points)
    lines = [word("header_near" if near else "header_far", variety, town=_town_name(place, arabic))]
    lines += [describe(p, variety, gaz, today) for p in points]
    lines.append(word("footer", variety))
    return "\n".join(lines)


def describe(point: Point, variety: Optional[str], gaz: Gazetteer, today: dt.date | None = None) -> str:
    """One line: name, town, distance, what it is, how sure; never an address."""
    entry = point.entry
    arabic = variety in ARABIC_SCRIPT
    how = [_how(entry, variety, today)]
    if entry.hides_address:
        how.append(word("hidden_address", variety))
    if entry.phone:
        how.append(word("phone", variety, phone=entry.phone))
    values = {
        "name": entry.name_ar if arabic else entry.name_fr,
        "kind": word(f"kind_{entry.kind}", variety),
        "how": ". ".join(h[:1].upper() + h[1:] for h in how),
    }
    if point.km is None or entry.town is None:
        return word("line_national", variety, **values)
    if point.km < SAME_TOWN_KM:
        return word("line_here", variety, distance=word("same_town", variety), **values)
    distance = word("km", variety, km=round(point.km))
    return word("line", variety, town=_town_name(gaz.places[entry.town], arabic), distance=distance, **values)


def _how(entry: Entry, variety: Optional[str], today: dt.date | None) -> str:
    if entry.basis == "by_law":
        return word("how_by_law", variety)
    if entry.basis == "confirmed":
        return word("how_confirmed", variety, date=entry.checked_on)
    status = age_status(entry, today)
    if entry.basis == "study" and status != "undated":
        return word("how_study", variety, year=entry.source_year)
    if status == "undated":
        return word("how_undated", variety)
    if status == "old":
        return word("how_old", variety, year=entry.source_year)
    key = "how_fresh_unsure" if entry.confidence == "low" else "how_fresh"
    return word(key, variety, year=entry.source_year)


def _town_name(place: Place, arabic: bool) -> str:
    return place.name_ar if arabic else place.name_fr


def wants_migrant_help(texts: Iterable[str], path: Path = CUES_PATH) -> bool:
    """She says she is a migrant or refugee, or writes in a language the bot does not serve."""
    cues = _table(path)
    phrases = [" ".join(tokenize(w)) for w in cues["migrant_words"]]
    foreign = {" ".join(tokenize(w)) for w in cues["unserved_language_words"]}
    for text in texts:
        words = tokenize(text)
        spaced = f" {' '.join(words)} "
        if any(f" {phrase} " in spaced for phrase in phrases):
            return True
        hits = sum(w in foreign for w in words)
        if hits >= 2 and hits * 3 >= len(words):
            return True
    return False
