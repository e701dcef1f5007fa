"""The cross-validation that trains each fold like the real model (scripts/cv_nlu.py)."""
from __future__ import annotations

from pathlib import Path

import yaml

from core.textnorm import normalize
from scripts import augment_nlu, cv_nlu


def test_a_fold_trains_on_nothing_made_from_its_test_sentences(tmp_path: Path) -> None:
    test = cv_nlu.write_fold(tmp_path, 1, 3)
    keys = {cv_nlu.sentence_key(t) for t, _ in test}
    trained = [t for p in (tmp_path / "nlu").rglob("*.yml")
               for block in (yaml.safe_load(p.read_text(encoding="utf-8")).get("nlu") or [])
               if "intent" in block for t in augment_nlu.examples(block)]
    assert len(test) > 1000 and len(trained) > 5000
    assert not [t for t in trained if cv_nlu.sentence_key(t) in keys]
    assert augment_nlu.NLU == cv_nlu.NLU  # the augmenter is given back its own data


def test_one_key_for_a_sentence_in_both_scripts_and_its_respellings() -> None:
    assert cv_nlu.sentence_key("kanmchi l dar") == cv_nlu.sentence_key("كنمشي ل دار")
    assert cv_nlu.sentence_key(normalize("Rajli kaydrebni")) == cv_nlu.sentence_key("rajli kaydrbni")
