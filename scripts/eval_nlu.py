"""`make eval`: NLU figures on held-out, perturbed, everyday and distress text, per variety.

Prints, for the model as deployed: accuracy and macro-F1 per variety on the project's
held-out set and on a perturbed copy of it (scripts/perturb_text.py), emergency recall
(with the safety net and from the classifier alone), false alarms (emergency or
report_violence) on everyday sentences (tests/nlu/everyday.yml), hard-negative idioms
(tests/nlu/hard_negatives.yml), the DODa part kept aside (tests/nlu/doda_everyday_aside.csv)
and, when ../shared holds it, the measure-only dailyquestions file in both scripts (with
the share of sentences that get the same intent in both), the share of the distress list
caught (tests/nlu/distress.yml), a table of the emergency-layer settings considered
(components/alarm_gate.py), and with --cross-validation the k-fold figure of `rasa test nlu`.
With --config A.yml B.yml it trains each pipeline and compares them on the held-out set.
"""
from __future__ import annotations

import argparse
import asyncio
import csv
import logging
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, Iterable, Optional

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
logging.disable(logging.WARNING)
import rasa.utils.log_utils  # noqa: E402

# Rasa logs parsed text at debug level: keep its structured logs at WARNING.
rasa.utils.log_utils.configure_structlog(logging.WARNING)

from core.safety_net import SafetyNet  # noqa: E402
from core.textnorm import normalize  # noqa: E402
from scripts.perturb_text import perturb  # noqa: E402

NLU_TESTS = ROOT / "tests" / "nlu"
HELDOUT = NLU_TESTS / "heldout.yml"
EVERYDAY = NLU_TESTS / "everyday.yml"
HARD_NEGATIVES = NLU_TESTS / "hard_negatives.yml"
DISTRESS = NLU_TESTS / "distress.yml"
# Written on 2026-12-02 by someone who had seen neither the data, nor the net, nor the lists
# above, after the tuning they measure: the honest check of the idiom and distress figures.
HARD_NEGATIVES_FRESH = NLU_TESTS / "hard_negatives_fresh.yml"
DISTRESS_FRESH = NLU_TESTS / "distress_fresh.yml"
DODA_ASIDE = NLU_TESTS / "doda_everyday_aside.csv"
# CC BY-NC: read from ../shared at measurement time only; never copied, never trained on.
DAILYQUESTIONS = ROOT.parent / "shared" / "data" / "darija" / "dailyquestions_measure_only.csv"
ALARMS = ("emergency", "report_violence")
# A distress message is caught when it gets the emergency answer, a disclosure's, or (for
# blackmail with her photos) the online-violence answer, which is the help it needs.
CAUGHT = ALARMS + ("report_online_violence",)
FALLBACK = "nlu_fallback"


def _pipeline_setting(component: str, key: str) -> float:
    pipeline = yaml.safe_load((ROOT / "config.yml").read_text(encoding="utf-8"))["pipeline"]
    return float(next(c[key] for c in pipeline if c["name"].endswith(component)))


FALLBACK_THRESHOLD = _pipeline_setting("FallbackClassifier", "threshold")
GATE_THRESHOLD = _pipeline_setting("AlarmGate", "threshold")
ANNOTATION = re.compile(r"\[([^\]]+)\]\([^)]+\)")


def load_heldout() -> list[tuple[str, str, str]]:
    data = yaml.safe_load(HELDOUT.read_text(encoding="utf-8"))
    return [(variety, intent, text) for variety, intents in data.items()
            for intent, texts in intents.items() for text in texts]


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(line for line in f if not line.startswith("#")))


async def _parse(model: Path, texts: list[str]) -> list[dict[str, Any]]:
    from rasa.core.agent import Agent

    agent = Agent.load(str(model))
    return [await agent.parse_message(text) for text in texts]


