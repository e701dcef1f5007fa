"""Deterministic emergency patterns (data/safety_net.yml) that override the classifier."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import yaml

from core.textnorm import normalize

PATTERNS_PATH = Path(__file__).resolve().parent.parent / "data" / "safety_net.yml"
# `<<name>>` in a pattern stands for the fragment of that name (one list of spellings, many rules).
_FRAGMENT = re.compile(r"<<(\w+)>>")


def _fragment(path: Path, where: str, fragments: dict[str, str], name: str) -> str:
    if name not in fragments:
        raise ValueError(f"{path}: {where} uses unknown fragment <<{name}>>")
    return fragments[name]


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

    def __init__(self, rules: list[Rule], exceptions: list[re.Pattern],
                 person: Optional[list[re.Pattern]] = None, ordinary: Optional[list[re.Pattern]] = None) -> None:
        self.rules = rules
        self.exceptions = exceptions
        self.person = person or []
        self.ordinary = ordinary or []

    @classmethod
    def load(cls, path: Path = PATTERNS_PATH) -> SafetyNet:
        with open(path, encoding="utf-8") as f:
            data = yaml.safe_load(f)
        fragments = data.get("fragments") or {}

        def compile_(where: str, pattern: str) -> re.Pattern:
            expanded = _FRAGMENT.sub(lambda m: _fragment(path, where, fragments, m.group(1)), pattern)
            try:
                return re.compile(expanded)
            except re.error as exc:
                raise ValueError(f"{path}: bad pattern {where} {pattern!r}: {exc}") from None

        rules = [Rule(f"{variety}-{i + 1}", variety, compile_(f"{variety}[{i}]", pattern))
                 for variety, entries in data["patterns"].items() for i, pattern in enumerate(entries)]
        exceptions = [compile_(f"exceptions[{i}]", p) for i, p in enumerate(data.get("exceptions") or [])]
        person = [compile_(f"person_affected[{i}]", p) for i, p in enumerate(data.get("person_affected") or [])]
        ordinary = [compile_(f"ordinary[{i}]", p) for i, p in enumerate(data.get("ordinary") or [])]
        return cls(rules, exceptions, person, ordinary)

    def affects_a_person(self, text: str) -> bool:
        """Whether the text names a person affected (me, my husband, my daughter...)."""
        folded = normalize(text)
        return any(p.search(folded) for p in self.person)

    def is_ordinary(self, text: str) -> bool:
        """Whether violent words are used the ordinary way (the sun hit me, laughter)."""
        folded = normalize(text)
        return any(p.search(folded) for p in self.ordinary)

    def match(self, text: str) -> Optional[str]:
        """The id of the first rule that fires, or None."""
        folded = normalize(text)
        for idiom in self.exceptions:
            folded = idiom.sub(" ", folded)
        for rule in self.rules:
            if rule.pattern.search(folded):
                return rule.id
        return None
