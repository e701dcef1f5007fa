"""The directory's entries and the file that holds them (data/services.yml), with how old each fact is."""
from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

import yaml

from core.places import haversine_km

ROOT = Path(__file__).resolve().parent.parent.parent
DEFAULT_PATH = ROOT / "data" / "services.yml"

NATIONAL_KINDS = {"national_line", "emergency"}
# Places that take women in: their street address is never given (they protect by staying hidden).
SHELTER_KINDS = {"shelter", "shelter_street", "shelter_difficult_situation", "multifunctional_space"}
CONTACT_KINDS = {"listening_centre", "police_cell", "court_cell", "hospital_unit"}
MIGRANT_KINDS = {"migrant_line"}  # offered only to a migrant or refugee woman
KINDS = NATIONAL_KINDS | SHELTER_KINDS | CONTACT_KINDS | MIGRANT_KINDS | {"online"}
PRECISIONS = {"exact", "town"}  # "town": the centre's town is sourced, its address is not
# How the fact is known: a source names the place; law 103-13 art. 10 requires the cell in
# every court of first instance; a study names the unit's town but not the unit; a partner
# confirmed it by phone (checked_on is the day of the call).
BASES = {"sourced", "by_law", "study", "confirmed"}
CONFIDENCES = ["good", "medium", "low"]  # best first

# Moroccan numbers: 10 digits starting 05/06/07/08, or a short service number (15, 19, 8350).
PHONE_RE = re.compile(r"^(0[5-8]\d{8}|\d{2,4})$")
DISCONTINUED = re.compile(r"0\s*8\s*0\s*0\s*0\s*8\s*8\s*8\s*8")  # the line closed in 2013, however spaced
DEFAULT_MAX_AGE_YEARS = 5
MAX_AGE_ENV = "SALAMA_MAX_SOURCE_AGE_YEARS"


@dataclass(frozen=True)
class Entry:
    id: str
    kind: str
    name_fr: str
    name_ar: str
    region: str | None  # region slug; None for a national service
    town: str | None  # town id (data/places/towns.csv)
    lat: float | None
    lng: float | None
    location_precision: str | None  # "exact" | "town" | None (no location)
    phone: str | None
    hours: str | None
    source: str
    checked_on: str  # YYYY-MM-DD: the day the entry was last checked (against its source, or by phone)
    mobile_phone: str | None = None  # the number to dial from a mobile, when it differs
    email: str | None = None
    url: str | None = None
    note: str | None = None  # sourced detail (quarter, opening date, capacity, scope)
    confidence: str | None = None  # good | medium | low
    basis: str | None = None  # sourced | by_law | study | confirmed
    source_date: str | None = None  # as the source list writes it ("2006 (first source)")
    source_year: int | None = None  # the year the information dates from; None = undated
    source_ref: str | None = None  # the row it was imported from ("contact_points.csv:12")
    shelter: bool | None = None  # also takes women in (its address is never given)

    @property
    def has_location(self) -> bool:
        return self.lat is not None and self.lng is not None

    @property
    def hides_address(self) -> bool:
        return self.kind in SHELTER_KINDS or bool(self.shelter)


ENTRY_FIELDS = [f.name for f in fields(Entry)]
REQUIRED_FIELDS = ENTRY_FIELDS[:13]


def max_age_years() -> int:
    """The age (years) past which a source is old: SALAMA_MAX_SOURCE_AGE_YEARS, default 5."""
    raw = os.environ.get(MAX_AGE_ENV, "")
    return int(raw) if raw.strip().isdigit() else DEFAULT_MAX_AGE_YEARS


def age_status(entry: Entry, today: dt.date | None = None, max_age: int | None = None) -> str:
    """'fresh', 'old' or 'undated' (the law itself does not age: by_law entries are 'fresh')."""
    if entry.basis == "by_law":
        return "fresh"
    year = entry.source_year
    if year is None:
        return "undated"
    limit = max_age if max_age is not None else max_age_years()
    return "old" if (today or dt.date.today()).year - year > limit else "fresh"


def normalize_phone(raw: str) -> str:
    """'05 22-12.34 56' -> '0522123456'; '+212 6...' and '00212 6...' -> '06...'."""
    digits = re.sub(r"[\s.\-()/]", "", raw)
    for prefix in ("+212", "00212"):
        if digits.startswith(prefix):
            digits = "0" + digits[len(prefix) :]
    return digits