class Parses:
    """Every text parsed once by the model; the settings table reuses the parses."""

    def __init__(self, model: Path) -> None:
        self.model = model
        self.cache: dict[str, dict[str, Any]] = {}

    def need(self, texts: Iterable[str]) -> None:
        todo = sorted({t for t in texts if t not in self.cache})
        if todo:
            for text, parsed in zip(todo, asyncio.run(_parse(self.model, todo))):
                self.cache[text] = parsed

    def final(self, text: str) -> str:
        return self.cache[text]["intent"]["name"]

    def raw(self, text: str) -> str:
        """The classifier's own top intent, before the gate, the guard and the net."""
        ranking = self.cache[text].get("classifier_ranking") or [self.cache[text]["intent"]]
        return ranking[0]["name"]


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


def pct(n: int, d: int) -> str:
    return f"{n}/{d} = {n / d:.1%}" if d else "0/0"


def heldout_report(parses: Parses, rows: list[tuple[str, str, str]], figures: dict[str, float],
                   show_confusions: int = 12) -> None:
    by_variety: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for variety, intent, text in rows:
        by_variety[variety].append((intent, parses.final(text)))
    all_pairs = [p for pairs in by_variety.values() for p in pairs]
    print(f"{'variety':<10}{'n':>6}{'accuracy':>10}{'macro-F1':>10}")
    for variety in sorted(by_variety):
        pairs = by_variety[variety]
        acc = sum(t == p for t, p in pairs) / len(pairs)
        figures[f"f1_{variety}"] = macro_f1(pairs)
        figures[f"acc_{variety}"] = acc
        print(f"{variety:<10}{len(pairs):>6}{acc:>10.3f}{figures[f'f1_{variety}']:>10.3f}")
    acc = sum(t == p for t, p in all_pairs) / len(all_pairs)
    figures["f1_overall"] = macro_f1(all_pairs)
    print(f"{'overall':<10}{len(all_pairs):>6}{acc:>10.3f}{figures['f1_overall']:>10.3f}")
    # Part of heldout.yml was also written into the training data before issue 14: the
    # figures on the sentences the model never saw are the honest ones.
    trained = training_sentences()
    unseen = [(v, i, t) for v, i, t in rows if normalize(t) not in trained]
    print(f"held-out sentences that are not in the training data: {len(unseen)}/{len(rows)}")
    for variety in sorted(by_variety):
        pairs = [(i, parses.final(t)) for v, i, t in unseen if v == variety]
        acc = sum(t == p for t, p in pairs) / len(pairs)
        figures[f"unseen_f1_{variety}"] = macro_f1(pairs)
        print(f"{'  ' + variety:<10}{len(pairs):>6}{acc:>10.3f}{figures[f'unseen_f1_{variety}']:>10.3f}")
    raw_pairs = [(intent, parses.raw(text)) for _, intent, text in rows]
    for name, pairs in (("with safety net", all_pairs), ("classifier alone", raw_pairs)):
        tp = sum(1 for t, p in pairs if t == "emergency" and p == "emergency")
        fn = sum(1 for t, p in pairs if t == "emergency" and p != "emergency")
        fp = sum(1 for t, p in pairs if t != "emergency" and p == "emergency")
        print(f"emergency {name}: recall {tp / (tp + fn):.3f} ({tp}/{tp + fn}), "
              f"precision {tp / (tp + fp) if tp + fp else 0:.3f}")
    emergencies = [text for _, intent, text in rows if intent == "emergency"]
    figures["emergency_recall"] = sum(parses.final(t) == "emergency" for t in emergencies) / len(emergencies)
    for text in emergencies:
        if parses.final(text) != "emergency":
            print(f"  missed emergency: {text}")
    serious = [(i, parses.final(t), t) for _, i, t in rows
               if i in ALARMS and parses.final(t) in ("out_of_scope", "inform_location")]
    figures["alarms_lost"] = len(serious)
    print(f"report_violence/emergency taken for out_of_scope or a place: {len(serious)}")
    for i, f, text in serious:
        print(f"  {i} -> {f}: {text}")
    confusions = Counter((t, p) for t, p in all_pairs if t != p)
    print("worst confusions (true -> predicted: count):")
    for (t, p), n in confusions.most_common(show_confusions):
        print(f"  {t} -> {p}: {n}")


