"""Latin-script Darija (Arabizi) written again in Arabic script, by rule, for training data.

The real everyday Darija the model learns as negatives (DODa, scripts/build_doda.py) exists
only in Latin letters. The same sentences written in Arabic script teach the Arabic-script
side of the model what ordinary Darija looks like. The rules follow how Moroccans write
Darija in Arabic letters (../shared/data/README.md, "Arabizi conventions"):
- digits and digraphs: 2 ء, 3 ع, 5/kh خ, 7 ح, 9 ق, 4/gh غ, 8 ه, ch/sh/x ش;
- capitals T ط, S ص, D ض, Z ظ, H ح (DODa's way of marking emphatics), doubled letters once;
- a ا, i/ee ي, o/u/ou و, e (the short vowel) not written;
- the present prefix ka-/ta- before n/t/y is short: "kanmchi" كنمشي, "kaydir" كيدير, but
  "kayn" كاين and "kant" كانت keep it;
- the article at the start of a word: "lmdina" المدينا, "lli" اللي; "o" alone is و (and).
It is not a perfect transliteration (long and short a are not told apart, ة is written ا), but
the tokenizer's normalisation and the character n-grams forgive both, and the consonant
skeleton (core/skeleton.py) of each word is unchanged. Tests: tests/test_arabizi.py.
"""
from __future__ import annotations

import re

_EMPHATIC = {"T": "ط", "S": "ص", "D": "ض", "Z": "ظ", "H": "ح"}
_PAIRS = {"kh": "خ", "gh": "غ", "ch": "ش", "sh": "ش", "ou": "و", "dj": "ج", "ee": "ي"}
_SINGLE = {
    "2": "ء", "3": "ع", "4": "غ", "5": "خ", "7": "ح", "8": "ه", "9": "ق",
    "a": "ا", "b": "ب", "c": "ك", "d": "د", "f": "ف", "g": "ڭ", "h": "ه", "i": "ي", "j": "ج",
    "k": "ك", "l": "ل", "m": "م", "n": "ن", "o": "و", "p": "ب", "q": "ق", "r": "ر", "s": "س",
    "t": "ت", "u": "و", "v": "ف", "w": "و", "x": "ش", "y": "ي", "z": "ز",
    "é": "ي", "è": "", "ê": "", "à": "ا", "â": "ا", "ô": "و", "û": "و", "î": "ي", "ç": "س",
}
_VOWELS = set("aeiouy")
_SHORT_PREFIX = re.compile(r"^([kt])a([nty])(?=[^aeiou]\w{2,})")
_WORD = re.compile(r"[A-Za-z0-9\u00c0-\u00ff]+|[^A-Za-z0-9\u00c0-\u00ff]+")


def _letters(word: str) -> list[str]:
    out, i = [], 0
    while i < len(word):
        ch = word[i]
        if ch in _EMPHATIC:
            out.append(_EMPHATIC[ch])
            i += 1
            continue
        lower = word[i:i + 2].lower()
        if lower in _PAIRS:
            out.append(_PAIRS[lower])
            i += 2
            continue
        ch = ch.lower()
        if ch == "e":  # the short vowel is not written
            i += 1
            continue
        out.append(_SINGLE.get(ch, ""))
        i += 1
    return out


def word_to_arabic(word: str) -> str:
    """One Latin-script Darija word in Arabic letters (a number is kept as it is)."""
    if word.isdigit():
        return word
    lower = word.lower()
    if lower in ("o", "ou", "w", "wa"):
        return "و"
    prefix = ""
    short = _SHORT_PREFIX.match(word)
    if short:  # ka-/ta- before n/t/y and a verb: the a is not written
        prefix = "".join(_SINGLE[c] for c in short.group(1) + short.group(2))
        word = word[short.end():]
    elif len(lower) >= 3 and lower[0] == "l" and lower[1] not in _VOWELS and lower[1] != "-":
        prefix = "ا"  # the article: lmdina -> المدينا
    letters = _letters(word)
    if letters and letters[0] == "ء":
        letters[0] = "أ"
    out: list[str] = []
    for letter in letters:
        if letter and not (out and out[-1] == letter):
            out.append(letter)
    return prefix + "".join(out)


def to_arabic(text: str) -> str:
    """A Latin-script Darija sentence in Arabic script; punctuation and spaces are kept."""
    pieces = []
    for piece in _WORD.findall(text):
        if piece[0].isalnum():
            pieces.append(word_to_arabic(piece))
        else:
            pieces.append(piece.replace("?", "؟").replace(",", "،"))
    return re.sub(r"\s+", " ", "".join(pieces)).strip()


if __name__ == "__main__":
    import sys

    for line in sys.stdin:
        print(to_arabic(line.rstrip("\n")))
