"""Check the gazetteer (data/places/*), the service directory (data/services.yml) and its import map.

    .venv/bin/python scripts/validate_data.py [--root .] [--max-age-years N] [--list-old]

Every problem is printed as `path:line: message` and the exit status is 1; when all is well
a summary line is printed, then the directory's freshness: the local entries whose source is
older than N years (default SALAMA_MAX_SOURCE_AGE_YEARS or 5) or undated, and their share
(`--list-old` names each one as `path:line: id`).
"""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.directory import (  # noqa: E402
    BASES,
    CONFIDENCES,
    CONTACT_KINDS,
    ENTRY_FIELDS,
    KINDS,
    MIGRANT_KINDS,
    NATIONAL_KINDS,
    PHONE_RE,
    PRECISIONS,
    REQUIRED_FIELDS,
    SHELTER_KINDS,
    Entry,
    age_status,
    max_age_years,
)
from core.directory.model import DISCONTINUED as DISCONTINUED_RE  # noqa: E402
from core.places import haversine_km, tokenize  # noqa: E402

# Morocco's bounding box, Tanger to Lagouira and the Atlantic to Figuig.
LAT_RANGE = (20.5, 36.1)
LNG_RANGE = (-17.2, -0.9)

REGION_SLUGS = [
    "tanger-tetouan-al-hoceima", "oriental", "fes-meknes", "rabat-sale-kenitra",
    "beni-mellal-khenifra", "casablanca-settat", "marrakech-safi", "draa-tafilalet",
    "souss-massa", "guelmim-oued-noun", "laayoune-sakia-el-hamra", "dakhla-oued-ed-dahab",
]
PROVINCE_TYPES = {"province", "prefecture", "prefecture_of_arrondissements"}

# How far a town may lie from its province seat. A wrong digit or sign in a coordinate moves a
# point by hundreds of kilometres, while the towns of a northern province are close together:
# in the 2024 data the farthest is Fam El Hisn, 132 km from Tata. 250 km catches the errors and
# leaves room. The provinces of the three Saharan regions are different: they cover tens of
# thousands of km² of desert (Lagouira, at the southern tip of Aousserd province, is 287 km
# from Aousserd), so they get 600 km, still well below the 1,000+ km a sign error would cause.
MAX_SEAT_KM = 250
SAHARAN_REGIONS = {"guelmim-oued-noun", "laayoune-sakia-el-hamra", "dakhla-oued-ed-dahab"}
MAX_SEAT_KM_SAHARA = 600

DISCONTINUED = {"080008888": "the old ministry line 0 8000 8888, discontinued in 2013"}  # as a phone field
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$")
TOWN_ID_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
PROVINCE_CODE_RE = re.compile(r"^\d\d\.\d{3}(\.\d\d\.\d\d)?$")
TOWN_CODE_RE = re.compile(r"^\d\d\.\d{3}\.\d\d\.\d{1,2}$")
SERVICE_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")

REGION_COLUMNS = ["slug", "code", "name_fr", "name_ar"]
PROVINCE_COLUMNS = [
    "code", "name_fr", "name_ar", "type", "region_code", "region", "parent_code", "seat_code",
    "seat_fr", "seat_ar", "seat_town", "lat", "lng", "seat_basis",
]
TOWN_COLUMNS = ["id", "code", "name_fr", "name_ar", "province_code", "region", "lat", "lng"]


class Report:
    def __init__(self) -> None:
        self.errors: list[str] = []

    def error(self, path: Path, line: int, message: str) -> None:
        self.errors.append(f"{_show(path)}:{line}: {message}")


def _show(path: Path) -> str:
    rel = os.path.relpath(path)
    return str(path) if rel.startswith("..") else rel


def _key(text: str) -> str:
    return " ".join(tokenize(str(text)))


def _coord(report: Report, path: Path, line: int, lat, lng) -> tuple[float, float] | None:
    try:
        lat_f, lng_f = float(lat), float(lng)
    except (TypeError, ValueError):
        report.error(path, line, f"coordinates {lat!r}, {lng!r} are not numbers")
        return None
    if not (LAT_RANGE[0] <= lat_f <= LAT_RANGE[1] and LNG_RANGE[0] <= lng_f <= LNG_RANGE[1]):
        report.error(path, line, f"coordinates {lat_f}, {lng_f} are outside Morocco (lat {LAT_RANGE}, lng {LNG_RANGE})")
        return None
    return lat_f, lng_f


