"""Place names as keys: normalised tokens, a spelling-insensitive phonetic key, the consonant
skeleton, prefix and article variants, and how close a fuzzy match must be."""
from __future__ import annotations

import re

from core.textnorm import normalize

KIND_RANK = {"town": 0, "province": 1, "region": 2}  # most specific first
MAX_CANDIDATES = 4
MAX_TOKENS = 200  # a pasted essay is cut here; a 140-word message takes about 20 ms

_ARABIC = re.compile("[\u0600-\u06ff]")
_TOKEN = re.compile(r"[\u0600-\u06ff]+|[a-z0-9]+")
_APOSTROPHES = re.compile("['’‘`´]")
_DOUBLES = re.compile(r"(.)\1+")
_VOWELS = re.compile("[aeiou]")
# Arabizi digits and French/Darija spellings of the same sounds, applied in this order.
_LATIN_SOUNDS = [
    ("9", "k"), ("7", "h"), ("5", "kh"), ("3", "a"), ("2", ""), ("4", "gh"), ("8", "h"),
    ("tch", "x"), ("sh", "x"), ("ch", "x"), ("dj", "j"), ("ph", "f"), ("th", "t"),
    ("qu", "k"), ("q", "k"), ("ck", "k"), ("gue", "ge"), ("gui", "gi"),
    ("ce", "se"), ("ci", "si"), ("cy", "sy"), ("c", "k"),
    ("ou", "u"), ("oo", "u"), ("w", "u"),
]
_LATIN_SOUND_RE = re.compile("|".join(re.escape(a) for a, _ in _LATIN_SOUNDS))
_LATIN_SOUND_MAP = dict(_LATIN_SOUNDS)
_ARABIC_PREFIXES = "وفبلك"
_LATIN_PREFIXES = "flb"



def phonetic(text: str) -> str:
    """A spelling-insensitive key of already-normalised text ('9niTra' and 'kenitra' get close)."""
    text = _APOSTROPHES.sub("", text)
    if _ARABIC.search(text):
        # Final ة (folded to ه) is often typed ا ('تازا', 'طنجا'). No doubled-letter folding:
        # Arabic script does not double letters, so a double is a typo.
        text = re.sub("ه(?![\u0621-\u064a])", "ا", text)
        return re.sub("[^\u0621-\u064a]", "", text).replace("ء", "")
    text = _LATIN_SOUND_RE.sub(lambda m: _LATIN_SOUND_MAP[m.group(0)], text)
    return _DOUBLES.sub(r"\1", re.sub("[^a-z]", "", text))


def skeleton(key: str) -> str:
    """Consonants of a Latin phonetic key: Darija drops vowels ('mknas' ~ 'meknes')."""
    return _DOUBLES.sub(r"\1", _VOWELS.sub("", key))


def tokenize(text: str) -> list[str]:
    return _TOKEN.findall(_APOSTROPHES.sub("", normalize(text)))


def _fuzzy_cutoff(length: int, arabic: bool) -> float | None:
    """Minimum ratio for a span whose phonetic key has this length (short keys: exact only).

    Arabic keys carry no short vowels, so one wrong letter weighs more: stricter cut-offs."""
    if arabic:
        return None if length <= 4 else 88 if length <= 7 else 84
    if length <= 3:
        return None
    if length == 4:
        return 88
    if length == 5:
        return 85
    if length <= 7:
        return 82
    return 78


def _split_glued_article(tokens: list[str]) -> list[str]:
    """'ana fl bida' -> 'ana f lbida': Darija glues the article to the preposition."""
    out: list[str] = []
    glue = False
    for tok in tokens:
        if glue and not _ARABIC.search(tok):
            tok = "l" + tok
        glue = tok in ("fl", "bl", "ml", "mnl")
        out.append(tok[:-1] if glue else tok)
    return out


def _prefix_variants(token: str, latin: bool = True) -> list[tuple[str, bool]]:
    """The token and what is left when a glued preposition is removed ('فالرباط', 'fcasa').

    The bool says a prefix was stripped (a locative: ف/ب/ل or f/l/b)."""
    out = [(token, False)]
    if _ARABIC.search(token):
        stems = [token[1:]] if token[0] == "و" and len(token) > 3 else []
        stems.append(token)
        for stem in stems:
            if len(stem) > 3 and (stem[0] in _ARABIC_PREFIXES[1:] or stem.startswith("دال")):
                out.append((stem[1:], True))
                if stem.startswith("لل"):
                    out.append(("ال" + stem[2:], True))
            if stem is not token:
                out.append((stem, False))
    elif latin and len(token) > 3 and token[0] in _LATIN_PREFIXES:
        out.append((token[1:], True))
        if len(token) > 4 and token[1] in _LATIN_PREFIXES:
            out.append((token[2:], True))
    return out


def _article_variants(text: str, articles: set[str]) -> list[str]:
    """'El Jadida' -> ['El Jadida', 'Jadida']; 'الجديدة' -> ['الجديدة', 'جديدة']."""
    out = [text]
    tokens = tokenize(text)
    if len(tokens) > 1 and tokens[0] in articles and not _ARABIC.search(tokens[0]):
        out.append(" ".join(tokens[1:]))
    elif tokens and tokens[0].startswith("ال") and len(tokens[0]) > 4:
        out.append(" ".join([tokens[0][2:], *tokens[1:]]))
    return out
