"""The gateway's own static texts (data/texts/gateway.yml), in the four varieties."""
from __future__ import annotations

from pathlib import Path

import yaml

from core.language import DEFAULT, VARIETIES
from core.settings import ROOT

TEXTS_PATH = ROOT / "data" / "texts" / "gateway.yml"
REQUIRED = (
    "static_fallback", "first_contact", "media_only", "empty_body", "help", "opted_out",
    "opted_in", "handoff_waiting", "handoff_timeout", "handoff_outside_hours", "keep_waiting",
    "bot_resumed", "quick_exit", "neutral_preview", "rate_limited", "menu_option_zero",
    "erase_confirm", "erase_done", "erase_kept",
)


class Texts:
    """Looks up a static text by key and variety; every key exists in every variety."""

    def __init__(self, table: dict[str, dict[str, str]]) -> None:
        missing = [
            f"{key}.{variety}"
            for key in REQUIRED
            for variety in VARIETIES
            if not (table.get(key) or {}).get(variety)
        ]
        if missing:
            raise ValueError(f"{TEXTS_PATH}: missing texts: {', '.join(missing)}")
        self._table = table

    @classmethod
    def load(cls, path: Path = TEXTS_PATH) -> Texts:
        with open(path, encoding="utf-8") as f:
            return cls(yaml.safe_load(f))

    def get(self, key: str, variety: str | None) -> str:
        return self._table[key].get(variety or DEFAULT) or self._table[key][DEFAULT]
