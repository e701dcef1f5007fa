"""Read a CSV of contact points (a partner's list, or the researched list) into directory entries.

Two formats, told apart by their header:
- a partner's list: id, kind, name_fr, name_ar, town, phone, hours, source, checked_on, and
  optionally source_date, confidence, basis, shelter, note, email, url (docs/PLACES.md);
- the researched list (../shared/data/contacts/contact_points.csv): name, kind, city, address,
  phone, website, source, source_date, confidence, notes, read through data/contacts/import_map.yml.
A row with an error (an unknown kind, a bad phone number, a missing short name) is reported as
`FILE:LINE: message` and nothing is imported. A row the policy refuses (DO NOT USE, a kind that
is not a service for women victims, a city the gazetteer cannot place) is reported the same way,
as `FILE:LINE: refused: ...`, and the other rows are imported.
"""
from __future__ import annotations

import csv
import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from core.directory.model import (
    BASES,
    CONFIDENCES,
    DISCONTINUED,
    KINDS,
    MIGRANT_KINDS,
    NATIONAL_KINDS,
    PHONE_RE,
    ROOT,
    Entry,
    normalize_phone,
)
from core.places import Gazetteer, Place, tokenize

MAP_PATH = ROOT / "data" / "contacts" / "import_map.yml"
CSV_COLUMNS = ["id", "kind", "name_fr", "name_ar", "town", "phone", "hours", "source", "checked_on"]
CSV_OPTIONAL = ["note", "email", "url", "source_date", "confidence", "basis", "shelter"]
RESEARCH_COLUMNS = ["name", "kind", "city", "address", "phone", "website", "source", "source_date", "confidence", "notes"]
ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
YEAR_RE = re.compile(r"(?<!\d)(19[5-9]\d|20\d\d)(?!\d)")
LAW_YEAR_RE = re.compile(r"law (in force )?\d{4}", re.I)
PARENS = re.compile(r"\s*\([^)]*\)")
NATIONAL_CITY = "national"
# Kinds that have no town: the rest must be placed.
UNPLACED_KINDS = NATIONAL_KINDS | MIGRANT_KINDS | {"online"}


class CsvImportError(ValueError):
    """Raised with every problem found, one 'file:line: message' per line."""


class Refusal(str):
    """A row left out on purpose, with its reason (not an error in the file)."""


@dataclass(frozen=True)
class _Row:
    line: int
    values: dict[str, str]


def read_import_csv(path: Path, gazetteer: Gazetteer | None = None, checked_on: str | None = None,
                    map_path: Path = MAP_PATH) -> tuple[list[Entry], list[str]]:
    """Read and validate a CSV in either format: (entries, refused rows as 'FILE:LINE: refused: ...').

    Towns are resolved through the gazetteer; raises CsvImportError when a row has an error."""
    gaz = gazetteer or Gazetteer.load()
    with Path(path).open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        header = reader.fieldnames or []
        rows, end = [], 1
        for row in reader:
            rows.append(_Row(end + 1, {k: (v or "").strip() for k, v in row.items() if k}))
            end = reader.line_num
    if "city" in header and "name" in header:
        missing = [c for c in RESEARCH_COLUMNS if c not in header]
        if missing:
            raise CsvImportError(f"{path}:1: missing column(s): {', '.join(missing)} (expected {','.join(RESEARCH_COLUMNS)})")
        today = checked_on or dt.date.today().isoformat()
        return _collect(path, rows, lambda r: _research_row(r, gaz, _load_map(map_path), Path(path).name, today))
    missing = [c for c in CSV_COLUMNS if c not in header]
    if missing:
        raise CsvImportError(f"{path}:1: missing column(s): {', '.join(missing)} (expected {','.join(CSV_COLUMNS)})")
    return _collect(path, rows, lambda r: _partner_row(r, gaz, Path(path).name))


def _collect(path: Path, rows: list[_Row], convert) -> tuple[list[Entry], list[str]]:
    errors: list[str] = []
    refused: list[str] = []
    entries: list[Entry] = []
    seen: dict[str, int] = {}
    for row in rows:
        made, problems = convert(row)
        for entry in made:
            if entry.id in seen:
                problems.append(f"id {entry.id!r} already used on line {seen[entry.id]}")
            seen.setdefault(entry.id, row.line)
        refused += [f"{path}:{row.line}: refused: {p}" for p in problems if isinstance(p, Refusal)]
        errors += [f"{path}:{row.line}: {p}" for p in problems if not isinstance(p, Refusal)]
        if not problems:
            entries += made
    if errors:
        raise CsvImportError("\n".join(errors + refused))
    return entries, refused


