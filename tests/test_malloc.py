"""The gateway's C-heap upkeep: an arena cap at start-up and a trim once a minute."""
from __future__ import annotations

import subprocess
import sys

from bot import malloc
from core.settings import ROOT


def test_the_environment_wins_over_the_arena_cap(monkeypatch) -> None:
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert malloc.limit_arenas() is False


def test_the_cap_is_set_in_a_fresh_process_on_glibc() -> None:
    code = "from bot import malloc; print(malloc._LIBC is not None, malloc.limit_arenas())"
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout.split()
    assert out in (["True", "True"], ["False", "False"])  # glibc: set; elsewhere: a no-op
