"""The service directory on the real data/services.yml, the CSV imports, confirmation and coverage."""
from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from core.directory import (
    CONTACT_KINDS,
    DEFAULT_PATH,
    KINDS,
    MIGRANT_KINDS,
    SHELTER_KINDS,
    Directory,
    Entry,
    normalize_phone,
)
from core.directory.coverage import coverage
from core.directory.model import DISCONTINUED
from core.places import Gazetteer

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data"
RESEARCH_CSV = SHARED / "contacts" / "contact_points.csv"
CSV_HEADER = "id,kind,name_fr,name_ar,town,phone,hours,source,checked_on\n"
RESEARCH_HEADER = "name,kind,city,address,phone,website,source,source_date,confidence,notes\n"
needs_shared = pytest.mark.skipif(not RESEARCH_CSV.exists(), reason="../shared/data/contacts is not checked out here")


@pytest.fixture(scope="module")
def directory() -> Directory:
    return Directory.load()


@pytest.fixture(scope="module")
def gaz() -> Gazetteer:
    return Gazetteer.load()


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=120)


def shared_rows() -> dict[int, dict]:
    with RESEARCH_CSV.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        return {reader.line_num: row for row in reader}  # noqa: B035 (line_num moves with the reader)


def test_kind_sets():
    assert {"shelter", "shelter_street", "shelter_difficult_situation", "multifunctional_space"} == SHELTER_KINDS
    assert {"listening_centre", "police_cell", "court_cell", "hospital_unit"} == CONTACT_KINDS
    assert {"migrant_line"} == MIGRANT_KINDS
    assert SHELTER_KINDS | CONTACT_KINDS | MIGRANT_KINDS | {"national_line", "emergency", "online"} == KINDS


def test_national_line_and_emergency_numbers(directory):
    national = directory.national()
    assert national[0].kind == "national_line"
    assert (national[0].phone, national[0].hours) == ("8350", "24/7")
    assert {e.phone for e in national} == {"8350", "19", "177", "15", "141"}
    assert directory.get("police-19").mobile_phone == "112"
    assert all(e.region is None and e.town is None and not e.has_location for e in national)


def test_online_channels(directory):
    online = {e.id: e for e in directory.online()}
    assert online["e-blagh"].url == "www.e-blagh.ma"
    assert online["ministere-public-plaintes"].email == "plaintes@pmp.ma"


def test_local_entries_are_placed_at_their_town_and_say_how_they_are_known(directory, gaz):
    local = directory.local()
    assert len(local) == 148
    for entry in local:
        town = gaz.places[entry.town]
        assert (entry.lat, entry.lng, entry.region, entry.location_precision) == (town.lat, town.lng, town.region, "town")
        assert entry.basis in {"sourced", "by_law", "study"} and entry.confidence in {"good", "medium", "low"}, entry.id
        assert entry.source.strip() and entry.checked_on, entry.id
    courts = [e for e in local if e.kind == "court_cell"]
    assert sum(e.basis == "by_law" for e in courts) == 70
    assert {e.id for e in courts if e.basis == "sourced"} == {
        "family-court-rooms-oujda", "court-agadir", "family-court-derb-soltan-casablanca"}
    assert {e.town for e in local if e.basis == "study"} >= {"casablanca", "tanger", "el-jadida", "oujda", "berkane"}


@needs_shared
def test_every_entry_traces_to_the_shared_list_or_the_sourced_readme(directory, gaz):
    rows = shared_rows()
    readme = (SHARED / "README.md").read_text(encoding="utf-8")
    for entry in directory.entries:
        if entry.source_ref is None:
            # The national lines and the seven centres of the shared README's table.
            sites = re.findall(r"[a-z0-9]{5,}", entry.source.lower())
            assert any(site in readme.lower() for site in sites), entry.id
            continue
        name, line = entry.source_ref.rsplit(":", 1)
        row = rows[int(line)]
        assert name == RESEARCH_CSV.name
        assert row["source"] == entry.source and (row["source_date"] or None) == entry.source_date, entry.id
        towns = [part.split(" (")[0].strip() for part in row["city"].split(" / ")]
        placed = [gaz.places[entry.town].name_fr] if entry.town else ["National"]
        assert placed[0] in towns or gaz.resolve(towns[0]).place.id == entry.town, entry.id
        # Phone numbers are the list's own, never added.
        if entry.phone:
            assert entry.phone == normalize_phone(row["phone"].split(";")[0]), entry.id


