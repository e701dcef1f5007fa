"""Counsellors' canned replies (data/texts/canned.yml): a label in French and Arabic, a text
in each of the four varieties."""
from __future__ import annotations

from pathlib import Path

import yaml

from core.language import VARIETIES
from core.settings import ROOT

CANNED_PATH = ROOT / "data" / "texts" / "canned.yml"
LABEL_LANGUAGES = ("fr", "ar")


def load_canned(path: Path = CANNED_PATH) -> list[dict]:
    """The replies in file order: [{"key", "label": {fr, ar}, "texts": {variety: text}}]."""
    with open(path, encoding="utf-8") as f:
        table = yaml.safe_load(f) or {}
    problems, replies = [], []
    for key, entry in table.items():
        entry = entry or {}
        label, texts = entry.get("label") or {}, entry.get("text") or {}
        problems += [f"{key}.label.{lang}" for lang in LABEL_LANGUAGES if not label.get(lang)]
        problems += [f"{key}.text.{variety}" for variety in VARIETIES if not texts.get(variety)]
        replies.append({"key": key, "label": {lang: label.get(lang) for lang in LABEL_LANGUAGES},
                        "texts": {variety: texts.get(variety) for variety in VARIETIES}})
    if problems or not replies:
        raise ValueError(f"{path}: missing: {', '.join(problems) or 'every reply'}")
    return replies
