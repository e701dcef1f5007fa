"""Text normalisation shared by the NLU tokenizer, language detection and place lookup."""
from __future__ import annotations

import re
import unicodedata

# Arabic letter variants people use interchangeably when texting.
_ARABIC_FOLD = str.maketrans(
    {
        "أ": "ا",
        "إ": "ا",
        "آ": "ا",
        "ٱ": "ا",
        "ة": "ه",
        "ى": "ي",
        "ؤ": "و",
        "ئ": "ي",
        "ڭ": "ك",
        "گ": "ك",
        "ـ": None,  # tatweel
    }
)
# Harakat, shadda, sukun and Quranic marks.
_ARABIC_MARKS = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed]")
_SPACES = re.compile(r"\s+")
# Letters repeated for emphasis ("salaaaam", "بزااااف") count once past two.
_REPEATS = re.compile(r"(\D)\1{2,}")


def fold_latin(text: str) -> str:
    """Lower-case and strip accents from Latin letters (é -> e, ç -> c)."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch) or _is_arabic(ch))


def _is_arabic(ch: str) -> bool:
    return "\u0600" <= ch <= "\u06ff"


def fold_arabic(text: str) -> str:
    """Unify Arabic letter variants and drop diacritics and tatweel."""
    return _ARABIC_MARKS.sub("", text).translate(_ARABIC_FOLD)


def normalize(text: str) -> str:
    """Fold case, accents, Arabic variants and emphasis repeats; collapse white space."""
    text = unicodedata.normalize("NFKC", text)
    text = fold_arabic(_ARABIC_MARKS.sub("", text))
    text = fold_latin(text)
    text = _REPEATS.sub(r"\1\1", text)
    return _SPACES.sub(" ", text).strip()