def test_the_discontinued_line_is_nowhere(directory):
    for path in [DEFAULT_PATH, ROOT / "domain.yml", *sorted((ROOT / "data" / "texts").glob("*.yml"))]:
        assert not DISCONTINUED.search(path.read_text(encoding="utf-8")), path
    for entry in directory.entries:
        assert not any(DISCONTINUED.search(str(v)) for v in vars(entry).values() if v is not None), entry.id
    assert DISCONTINUED.search("0 8000 8888") and DISCONTINUED.search("080008888")
    assert not DISCONTINUED.search("0800004146")  # the migrants' free line is another number


def test_coverage_meets_the_targets(directory, gaz):
    cov = coverage(directory, gaz)
    assert cov.towns == 242
    assert cov.shares["any"][50] >= 0.85
    assert cov.shares["association/space/shelter"][50] >= 0.60
    assert cov.medians["any"] <= 20
    assert set(cov.regions) == {p.id for p in gaz.places.values() if p.kind == "region"}


def test_report_command_prints_coverage_per_kind_and_region():
    out = run("-m", "core.directory", "report")
    assert out.returncode == 0, out.stderr
    assert "242 urban communes" in out.stdout
    for label in ("any", "association/space/shelter", "court", "hospital", "named by a source", "Oriental", "median km"):
        assert label in out.stdout


def test_nearest_sorts_by_great_circle_distance(directory):
    found = directory.nearest(35.57568, -5.33520, {"multifunctional_space"}, limit=3)
    assert found[0][0].id == "efm-tanger" and found[0][1] == pytest.approx(49.2, abs=1.0)
    distances = [km for _, km in found]
    assert distances == sorted(distances)
    assert directory.nearest(30.0, -9.0, {"national_line"}) == []  # national entries have no location


def test_cli_nearest_prints_entries_by_distance_and_rejects_an_unknown_kind():
    out = run("-m", "core.directory", "nearest", "--lat", "35.57", "--lng", "-5.37", "--kind", "multifunctional_space", "--limit", "2")
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert rows[0]["id"] == "efm-tanger" and rows[0]["distance_km"] < rows[1]["distance_km"]
    bad = run("-m", "core.directory", "nearest", "--lat", "34", "--lng", "-6", "--kind", "spa")
    assert bad.returncode != 0 and "unknown kind" in bad.stderr


def test_places_does_not_import_the_directory():
    code = "import sys, core.places; print('core.directory' in sys.modules)"
    out = run("-c", code)
    assert out.stdout.strip() == "False", out.stderr


@pytest.mark.parametrize(
    "raw, expected",
    [("05 22 12 34 56", "0522123456"), ("+212 6 61-00-00-00", "0661000000"), ("00212522000000", "0522000000"), ("19", "19")],
)
def test_normalize_phone(raw, expected):
    assert normalize_phone(raw) == expected


# ---------------------------------------------------------------------- importing the researched list
@needs_shared
def test_importing_the_researched_list_refuses_each_bad_row_with_its_line(tmp_path):
    target = tmp_path / "services.yml"
    Directory([e for e in Directory.load().entries if e.source_ref is None]).save(target)
    out = run("-m", "core.directory", "import", str(RESEARCH_CSV), "--out", str(target), "--checked-on", "2026-12-01")
    assert out.returncode == 0, out.stderr
    assert "142 added, 0 updated, 0 kept (confirmed by phone), 7 refused, 156 entries" in out.stdout
    refused = {int(line.split(":")[1]): line for line in out.stderr.splitlines()}
    assert sorted(refused) == [20, 21, 25, 39, 54, 108, 148]
    assert "DO NOT USE" in refused[148] and not DISCONTINUED.search(out.stderr)
    assert "not a service for women victims" in refused[20] and "not a service for women victims" in refused[21]
    assert "cannot be placed" in refused[25] and "is a region" in refused[54] and "is a province" in refused[108]
    assert "very low" in refused[39]
    # The same list imported again gives the same directory as the one in the repository.
    assert Directory.load(target).entries == Directory.load().entries


