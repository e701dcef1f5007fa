"""The service directory on the real data/services.yml, and the CSV import."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from actions.directory import (
    CONTACT_KINDS,
    DEFAULT_PATH,
    KINDS,
    SHELTER_KINDS,
    Directory,
    Entry,
    normalize_phone,
)
from actions.places import Gazetteer

ROOT = Path(__file__).resolve().parent.parent
CSV_HEADER = "id,kind,name_fr,name_ar,town,phone,hours,source,checked_on\n"


@pytest.fixture(scope="module")
def directory() -> Directory:
    return Directory.load()


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=60)


def test_kind_sets():
    assert SHELTER_KINDS == {"shelter_street", "shelter_difficult_situation", "multifunctional_space"}
    assert CONTACT_KINDS == {"listening_centre", "police_cell", "court_cell", "hospital_unit"}
    assert KINDS == SHELTER_KINDS | CONTACT_KINDS | {"national_line", "emergency", "online"}


def test_national_line_and_emergency_numbers(directory):
    national = directory.national()
    assert national[0].kind == "national_line"
    assert (national[0].phone, national[0].hours) == ("8350", "24/7")
    phones = {e.phone for e in national}
    assert phones == {"8350", "19", "177", "15", "141"}
    police = directory.get("police-19")
    assert police.kind == "emergency" and police.mobile_phone == "112"
    assert all(e.region is None and e.town is None and not e.has_location for e in national)


def test_online_channels(directory):
    online = {e.id: e for e in directory.online()}
    assert online["e-blagh"].url == "www.e-blagh.ma"
    assert online["ministere-public-plaintes"].email == "plaintes@pmp.ma"
    assert all(e.phone is None for e in online.values())


def test_only_sourced_facts(directory):
    # The individually sourced centres, with no phone, no hours, placed at their town.
    centres = {e.id: e for e in directory.entries if e.kind in SHELTER_KINDS | CONTACT_KINDS}
    assert {e.town for e in centres.values()} == {
        "ouezzane", "agadir", "taroudannt", "youssoufia", "es-semara", "tanger", "casablanca",
    }
    gaz = Gazetteer.load()
    for entry in centres.values():
        assert entry.phone is None and entry.hours is None, entry.id
        assert entry.location_precision == "town"
        town = gaz.places[entry.town]
        assert (entry.lat, entry.lng, entry.region) == (town.lat, town.lng, town.region)
    assert centres["cfsd-casablanca-anfa"].kind == "shelter_difficult_situation"
    assert len(directory.entries) == 14
    for entry in directory.entries:
        assert entry.source.strip() and entry.checked_on, entry.id
    text = DEFAULT_PATH.read_text(encoding="utf-8")
    assert "8000 8888" not in text.split("services:", 1)[1]  # the line discontinued in 2013


def test_nearest_sorts_by_great_circle_distance(directory):
    # From Tétouan: the Tanger space is about 49 km away, Ouezzane about 89 km.
    found = directory.nearest(35.57568, -5.33520, None, limit=3)
    assert [e.id for e, _ in found][:2] == ["efm-tanger", "efm-ouezzane"]
    distances = [km for _, km in found]
    assert distances == sorted(distances)
    assert distances[0] == pytest.approx(49.2, abs=1.0)
    assert all(isinstance(e, Entry) and e.has_location for e, _ in found)


def test_nearest_filters_by_kind_and_limit(directory):
    found = directory.nearest(33.59, -7.62, {"shelter_difficult_situation"}, limit=5)
    assert [e.id for e, _ in found] == ["cfsd-casablanca-anfa"]
    assert directory.nearest(33.59, -7.62, CONTACT_KINDS) == []
    assert len(directory.nearest(30.0, -9.0, SHELTER_KINDS, limit=2)) == 2
    assert directory.nearest(30.0, -9.0, {"national_line"}) == []  # national entries have no location


@pytest.mark.parametrize(
    "raw, expected",
    [("05 22 12 34 56", "0522123456"), ("+212 6 61-00-00-00", "0661000000"), ("00212522000000", "0522000000"), ("19", "19")],
)
def test_normalize_phone(raw, expected):
    assert normalize_phone(raw) == expected


def _write(path: Path, rows: list[str]) -> Path:
    path.write_text(CSV_HEADER + "".join(r + "\n" for r in rows), encoding="utf-8")
    return path


def test_import_merges_a_valid_csv(tmp_path):
    target = tmp_path / "services.yml"
    shutil.copy(DEFAULT_PATH, target)
    csv_path = _write(
        tmp_path / "centres.csv",
        [
            "test-ecoute-kenitra,listening_centre,Centre d'écoute (test),مركز الاستماع,Kénitra,05 00 00 00 00,,test fixture,2026-01-15",
            "test-espace-fes,multifunctional_space,Espace (test),فضاء,fes,,lundi-vendredi,test fixture,2026-01-15",
        ],
    )
    out = run("-m", "actions.directory", "import", str(csv_path), "--out", str(target))
    assert out.returncode == 0, out.stderr
    assert "2 added, 0 updated, 16 entries" in out.stdout
    merged = Directory.load(target)
    kenitra = merged.get("test-ecoute-kenitra")
    assert (kenitra.town, kenitra.region, kenitra.phone) == ("kenitra", "rabat-sale-kenitra", "0500000000")
    assert kenitra.location_precision == "town" and kenitra.lat == pytest.approx(34.26261)
    assert merged.get("test-espace-fes").hours == "lundi-vendredi"
    assert merged.get("kolonamaak-8350") == Directory.load().get("kolonamaak-8350")
    assert target.read_text(encoding="utf-8").startswith("# Salama's service directory")
    # Importing again updates instead of duplicating.
    again = run("-m", "actions.directory", "import", str(csv_path), "--out", str(target))
    assert "0 added, 2 updated, 16 entries" in again.stdout
    # And the validator accepts the result.
    data = tmp_path / "root" / "data"
    shutil.copytree(ROOT / "data" / "places", data / "places")
    shutil.copy(target, data / "services.yml")
    check = run("scripts/validate_data.py", "--root", str(tmp_path / "root"))
    assert check.returncode == 0, check.stdout


def test_import_rejects_bad_rows_and_names_their_lines(tmp_path):
    target = tmp_path / "services.yml"
    shutil.copy(DEFAULT_PATH, target)
    before = target.read_text(encoding="utf-8")
    csv_path = _write(
        tmp_path / "bad.csv",
        [
            "ok-row,listening_centre,Centre,مركز,rabat,,,test fixture,2026-01-15",
            "bad-phone,listening_centre,Centre,مركز,rabat,12345,,test fixture,2026-01-15",
            "bad-kind,spa,Centre,مركز,rabat,,,test fixture,2026-01-15",
            "no-source,listening_centre,Centre,مركز,rabat,,,,2026-01-15",
            "bad-date,listening_centre,Centre,مركز,rabat,,,test fixture,15/01/2026",
            "bad-town,listening_centre,Centre,مركز,Atlantis,,,test fixture,2026-01-15",
            "ok-row,listening_centre,Centre,مركز,rabat,,,test fixture,2026-01-15",
        ],
    )
    out = run("-m", "actions.directory", "import", str(csv_path), "--out", str(target))
    assert out.returncode == 1
    err = out.stderr
    assert f"{csv_path}:3: phone '12345'" in err
    assert f"{csv_path}:4: unknown kind 'spa'" in err
    assert f"{csv_path}:5: source is empty" in err
    assert f"{csv_path}:6: checked_on '15/01/2026'" in err
    assert f"{csv_path}:7: town 'Atlantis'" in err
    assert f"{csv_path}:8: id 'ok-row' already used on line 2" in err
    assert f"{csv_path}:2:" not in err
    assert target.read_text(encoding="utf-8") == before  # nothing merged


def test_import_requires_the_documented_columns(tmp_path):
    csv_path = tmp_path / "short.csv"
    csv_path.write_text("id,kind,name_fr\nx,listening_centre,X\n", encoding="utf-8")
    out = run("-m", "actions.directory", "import", str(csv_path), "--out", str(tmp_path / "s.yml"))
    assert out.returncode == 1
    assert f"{csv_path}:1: missing column(s): name_ar, town, phone, hours, source, checked_on" in out.stderr
