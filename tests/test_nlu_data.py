"""NLU data tools: augmenter output current, perturber apart, guards' rules, licences respected."""
from __future__ import annotations

import csv
from pathlib import Path

import pytest

from actions.safety_net import SafetyNet
from components.alarm_gate import AlarmGate
from components.unknown_words import UnknownWordsGuard, skeleton, words
from scripts import augment_nlu, build_doda
from scripts.perturb_text import perturb

ROOT = Path(__file__).resolve().parent.parent
DAILYQUESTIONS = ROOT.parent / "shared" / "data" / "darija" / "dailyquestions_measure_only.csv"


@pytest.mark.parametrize("variety", augment_nlu.VARIETIES)
def test_committed_augmented_data_is_current(variety: str) -> None:
    path = augment_nlu.OUT / f"{variety}.yml"
    assert path.read_text(encoding="utf-8") == augment_nlu.render(variety), "run `make augment`"


def test_augmenter_produces_real_latin_variants() -> None:
    seen: set[str] = set()
    found = augment_nlu.variants("wach kayn chi markaz f casa", "dar_lat", seen)
    assert found and all(v != "wach kayn chi markaz f casa" for v in found)
    assert found == augment_nlu.variants("wach kayn chi markaz f casa", "dar_lat", set())


def test_augmenter_keeps_entity_annotations() -> None:
    for variant in augment_nlu.variants("bghit markaz f [casa](place) 3afak", "dar_lat", set()):
        assert "[casa](place)" in variant


def test_perturber_is_deterministic_and_changes_text() -> None:
    text = "rajli kaydrebni kol nhar w ma3reftch chno ndir"
    assert perturb(text, "dar_lat") == perturb(text, "dar_lat")
    assert perturb(text, "dar_lat") != text


def test_spelling_skeleton_unifies_arabizi_variants() -> None:
    assert skeleton("wakhaa") == skeleton("wa5a") == skeleton("wkha")
    assert skeleton("chokran") == skeleton("xokran")
    assert words("Zkfjh!! 3 ✨") == ["zkfjh"]


def test_unknown_words_guard_judges_by_known_skeletons() -> None:
    guard = UnknownWordsGuard(None, None, {skeleton(w) for w in ("wakha", "la", "rajli", "كنبغيك")})
    assert guard.is_unknown("zkfjh")
    assert guard.is_unknown("qsdf wxcv")
    assert not guard.is_unknown("wa5aaa")
    assert not guard.is_unknown("zkfjh rajli")
    assert not guard.is_unknown("👍")  # no letters: left to the classifier
    assert not guard.is_unknown("3")


def test_alarm_gate_threshold_and_person_signal() -> None:
    net = SafetyNet.load()
    gate = AlarmGate({"threshold": 0.5, "person_signal": True}, net)
    assert gate.allows("rajli kaydrebni", 0.8)
    assert not gate.allows("rajli kaydrebni", 0.4)
    assert not gate.allows("الرجا قتلات الوداد", 0.9)
    assert AlarmGate(AlarmGate.get_default_config(), net).allows("الرجا قتلات الوداد", 0.3)


def test_doda_files_carry_the_attribution() -> None:
    for path in (build_doda.TRAIN_OUT, build_doda.ASIDE_OUT, build_doda.FLAGGED_OUT):
        assert "Darija Open Dataset" in path.read_text(encoding="utf-8").splitlines()[1 if path.suffix == ".yml" else 0]


def test_doda_training_and_aside_parts_do_not_overlap() -> None:
    trained = set(build_doda.TRAIN_OUT.read_text(encoding="utf-8").split("\n    - ")[1:])
    with open(build_doda.ASIDE_OUT, encoding="utf-8") as f:
        aside = {r["darija"] for r in csv.DictReader(line for line in f if not line.startswith("#"))}
    assert len(aside) > 1000 and not {t.strip() for t in trained} & aside


@pytest.mark.skipif(not DAILYQUESTIONS.exists(), reason="measure-only file absent")
def test_measure_only_sentences_are_never_copied_into_the_project() -> None:
    with open(DAILYQUESTIONS, encoding="utf-8", newline="") as f:
        sample = [r["Arabizi"] for r in csv.DictReader(f)][::200]
    sample = [s for s in sample if len(s) > 25]
    corpus = "\n".join(p.read_text(encoding="utf-8") for folder in ("data", "tests")
                       for p in (ROOT / folder).rglob("*") if p.is_file() and p.suffix in (".yml", ".csv"))
    assert sample and not [s for s in sample if s in corpus]