def _write(path: Path, header: str, rows: list[str]) -> Path:
    path.write_text(header + "".join(r + "\n" for r in rows), encoding="utf-8")
    return path


def test_research_rows_refused_or_wrong_are_named_by_line(tmp_path):
    target = tmp_path / "services.yml"
    shutil.copy(DEFAULT_PATH, target)
    before = target.read_text(encoding="utf-8")
    rows = [
        '"Centre Annajda (Union de l\'Action Féminine)",association listening centre,Safi,,,,a source,2020,low,',
        '"Ancien numéro",other (DISCONTINUED hotline),National,,,,medias24,2013-04,DO NOT USE,',
        '"Centre Annajda (Union de l\'Action Féminine)",association listening centre,Atlantis,,,,a source,2020,low,',
        '"Jossour",other (association HQ),Rabat,,,,a source,2014,low,',
        '"Centre inconnu",association listening centre,Rabat,,,,a source,2020,low,',
        '"Centre Annajda (Union de l\'Action Féminine)",spa,Rabat,,,,a source,2020,low,',
        '"Centre Annajda (Union de l\'Action Féminine)",association listening centre,Rabat,,12345,,a source,2020,low,',
    ]
    csv_path = _write(tmp_path / "list.csv", RESEARCH_HEADER, rows)
    out = run("-m", "core.directory", "import", str(csv_path), "--out", str(target))
    assert out.returncode == 1  # rows 6-8 are errors in the file: nothing is imported
    err = out.stderr
    assert f"{csv_path}:3: refused: marked DO NOT USE" in err
    assert f"{csv_path}:4: refused: city 'Atlantis' cannot be placed" in err
    assert f"{csv_path}:5: refused: kind 'other (association HQ)'" in err
    assert f"{csv_path}:6: no short name for 'Centre inconnu'" in err
    assert f"{csv_path}:7: unknown kind 'spa'" in err
    assert f"{csv_path}:8: phone '12345'" in err
    assert f"{csv_path}:2:" not in err
    assert target.read_text(encoding="utf-8") == before
    # Without the rows in error, the refused rows are left out and the good one is imported.
    ok = _write(tmp_path / "ok.csv", RESEARCH_HEADER, rows[:4])
    out = run("-m", "core.directory", "import", str(ok), "--out", str(target), "--checked-on", "2026-12-01")
    assert out.returncode == 0, out.stderr
    assert "0 added, 1 updated, 0 kept (confirmed by phone), 3 refused" in out.stdout
    safi = Directory.load(target).get("annajda-uaf-safi")
    assert (safi.source_year, safi.confidence, safi.basis, safi.source_ref) == (2020, "low", "sourced", "ok.csv:2")


# ---------------------------------------------------------------------- a partner's CSV
def test_a_partner_csv_is_merged(tmp_path):
    target = tmp_path / "services.yml"
    shutil.copy(DEFAULT_PATH, target)
    csv_path = _write(
        tmp_path / "centres.csv",
        CSV_HEADER.strip() + ",basis,confidence,shelter\n",
        [
            "test-ecoute-kenitra,listening_centre,Centre d'écoute (test),مركز الاستماع,Kénitra,05 00 00 00 00,,test fixture,2026-01-15,confirmed,good,no",
            "test-espace-fes,multifunctional_space,Espace (test),فضاء,fes,,lundi-vendredi,test fixture,2026-01-15,sourced,medium,yes",
        ],
    )
    out = run("-m", "core.directory", "import", str(csv_path), "--out", str(target))
    assert out.returncode == 0, out.stderr
    assert "2 added, 0 updated, 0 kept (confirmed by phone), 0 refused, 158 entries" in out.stdout
    merged = Directory.load(target)
    kenitra = merged.get("test-ecoute-kenitra")
    assert (kenitra.town, kenitra.region, kenitra.phone, kenitra.basis) == ("kenitra", "rabat-sale-kenitra", "0500000000", "confirmed")
    assert kenitra.source_year == 2026 and kenitra.source_ref == "centres.csv:2"
    assert merged.get("test-espace-fes").shelter is True
    assert target.read_text(encoding="utf-8").startswith("# Salama's service directory")
    data = tmp_path / "root" / "data"
    shutil.copytree(ROOT / "data" / "places", data / "places")
    shutil.copy(target, data / "services.yml")
    check = run("scripts/validate_data.py", "--root", str(tmp_path / "root"))
    assert check.returncode == 0, check.stdout


