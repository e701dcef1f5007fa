"""scripts/validate_data.py: the real data passes; a broken copy is reported as path:line."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def validate(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "scripts/validate_data.py", "--root", str(root)],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )


@pytest.fixture
def copy(tmp_path) -> Path:
    """A copy of data/places, data/services.yml and data/contacts under tmp_path/data."""
    data = tmp_path / "data"
    shutil.copytree(ROOT / "data" / "places", data / "places")
    shutil.copytree(ROOT / "data" / "contacts", data / "contacts")
    shutil.copy(ROOT / "data" / "services.yml", data / "services.yml")
    return tmp_path


def edit(path: Path, old: str, new: str) -> int:
    """Replace the first `old` with `new`; return the 1-based line where it was."""
    text = path.read_text(encoding="utf-8")
    index = text.index(old)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return text[:index].count("\n") + 1


def test_real_data_is_valid():
    out = validate(ROOT)
    assert out.returncode == 0, out.stdout
    lines = out.stdout.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("validate_data: OK")
    assert "12 regions, 83 provinces, 242 towns" in lines[0]
    assert lines[1].startswith("freshness: ") and "of 148 local entries" in lines[1]


def test_freshness_age_is_configurable():
    def share(*args: str, env: dict | None = None) -> tuple[int, int]:
        out = subprocess.run([sys.executable, "scripts/validate_data.py", *args], cwd=ROOT, capture_output=True,
                             text=True, timeout=60, env={**os.environ, **(env or {})})
        match = re.search(r"freshness: (\d+) of \d+ local entries rest on a source older than (\d+) years", out.stdout)
        return int(match.group(1)), int(match.group(2))

    five, years = share()
    assert years == 5 and five > 0
    ten, years = share("--max-age-years", "10")
    assert years == 10 and ten < five
    assert share(env={"SALAMA_MAX_SOURCE_AGE_YEARS": "10"}) == (ten, 10)
    listed = subprocess.run([sys.executable, "scripts/validate_data.py", "--list-old"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60).stdout.splitlines()
    named = [line for line in listed if line.startswith("data/services.yml:")]
    assert any(": oses-ain-ghazal-oujda: source of 2006" in line for line in named)
    assert len([line for line in named if line.endswith("undated")]) + five == len(named)


def test_copy_is_valid(copy):
    assert validate(copy).returncode == 0


@pytest.mark.parametrize(
    "file, old, new, message",
    [
        ("services.yml", "  kind: emergency\n", "  kind: hotline\n", "unknown kind 'hotline'"),
        ("services.yml", "  phone: '177'\n", "  phone: '12345'\n", "is not a Moroccan number"),
        ("services.yml", "  phone: '19'\n", "  phone: '0 8000 8888'\n", "discontinued in 2013"),
        ("services.yml", "  phone: '141'\n", "  phone: 141\n", "must be quoted"),
        ("services.yml", "  source: femmesdumaroc.com\n", "  source: ''\n", "source is empty"),
        ("services.yml", "  basis: by_law\n", "  basis: rumour\n", "basis 'rumour' must be one of"),
        ("services.yml", "  confidence: low\n", "  confidence: high\n", "confidence 'high' must be one of"),
        ("services.yml", "  source_year: 2006\n", "  source_year: 2099\n", "source_year '2099' must be a year"),
        ("services.yml", "  name_fr: Centre Chaml\n", "  name_fr: Centre Chaml 0 8000 8888\n", "discontinued in 2013"),
        ("services.yml", "  checked_on: '2026-11-29'\n", "  checked_on: yesterday\n", "is not a date"),
        ("services.yml", "- id: efm-tanger\n", "- id: efm-agadir\n", "duplicate id 'efm-agadir'"),
        ("services.yml", "  region: laayoune-sakia-el-hamra\n", "  region: souss-massa\n", "differs from the region of es-semara"),
        ("services.yml", "  lat: 35.75624\n", "  lat: 37.5\n", "outside Morocco"),
        ("services.yml", "  lat: 34.79934\n", "  lat: 34.9\n", "not the centroid of ouezzane"),
        ("services.yml", "  town: ouezzane\n", "  town: atlantis\n", "unknown town id 'atlantis'"),
        ("contacts/import_map.yml", "  shelter: {kind: shelter}\n", "  shelter: {kind: refuge}\n", "not a directory kind"),
        ("contacts/import_map.yml", "  medium-low: low\n", "  medium-low: lowish\n", "maps to 'lowish'"),
        ("contacts/import_map.yml", '{id: chaml, fr: "Centre Chaml", ar: "مركز شمل"}', '{id: chaml, fr: "Centre Chaml"}', "needs ar"),
        ("contacts/import_map.yml", "    basis: study\n", "    basis: guess\n", "basis 'guess' must be one of"),
        ("places/towns.csv", "tanger,01.511.01.0,Tanger,طنجة,01.511,tanger-tetouan-al-hoceima,35.75624,-5.83272",
         "tanger,01.511.01.0,Tanger,طنجة,01.511,tanger-tetouan-al-hoceima,45.75624,-5.83272", "outside Morocco"),
        ("places/towns.csv", "tetouan,01.571.01.11,Tétouan,تطوان,01.571,tanger-tetouan-al-hoceima,35.57568,-5.33520",
         "tetouan,01.571.01.11,Tétouan,تطوان,01.571,tanger-tetouan-al-hoceima,30.41682,-9.56941", "km from its province seat"),
        ("places/towns.csv", "oujda,02.411.01.23,Oujda,وجدة,02.411,oriental,", "oujda,02.411.01.23,Oujda,وجدة,02.411,fes-meknes,",
         "differs from its province's (oriental)"),
        ("places/towns.csv", "assilah,01.511.01.01,", "tanger,01.511.01.01,", "duplicate town id 'tanger'"),
        ("places/provinces.csv", "02.411,Oujda-Angad,وجدة-أنجاد,prefecture,02,oriental",
         "02.411,Oujda-Angad,وجدة-أنجاد,prefecture,03,fes-meknes", "does not start with its region_code 03"),
        ("places/regions.csv", "oriental,02,", "orient,02,", "unknown region slug 'orient'"),
        ("places/aliases.yml", "  fnideq: [", "  atlantis: [", "'atlantis' is not a town id"),
        ("places/aliases.yml", "  dakhla: [dakhla,", "  dakhla: [casa, dakhla,", "alias 'casa' also names"),
        ("places/aliases.yml", "  zaio: [zaio,", "  zaio: [ana f zaio,", "a locative or filler word"),
        ("places/aliases.yml", "  zaio: [zaio,", "  zaio: [merci, zaio,", "is a common word"),
    ],
)
def test_broken_copy_names_file_and_line(copy, file, old, new, message):
    path = copy / "data" / file
    line = edit(path, old, new)
    out = validate(copy)
    assert out.returncode == 1
    expected = f"{path}:{line}: "
    hits = [row for row in out.stdout.splitlines() if row.startswith(expected) and message in row]
    assert hits, f"wanted {expected}...{message} in:\n{out.stdout}"


def test_missing_field_is_reported_at_its_entry(copy):
    path = copy / "data" / "services.yml"
    text = path.read_text(encoding="utf-8")
    start = text.index("- id: efm-es-semara")
    line = text[:start].count("\n") + 1
    block_end = text.index("  checked_on:", start)
    stop = text.index("\n", block_end) + 1
    path.write_text(text[:block_end] + text[stop:], encoding="utf-8")
    out = validate(copy)
    assert out.returncode == 1
    assert f"{path}:{line}: missing field 'checked_on'" in out.stdout


def test_invalid_yaml_is_reported(copy):
    path = copy / "data" / "services.yml"
    edit(path, "- id: efm-tanger\n", "- id: [efm-tanger\n")
    out = validate(copy)
    assert out.returncode == 1
    assert f"{path}:" in out.stdout and "invalid YAML" in out.stdout