def training_sentences() -> set[str]:
    """Normalised texts of every training example in data/nlu (annotations removed)."""
    found = set()
    for path in (ROOT / "data" / "nlu").rglob("*.yml"):
        for block in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu") or []:
            for line in (block.get("examples") or "").splitlines():
                if line.strip().startswith("- "):
                    found.add(normalize(ANNOTATION.sub(r"\1", line.strip()[2:])))
    return found


def perturbed_report(parses: Parses, rows: list[tuple[str, str, str]], figures: dict[str, float]) -> None:
    print("\nperturbed held-out (scripts/perturb_text.py: one respelling the augmenter never makes and "
          "one slip; the last column with two slips):")
    print(f"{'variety':<10}{'clean':>8}{'perturbed':>11}{'drop':>8}{'2 slips':>10}{'drop':>8}")
    worst = 0.0
    for variety in sorted({v for v, _, _ in rows}):
        mine = [(i, t) for v, i, t in rows if v == variety]
        clean = sum(parses.final(t) == i for i, t in mine) / len(mine)
        noisy = sum(parses.final(perturb(t, variety)) == i for i, t in mine) / len(mine)
        noisier = sum(parses.final(perturb(t, variety, edits=2)) == i for i, t in mine) / len(mine)
        worst = max(worst, clean - noisy)
        print(f"{variety:<10}{clean:>8.3f}{noisy:>11.3f}{(clean - noisy) * 100:>7.1f}p"
              f"{noisier:>10.3f}{(clean - noisier) * 100:>7.1f}p")
    figures["perturbed_worst_drop"] = worst


def alarm_rate(parses: Parses, texts: list[str], intent_of=None, caught: bool = False) -> tuple[int, int]:
    intent_of = intent_of or parses.final
    return sum(intent_of(t) in (CAUGHT if caught else ALARMS) for t in texts), len(texts)