def test_a_partner_csv_with_bad_rows_is_refused_with_their_lines(tmp_path):
    target = tmp_path / "services.yml"
    shutil.copy(DEFAULT_PATH, target)
    before = target.read_text(encoding="utf-8")
    csv_path = _write(
        tmp_path / "bad.csv",
        CSV_HEADER,
        [
            "ok-row,listening_centre,Centre,مركز,rabat,,,test fixture,2026-01-15",
            "bad-phone,listening_centre,Centre,مركز,rabat,12345,,test fixture,2026-01-15",
            "bad-kind,spa,Centre,مركز,rabat,,,test fixture,2026-01-15",
            "no-source,listening_centre,Centre,مركز,rabat,,,,2026-01-15",
            "bad-date,listening_centre,Centre,مركز,rabat,,,test fixture,15/01/2026",
            "bad-town,listening_centre,Centre,مركز,Atlantis,,,test fixture,2026-01-15",
            "ok-row,listening_centre,Centre,مركز,rabat,,,test fixture,2026-01-15",
            "old-line,national_line,Ancien numéro,رقم,,0 8000 8888,,test fixture,2026-01-15",
        ],
    )
    out = run("-m", "core.directory", "import", str(csv_path), "--out", str(target))
    assert out.returncode == 1
    err = out.stderr
    assert f"{csv_path}:3: phone '12345'" in err
    assert f"{csv_path}:4: unknown kind 'spa'" in err
    assert f"{csv_path}:5: source is empty" in err
    assert f"{csv_path}:6: checked_on '15/01/2026'" in err
    assert f"{csv_path}:7: town 'Atlantis'" in err
    assert f"{csv_path}:8: id 'ok-row' already used on line 2" in err
    assert f"{csv_path}:9: mentions the line 0 8000 8888" in err
    assert f"{csv_path}:2:" not in err
    assert target.read_text(encoding="utf-8") == before


def test_import_requires_the_documented_columns(tmp_path):
    csv_path = tmp_path / "short.csv"
    csv_path.write_text("id,kind,name_fr\nx,listening_centre,X\n", encoding="utf-8")
    out = run("-m", "core.directory", "import", str(csv_path), "--out", str(tmp_path / "s.yml"))
    assert out.returncode == 1
    assert f"{csv_path}:1: missing column(s): name_ar, town, phone, hours, source, checked_on" in out.stderr


# ---------------------------------------------------------------------- a partner confirms by phone
@needs_shared
def test_a_phone_confirmation_changes_the_wording_and_survives_a_reimport(tmp_path, gaz):
    from core.directory.answer import Point, describe

    target = tmp_path / "services.yml"
    shutil.copy(DEFAULT_PATH, target)
    before = describe(Point(Directory.load(target).get("oses-ain-ghazal-oujda"), 0.0), "fr", gaz)
    assert "2006" in before
    out = run("-m", "core.directory", "--services", str(target), "confirm", "oses-ain-ghazal-oujda",
              "--on", "2026-12-01", "--by", "UNFM Oujda")
    assert out.returncode == 0, out.stderr
    entry = Directory.load(target).get("oses-ain-ghazal-oujda")
    assert (entry.basis, entry.confidence, entry.checked_on, entry.source_year) == ("confirmed", "good", "2026-12-01", 2026)
    assert "confirmed by phone by UNFM Oujda on 2026-12-01" in entry.source
    after = describe(Point(entry, 0.0), "fr", gaz)
    assert "Confirmé par téléphone le 2026-12-01" in after and "2006" not in after
    again = run("-m", "core.directory", "import", str(RESEARCH_CSV), "--out", str(target))
    assert "1 kept (confirmed by phone)" in again.stdout
    assert Directory.load(target).get("oses-ain-ghazal-oujda").basis == "confirmed"
    bad = run("-m", "core.directory", "--services", str(target), "confirm", "nope", "--on", "2026-12-01", "--by", "X")
    assert bad.returncode != 0 and "no entry with id 'nope'" in bad.stderr


def test_entry_has_every_field_it_is_written_with(directory):
    assert all(isinstance(e, Entry) for e in directory.entries)
    assert len({e.id for e in directory.entries}) == len(directory.entries)