# ---------------------------------------------------------------------- a partner's list
def _partner_row(row: _Row, gaz: Gazetteer, file_name: str) -> tuple[list[Entry], list[str]]:
    v = row.values
    problems: list[str] = []
    if not ID_RE.match(v["id"]):
        problems.append(f"id {v['id']!r} must be lower-case letters, digits and dashes")
    if v["kind"] not in KINDS:
        problems.append(f"unknown kind {v['kind']!r} (known: {', '.join(sorted(KINDS))})")
    for column in ("name_fr", "name_ar", "source", "checked_on"):
        if not v[column]:
            problems.append(f"{column} is empty")
    if v["checked_on"] and not valid_date(v["checked_on"]):
        problems.append(f"checked_on {v['checked_on']!r} is not a date YYYY-MM-DD")
    if any(DISCONTINUED.search(text) for text in v.values()):
        problems.append("mentions the line 0 8000 8888, discontinued in 2013: never give it")
    phone, problem = _phone(v["phone"])
    problems += [problem] if problem else []
    basis = v.get("basis") or "sourced"
    if basis not in BASES:
        problems.append(f"basis {basis!r} must be one of {', '.join(sorted(BASES))}")
    confidence = v.get("confidence") or None
    if confidence is not None and confidence not in CONFIDENCES:
        problems.append(f"confidence {confidence!r} must be one of {', '.join(CONFIDENCES)}")
    shelter = (v.get("shelter") or "").lower()
    if shelter not in ("", "yes", "no", "true", "false"):
        problems.append(f"shelter {v['shelter']!r} must be yes or no")
    town: Place | None = None
    if v["town"]:
        found = _resolve_town(gaz, v["town"])
        if isinstance(found, str):
            problems.append(found)
        else:
            town = found
    elif v["kind"] not in UNPLACED_KINDS:
        problems.append("town is empty (a centre needs its town)")
    if problems:
        return [], problems
    # A confirmation dates the fact to the call; otherwise the source's date does, when given.
    year = int(v["checked_on"][:4]) if basis == "confirmed" else _year(v.get("source_date") or "")
    return [_entry(
        v["id"], v["kind"], v["name_fr"], v["name_ar"], town, phone, v["source"], v["checked_on"],
        hours=v["hours"] or None, email=v.get("email") or None, url=v.get("url") or None,
        note=v.get("note") or None, confidence=confidence, basis=basis,
        source_date=v.get("source_date") or None, source_year=year,
        source_ref=f"{file_name}:{row.line}", shelter=True if shelter in ("yes", "true") else None,
    )], []


# ---------------------------------------------------------------------- the researched list
def _load_map(path: Path) -> dict:
    doc = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    for section in ("kinds", "confidence", "labels", "generic"):
        if section not in doc:
            raise CsvImportError(f"{path}:1: section {section!r} is missing")
    return doc


