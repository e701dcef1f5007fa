"""k-fold cross-validation of the way the model is really trained: with the generated data.

`rasa test nlu --cross-validation` can only split the training files it is given, so
`make eval` runs it on the written data alone: each fold's model then lacked what the
deployed model learns from `make augment` (respellings, every menu's option labels, the
Latin-script examples written again in Arabic script). Here each fold's model is trained like
the real one: the written examples of the other folds, plus what the augmenter generates
from them alone; it is tested on the written examples of its fold. Nothing generated from a
test sentence reaches its fold's training data: the augmenter only sees the training folds,
and a generated line whose consonant skeleton (core/skeleton.py, word by word) equals a test
sentence's is dropped, which also keeps out the other script's version of a test sentence.
Folds are by a hash of the sentence (the same every run). As `rasa test nlu` does, a
fallback is scored as the classifier's own top intent. Run `python scripts/cv_nlu.py 3`
(about 2 minutes); README quotes its figure beside `make eval`'s.
"""
from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from core.skeleton import skeleton  # noqa: E402
from core.textnorm import normalize  # noqa: E402
from scripts import augment_nlu  # noqa: E402

NLU = augment_nlu.NLU


def sentence_key(text: str) -> str:
    """A sentence's words by consonant skeleton: the same for its respellings and scripts."""
    keys = (skeleton(w) for w in normalize(augment_nlu.ANNOTATION.sub(" ", text)).split())
    return " ".join(k for k in keys if k)


def _fold_of(text: str, folds: int) -> int:
    return zlib.crc32(text.encode()) % folds


def _plain(text: str) -> str:
    """An example as she would type it: `[casa](place)` -> `casa`."""
    return re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", text)


def write_fold(root: Path, fold: int, folds: int) -> list[tuple[str, str]]:
    """The written data without fold `fold`, and the augmenter's output from it, under
    `root`/nlu; returns the fold's (text, intent) test examples."""
    files = {path.relative_to(NLU): yaml.safe_load(path.read_text(encoding="utf-8")) or {}
             for path in NLU.rglob("*.yml") if path.relative_to(NLU).parts[0] != "augmented"}
    test = [(_plain(text), block["intent"]) for data in files.values() for block in data.get("nlu") or []
            if "intent" in block for text in augment_nlu.examples(block) if _fold_of(text, folds) == fold]
    banned = {sentence_key(t) for t, _ in test}
    out = root / "nlu"
    for rel, data in files.items():
        for block in data.get("nlu") or []:
            if "intent" in block:  # the other folds, without another script's copy of a test sentence
                block["examples"] = "".join(f"- {t}\n" for t in augment_nlu.examples(block)
                                            if _fold_of(t, folds) != fold and sentence_key(t) not in banned)
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    exclude = frozenset(normalize(t) for t, _ in test)
    (out / "augmented").mkdir(exist_ok=True)
    for variety in augment_nlu.VARIETIES:
        data = yaml.safe_load(augment_nlu.render(variety, out, exclude))
        for block in data.get("nlu") or []:
            block["examples"] = "".join(f"- {t}\n" for t in augment_nlu.examples(block)
                                        if sentence_key(t) not in banned)
        (out / "augmented" / f"{variety}.yml").write_text(
            yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return test


async def _predict(model: Path, texts: list[str]) -> list[str]:
    from rasa.core.agent import Agent

    agent = Agent.load(str(model))
    found = []
    for text in texts:
        parsed: dict[str, Any] = await agent.parse_message(text)
        name = parsed["intent"]["name"]
        if name == "nlu_fallback":  # scored as the classifier's own top intent, as rasa test does
            ranking = parsed.get("classifier_ranking") or parsed.get("intent_ranking") or []
            name = next((r["name"] for r in ranking if r["name"] != "nlu_fallback"), name)
        found.append(name)
    return found


def cross_validate(folds: int) -> tuple[float, float]:
    """Macro-F1 and accuracy over every written example, each predicted by the model of the
    folds it was not in."""
    from sklearn.metrics import accuracy_score, f1_score

    truth: list[str] = []
    predicted: list[str] = []
    for fold in range(folds):
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            test = write_fold(root, fold, folds)
            subprocess.run([sys.executable, "-m", "rasa", "train", "nlu", "--nlu", str(root / "nlu"),
                            "--config", str(ROOT / "config.yml"), "--out", str(root / "models"),
                            "--fixed-model-name", "fold"], cwd=ROOT, check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            model = next((root / "models").glob("fold*.tar.gz"))
            truth += [intent for _, intent in test]
            predicted += asyncio.run(_predict(model, [text for text, _ in test]))
            shutil.rmtree(root / "models", ignore_errors=True)
    labels = sorted(set(truth))
    return (f1_score(truth, predicted, labels=labels, average="macro", zero_division=0),
            accuracy_score(truth, predicted))


if __name__ == "__main__":
    f1, accuracy = cross_validate(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
    print(f"macro-F1 {f1:.3f}, accuracy {accuracy:.3f}")
