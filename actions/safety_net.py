"""Deterministic emergency patterns (data/safety_net.yml) that override the classifier."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import yaml

from actions.textnorm import normalize

PATTERNS_PATH = Path(__file__).resolve().parent.parent / "data" / "safety_net.yml"


@dataclass(frozen=True)
class Rule:
    id: str
    variety: str
    pattern: re.Pattern


class SafetyNet:
    """Matches messages that mean immediate danger, in the four varieties.

    Patterns are matched against the normalised text (textnorm.normalize), so they are
    written in folded form: lower case, no accents, ا for أإآ, ه for ة, ي for ى.
    """

    def __init__(self, rules: list[Rule], exceptions: list[re.Pattern]) -> None:
        self.rules = rules
        self.exceptions = exceptions

    @classmethod
    def load(cls, path: Path = PATTERNS_PATH) -> "SafetyNet":
        with open(path, encoding="utf-8") as f:
            data = yaml.safe_load(f)
        rules = []
        for variety, entries in data["patterns"].items():
            for i, pattern in enumerate(entries):
                try:
                    rules.append(Rule(f"{variety}-{i + 1}", variety, re.compile(pattern)))
                except re.error as exc:
                    raise ValueError(f"{path}: bad pattern {variety}[{i}] {pattern!r}: {exc}") from None
        exceptions = [re.compile(p) for p in data.get("exceptions", [])]
        return cls(rules, exceptions)

    def match(self, text: str) -> Optional[str]:
        """The id of the first rule that fires, or None."""
        folded = normalize(text)
        for idiom in self.exceptions:
            folded = idiom.sub(" ", folded)
        for rule in self.rules:
            if rule.pattern.search(folded):
                return rule.id
        return None
