"""Formatting directory entries for a reply, in her variety and script."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Iterable, Optional

import yaml

from actions.directory import Entry

WORDS_PATH = Path(__file__).resolve().parent.parent / "data" / "texts" / "directory.yml"
ARABIC_SCRIPT = {"dar_ar", "ar"}


@lru_cache(maxsize=1)
def _words() -> dict:
    with open(WORDS_PATH, encoding="utf-8") as f:
        return yaml.safe_load(f)


def _word(key: str, variety: Optional[str]) -> str:
    table = _words()[key]
    return table.get(variety or "dar_ar", table["dar_ar"])


def format_entries(nearest: Iterable[tuple[Entry, float]], variety: Optional[str]) -> str:
    """One line per entry: name, distance, and the phone only where it is sourced."""
    lines = []
    for entry, km in nearest:
        name = entry.name_ar if variety in ARABIC_SCRIPT else entry.name_fr
        contact = entry.phone or _word("no_phone", variety)
        lines.append(f"- {name} ({km:.0f} {_word('km', variety)}): {contact}")
    return "\n".join(lines)