def _read_csv(report: Report, path: Path, columns: list[str]) -> list[tuple[int, dict]]:
    if not path.exists():
        report.error(path, 1, "file is missing")
        return []
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames != columns:
            report.error(path, 1, f"columns are {reader.fieldnames}, expected {columns}")
            return []
        rows = []
        for row in reader:
            if None in row or any(v is None for v in row.values()):
                report.error(path, reader.line_num, f"expected {len(columns)} fields")
                continue
            rows.append((reader.line_num, row))
        return rows


# ---------------------------------------------------------------------- gazetteer
def check_regions(report: Report, path: Path) -> dict[str, dict]:
    by_code: dict[str, dict] = {}
    rows = _read_csv(report, path, REGION_COLUMNS)
    for line, row in rows:
        if row["slug"] not in REGION_SLUGS:
            report.error(path, line, f"unknown region slug {row['slug']!r}")
        if row["code"] in by_code:
            report.error(path, line, f"duplicate region code {row['code']}")
        elif row["slug"] in REGION_SLUGS and row["code"] != f"{REGION_SLUGS.index(row['slug']) + 1:02d}":
            report.error(path, line, f"region {row['slug']} has code {row['code']}, expected {REGION_SLUGS.index(row['slug']) + 1:02d}")
        for column in ("name_fr", "name_ar"):
            if not row[column].strip():
                report.error(path, line, f"{column} is empty")
        by_code[row["code"]] = row
    slugs = [row["slug"] for _, row in rows]
    if rows and sorted(slugs) != sorted(REGION_SLUGS):
        report.error(path, 1, f"expected exactly the 12 regions {REGION_SLUGS}, got {slugs}")
    return by_code


def check_provinces(report: Report, path: Path, regions: dict[str, dict]) -> dict[str, tuple[int, dict]]:
    provinces: dict[str, tuple[int, dict]] = {}
    for line, row in _read_csv(report, path, PROVINCE_COLUMNS):
        code = row["code"]
        if not PROVINCE_CODE_RE.match(code):
            report.error(path, line, f"province code {code!r} is not NN.NNN or NN.NNN.NN.NN")
            continue
        if code in provinces:
            report.error(path, line, f"duplicate province code {code}")
        if row["type"] not in PROVINCE_TYPES:
            report.error(path, line, f"unknown type {row['type']!r}")
        region = regions.get(row["region_code"])
        if region is None:
            report.error(path, line, f"unknown region_code {row['region_code']!r}")
        else:
            if code[:2] != row["region_code"]:
                report.error(path, line, f"code {code} does not start with its region_code {row['region_code']}")
            if row["region"] != region["slug"]:
                report.error(path, line, f"region {row['region']!r} does not match region_code {row['region_code']} ({region['slug']})")
        if not row["seat_code"].startswith(code[:6]):
            report.error(path, line, f"seat {row['seat_code']} is not a commune of {code[:6]}")
        for column in ("name_fr", "name_ar", "seat_basis"):
            if not row[column].strip():
                report.error(path, line, f"{column} is empty")
        _coord(report, path, line, row["lat"], row["lng"])
        provinces[code] = (line, row)
    for code, (line, row) in provinces.items():
        parent = row["parent_code"]
        if parent and (parent not in provinces or not code.startswith(parent + ".")):
            report.error(path, line, f"parent_code {parent!r} is not the province containing {code}")
        if (row["type"] == "prefecture_of_arrondissements") != bool(parent):
            report.error(path, line, "only a prefecture of arrondissements has a parent_code")
    return provinces


