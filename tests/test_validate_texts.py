"""`make validate` on the replies: a broken copy fails with the file and line."""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "validate_texts.py"


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    shutil.copy(ROOT / "domain.yml", tmp_path / "domain.yml")
    shutil.copytree(ROOT / "data" / "texts", tmp_path / "data" / "texts")
    shutil.copy(ROOT / "data" / "safety_net.yml", tmp_path / "data" / "safety_net.yml")
    return tmp_path


def run(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), "--root", str(root)], capture_output=True,
                          text=True, cwd=ROOT)


def line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if needle in line)


def test_the_real_texts_pass():
    result = run(ROOT)
    assert result.returncode == 0, result.stdout
    assert "OK" in result.stdout


def test_an_invented_phone_number_is_refused_with_file_and_line(copy):
    path = copy / "data" / "texts" / "gateway.yml"
    text = path.read_text(encoding="utf-8").replace("8350", "05 22 12 34 56", 1)
    path.write_text(text, encoding="utf-8")
    result = run(copy)
    assert result.returncode == 1
    assert f"data/texts/gateway.yml:{line_of(path, '05 22 12 34 56')}:" in result.stdout
    assert "'05 22 12 34 56' is not a sourced one" in result.stdout


def test_the_discontinued_line_is_refused(copy):
    path = copy / "domain.yml"
    path.write_text(path.read_text(encoding="utf-8").replace("8350", "0 8000 8888", 1), encoding="utf-8")
    result = run(copy)
    assert result.returncode == 1 and "discontinued" in result.stdout


def test_a_missing_variant_is_named(copy):
    path = copy / "domain.yml"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.strip() == "utter_thank:")
    # Drop the response's first variant (condition, its three lines, and its text).
    end = next(i for i in range(start + 2, len(lines)) if lines[i].lstrip().startswith("- condition"))
    del lines[start + 1:end]
    path.write_text("".join(lines), encoding="utf-8")
    result = run(copy)
    assert result.returncode == 1
    assert "utter_thank: missing variants dar_ar" in result.stdout


def test_a_short_neutral_preview_is_refused(copy):
    path = copy / "data" / "texts" / "gateway.yml"
    lines = path.read_text(encoding="utf-8").splitlines()
    i = next(n for n, line in enumerate(lines) if line.startswith("neutral_preview:"))
    lines[i + 4] = '  fr: "Salama : message"'
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = run(copy)
    assert result.returncode == 1
    assert f"data/texts/gateway.yml:{i + 5}: neutral_preview (fr)" in result.stdout