def _research_row(row: _Row, gaz: Gazetteer, mapping: dict, file_name: str, checked_on: str) -> tuple[list[Entry], list[str]]:
    v = row.values
    # Refusals first, each with its reason: a row that must never be given stops here.
    if v["confidence"] == "DO NOT USE" or any(DISCONTINUED.search(text) for text in v.values()):
        return [], [Refusal("marked DO NOT USE (or names the line discontinued in 2013)")]
    kind_rule = mapping["kinds"].get(v["kind"])
    if kind_rule is None:
        return [], [f"unknown kind {v['kind']!r}: add it to data/contacts/import_map.yml"]
    if "refuse" in kind_rule:
        return [], [Refusal(f"kind {v['kind']!r}: {kind_rule['refuse']}")]
    confidence = mapping["confidence"].get(v["confidence"])
    if confidence is None:
        return [], [f"unknown confidence {v['confidence']!r}: add it to data/contacts/import_map.yml"]
    if isinstance(confidence, dict):
        return [], [Refusal(confidence["refuse"])]
    label = _label(v["name"], mapping)
    if label is None:
        return [], [f"no short name for {v['name'][:60]!r}: add it under labels in data/contacts/import_map.yml"]
    kind = kind_rule["kind"]
    towns: list[Place | None] = []
    problems: list[str] = []
    if v["city"].casefold() == NATIONAL_CITY:
        if kind not in UNPLACED_KINDS:
            problems.append(f"a {kind} needs a town, not {v['city']!r}")
        towns.append(None)
    else:
        for part in v["city"].split(" / "):  # "Fès / Meknès": one entry per town
            town = _resolve_town(gaz, PARENS.sub("", part).strip())
            if isinstance(town, str):
                problems.append(Refusal(f"city {v['city']!r} cannot be placed: {town}"))
            else:
                towns.append(town)
    phone, problem = _phone(v["phone"].split(";")[0])
    problems += [problem] if problem else []
    if problems:
        return [], problems
    basis = label.get("basis") or ("by_law" if "inferred" in v["confidence"] else "sourced")
    entries = [
        _entry(
            f"{label['id']}-{town.id}" if town else label["id"], kind, label["fr"], label["ar"], town, phone,
            v["source"], checked_on, confidence=confidence, basis=basis, source_date=v["source_date"] or None,
            source_year=_year(v["source_date"]), source_ref=f"{file_name}:{row.line}",
            note=v["notes"] or None, url=v["website"] or None, shelter=kind_rule.get("shelter"),
        )
        for town in towns
    ]
    return entries, []


def _label(name: str, mapping: dict) -> dict | None:
    if name in mapping["labels"]:
        return mapping["labels"][name]
    return next((g for g in mapping["generic"] if name.startswith(g["starts"])), None)


# ---------------------------------------------------------------------- shared helpers
def _entry(entry_id: str, kind: str, name_fr: str, name_ar: str, town: Place | None, phone: str | None,
           source: str, checked_on: str, **optional) -> Entry:
    return Entry(
        id=entry_id, kind=kind, name_fr=name_fr, name_ar=name_ar,
        region=town.region if town else None, town=town.id if town else None,
        lat=town.lat if town else None, lng=town.lng if town else None,
        location_precision="town" if town else None, phone=phone,
        hours=optional.pop("hours", None), source=source, checked_on=checked_on, **optional,
    )


def _phone(raw: str) -> tuple[str | None, str | None]:
    if not raw.strip():
        return None, None
    phone = normalize_phone(raw.strip())
    if not PHONE_RE.match(phone):
        return None, f"phone {raw.strip()!r} is not a Moroccan number (10 digits starting 05/06/07/08, or 2-4 digits)"
    return phone, None


def _year(text: str) -> int | None:
    """The most recent year a source date mentions ('2013-10 / 2020' -> 2020); None if undated."""
    # "law in force 2018", "law 2018": the law's year, not the date of the information.
    years = [int(y) for y in YEAR_RE.findall(LAW_YEAR_RE.sub("", text))]
    return max(years) if years else None


def valid_date(text: str) -> bool:
    if not DATE_RE.match(text):
        return False
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _resolve_town(gaz: Gazetteer, text: str) -> Place | str:
    """A town Place, or an error message: the official name or id, else a certain resolution."""
    place = gaz.places.get(text)
    if place is not None and place.kind == "town":
        return place
    key = " ".join(tokenize(text))
    official = [p for p in gaz.places.values()
                if p.kind == "town" and key in (" ".join(tokenize(p.name_fr)), " ".join(tokenize(p.name_ar)))]
    if len(official) == 1:
        return official[0]
    res = gaz.resolve(text)
    if res.status == "found" and res.place.kind == "town" and res.score >= 90:
        return res.place
    if res.status == "found" and res.place.kind != "town":
        return f"{text!r} is a {res.place.kind} ({res.place.name_fr}), not a town of the gazetteer"
    if res.status == "found":
        return f"town {text!r} is not certain (best guess {res.place.name_fr} [{res.place.id}], score {res.score}): write the town id"
    if res.status == "ambiguous":
        names = ", ".join(f"{c.name_fr} [{c.id}]" for c in res.candidates)
        return f"town {text!r} is ambiguous ({names}): write the town id"
    return f"town {text!r} is not in the gazetteer (data/places/towns.csv)"
