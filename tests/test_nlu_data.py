"""NLU data tools: augmenter output current, perturber apart, guards' rules, licences respected."""
from __future__ import annotations

import csv
from pathlib import Path

import pytest

from components.alarm_gate import AlarmGate
from components.unknown_words import UnknownWordsGuard, skeleton, words
from core.safety_net import SafetyNet
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
    assert not AlarmGate(AlarmGate.get_default_config(), net).allows("ضربني البرد", 0.9)


def test_doda_files_carry_the_attribution() -> None:
    for path in (build_doda.TRAIN_OUT, build_doda.TRAIN_AR_OUT, build_doda.ASIDE_OUT, build_doda.FLAGGED_OUT):
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


def test_measurement_lists_are_never_trained_on() -> None:
    """The everyday, hard-negative and distress lists stay apart from all of data/nlu, and
    nothing added for issues 14/19 (generated, everyday, disclosures, coverage, DODa) copies
    the held-out set. (An older overlap of the first data with heldout.yml is measured by
    `make eval`, which also reports the held-out figures on unseen sentences only.)"""
    import re

    import yaml

    from core.textnorm import normalize

    annotation = re.compile(r"\[([^\]]+)\]\([^)]+\)")
    added = ("everyday.yml", "disclosure.yml", "coverage.yml", "doda_everyday.yml")

    def trained(paths: list[Path]) -> set[str]:
        found = set()
        for path in paths:
            for block in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu") or []:
                for line in (block.get("examples") or "").splitlines():
                    if line.strip().startswith("- "):
                        found.add(normalize(annotation.sub(r"\1", line.strip()[2:])))
        return found

    every = list((ROOT / "data" / "nlu").rglob("*.yml"))
    new = trained([p for p in every if p.name in added or "augmented" in p.parts])
    everything = trained(every)

    def listed(name: str) -> list[str]:
        return [normalize(t) for t in augment_nlu._texts(
            yaml.safe_load((ROOT / "tests" / "nlu" / name).read_text(encoding="utf-8")))]

    for name in ("everyday.yml", "hard_negatives.yml", "hard_negatives_fresh.yml", "distress_fresh.yml"):
        assert not [t for t in listed(name) if t in everything], name
    assert not [t for t in listed("distress.yml") if t in new]
    assert not [t for t in listed("heldout.yml") if t in new]