def check_towns(report: Report, path: Path, provinces: dict[str, tuple[int, dict]]) -> dict[str, tuple[int, dict]]:
    towns: dict[str, tuple[int, dict]] = {}
    codes: set[str] = set()
    for line, row in _read_csv(report, path, TOWN_COLUMNS):
        town_id, code = row["id"], row["code"]
        if not TOWN_ID_RE.match(town_id):
            report.error(path, line, f"town id {town_id!r} must be lower-case words joined by dashes")
        if town_id in towns:
            report.error(path, line, f"duplicate town id {town_id!r}")
        if not TOWN_CODE_RE.match(code):
            report.error(path, line, f"commune code {code!r} is not NN.NNN.NN.N(N)")
        elif code in codes:
            report.error(path, line, f"duplicate commune code {code}")
        codes.add(code)
        province = provinces.get(row["province_code"])
        if province is None:
            report.error(path, line, f"unknown province_code {row['province_code']!r}")
        else:
            prow = province[1]
            if not code.startswith(row["province_code"] + "."):
                report.error(path, line, f"code {code} is not inside province {row['province_code']}")
            if row["region"] != prow["region"]:
                report.error(path, line, f"region {row['region']!r} differs from its province's ({prow['region']})")
        for column in ("name_fr", "name_ar"):
            if not row[column].strip():
                report.error(path, line, f"{column} is empty")
        point = _coord(report, path, line, row["lat"], row["lng"])
        if point and province is not None:
            prow = province[1]
            limit = MAX_SEAT_KM_SAHARA if prow["region"] in SAHARAN_REGIONS else MAX_SEAT_KM
            km = haversine_km(point[0], point[1], float(prow["lat"]), float(prow["lng"]))
            if km > limit:
                report.error(path, line, f"{row['name_fr']} is {km:.0f} km from its province seat {prow['seat_fr']} (limit {limit} km)")
        towns[town_id] = (line, row)
    return towns


def check_seat_towns(report: Report, path: Path, provinces: dict, towns: dict) -> None:
    for _code, (line, row) in provinces.items():
        seat = row["seat_town"]
        if not seat:
            continue
        if seat not in towns:
            report.error(path, line, f"seat_town {seat!r} is not in towns.csv")
        elif towns[seat][1]["code"] != row["seat_code"]:
            report.error(path, line, f"seat_town {seat!r} has code {towns[seat][1]['code']}, not {row['seat_code']}")


