"""Spelling robustness by construction: one skeleton for both scripts and their respellings,
and the speller that reads an unknown word as its nearest known spelling."""
from __future__ import annotations

import pytest

from components.spelling import Speller, max_edits
from components.unknown_words import UnknownWordsGuard
from components.unknown_words import skeleton as guard_skeleton
from core.skeleton import skeleton
from core.textnorm import normalize


@pytest.mark.parametrize("spellings", [
    ["kaydrebni", "kaydrabni", "kayderbni", "kaydrbni", "كيضربني", "كيدربني"],
    ["khatar", "5atar", "khtar", "خطر"],
    ["3ayt", "3ayet", "عيط"],
    ["chokran", "shokran", "xokran"],
    ["9ahwa", "qahwa", "gahwa", "قهوة", "ڭهوة"],
    ["bonsoir", "bonswar", "bonsouar"],
])
def test_one_skeleton_for_every_spelling_and_both_scripts(spellings: list[str]) -> None:
    assert len({skeleton(w) for w in spellings}) == 1, {w: skeleton(w) for w in spellings}


def test_skeleton_keeps_words_apart_that_differ_in_consonants() -> None:
    assert skeleton("kaydrebni") != skeleton("kaydreb")
    assert skeleton("rajli") != skeleton("rasi")
    assert skeleton("!!") == skeleton("aaa") == ""


COUNTS = {normalize(w): n for w, n in {
    "bonjour": 40, "bonsoir": 30, "appeler": 12, "savoir": 9, "et": 50, "apres": 20, "il": 80,
    "m'etrangle": 4, "احذف": 6, "كثيرا": 15, "kaydrebni": 25, "kaydreb": 3, "fin": 60, "fen": 5,
    "rajli": 70, "rasi": 10, "casa": 30, "lbat": 3, "ri": 1,
}.items()}


@pytest.mark.parametrize("typed,meant", [
    ("bpnjour", "bonjour"),        # neighbouring key
    ("apepler", "appeler"),        # two letters swapped
    ("bonswar", "bonsoir"),        # same consonants
    ("savwar", "savoir"),
    ("احدف", "احذف"),              # merged letters
    ("كتيرا", "كثيرا"),
    ("kaydrbni", "kaydrebni"),     # a vowel dropped
    ("etapres", "et apres"),       # glued
    ("rajlikaydrebni", "rajli kaydrebni"),
])
def test_speller_reads_a_slip_as_the_known_word(typed: str, meant: str) -> None:
    assert Speller(COUNTS).correct(normalize(typed)) == meant


@pytest.mark.parametrize("typed", [
    "rajli",     # known: never changed
    "caa",       # too short to judge
    "zkfjh",     # far from everything
    "qsdfqsdf",
    "lbatri",    # "lbat ri": "ri" too short and too rare to split off
    "123",       # no letters
])
def test_speller_leaves_alone_what_it_cannot_judge(typed: str) -> None:
    assert Speller(COUNTS).correct(normalize(typed)) is None


def test_speller_does_not_choose_between_equals() -> None:
    assert Speller({"abcde": 5, "abcdf": 5}).correct("abcdx") is None  # x is next to neither
    assert Speller({"abcde": 5, "abcdf": 6}).correct("abcdx") == "abcdf"


def test_a_key_next_to_the_right_one_beats_a_more_frequent_word() -> None:
    """One edit from two known words: the one whose letter is on the key next to the typed
    one wins over frequency (y is next to t; ل next to ب on the Arabic phone keyboard)."""
    assert Speller({"tarik": 2, "karik": 9}).correct("yarik") == "tarik"
    assert Speller({"كتاب": 2, "كمال": 9}).correct("كتال") == "كتاب"
    assert Speller({"tarik": 2, "karik": 9}).correct("parik") == "karik"  # p is next to neither


def test_a_word_one_slip_away_beats_one_that_only_shares_the_skeleton() -> None:
    """Same-skeleton words and words within the edit budget are ranked together: "الخبر" is
    "الخير" (one key off), not the more frequent "الخابار" (same consonants, two edits);
    with nothing nearer, the skeleton still finds the word ("bonswar" -> "bonsoir")."""
    assert Speller({"الخير": 2, "الخابار": 40}).correct("الخبر") == "الخير"
    assert Speller({"القانون": 2, "يقولون": 40}).correct("اقلانون") == "القانون"  # letters swapped
    assert Speller({"bonsoir": 2, "bonjour": 40}).correct("bonswar") == "bonsoir"


def test_at_the_same_distance_the_same_skeleton_beats_frequency() -> None:
    """ظ for ض is a merged letter, not a key slip: "افظل" is "افضل", not the more frequent
    "افعل", one substitution away too."""
    assert Speller({"افضل": 2, "افعل": 40}).correct("افظل") == "افضل"


def test_at_the_same_distance_two_letters_swapped_beat_one_dropped() -> None:
    """A swap keeps every letter she typed: "اكشرك" is "اشكرك", not "اشرك" (as frequent), and
    "قتله" is "قلته", not "قاتله" (same skeleton)."""
    assert Speller({"اشرك": 3, "اشكرك": 3}).correct("اكشرك") == "اشكرك"
    assert Speller({"قاتله": 5, "قلته": 3}).correct("قتله") == "قلته"


def test_a_word_used_in_alarms_is_reached_only_on_strong_evidence() -> None:
    """A letter added does not turn "الجده" (grandmother) into the alarm word "النجده" (rescue),
    however frequent; the same skeleton ("ظربني") or a neighbouring key still reaches one."""
    alarms = frozenset({"النجده", "ضربني"})
    assert Speller({"النجده": 40, "الجديده": 2}).correct("الجده") == "النجده"  # (without the guard)
    assert Speller({"النجده": 40, "الجديده": 2}, alarms).correct("الجده") == "الجديده"
    assert Speller({"النجده": 40}, alarms).correct("الجده") is None
    assert Speller({"ضربني": 40}, alarms).correct("ظربني") == "ضربني"
    assert Speller({"ضربني": 40}, alarms).correct("صربني") == "ضربني"  # ص is next to ض


def test_edit_budget_grows_with_the_word() -> None:
    assert [max_edits("x" * n) for n in (3, 4, 7, 8, 12)] == [0, 1, 1, 2, 2]


def test_a_corrected_message_is_not_gibberish_to_the_guard() -> None:
    from rasa.shared.nlu.constants import INTENT, TEXT
    from rasa.shared.nlu.training_data.message import Message

    from components.spelling import CORRECTIONS

    guard = UnknownWordsGuard(None, None, {guard_skeleton(w) for w in ("bonjour",)})
    plain = Message(data={TEXT: "bpnjoor", INTENT: {"name": "greet", "confidence": 0.6}})
    corrected = Message(data={TEXT: "bpnjoor", INTENT: {"name": "greet", "confidence": 0.6}, CORRECTIONS: 1})
    guard.process([plain, corrected])
    assert plain.get(INTENT)["name"] == "nlu_fallback"
    assert corrected.get(INTENT)["name"] == "greet"

