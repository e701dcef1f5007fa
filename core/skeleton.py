"""One consonant skeleton for a word written in Arabic letters or in Latin letters (Arabizi).

Darija is written both ways, and each way many ways: "kaydrebni", "kaydrabni", "kayderbni",
"كيضربني" and "كيدربني" are one word. The skeleton keeps the consonants, maps each Arabic
letter and its Arabizi spellings (digits and digraphs) to one symbol, drops vowels, long-vowel
letters, hamza and w/y (written ou/o/u/w/i/y/ee or و/ي at will), and writes doubled letters
once: all five spellings above give "kdrbn". Letters people merge when texting are merged
(ض/ظ/ذ/د -> d, ط/ت/ث -> t, ص/س -> s, ق/ڭ/g/9 -> q). French words get a skeleton too; it
only adds a feature beside the word and its character n-grams (components/skeleton_featurizer.py).

Measured (`make eval`, README "Understanding"): a sentence and its respellings, and the same
sentence in both Darija scripts, share these features, so what the model learns from one
script helps the other.
"""
from __future__ import annotations

import unicodedata

_ARABIC = {
    "ب": "b", "پ": "b", "ت": "t", "ث": "t", "ط": "t", "ج": "j", "ح": "h", "ه": "h", "خ": "5",
    "د": "d", "ذ": "d", "ض": "d", "ظ": "d", "ر": "r", "ز": "z", "س": "s", "ص": "s", "ش": "c",
    "ع": "3", "غ": "g", "ف": "f", "ڤ": "f", "ق": "q", "ڭ": "q", "گ": "q", "ݣ": "q", "ك": "k",
    "ل": "l", "م": "m", "ن": "n",
}
# Two Latin letters that spell one Arabic letter (read before the single letters).
_LATIN_PAIRS = {"kh": "5", "gh": "g", "ch": "c", "sh": "c", "dj": "j", "th": "t", "dh": "d", "qu": "k"}
_LATIN = {
    "3": "3", "4": "g", "5": "5", "7": "h", "8": "g", "9": "q", "b": "b", "p": "b", "c": "k",
    "d": "d", "f": "f", "v": "f", "g": "q", "h": "h", "j": "j", "k": "k", "l": "l", "m": "m",
    "n": "n", "q": "q", "r": "r", "s": "s", "t": "t", "x": "c", "z": "z",
}


def _is_arabic(ch: str) -> bool:
    return "\u0600" <= ch <= "\u06ff"


def _latin_symbols(word: str) -> list[str]:
    word = "".join(ch for ch in unicodedata.normalize("NFKD", word.lower())
                   if not unicodedata.combining(ch))
    out, i = [], 0
    while i < len(word):
        pair = _LATIN_PAIRS.get(word[i:i + 2])
        if pair:
            out.append(pair)
            i += 2
        else:
            out.append(_LATIN.get(word[i], ""))
            i += 1
    return out


def skeleton(word: str) -> str:
    """The word's consonant skeleton ("" for a word of vowels, digits or punctuation only)."""
    symbols = [_ARABIC.get(ch, "") for ch in word] if any(map(_is_arabic, word)) else _latin_symbols(word)
    out: list[str] = []
    for symbol in symbols:
        if symbol and (not out or out[-1] != symbol):
            out.append(symbol)
    return "".join(out)
