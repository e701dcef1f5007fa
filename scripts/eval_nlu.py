"""`make eval`: NLU figures on the held-out set, per variety, and the safety net's false alarms.

Prints accuracy and macro-F1 per variety and overall, emergency recall and precision (with
the safety net, as deployed, and from the classifier alone), the worst confusions, the
false-alarm rate of the safety net on everyday sentences, and with --cross-validation the
k-fold figure of `rasa test nlu`. With --config A.yml B.yml it trains each pipeline on the
training data and compares them on the same held-out set.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
logging.disable(logging.WARNING)
import rasa.utils.log_utils  # noqa: E402

# Rasa logs parsed text at debug level: keep its structured logs at WARNING.
rasa.utils.log_utils.configure_structlog(logging.WARNING)

from actions.safety_net import SafetyNet  # noqa: E402

HELDOUT = ROOT / "tests" / "nlu" / "heldout.yml"
EVERYDAY = ROOT / "tests" / "nlu" / "everyday.yml"


def load_heldout() -> list[tuple[str, str, str]]:
    data = yaml.safe_load(HELDOUT.read_text(encoding="utf-8"))
    return [(variety, intent, text) for variety, intents in data.items()
            for intent, texts in intents.items() for text in texts]


async def predict(model: Path, texts: list[str]) -> list[tuple[str, str]]:
    """(final intent, classifier intent before the safety net) for each text."""
    from rasa.core.agent import Agent

    agent = Agent.load(str(model))
    out = []
    for text in texts:
        parsed = await agent.parse_message(text)
        final = parsed["intent"]["name"]
        net = parsed.get("safety_net")
        raw = net["classifier"] if net else final
        out.append((final, raw))
    return out


def macro_f1(pairs: list[tuple[str, str]]) -> float:
    labels = {t for t, _ in pairs}
    f1s = []
    for label in labels:
        tp = sum(1 for t, p in pairs if t == label and p == label)
        fp = sum(1 for t, p in pairs if t != label and p == label)
        fn = sum(1 for t, p in pairs if t == label and p != label)
        prec = tp / (tp + fp) if tp + fp else 0.0
        rec = tp / (tp + fn) if tp + fn else 0.0
        f1s.append(2 * prec * rec / (prec + rec) if prec + rec else 0.0)
    return sum(f1s) / len(f1s)


def report(model: Path, show_confusions: int = 12) -> dict[str, float]:
    rows = load_heldout()
    started = time.perf_counter()
    preds = asyncio.run(predict(model, [t for _, _, t in rows]))
    per_msg_ms = (time.perf_counter() - started) * 1000 / len(rows)
    by_variety: dict[str, list[tuple[str, str]]] = defaultdict(list)
    raw_pairs = []
    for (variety, intent, _), (final, raw) in zip(rows, preds):
        by_variety[variety].append((intent, final))
        raw_pairs.append((intent, raw))
    all_pairs = [p for pairs in by_variety.values() for p in pairs]
    print(f"model: {model.name}   held-out messages: {len(rows)}   parse: {per_msg_ms:.1f} ms/message")
    print(f"{'variety':<10}{'n':>6}{'accuracy':>10}{'macro-F1':>10}")
    figures = {}
    for variety in sorted(by_variety):
        pairs = by_variety[variety]
        acc = sum(t == p for t, p in pairs) / len(pairs)
        f1 = macro_f1(pairs)
        figures[variety] = f1
        print(f"{variety:<10}{len(pairs):>6}{acc:>10.3f}{f1:>10.3f}")
    acc = sum(t == p for t, p in all_pairs) / len(all_pairs)
    figures["overall"] = macro_f1(all_pairs)
    print(f"{'overall':<10}{len(all_pairs):>6}{acc:>10.3f}{figures['overall']:>10.3f}")

    for name, pairs in (("with safety net", all_pairs), ("classifier alone", raw_pairs)):
        tp = sum(1 for t, p in pairs if t == "emergency" and p == "emergency")
        fn = sum(1 for t, p in pairs if t == "emergency" and p != "emergency")
        fp = sum(1 for t, p in pairs if t != "emergency" and p == "emergency")
        print(f"emergency {name}: recall {tp / (tp + fn):.3f} ({tp}/{tp + fn}), "
              f"precision {tp / (tp + fp) if tp + fp else 0:.3f}")
    figures["emergency_recall"] = sum(1 for t, p in all_pairs if t == p == "emergency") / max(
        1, sum(1 for t, _ in all_pairs if t == "emergency"))
    missed = [text for (v, i, text), (final, _) in zip(rows, preds) if i == "emergency" and final != "emergency"]
    for text in missed:
        print(f"  missed emergency: {text}")
    serious = [(i, f, text) for (v, i, text), (f, _) in zip(rows, preds)
               if i in ("emergency", "report_violence") and f in ("out_of_scope",)]
    print(f"report_violence/emergency taken for out_of_scope: {len(serious)}")
    for i, f, text in serious:
        print(f"  {i} -> {f}: {text}")
    confusions = Counter((t, p) for t, p in all_pairs if t != p)
    print("worst confusions (true -> predicted: count):")
    for (t, p), n in confusions.most_common(show_confusions):
        print(f"  {t} -> {p}: {n}")
    return figures


def false_alarms() -> None:
    net = SafetyNet.load()
    data = yaml.safe_load(EVERYDAY.read_text(encoding="utf-8"))
    total = fired = 0
    print("safety net on everyday sentences (false alarms):")
    for variety, texts in data.items():
        hits = [(t, net.match(t)) for t in texts if net.match(t)]
        total += len(texts)
        fired += len(hits)
        print(f"  {variety:<8} {len(hits)}/{len(texts)} = {len(hits) / len(texts):.1%}")
        for text, rule in hits:
            print(f"    {rule}: {text}")
    print(f"  overall  {fired}/{total} = {fired / total:.1%}")


def train(config: Path, out: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", "rasa", "train", "nlu", "--config", str(config), "--nlu", "data/nlu",
         "--out", str(out), "--fixed-model-name", config.stem],
        cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    return out / f"{config.stem}.tar.gz"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(ROOT / "models" / "salama.tar.gz"))
    parser.add_argument("--config", nargs="*", help="compare these pipelines (trains each)")
    parser.add_argument("--cross-validation", type=int, metavar="FOLDS", default=0)
    args = parser.parse_args()
    if args.config:
        with tempfile.TemporaryDirectory() as tmp:
            for config in args.config:
                started = time.perf_counter()
                model = train(Path(config), Path(tmp))
                print(f"\n=== {config}: trained in {time.perf_counter() - started:.0f} s")
                report(model, show_confusions=5)
        return
    report(Path(args.model))
    false_alarms()
    if args.cross_validation:
        print(f"\n{args.cross_validation}-fold cross-validation on the training data (rasa test nlu):")
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run(
                [sys.executable, "-m", "rasa", "test", "nlu", "--nlu", "data/nlu", "--config",
                 "config.yml", "--cross-validation", "--folds", str(args.cross_validation),
                 "--out", tmp], cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            report_path = Path(tmp) / "intent_report.json"
            data = yaml.safe_load(report_path.read_text()) if report_path.exists() else {}
            summary = data.get("macro avg", {})
            print(f"  intent macro-F1 {summary.get('f1-score', float('nan')):.3f}, "
                  f"accuracy {data.get('accuracy', float('nan')):.3f}")


if __name__ == "__main__":
    main()
