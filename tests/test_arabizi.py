"""Latin-script Darija written again in Arabic script (scripts/arabizi.py)."""
from __future__ import annotations

import pytest

from core.skeleton import skeleton
from core.textnorm import normalize
from scripts.arabizi import to_arabic, word_to_arabic


@pytest.mark.parametrize("latin, arabic", [
    ("kanmchi", "كنمشي"),        # the present prefix is short before a verb
    ("katchouf", "كتشوف"),
    ("kaydir", "كيدير"),
    ("kayn", "كاين"),            # ...but "there is" keeps its long a
    ("kant", "كانت"),
    ("daba", "دابا"),
    ("bzzaf", "بزاف"),           # a doubled letter is written once
    ("khssni", "خسني"),
    ("3afak", "عافاك"),
    ("9hwa", "قهوا"),
    ("7ta", "حتا"),
    ("ghadi", "غادي"),
    ("TTwal", "طوال"),           # DODa's capitals are the emphatic letters
    ("DDaghT", "ضاغط"),
    ("Sb7", "صبح"),
    ("lmdina", "المدينا"),       # the article
    ("o", "و"),
    ("2amal", "أامال"),
])
def test_words(latin: str, arabic: str) -> None:
    assert word_to_arabic(latin) == arabic


def test_sentence_keeps_punctuation_in_arabic_form() -> None:
    assert to_arabic("ach kay3ni hadchi?") == "اش كيعني هادشي؟"
    assert to_arabic("wach nta, mzyan?") == "واش نتا، مزيان؟"


@pytest.mark.parametrize("sentence", [
    "khssni nmchi daba", "makan3rfoch 3lihom bzzaf", "kant katchrb l9hwa f sbah",
    "bghit nchri chi 7aja l darna"])
def test_each_word_keeps_its_consonant_skeleton(sentence: str) -> None:
    """What the model shares between the scripts (core/skeleton.py) does not change."""
    for latin, arabic in zip(sentence.split(), to_arabic(sentence).split()):
        assert skeleton(normalize(arabic)).lstrip("l") == skeleton(normalize(latin)).lstrip("l"), (latin, arabic)
