"""Re-measure CONFIRMATION_FLOOR (actions/actions.py) on the trained model: how many real
yes/no messages pass each candidate floor, and how many nonsense strings taken for yes or no.

The held-out yes/no messages come from tests/nlu/heldout.yml; the nonsense strings are
random letters (Latin, Latin with digits, Arabic), seeded so that two runs compare. Run it
after retraining the classifier: `.venv/bin/python scripts/measure_floor.py`.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
import random
import string
import sys
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

from actions.actions import CONFIRMATION_FLOOR, YES_NO  # noqa: E402

HELDOUT = ROOT / "tests" / "nlu" / "heldout.yml"
ARABIC_LETTERS = "ابتثجحخدذرزسشصضطظعغفقكلمنهوي"
FLOORS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def nonsense(seed: int = 7) -> list[str]:
    """250 random strings: 150 Latin words, 50 Arabic, 50 pairs of Latin and digits."""
    rng = random.Random(seed)
    latin = ["".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(3, 9)))
             for _ in range(150)]
    arabic = ["".join(rng.choice(ARABIC_LETTERS) for _ in range(rng.randint(2, 7))) for _ in range(50)]
    mixed = [" ".join("".join(rng.choice(string.ascii_lowercase + string.digits)
                              for _ in range(rng.randint(2, 6))) for _ in range(2)) for _ in range(50)]
    return latin + arabic + mixed


async def parse_all(model: Path, texts: list[str]) -> list[tuple[str, float]]:
    from rasa.core.agent import Agent

    agent = Agent.load(str(model))
    out = []
    for text in texts:
        intent = (await agent.parse_message(text))["intent"]
        out.append((intent["name"], float(intent["confidence"])))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "salama.tar.gz")
    args = parser.parse_args(argv)
    heldout = yaml.safe_load(HELDOUT.read_text(encoding="utf-8"))
    real = [(intent, text) for intents in heldout.values() for intent, texts in intents.items()
            if intent in YES_NO for text in texts]
    noise = nonsense()
    parsed = asyncio.run(parse_all(args.model, [t for _, t in real] + noise))
    real_parsed, noise_parsed = parsed[:len(real)], parsed[len(real):]
    taken = [c for name, c in noise_parsed if name in YES_NO]
    print(f"{len(taken)} of {len(noise)} nonsense strings taken for yes or no "
          f"(highest confidence {max(taken, default=0):.2f})")
    print("| floor | held-out yes/no that pass | nonsense yes/no that pass |")
    print("|---|---|---|")
    for floor in sorted(set(FLOORS) | {CONFIRMATION_FLOOR}):
        ok = sum(1 for (intent, _), (name, c) in zip(real, real_parsed) if name == intent and c >= floor)
        bad = sum(1 for c in taken if c >= floor)
        mark = " (current)" if floor == CONFIRMATION_FLOOR else ""
        print(f"| {floor:.2f}{mark} | {ok}/{len(real)} | {bad}/{len(taken)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
