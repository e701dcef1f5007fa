"""Perturber: respells held-out sentences as people do, to measure robustness.

Written apart from the augmenter (scripts/augment_nlu.py) and with other rules, so that the
perturbed held-out figure in `make eval` measures what training did not see. Each sentence
gets one respelling the augmenter never makes (Arabizi 9 as g, ou as oo, i as ee; Arabic
ض/ظ, ذ/د, ث/ت confused; French é as er, qu as k, oi as wa) and one slip of the thumb (a
letter dropped, two neighbours swapped, a letter doubled, a neighbouring key, words glued or
split, punctuation lost). Deterministic: each sentence seeds its own generator.
"""
from __future__ import annotations

import random
import re
import zlib
from typing import Callable

Perturbation = Callable[[str, random.Random], str]

# Neighbouring keys on AZERTY (Latin) and on the Arabic phone keyboard.
LATIN_NEIGHBOURS = {"a": "zq", "z": "ae", "e": "zr", "r": "et", "t": "ry", "y": "tu", "u": "yi", "i": "uo",
                    "o": "ip", "q": "as", "s": "qd", "d": "sf", "f": "dg", "g": "fh", "h": "gj", "j": "hk",
                    "k": "jl", "l": "km", "m": "l", "w": "x", "x": "wc", "c": "xv", "v": "cb", "b": "vn",
                    "n": "b"}
ARABIC_NEIGHBOURS = {"ض": "ص", "ص": "ضث", "ث": "صق", "ق": "ثف", "ف": "قغ", "غ": "فع", "ع": "غه",
                     "ه": "عخ", "خ": "هح", "ح": "خج", "ش": "س", "س": "شي", "ي": "سب", "ب": "يل",
                     "ل": "با", "ا": "لت", "ت": "ان", "ن": "تم", "م": "نك", "ك": "م", "ر": "ؤز",
                     "ز": "رظ", "د": "ج", "ج": "حد", "و": "ة", "ط": "ظ", "ظ": "ط"}


def _pick_word(words: list[str], rng: random.Random, min_len: int = 4) -> int | None:
    candidates = [i for i, w in enumerate(words) if len(w) >= min_len and w.isalpha()]
    return rng.choice(candidates) if candidates else None


def drop_letter(text: str, rng: random.Random) -> str:
    words = text.split()
    i = _pick_word(words, rng)
    if i is not None:
        w = words[i]
        j = rng.randrange(1, len(w) - 1)
        words[i] = w[:j] + w[j + 1:]
    return " ".join(words)


def swap_neighbours(text: str, rng: random.Random) -> str:
    words = text.split()
    i = _pick_word(words, rng)
    if i is not None:
        w = words[i]
        j = rng.randrange(1, len(w) - 2)
        words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2:]
    return " ".join(words)


def double_letter(text: str, rng: random.Random) -> str:
    words = text.split()
    i = _pick_word(words, rng, 3)
    if i is not None:
        w = words[i]
        j = rng.randrange(len(w))
        words[i] = w[:j + 1] + w[j] + w[j + 1:]
    return " ".join(words)


def neighbour_key(text: str, rng: random.Random) -> str:
    words = text.split()
    i = _pick_word(words, rng, 5)
    if i is not None:
        w = words[i]
        spots = [j for j, ch in enumerate(w[1:-1], 1) if ch.lower() in LATIN_NEIGHBOURS or ch in ARABIC_NEIGHBOURS]
        if spots:
            j = rng.choice(spots)
            table = LATIN_NEIGHBOURS if w[j].lower() in LATIN_NEIGHBOURS else ARABIC_NEIGHBOURS
            words[i] = w[:j] + rng.choice(table[w[j].lower()]) + w[j + 1:]
    return " ".join(words)


def glue_or_split(text: str, rng: random.Random) -> str:
    """Join a short word to the next one ("f dar" -> "fdar", "و ما" -> "وما"), or split a long one."""
    words = text.split()
    short = [i for i, w in enumerate(words[:-1]) if len(w) <= 2]
    if short and rng.random() < 0.7:
        i = rng.choice(short)
        return " ".join(words[:i] + [words[i] + words[i + 1]] + words[i + 2:])
    i = _pick_word(words, rng, 7)
    if i is not None:
        w = words[i]
        j = rng.randrange(3, len(w) - 2)
        words[i] = w[:j] + " " + w[j:]
    return " ".join(words)


def lose_punctuation(text: str, rng: random.Random) -> str:
    return re.sub(r"[?!.,;:'’؟،]", lambda m: "" if rng.random() < 0.7 else " ", text).strip()


SLIPS: list[Perturbation] = [drop_letter, swap_neighbours, double_letter, neighbour_key,
                             glue_or_split, lose_punctuation]
# Real respellings per script that scripts/augment_nlu.py does not produce.
RESPELLINGS = {
    "latin": [("9", "g"), ("ou", "oo"), ("(?<=\\w)i(?=\\w)", "ee")],
    "arabic": [("ض", "ظ"), ("ظ", "ض"), ("ذ", "د"), ("ث", "ت")],
    "french": [("(?<=\\w)é\\b", "er"), ("qu", "k"), ("oi", "wa"), ("(?<=\\w)ais\\b", "é")],
}


def respell(text: str, variety: str, rng: random.Random) -> str:
    """One of the script's respellings, applied to one word where it fits."""
    script = "arabic" if variety in ("dar_ar", "ar") or re.search("[\u0600-\u06ff]", text) else (
        "french" if variety == "fr" else "latin")
    rules = [(old, new) for old, new in RESPELLINGS[script] if re.search(old, text)]
    if not rules:
        return text
    old, new = rng.choice(rules)
    words = text.split(" ")
    i = rng.choice([i for i, w in enumerate(words) if re.search(old, w)])
    words[i] = re.sub(old, new, words[i])
    return " ".join(words)


def perturb(text: str, variety: str, edits: int = 1) -> str:
    """`text` respelled once and with `edits` slips, the same every run."""
    rng = random.Random(zlib.crc32(f"perturb:{variety}:{text}".encode()))
    text = respell(text, variety, rng)
    for rule in rng.sample(SLIPS, edits):
        text = rule(text, rng) or text
    return text