def dailyquestions(sample: int) -> Optional[list[dict[str, str]]]:
    if not DAILYQUESTIONS.exists():
        return None
    rows = read_csv(DAILYQUESTIONS)
    step = max(1, len(rows) // sample) if sample else 1
    return rows[::step]


def false_alarm_sets(dq: Optional[list[dict[str, str]]], quick: bool = False) -> dict[str, list[str]]:
    """Named lists of sentences that are never an emergency nor a disclosure."""
    sets: dict[str, list[str]] = {}
    for variety, texts in yaml.safe_load(EVERYDAY.read_text(encoding="utf-8")).items():
        sets[f"everyday {variety}"] = texts
    for variety, texts in yaml.safe_load(HARD_NEGATIVES.read_text(encoding="utf-8")).items():
        sets[f"hard negatives {variety}"] = texts
    for variety, texts in yaml.safe_load(HARD_NEGATIVES_FRESH.read_text(encoding="utf-8")).items():
        sets[f"fresh idioms {variety}"] = texts
    sets["DODa aside (dar_lat)"] = [r["darija"] for r in read_csv(DODA_ASIDE)][::10 if quick else 1]
    if dq is not None:
        sets["dailyquestions dar_ar"] = [r["Darija_Arabe"] for r in dq]
        sets["dailyquestions dar_lat"] = [r["Arabizi"] for r in dq]
    return sets


def false_alarm_report(parses: Parses, sets: dict[str, list[str]], figures: dict[str, float]) -> None:
    print("\nfalse alarms (emergency or report_violence) on sentences that are neither:")
    for name, texts in sets.items():
        fired, total = alarm_rate(parses, texts)
        figures[f"fa {name}"] = fired / total
        print(f"  {name:<28} {pct(fired, total):>18}")
        shown = [t for t in texts if parses.final(t) in ALARMS][:3 if "dailyquestions" in name or "DODa" in name else 8]
        for text in shown:
            print(f"      {parses.final(text)}: {text}")
    for group in ("everyday", "hard negatives", "fresh idioms"):
        texts = [t for name, ts in sets.items() if name.startswith(group) for t in ts]
        fired, total = alarm_rate(parses, texts)
        figures[f"fa {group}"] = fired / total
        print(f"  {group + ', all varieties':<28} {pct(fired, total):>18}")


def agreement_report(parses: Parses, dq: Optional[list[dict[str, str]]], figures: dict[str, float]) -> None:
    if dq is None:
        print("\nscript agreement: ../shared/data/darija/dailyquestions_measure_only.csv absent, skipped")
        return
    same = sum(parses.final(r["Darija_Arabe"]) == parses.final(r["Arabizi"]) for r in dq)
    figures["script_agreement"] = same / len(dq)
    print(f"\nscript agreement (dailyquestions, same sentence in both scripts, same intent): {pct(same, len(dq))}")


def distress_texts(fresh: bool = False) -> list[tuple[str, str, str]]:
    if fresh:
        data = yaml.safe_load(DISTRESS_FRESH.read_text(encoding="utf-8"))
        return [(variety, "fresh", text) for variety, texts in data.items() for text in texts]
    data = yaml.safe_load(DISTRESS.read_text(encoding="utf-8"))
    return [(variety, kind, text) for variety, kinds in data.items() for kind, texts in kinds.items() for text in texts]


def distress_report(parses: Parses, figures: dict[str, float], fresh: bool = False) -> None:
    rows = distress_texts(fresh)
    path = DISTRESS_FRESH if fresh else DISTRESS
    print(f"\ndistress list ({path.relative_to(ROOT)}) caught (emergency, disclosure or online violence):")
    for variety in sorted({v for v, _, _ in rows}):
        mine = [t for v, _, t in rows if v == variety]
        print(f"  {variety:<8} {pct(*alarm_rate(parses, mine, caught=True)):>16}")
    caught, total = alarm_rate(parses, [t for _, _, t in rows], caught=True)
    figures["distress_fresh" if fresh else "distress_caught"] = caught / total
    print(f"  overall  {pct(caught, total):>16}")
    for variety, kind, text in rows:
        if parses.final(text) not in CAUGHT:
            print(f"    missed ({variety}, {kind}) -> {parses.final(text)}: {text}")


def settings_table(parses: Parses, net: SafetyNet, rows: list[tuple[str, str, str]],
                   sets: dict[str, list[str]]) -> None:
    """Recall against false alarms for each emergency-layer setting, simulated from the
    classifier's recorded ranking (components/alarm_gate.py) without retraining."""
    def decide(text: str, threshold: Optional[float], person: bool, ordinary: bool = False) -> str:
        parsed = parses.cache[text]
        if parsed.get("safety_net"):
            return "emergency"
        top = (parsed.get("classifier_ranking") or [parsed["intent"]])[0]
        if top["name"] not in ALARMS:
            return parsed["intent"]["name"]
        if threshold is None or top["confidence"] < max(threshold, FALLBACK_THRESHOLD):
            return FALLBACK
        if person and not net.affects_a_person(text):
            return FALLBACK
        if ordinary and net.is_ordinary(text):
            return FALLBACK
        return top["name"]

    options: list[tuple[str, Optional[float], bool, bool]] = [("net only (classifier never alarms)", None, False, False)]
    options += [(f"classifier >= {t:.2f}", t, False, False) for t in (0.0, 0.3, 0.4, 0.5, 0.6)]
    options += [(f"classifier >= {t:.2f} + person", t, True, False) for t in (0.0, 0.4)]
    options += [(f"classifier >= {t:.2f} + ordinary" + (" (deployed)" if t == GATE_THRESHOLD else ""), t, False, True)
                for t in (0.3, 0.4, 0.5, 0.6)]
    emergencies = [t for _, i, t in rows if i == "emergency"]
    disclosures = [t for _, i, t in rows if i == "report_violence"]
    distress = [t for _, _, t in distress_texts()]
    fresh = [t for _, _, t in distress_texts(fresh=True)]
    everyday = [t for name, texts in sets.items() if name.startswith("everyday") for t in texts]
    columns = [("emerg.", emergencies, "emergency"), ("discl.", disclosures, "alarm"),
               ("distress", distress, "caught"), ("fresh d.", fresh, "caught"),
               ("everyday", everyday, "fa"), ("idioms", [t for n, ts in sets.items() if n.startswith("hard") for t in ts], "fa"),
               ("fresh id.", [t for n, ts in sets.items() if n.startswith("fresh idioms") for t in ts], "fa"),
               ("DODa", sets["DODa aside (dar_lat)"], "fa")]
    columns += [(name.split()[-1], texts, "fa") for name, texts in sets.items() if name.startswith("dailyquestions")]
    print("\nemergency layer: recall (held-out emergency, held-out disclosure, distress list) "
          "against false alarms, per setting:")
    print(f"  {'setting':<42}" + "".join(f"{c:>10}" for c, _, _ in columns))
    for label, threshold, person, ordinary in options:
        cells = []
        for _, texts, kind in columns:
            if kind == "emergency":
                share = sum(decide(t, threshold, person, ordinary) == "emergency" for t in texts) / len(texts)
            else:
                wanted = CAUGHT if kind == "caught" else ALARMS
                share = sum(decide(t, threshold, person, ordinary) in wanted for t in texts) / len(texts)
            cells.append(f"{share:>10.1%}")
        print(f"  {label:<42}" + "".join(cells))


def net_false_alarms() -> None:
    net = SafetyNet.load()
    data = yaml.safe_load(EVERYDAY.read_text(encoding="utf-8"))
    total = fired = 0
    print("\nsafety net alone on everyday sentences (false alarms):")
    for variety, texts in data.items():
        hits = [(t, net.match(t)) for t in texts if net.match(t)]
        total += len(texts)
        fired += len(hits)
        print(f"  {variety:<8} {pct(len(hits), len(texts))}")
        for text, rule in hits:
            print(f"    {rule}: {text}")
    print(f"  overall  {pct(fired, total)}")


def train(config: Path, out: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", "rasa", "train", "nlu", "--config", str(config), "--nlu", "data/nlu",
         "--out", str(out), "--fixed-model-name", config.stem],
        cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    return out / f"{config.stem}.tar.gz"


def cross_validation(folds: int, figures: dict[str, float]) -> None:
    """k-fold figure on the written data: the generated respellings (data/nlu/augmented) are
    left out, since a respelling in a training fold would leak its original in a test fold."""
    print(f"\n{folds}-fold cross-validation on the training data without the generated "
          "respellings (rasa test nlu):")
    with tempfile.TemporaryDirectory() as tmp:
        written = Path(tmp) / "nlu"
        written.mkdir()
        for folder in (ROOT / "data" / "nlu").iterdir():
            if folder.name != "augmented":
                (written / folder.name).symlink_to(folder)
        subprocess.run(
            [sys.executable, "-m", "rasa", "test", "nlu", "--nlu", str(written), "--config",
             "config.yml", "--cross-validation", "--folds", str(folds),
             "--out", tmp], cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        report_path = Path(tmp) / "intent_report.json"
        data = yaml.safe_load(report_path.read_text()) if report_path.exists() else {}
        summary = data.get("macro avg", {})
        figures["cv_f1"] = summary.get("f1-score", float("nan"))
        print(f"  intent macro-F1 {figures['cv_f1']:.3f}, accuracy {data.get('accuracy', float('nan')):.3f}")


TARGETS = [("held-out macro-F1, worst variety", lambda f: min(v for k, v in f.items() if k.startswith("f1_")
                                                              and k != "f1_overall"), ">=", 0.97),
           ("emergency recall with the net", lambda f: f["emergency_recall"], ">=", 1.0),
           ("alarms taken for out_of_scope/a place", lambda f: f["alarms_lost"], "<=", 0),
           ("perturbed drop, worst variety (points)", lambda f: f["perturbed_worst_drop"] * 100, "<=", 5.0),
           # As the issues word them: the everyday list and the idioms as a whole (a variety has
           # 20-60 of them, where one sentence is 2-5 %), DODa, and dailyquestions per script.
           ("false alarms, project's everyday list", lambda f: f["fa everyday"], "<=", 0.01),
           ("false alarms, DODa kept aside", lambda f: f["fa DODa aside (dar_lat)"], "<=", 0.01),
           ("false alarms, dailyquestions, worst script", lambda f: max(
               (v for k, v in f.items() if k.startswith("fa dailyquestions")), default=float("nan")), "<=", 0.01),
           ("false alarms, hard-negative idioms", lambda f: f["fa hard negatives"], "<=", 0.05),
           ("distress list caught", lambda f: f["distress_caught"], ">=", 0.95),
           ("fresh idioms (written after the tuning, by someone else)", lambda f: f["fa fresh idioms"], "<=", 0.05),
           ("fresh distress list (same)", lambda f: f["distress_fresh"], ">=", 0.95),
           ("cross-validation macro-F1", lambda f: f.get("cv_f1", float("nan")), ">=", 0.90)]


def print_targets(figures: dict[str, float]) -> None:
    print("\ntargets (issues 14 and 19):")
    for name, get, op, goal in TARGETS:
        value = get(figures)
        ok = value >= goal if op == ">=" else value <= goal
        print(f"  [{'met' if ok else 'NOT met'}] {name}: {value:.3f} (target {op} {goal})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(ROOT / "models" / "salama.tar.gz"))
    parser.add_argument("--config", nargs="*", help="compare these pipelines (trains each)")
    parser.add_argument("--cross-validation", type=int, metavar="FOLDS", default=0)
    parser.add_argument("--quick", action="store_true",
                        help="while tuning: every tenth DODa sentence, no dailyquestions, no cross-validation")
    parser.add_argument("--dailyquestions-sample", type=int, default=0, metavar="N",
                        help="measure on every k-th of the 7,990 dailyquestions rows (about N); 0 = all")
    args = parser.parse_args()
    rows = load_heldout()
    if args.config:
        with tempfile.TemporaryDirectory() as tmp:
            for config in args.config:
                started = time.perf_counter()
                model = train(Path(config), Path(tmp))
                print(f"\n=== {config}: trained in {time.perf_counter() - started:.0f} s")
                parses = Parses(model)
                parses.need(t for _, _, t in rows)
                heldout_report(parses, rows, {}, show_confusions=5)
        return
    parses = Parses(Path(args.model))
    dq = None if args.quick else dailyquestions(args.dailyquestions_sample)
    sets = false_alarm_sets(dq, quick=args.quick)
    started = time.perf_counter()
    parses.need([t for _, _, t in rows] + [perturb(t, v, edits=e) for v, _, t in rows for e in (1, 2)]
                + [t for texts in sets.values() for t in texts] + [t for fresh in (False, True) for _, _, t in distress_texts(fresh)])
    per_msg = (time.perf_counter() - started) * 1000 / max(1, len(parses.cache))
    figures: dict[str, float] = {}
    print(f"model: {parses.model.name}   messages parsed: {len(parses.cache)} ({per_msg:.1f} ms each)")
    heldout_report(parses, rows, figures)
    perturbed_report(parses, rows, figures)
    false_alarm_report(parses, sets, figures)
    agreement_report(parses, dq, figures)
    distress_report(parses, figures)
    distress_report(parses, figures, fresh=True)
    settings_table(parses, SafetyNet.load(), rows, sets)
    net_false_alarms()
    if args.cross_validation:
        cross_validation(args.cross_validation, figures)
    print_targets(figures)


if __name__ == "__main__":
    main()
