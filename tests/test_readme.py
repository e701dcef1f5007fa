"""The README's two commands are the whole story: CI runs exactly the test command, and that
command installs or starts everything the tests need on a fresh clone."""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from core.settings import ROOT

README = ROOT / "README.md"
CI = ROOT / ".ci" / "run"


def _readme_commands() -> dict[str, str]:
    """The commands in README's "The two commands" block: {"run": "make run", ...}."""
    section = README.read_text().split("## The two commands", 1)[1]
    block = section.split("```sh", 1)[1].split("```", 1)[0]
    commands = [line.split("#", 1)[0].strip() for line in block.strip().splitlines()]
    return {c.split()[-1]: c for c in commands if c}


def _ci_commands() -> list[str]:
    """What .ci/run executes, minus shell housekeeping (set, cd, the timer)."""
    housekeeping = re.compile(r"^(set |cd |start=|echo |#|$)")
    lines = [line.strip() for line in CI.read_text().splitlines()[1:]]
    return [line for line in lines if not housekeeping.match(line)]


def test_readme_names_exactly_run_and_test() -> None:
    assert _readme_commands() == {"run": "make run", "test": "make test"}


def test_ci_runs_the_readme_test_command_and_nothing_else() -> None:
    assert _ci_commands() == [_readme_commands()["test"]]


def test_make_test_from_a_fresh_clone_installs_and_starts_what_the_tests_need(tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    # Whatever is uncommitted here is what is under test: copy the files this test is about.
    for name in ("Makefile", ".ci/run", "scripts/test_services.sh"):
        shutil.copy2(ROOT / name, clone / name)
    plan = subprocess.run(["make", "-n", "test"], cwd=clone, capture_output=True, text=True,
                          check=True).stdout
    steps = [("venv", " -m venv .venv"), ("deps", "-r requirements.txt"),
             ("services", "scripts/test_services.sh"), ("validate", "scripts/validate_data.py"),
             ("train", " train "), ("tests", "-m pytest -q")]
    where = {name: plan.find(marker) for name, marker in steps}
    assert all(pos >= 0 for pos in where.values()), where
    assert where["venv"] < where["deps"] < where["validate"] < where["train"] < where["tests"], where
    assert where["services"] < where["tests"], where


def test_services_script_is_quiet_and_quick_when_everything_is_there() -> None:
    done = subprocess.run([str(ROOT / "scripts" / "test_services.sh")], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "" and done.stderr == ""
