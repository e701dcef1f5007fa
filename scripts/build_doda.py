"""Split DODa's real Latin-script Darija sentences into training negatives and a measured part.

Reads ../shared/data/darija/doda_sentences.csv (DODa, MIT at commit f6b952c) once, at build
time; the outputs are committed so nothing is downloaded or read from ../shared at run time:
- data/nlu/dar_lat/doda_everyday.yml: out_of_scope training examples;
- data/nlu/dar_ar/doda_everyday.yml: the same sentences written in Arabic script by rule
  (scripts/arabizi.py), so the Arabic-script side learns ordinary Darija too;
- tests/nlu/doda_everyday_aside.csv: kept aside, never trained on, for `make eval`'s
  false-alarm rate on real everyday Darija;
- tests/nlu/doda_not_everyday.csv: what the English shows is not everyday (danger,
  violence, illness, a husband, divorce...), labelled and left out of both.
The split is by a hash of the sentence, so it is stable when the source grows.
This software includes data sourced from Darija Open Dataset (https://github.com/darija-open-dataset/dataset).
"""
from __future__ import annotations

import argparse
import csv
import re
import sys
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from scripts.arabizi import to_arabic  # noqa: E402

SOURCE = ROOT.parent / "shared" / "data" / "darija" / "doda_sentences.csv"
TRAIN_OUT = ROOT / "data" / "nlu" / "dar_lat" / "doda_everyday.yml"
TRAIN_AR_OUT = ROOT / "data" / "nlu" / "dar_ar" / "doda_everyday.yml"
ASIDE_OUT = ROOT / "tests" / "nlu" / "doda_everyday_aside.csv"
FLAGGED_OUT = ROOT / "tests" / "nlu" / "doda_not_everyday.csv"
ATTRIBUTION = ("This software includes data sourced from Darija Open Dataset "
               "(https://github.com/darija-open-dataset/dataset), MIT licence at commit f6b952c.")
TRAIN_SHARE = 25  # percent of the everyday sentences used for training; the rest is kept aside
TRAIN_MAX = 900

# Not everyday, by the English: danger, violence, illness, family conflict, crime, the
# assistant's own topics (a lawyer, the police, a shelter), and distress.
NOT_EVERYDAY = re.compile(
    r"\b(danger\w*|violen\w*|kill\w*|murder\w*|di(e|ed|es|ing)|dead|death|hit(s|ting)?|beat\w*|hurt\w*|"
    r"punch\w*|slap\w*|kick\w*|attack\w*|assault\w*|rap(e|ed|ist)|abus\w*|threat\w*|knife|knives|gun\w*|"
    r"weapon\w*|blood\w*|bleed\w*|police\w*|cops?|help\w*|sav(e|ed|ing)|scar(e|ed|y)|afraid|fear\w*|"
    r"fright\w*|ill|illness|sick\w*|hospital\w*|doctor\w*|pain\w*|injur\w*|wound\w*|husband\w*|wi(fe|ves)|"
    r"divorc\w*|marri\w*|fight\w*|war|prison\w*|jail\w*|steal\w*|stole\w*|thie\w*|rob\w*|lock\w*|"
    r"escap\w*|run away|suicid\w*|cr(y|ied|ies|ying)|tears?|hat(e|ed|es)|angry|anger|shout\w*|yell\w*|"
    r"insult\w*|lawyer\w*|court\w*|judge\w*|law|rights?|shelter\w*|refuge\w*|harass\w*|follow\w*|"
    r"push\w*|throw\w*|threw|hide|hiding|hid|emergenc\w*|urgent\w*|cancer|depress\w*|alone|lonely|"
    r"sad\w*|worr\w*|shame\w*|ashamed)\b", re.IGNORECASE)
# Greetings, thanks, yes/no and the like are intents of their own, not out_of_scope.
OWN_INTENT = re.compile(r"^\W*(hello|hi|hey|good (morning|evening|night)|thanks?|thank you|bye|goodbye|"
                        r"see you|yes|no|ok(ay)?|sure|please|of course|never mind)\b", re.IGNORECASE)


def rows() -> list[tuple[str, str]]:
    with open(SOURCE, encoding="utf-8", newline="") as f:
        return [(r["darija"].strip(), r["english"].strip()) for r in csv.DictReader(f) if r["darija"].strip()]


def clean(text: str) -> str:
    """One line, no characters that would break a YAML list item or an annotation."""
    return re.sub(r"\s+", " ", text.replace("[", "(").replace("]", ")")).strip()


def split() -> tuple[list[str], list[tuple[str, str]], list[tuple[str, str]]]:
    train, aside, flagged, seen = [], [], [], set()
    for darija, english in rows():
        darija = clean(darija)
        if darija.lower() in seen:
            continue
        seen.add(darija.lower())
        if NOT_EVERYDAY.search(english):
            flagged.append((darija, english))
        elif OWN_INTENT.search(english) or len(darija.split()) < 3:
            continue
        elif zlib.crc32(darija.encode()) % 100 < TRAIN_SHARE and len(train) < TRAIN_MAX:
            train.append(darija)
        else:
            aside.append((darija, english))
    return train, aside, flagged


def main() -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    train, aside, flagged = split()
    for path, texts, what in (
            (TRAIN_OUT, train, "Real everyday Latin-script Darija"),
            (TRAIN_AR_OUT, [to_arabic(t) for t in train],
             "The same real everyday Darija written in Arabic script by rule (scripts/arabizi.py)")):
        lines = ['version: "3.1"', f"# {ATTRIBUTION}",
                 f"# {what} as out_of_scope negatives; built by scripts/build_doda.py.",
                 "nlu:", "- intent: out_of_scope", "  examples: |"]
        lines += [f"    - {t}" for t in texts if t]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    for path, items, label in ((ASIDE_OUT, aside, "everyday"), (FLAGGED_OUT, flagged, "not_everyday")):
        with open(path, "w", encoding="utf-8", newline="") as f:
            f.write(f"# {ATTRIBUTION}\n")
            writer = csv.writer(f)
            writer.writerow(["darija", "english", "label"])
            writer.writerows((d, e, label) for d, e in items)
    print(f"training {len(train)}, aside {len(aside)}, not everyday {len(flagged)}")


if __name__ == "__main__":
    main()
