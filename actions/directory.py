"""The service directory (data/services.yml): national lines, emergency numbers and centres.

Plain module: no Rasa imports and no work at import time. Every entry carries its source and
the date it was checked; a phone number, address or opening hours that is not sourced is null,
and the bot then says it does not know and refers to the national line.

    python -m actions.directory import CSV [--out data/services.yml]

merges an official (or an association's) list of centres into the directory; see
data/places/README.md for the CSV columns.
"""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import re
import sys
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import yaml

from actions.places import Gazetteer, haversine_km

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PATH = ROOT / "data" / "services.yml"

NATIONAL_KINDS = {"national_line", "emergency"}
SHELTER_KINDS = {"shelter_street", "shelter_difficult_situation", "multifunctional_space"}
CONTACT_KINDS = {"listening_centre", "police_cell", "court_cell", "hospital_unit"}
KINDS = NATIONAL_KINDS | SHELTER_KINDS | CONTACT_KINDS | {"online"}
PRECISIONS = {"exact", "town"}  # "town": the centre's town is sourced, its address is not

# Moroccan numbers: 10 digits starting 05/06/07/08, or a short service number (15, 19, 8350).
PHONE_RE = re.compile(r"^(0[5-8]\d{8}|\d{2,4})$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
CSV_COLUMNS = ["id", "kind", "name_fr", "name_ar", "town", "phone", "hours", "source", "checked_on"]
CSV_OPTIONAL = ["note", "email", "url"]
ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")


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
    checked_on: str  # YYYY-MM-DD
    mobile_phone: str | None = None  # the number to dial from a mobile, when it differs
    email: str | None = None
    url: str | None = None
    note: str | None = None  # sourced detail (quarter, opening date, capacity, scope)
    confidence: str | None = None  # as rated in the source list: good | medium

    @property
    def has_location(self) -> bool:
        return self.lat is not None and self.lng is not None


ENTRY_FIELDS = [f.name for f in fields(Entry)]
REQUIRED_FIELDS = ENTRY_FIELDS[:13]


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
    for name in ("phone", "mobile_phone", "checked_on"):
        if values[name] is not None:
            values[name] = str(values[name])  # YAML may read a date or a bare number
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
    def load(cls, path: Path = DEFAULT_PATH) -> "Directory":
        text = Path(path).read_text(encoding="utf-8")
        doc = yaml.safe_load(text) or {}
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

    def nearest(self, lat: float, lng: float, kinds: set[str] | None = None, limit: int = 3) -> list[tuple[Entry, float]]:
        """Entries with coordinates, nearest first, with their great-circle distance in km."""
        scored = [
            (e, haversine_km(lat, lng, e.lat, e.lng))
            for e in self.entries
            if e.has_location and (kinds is None or e.kind in kinds)
        ]
        scored.sort(key=lambda pair: (pair[1], pair[0].id))
        return scored[:limit]

    def merge(self, new: list[Entry]) -> tuple[int, int]:
        """Add new entries and replace those with the same id; returns (added, updated)."""
        index = {e.id: i for i, e in enumerate(self.entries)}
        added = updated = 0
        for entry in new:
            if entry.id in index:
                self.entries[index[entry.id]] = entry
                updated += 1
            else:
                index[entry.id] = len(self.entries)
                self.entries.append(entry)
                added += 1
        return added, updated

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


# ---------------------------------------------------------------------- CSV import
class CsvImportError(ValueError):
    """Raised with every problem found, one 'file:line: message' per line."""


def read_import_csv(path: Path, gazetteer=None) -> list[Entry]:
    """Read and validate a CSV of centres; towns are resolved through the gazetteer."""
    gaz = gazetteer or Gazetteer.load()
    errors: list[str] = []
    entries: list[Entry] = []
    seen: dict[str, int] = {}
    with Path(path).open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in CSV_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise CsvImportError(f"{path}:1: missing column(s): {', '.join(missing)} (expected {','.join(CSV_COLUMNS)})")
        for row in reader:
            line = reader.line_num
            row = {k: (v or "").strip() for k, v in row.items() if k}
            problems: list[str] = []
            entry_id = row["id"]
            if not ID_RE.match(entry_id):
                problems.append(f"id {entry_id!r} must be lower-case letters, digits and dashes")
            elif entry_id in seen:
                problems.append(f"id {entry_id!r} already used on line {seen[entry_id]}")
            seen.setdefault(entry_id, line)
            if row["kind"] not in KINDS:
                problems.append(f"unknown kind {row['kind']!r} (known: {', '.join(sorted(KINDS))})")
            for column in ("name_fr", "name_ar", "source", "checked_on"):
                if not row[column]:
                    problems.append(f"{column} is empty")
            if row["checked_on"] and not _valid_date(row["checked_on"]):
                problems.append(f"checked_on {row['checked_on']!r} is not a date YYYY-MM-DD")
            phone = normalize_phone(row["phone"]) if row["phone"] else None
            if phone is not None and not PHONE_RE.match(phone):
                problems.append(
                    f"phone {row['phone']!r} is not a Moroccan number (10 digits starting 05/06/07/08, or 2-4 digits)"
                )
            town = None
            if row["town"]:
                town = _resolve_town(gaz, row["town"])
                if isinstance(town, str):
                    problems.append(town)
                    town = None
            elif row["kind"] not in NATIONAL_KINDS | {"online"}:
                problems.append("town is empty (a centre needs its town)")
            if problems:
                errors += [f"{path}:{line}: {p}" for p in problems]
                continue
            entries.append(
                Entry(
                    id=entry_id,
                    kind=row["kind"],
                    name_fr=row["name_fr"],
                    name_ar=row["name_ar"],
                    region=town.region if town else None,
                    town=town.id if town else None,
                    lat=town.lat if town else None,
                    lng=town.lng if town else None,
                    location_precision="town" if town else None,
                    phone=phone,
                    hours=row["hours"] or None,
                    source=row["source"],
                    checked_on=row["checked_on"],
                    email=row.get("email") or None,
                    url=row.get("url") or None,
                    note=row.get("note") or None,
                )
            )
    if errors:
        raise CsvImportError("\n".join(errors))
    return entries


def _valid_date(text: str) -> bool:
    if not DATE_RE.match(text):
        return False
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _resolve_town(gaz, text: str):
    """A town Place, or an error message."""
    place = gaz.places.get(text)
    if place is not None and place.kind == "town":
        return place
    res = gaz.resolve(text)
    if res.status == "found" and res.place.kind == "town" and res.score >= 90:
        return res.place
    if res.status == "found":
        return f"town {text!r} is not certain (best guess {res.place.name_fr} [{res.place.id}], score {res.score}): write the town id"
    if res.status == "ambiguous":
        names = ", ".join(f"{c.name_fr} [{c.id}]" for c in res.candidates)
        return f"town {text!r} is ambiguous ({names}): write the town id"
    return f"town {text!r} is not in the gazetteer (data/places/towns.csv)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m actions.directory", description="Salama service directory")
    sub = parser.add_subparsers(dest="command", required=True)
    p_import = sub.add_parser("import", help="validate a CSV of centres and merge it into the directory")
    p_import.add_argument("csv", type=Path)
    p_import.add_argument("--out", type=Path, default=DEFAULT_PATH, help="directory file to update")
    args = parser.parse_args(argv)

    try:
        new = read_import_csv(args.csv)
    except CsvImportError as exc:
        print(exc, file=sys.stderr)
        return 1
    directory = Directory.load(args.out) if args.out.exists() else Directory([])
    added, updated = directory.merge(new)
    directory.save(args.out)
    print(f"{args.out}: {added} added, {updated} updated, {len(directory.entries)} entries")
    return 0


if __name__ == "__main__":
    sys.exit(main())