def _compose(report: Report, path: Path):
    if not path.exists():
        report.error(path, 1, "file is missing")
        return None
    try:
        return yaml.compose(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        report.error(path, (mark.line + 1) if mark else 1, f"invalid YAML: {getattr(exc, 'problem', exc)}")
        return None


def _line(node) -> int:
    return node.start_mark.line + 1


def _mapping(node) -> list[tuple[yaml.Node, yaml.Node]]:
    return node.value if isinstance(node, yaml.MappingNode) else []


def _string_list(report: Report, path: Path, node, what: str) -> list[tuple[int, str]]:
    if not isinstance(node, yaml.SequenceNode):
        report.error(path, _line(node), f"{what} must be a list")
        return []
    out = []
    for item in node.value:
        if not isinstance(item, yaml.ScalarNode) or not str(item.value).strip():
            report.error(path, _line(item), f"{what}: every item must be a non-empty string")
            continue
        out.append((_line(item), str(item.value)))
    return out


def check_common_words(report: Report, path: Path) -> dict[str, list[tuple[int, str]]]:
    root = _compose(report, path)
    if root is None:
        return {}
    sections: dict[str, list[tuple[int, str]]] = {}
    allowed = {"locatives", "fillers", "articles", "common", "weak_aliases", "blocked_aliases"}
    for key, value in _mapping(root):
        if key.value not in allowed:
            report.error(path, _line(key), f"unknown section {key.value!r} (allowed: {', '.join(sorted(allowed))})")
            continue
        if isinstance(value, yaml.MappingNode):
            items = [it for _, group in value.value for it in _string_list(report, path, group, key.value)]
        else:
            items = _string_list(report, path, value, key.value)
        sections[key.value] = items
    for name in allowed - set(sections):
        report.error(path, 1, f"section {name!r} is missing")
    return sections


def check_aliases(report: Report, path: Path, known: set[str], words: dict, official: dict[str, set[str]]) -> int:
    root = _compose(report, path)
    if root is None:
        return 0
    common = {_key(w) for _, w in words.get("common", [])}
    weak = {_key(w) for _, w in words.get("weak_aliases", [])}
    articles = {t for _, w in words.get("articles", []) for t in tokenize(w)}
    # Locatives and fillers cut a message into pieces before matching ("l" is also an article).
    breakers = {t for name in ("locatives", "fillers") for _, w in words.get(name, []) for t in tokenize(w)} - articles
    owner: dict[str, tuple[str, int]] = {}
    count = 0
    for section, body in _mapping(root):
        if section.value not in ("curated", "doda"):
            report.error(path, _line(section), f"unknown section {section.value!r} (allowed: curated, doda)")
            continue
        for key, value in _mapping(body):
            place = str(key.value)
            if place not in known:
                report.error(path, _line(key), f"{place!r} is not a town id, province code or region slug")
                continue
            for line, alias in _string_list(report, path, value, f"aliases of {place}"):
                count += 1
                norm = _key(alias)
                if not norm:
                    report.error(path, line, f"alias {alias!r} has no letters")
                    continue
                prev = owner.get(norm)
                if prev and prev[0] != place:
                    report.error(path, line, f"alias {alias!r} also names {prev[0]} (line {prev[1]})")
                owner.setdefault(norm, (place, line))
                clash = [p for p, names in official.items() if norm in names and p != place and not _related(p, place)]
                if clash:
                    report.error(path, line, f"alias {alias!r} is the official name of {clash[0]}")
                cut = [t for t in norm.split() if t in breakers]
                if cut:
                    report.error(path, line, f"alias {alias!r} contains {cut[0]!r}, a locative or filler word: it can never match")
                if norm in common and norm not in weak:
                    report.error(path, line, f"alias {alias!r} is a common word: list it under weak_aliases in common_words.yml")
    return count


def _related(a: str, b: str) -> bool:
    """Town/province/region keys that may share a name (Tétouan the town and the province)."""
    return "." in a or "." in b or a in REGION_SLUGS or b in REGION_SLUGS


def check_weak_aliases(report: Report, path: Path, words: dict, all_aliases: set[str]) -> None:
    for line, alias in words.get("weak_aliases", []):
        if _key(alias) not in all_aliases:
            report.error(path, line, f"weak alias {alias!r} is not an alias of any place")


# ---------------------------------------------------------------------- services
def _scalar(node):
    if isinstance(node, yaml.ScalarNode):
        if node.tag.endswith(":null"):
            return None
        return node.value
    return node


def check_services(report: Report, path: Path, towns: dict, regions: dict[str, dict]) -> list[dict]:
    """Check every entry; returns the entries' values (for the freshness summary)."""
    root = _compose(report, path)
    if root is None:
        return []
    services = dict((k.value, v) for k, v in _mapping(root)).get("services")
    if not isinstance(services, yaml.SequenceNode):
        report.error(path, _line(root) if root else 1, "top-level key 'services' must be a list of entries")
        return []
    region_slugs = {r["slug"] for r in regions.values()}
    ids: dict[str, int] = {}
    today = dt.date.today()
    entries_seen: list[dict] = []
    for entry in services.value:
        if not isinstance(entry, yaml.MappingNode):
            report.error(path, _line(entry), "an entry must be a mapping")
            continue
        nodes = {k.value: v for k, v in entry.value}
        lines = {k: _line(v) for k, v in nodes.items()}
        values = {k: _scalar(v) for k, v in nodes.items()}
        start = _line(entry)

        def err(field: str, message: str, lines: dict = lines, start: int = start) -> None:
            report.error(path, lines.get(field, start), message)

        for field in REQUIRED_FIELDS:
            if field not in nodes:
                err(field, f"missing field {field!r}")
        for field in nodes:
            if field not in ENTRY_FIELDS:
                err(field, f"unknown field {field!r}")
        entry_id = values.get("id")
        if not isinstance(entry_id, str) or not SERVICE_ID_RE.match(entry_id):
            err("id", f"id {entry_id!r} must be lower-case letters, digits and dashes")
        elif entry_id in ids:
            err("id", f"duplicate id {entry_id!r} (first on line {ids[entry_id]})")
        else:
            ids[entry_id] = lines["id"]
        kind = values.get("kind")
        if kind not in KINDS:
            err("kind", f"unknown kind {kind!r} (known: {', '.join(sorted(KINDS))})")
        for field in ("name_fr", "name_ar", "source"):
            if field in nodes and not (values[field] or "").strip():
                err(field, f"{field} is empty")
        checked = values.get("checked_on")
        if "checked_on" in nodes:
            try:
                if not re.match(r"^\d{4}-\d{2}-\d{2}$", str(checked)):
                    raise ValueError
                if dt.date.fromisoformat(str(checked)) > today:
                    err("checked_on", f"checked_on {checked} is in the future")
            except ValueError:
                err("checked_on", f"checked_on {checked!r} is not a date YYYY-MM-DD")
        for field in ("phone", "mobile_phone"):
            node = nodes.get(field)
            value = values.get(field)
            if value is None:
                continue
            if node.tag.endswith(":int"):
                err(field, f"{field} {value} must be quoted: a number written bare loses its leading 0")
            digits = re.sub(r"\D", "", str(value))
            if not PHONE_RE.match(str(value)):
                err(field, f"{field} {value!r} is not a Moroccan number (10 digits starting 05/06/07/08, or 2-4 digits)")
            if digits in DISCONTINUED:
                err(field, f"{field} {value!r} is {DISCONTINUED[digits]}: never give it")
        for field, value in values.items():
            if isinstance(value, str) and DISCONTINUED_RE.search(value):
                err(field, f"{field} names the line 0 8000 8888, discontinued in 2013: never give it")
        basis, confidence = values.get("basis"), values.get("confidence")
        if basis is not None and basis not in BASES:
            err("basis", f"basis {basis!r} must be one of {', '.join(sorted(BASES))}")
        if basis is None and kind in SHELTER_KINDS | CONTACT_KINDS | MIGRANT_KINDS:
            err("id", f"a {kind} entry needs its basis ({', '.join(sorted(BASES))})")
        if confidence is not None and confidence not in CONFIDENCES:
            err("confidence", f"confidence {confidence!r} must be one of {', '.join(CONFIDENCES)}")
        year = values.get("source_year")
        if year is not None and not (str(year).isdigit() and 1950 <= int(year) <= today.year):
            err("source_year", f"source_year {year!r} must be a year between 1950 and {today.year}")
        if values.get("shelter") not in (None, "true", "false"):
            err("shelter", f"shelter {values.get('shelter')!r} must be true or false")
        email = values.get("email")
        if email is not None and not EMAIL_RE.match(str(email)):
            err("email", f"email {email!r} is not an address")

        region, town = values.get("region"), values.get("town")
        national = kind in NATIONAL_KINDS or kind == "online"
        if region is not None and region not in region_slugs:
            err("region", f"unknown region {region!r}")
        if national and (region is not None or town is not None):
            err("region", f"a {kind} entry is national: region and town must be null")
        if kind in SHELTER_KINDS | CONTACT_KINDS and region is None:
            err("region", f"a {kind} entry needs its region")
        town_row = None
        if town is not None:
            if town not in towns:
                err("town", f"unknown town id {town!r} (data/places/towns.csv)")
            else:
                town_row = towns[town][1]
                if region is not None and town_row["region"] != region:
                    err("region", f"region {region!r} differs from the region of {town} ({town_row['region']})")
        lat, lng, precision = values.get("lat"), values.get("lng"), values.get("location_precision")
        if (lat is None) != (lng is None):
            err("lat", "lat and lng go together")
        elif lat is not None:
            point = _coord(report, path, lines.get("lat", start), lat, lng)
            if precision not in PRECISIONS:
                err("location_precision", f"location_precision {precision!r} must be one of {sorted(PRECISIONS)} when lat/lng are set")
            if point and precision == "town":
                if town_row is None:
                    err("location_precision", "location_precision 'town' needs a town")
                elif haversine_km(point[0], point[1], float(town_row["lat"]), float(town_row["lng"])) > 0.05:
                    err("lat", f"location_precision is 'town' but lat/lng are not the centroid of {town}")
        elif precision is not None:
            err("location_precision", "location_precision is set but lat/lng are null")
        entries_seen.append({**values, "_line": start})
    return entries_seen


def freshness(values: list[dict], max_age: int, today: dt.date | None = None,
              path: Path | None = None) -> list[str]:
    """How much of the local directory rests on old or undated sources; with `path`, one line per such entry."""
    local = [v for v in values if v.get("lat") is not None]
    status = [
        age_status(Entry(**{**dict.fromkeys(REQUIRED_FIELDS), "basis": v.get("basis"),
                            "source_year": int(v["source_year"]) if str(v.get("source_year") or "").isdigit() else None}),
                   today, max_age)
        for v in local
    ]
    old, undated = status.count("old"), status.count("undated")
    share = 100 * (old + undated) / max(len(local), 1)
    year = (today or dt.date.today()).year - max_age
    lines = [f"{_show(path)}:{v['_line']}: {v['id']}: " + (f"source of {v['source_year']}" if s == "old" else "undated")
             for v, s in zip(local, status) if s != "fresh"] if path else []
    return lines + [f"freshness: {old} of {len(local)} local entries rest on a source older than {max_age} years "
                    f"(before {year}) and {undated} are undated: {share:.0f}% of the local directory to re-check"]


# ---------------------------------------------------------------------- how the researched list is read
def check_import_map(report: Report, path: Path) -> None:
    """data/contacts/import_map.yml: known kinds and confidences, a short name in both scripts."""
    root = _compose(report, path)
    if root is None:
        return
    sections = {k.value: v for k, v in _mapping(root)}
    for name in ("kinds", "confidence", "labels", "generic"):
        if name not in sections:
            report.error(path, 1, f"section {name!r} is missing")
    for key, node in _mapping(sections.get("kinds")):
        rule = yaml.safe_load(yaml.serialize(node)) or {}
        if "refuse" not in rule and rule.get("kind") not in KINDS:
            report.error(path, _line(node), f"kind {key.value!r} maps to {rule.get('kind')!r}, not a directory kind")
    for key, node in _mapping(sections.get("confidence")):
        value = yaml.safe_load(yaml.serialize(node))
        if not (value in CONFIDENCES or isinstance(value, dict) and "refuse" in value):
            report.error(path, _line(node), f"confidence {key.value!r} maps to {value!r}: use {', '.join(CONFIDENCES)} or refuse")
    labels = [(key.value, node) for key, node in _mapping(sections.get("labels"))]
    generic = sections.get("generic")
    labels += [(None, node) for node in (generic.value if isinstance(generic, yaml.SequenceNode) else [])]
    for name, node in labels:
        label = yaml.safe_load(yaml.serialize(node)) or {}
        missing = [f for f in ("id", "fr", "ar") + (("starts",) if name is None else ()) if not str(label.get(f) or "").strip()]
        if missing:
            report.error(path, _line(node), f"label {name or label.get('starts')!r} needs {', '.join(missing)}")
        elif not SERVICE_ID_RE.match(str(label["id"])):
            report.error(path, _line(node), f"label id {label['id']!r} must be lower-case letters, digits and dashes")
        if label.get("basis") is not None and label["basis"] not in BASES:
            at = next((_line(v) for k, v in _mapping(node) if k.value == "basis"), _line(node))
            report.error(path, at, f"basis {label['basis']!r} must be one of {', '.join(sorted(BASES))}")
        if any(DISCONTINUED_RE.search(str(v)) for v in [name, *label.values()]):
            report.error(path, _line(node), "names the line 0 8000 8888, discontinued in 2013")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=ROOT, help="project root holding data/")
    parser.add_argument("--max-age-years", type=int, default=max_age_years(),
                        help="a source older than this is reported as old (default 5, or SALAMA_MAX_SOURCE_AGE_YEARS)")
    parser.add_argument("--list-old", action="store_true", help="name each old or undated entry (path:line: id)")
    args = parser.parse_args(argv)
    places = args.root / "data" / "places"
    report = Report()

    regions = check_regions(report, places / "regions.csv")
    provinces = check_provinces(report, places / "provinces.csv", regions)
    towns = check_towns(report, places / "towns.csv", provinces)
    check_seat_towns(report, places / "provinces.csv", provinces, towns)
    words = check_common_words(report, places / "common_words.yml")

    official: dict[str, set[str]] = {}
    for code, (_, row) in provinces.items():
        official[code] = {_key(row["name_fr"]), _key(row["name_ar"])}
    for town_id, (_, row) in towns.items():
        official[town_id] = {_key(row["name_fr"]), _key(row["name_ar"])}
    known = set(official) | {r["slug"] for r in regions.values()}
    alias_count = check_aliases(report, places / "aliases.yml", known, words, official)

    all_aliases = set()
    if not report.errors:
        from core.places import Gazetteer

        gaz = Gazetteer.load(places)
        all_aliases = {_key(a) for a in gaz.aliases()}
        check_weak_aliases(report, places / "common_words.yml", words, all_aliases)
    services_path = args.root / "data" / "services.yml"
    services = check_services(report, services_path, towns, regions)
    import_map = args.root / "data" / "contacts" / "import_map.yml"
    if import_map.exists():  # only where the researched list is imported
        check_import_map(report, import_map)

    if report.errors:
        print("\n".join(report.errors))
        print(f"validate_data: {len(report.errors)} problem(s)", file=sys.stderr)
        return 1
    print(
        f"validate_data: OK: {len(regions)} regions, {len(provinces)} provinces, {len(towns)} towns, "
        f"{alias_count} curated/DODa aliases, {len(services)} directory entries"
    )
    print("\n".join(freshness(services, args.max_age_years, path=services_path if args.list_old else None)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