def entry_from_dict(data: dict) -> Entry:
    values = {name: data.get(name) for name in ENTRY_FIELDS}
    for name in ("lat", "lng"):
        if values[name] is not None:
            values[name] = float(values[name])
    for name in ("phone", "mobile_phone", "checked_on", "source_date"):
        if values[name] is not None:
            values[name] = str(values[name])  # YAML may read a date or a bare number
    if values["source_year"] is not None:
        values["source_year"] = int(values["source_year"])
    return Entry(**values)


def entry_to_dict(entry: Entry) -> dict:
    data = asdict(entry)
    # Optional fields are written only when set, to keep the file short.
    return {k: v for k, v in data.items() if k in REQUIRED_FIELDS or v is not None}


class Directory:
    def __init__(self, entries: list[Entry], header: str = "") -> None:
        self.entries = entries
        self.header = header  # the comment block at the top of the file, kept on rewrite

    @classmethod
    def load(cls, path: Path = DEFAULT_PATH) -> Directory:
        text = Path(path).read_text(encoding="utf-8")
        doc = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) or {}
        entries = [entry_from_dict(item) for item in doc.get("services") or []]
        unknown = [e.id for e in entries if e.kind not in KINDS]
        if unknown:
            raise ValueError(f"{path}: unknown kind in entries {', '.join(unknown)}")
        return cls(entries, _leading_comments(text))

    def get(self, entry_id: str) -> Entry | None:
        return next((e for e in self.entries if e.id == entry_id), None)

    def national(self) -> list[Entry]:
        """The national line first, then the emergency numbers, in file order."""
        return sorted((e for e in self.entries if e.kind in NATIONAL_KINDS), key=lambda e: e.kind != "national_line")

    def online(self) -> list[Entry]:
        return [e for e in self.entries if e.kind == "online"]

    def local(self) -> list[Entry]:
        """Entries placed in a town (centres, courts, hospital units, local lines)."""
        return [e for e in self.entries if e.has_location]

    def nearest(self, lat: float, lng: float, kinds: set[str] | None = None, limit: int = 3) -> list[tuple[Entry, float]]:
        """Entries with coordinates, nearest first, with their great-circle distance in km."""
        scored = [
            (e, haversine_km(lat, lng, e.lat, e.lng))
            for e in self.entries
            if e.has_location and (kinds is None or e.kind in kinds)
        ]
        scored.sort(key=lambda pair: (pair[1], pair[0].id))
        return scored[:limit]

    def merge(self, new: list[Entry]) -> tuple[int, int, int]:
        """Add new entries and replace those with the same id; returns (added, updated, kept).

        An entry a partner confirmed by phone is kept when the new row is not itself a
        confirmation: re-importing an old list must not undo a phone check."""
        index = {e.id: i for i, e in enumerate(self.entries)}
        added = updated = kept = 0
        for entry in new:
            if entry.id in index:
                old = self.entries[index[entry.id]]
                if old.basis == "confirmed" and entry.basis != "confirmed":
                    kept += 1
                    continue
                self.entries[index[entry.id]] = entry
                updated += 1
            else:
                index[entry.id] = len(self.entries)
                self.entries.append(entry)
                added += 1
        return added, updated, kept

    def confirm(self, entry_id: str, on: str, by: str, phone: str | None = None) -> Entry:
        """Record a partner's phone confirmation: the wording then says 'confirmed' and the date."""
        old = self.get(entry_id)
        if old is None:
            raise KeyError(entry_id)
        new = replace(
            old,
            basis="confirmed",
            confidence="good",
            checked_on=on,
            source_year=int(on[:4]),
            source=f"{old.source}; confirmed by phone by {by} on {on}",
            phone=phone or old.phone,
        )
        self.entries[self.entries.index(old)] = new
        return new

    def dump(self) -> str:
        body = yaml.safe_dump(
            {"services": [entry_to_dict(e) for e in self.entries]},
            allow_unicode=True,
            sort_keys=False,
            width=110,
        )
        return (self.header + "\n" if self.header else "") + body

    def save(self, path: Path) -> None:
        Path(path).write_text(self.dump(), encoding="utf-8")


def _leading_comments(text: str) -> str:
    lines = []
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        lines.append(line)
    return "\n".join(lines)
