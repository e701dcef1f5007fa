"""Spelling augmenter: writes respelled copies of data/nlu/<variety>/ into data/nlu/augmented/.

It also teaches every option label of every menu in domain.yml (buttons, per language) as an
example of the intent its digit gives, with its respellings, so a new option is understood
as free text without anyone writing it into data/nlu.

Deterministic (each sentence seeds its own generator), so the committed output only changes
when the data or these rules change; `tests/test_nlu_augment.py` fails if it is stale. Run
`make augment` (or this script) after editing data/nlu, then `make train`.

The rules are the real ways people respell each variety; they are NOT the perturber's
(scripts/perturb_text.py), which measures robustness with other rules. What the tokenizer
already folds (case, accents, hamza forms, ة/ه, ى/ي, ڭ/ك, letters repeated 3+ times) is
applied too, but a variant that normalises to a sentence already present is dropped.
"""
from __future__ import annotations

import argparse
import random
import re
import sys
import zlib
from pathlib import Path
from typing import Callable

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from core.textnorm import normalize  # noqa: E402
from scripts.arabizi import to_arabic  # noqa: E402

NLU = ROOT / "data" / "nlu"
DOMAIN = ROOT / "domain.yml"
# "No, I am in danger" (the digit gives `deny` to "are you safe now?", answered with the
# emergency reply) is taught as what it says, so that danger never becomes a plain "no".
OPTION_INTENT = {("utter_ask_safe_now", "/deny"): "emergency"}
OUT = NLU / "augmented"
VARIETIES = ("dar_lat", "dar_ar", "ar", "fr")
VARIANTS_PER_SENTENCE = 2
# The measurement lists stay apart: a respelling that lands on one of their sentences is dropped.
MEASURED = [ROOT / "tests" / "nlu" / name for name in ("heldout.yml", "everyday.yml", "hard_negatives.yml",
                                                       "distress.yml")]
# Real text written by others is already spelled as people spell: not respelled.
NOT_AUGMENTED = {"doda_everyday.yml"}
# [text](entity) annotations are kept as written; only the text around them is respelled.
ANNOTATION = re.compile(r"(\[[^\]]+\]\([^)]+\))")

Rule = Callable[[str, random.Random], str]


def _sub_words(table: dict[str, list[str]]) -> Rule:
    """Replace whole words by one of their common spellings."""
    pattern = re.compile(r"\b(" + "|".join(sorted(map(re.escape, table), key=len, reverse=True)) + r")\b")

    def rule(text: str, rng: random.Random) -> str:
        return pattern.sub(lambda m: rng.choice(table[m.group(1)]), text)
    return rule


def _sub_chars(pairs: list[tuple[str, list[str]]], share: float = 0.6) -> Rule:
    """Respell letter groups (each occurrence with probability `share`)."""
    def rule(text: str, rng: random.Random) -> str:
        for old, news in pairs:
            text = re.sub(old, lambda m, news=news: rng.choice(news) if rng.random() < share else m.group(0), text)
        return text
    return rule


# Darija in Latin letters: Arabizi digits and their letter spellings, ch/sh/x, vowels.
DAR_LAT_WORDS = _sub_words({
    "wach": ["wax", "wash", "wech", "was"], "fin": ["fen", "fine", "fayn"], "kayn": ["kayen", "kain", "kayna"],
    "kayen": ["kayn", "kain"], "chno": ["chnou", "shno", "xno", "achno", "chnu"], "bghit": ["bgit", "b4it", "bghiit"],
    "3afak": ["3fak", "afak", "3afk", "3afakom"], "daba": ["dba", "db", "drk"], "dyal": ["dial", "d", "dyel", "diyal"],
    "dyali": ["dial", "diali", "dyli"], "ana": ["ena", "anaa"], "rajli": ["rajel dyali", "raajli", "rjli"],
    "kifach": ["kifash", "kifax", "kfach", "kifch"], "chokran": ["choukran", "xokran", "shokran", "chokrane"],
    "mzyan": ["mzian", "mezyan", "mziane"], "bzaf": ["bzzaf", "bezaf", "bzf"], "3lach": ["3lax", "alach", "3lash"],
    "walo": ["walou", "wlo"], "khoya": ["5oya", "khouya"], "ghadi": ["gadi", "4adi", "gha", "ghad"],
    "nta": ["enta", "ntaa"], "nti": ["enti", "ntii"], "ma3ndich": ["ma3ndix", "m3ndich", "ma3andich"],
    "smahli": ["sme7li", "sma7li", "smhli"], "salam": ["slm", "salaam", "slam"], "iyeh": ["iyah", "ih", "iyyeh"],
    "wakha": ["wkha", "wa5a", "waxa", "okha"], "la": ["laa", "lla"], "machi": ["mashi", "maxi", "mchi"],
})
DAR_LAT_CHARS = _sub_chars([
    ("kh", ["5", "kh"]), ("5", ["kh"]), ("ch", ["sh", "x", "ch"]), ("gh", ["4", "gh", "g"]),
    ("7", ["h", "7"]), ("9", ["q", "k", "9"]), ("(?<=\\w)ou", ["u", "o", "w"]), ("(?<=\\w)o(?=\\w)", ["ou", "u"]),
    ("(?<=[^aeiou\\s])e(?=[^aeiou\\s])", ["a", "", "e"]), ("(?<=\\w)a(?=\\w)", ["aa", "a", "a", "e"]),
    ("(?<=\\w)i(?=\\w)", ["ii", "y", "e"]), ("2", ["a", "'", ""]),
], share=0.4)

# Darija and Arabic in Arabic script: hamza and ta marbuta forms, Darija letters, ديال.
AR_CHARS = _sub_chars([
    ("\\bا(?!ل)(?=\\w)", ["ا", "أ", "إ"]), ("ة\\b", ["ه", "ة"]), ("(?<!الل)ه\\b", ["ة", "ه"]), ("ى\\b", ["ي"]),
    ("ي\\b", ["ى", "ي"]), ("ؤ", ["و"]), ("ئ", ["ي", "ء"]),
], share=0.3)
# Darija writes the g sound ڭ, گ, ك or ق ("ڭال", "كال", "قال").
DAR_AR_CHARS = _sub_chars([("ق", ["ڭ", "ق", "ق"]), ("ك", ["ك", "ڭ", "گ"])], share=0.3)
DAR_AR_WORDS = _sub_words({
    "ديال": ["د", "ديالي", "دال"], "واش": ["واس", "وش"], "فين": ["فاين", "فن"], "شنو": ["اشنو", "شنوا", "شنو هو"],
    "بغيت": ["بغييت", "ابغيت"], "عافاك": ["عفاك", "الله يخليك"], "دابا": ["دبا", "ضروك", "دروك"],
    "كاين": ["كاين", "كين", "كاينة"], "راجلي": ["الراجل ديالي", "رجلي"], "بزاف": ["بزااف", "بزف"],
    "كيفاش": ["كيف", "كفاش"], "شكرا": ["شكراا", "شكرن"], "مزيان": ["مزيانة", "مزين"],
})
REPEAT_LAST = re.compile(r"(\w)(\s|$)")


def _repeat_letter(text: str, rng: random.Random) -> str:
    """Emphasis: the last letter of one word repeated ("بزااف", "3afaaak")."""
    words = text.split(" ")
    i = rng.randrange(len(words))
    if len(words[i]) > 2 and words[i][-1].isalpha():
        words[i] = words[i] + words[i][-1] * rng.choice([1, 2])
    return " ".join(words)


# French: without accents, SMS abbreviations.
FR_WORDS = _sub_words({
    "je suis": ["jsuis", "chui", "je sui", "jsui"], "s'il te plait": ["stp", "stpl"], "s'il vous plait": ["svp", "svpl"],
    "s'il vous plaît": ["svp"], "s'il te plaît": ["stp"], "pourquoi": ["pk", "pq", "pourquoa"],
    "beaucoup": ["bcp", "bcoup"], "quoi": ["koi", "quoa"], "quand": ["qd", "kan"], "avec": ["avc", "ac"],
    "aussi": ["ossi", "aussi"], "je ne sais pas": ["jsp", "je sais pas", "chai pas"], "maintenant": ["mnt", "maint"],
    "est-ce que": ["esque", "est ce que", "eske"], "c'est": ["c", "cest", "c est"], "qu'est-ce": ["keske", "qu'est ce"],
    "toujours": ["tjrs", "tjs"], "rien": ["ri1"], "bien": ["bi1"], "dans": ["ds"], "quelque": ["qlq", "qq"],
    "vous": ["vs"], "tout": ["tt"], "nous": ["ns"], "j'ai": ["jai", "g"], "merci": ["mrc", "mci"],
    "bonjour": ["bjr", "bonjours"], "salut": ["slt"], "d'accord": ["dac", "dacc", "daccord", "ok"],
})
ACCENTS = str.maketrans("éèêëàâîïôûùç", "eeeeaaiiouuc")


def _no_accents(text: str, rng: random.Random) -> str:
    return text.translate(ACCENTS)


def _lower(text: str, rng: random.Random) -> str:
    return text.lower()


# Each rule with the probability that it applies to a sentence.
RULES: dict[str, list[tuple[Rule, float]]] = {
    "dar_lat": [(_lower, 0.8), (DAR_LAT_WORDS, 0.9), (DAR_LAT_CHARS, 0.9), (_repeat_letter, 0.25)],
    "dar_ar": [(DAR_AR_WORDS, 0.9), (AR_CHARS, 0.8), (DAR_AR_CHARS, 0.6), (_repeat_letter, 0.25)],
    "ar": [(AR_CHARS, 0.9), (_repeat_letter, 0.2)],
    "fr": [(_lower, 0.8), (FR_WORDS, 0.9), (_no_accents, 0.8)],
}


def respell(text: str, variety: str, rng: random.Random) -> str:
    """One respelled variant of `text` (annotations kept), by the variety's rules."""
    parts = ANNOTATION.split(text)
    out = []
    for part in parts:
        if ANNOTATION.fullmatch(part) or not part.strip():
            out.append(part)
            continue
        for rule, probability in RULES[variety]:
            if rng.random() < probability:
                part = rule(part, rng)
        out.append(part)
    return re.sub(r" {2,}", " ", "".join(out)).strip()


def variants(text: str, variety: str, seen: set[str]) -> list[str]:
    """Up to VARIANTS_PER_SENTENCE variants whose normalised form is new (updates `seen`)."""
    rng = random.Random(zlib.crc32(f"{variety}:{text}".encode()))
    found = []
    for _ in range(VARIANTS_PER_SENTENCE * 3):
        candidate = respell(text, variety, rng)
        key = normalize(candidate)
        if candidate and key not in seen:
            seen.add(key)
            found.append(candidate)
        if len(found) == VARIANTS_PER_SENTENCE:
            break
    return found


def examples(block: dict) -> list[str]:
    """The example lines of one `- intent:` block of a training file."""
    return [line.strip()[2:].strip() for line in block["examples"].splitlines() if line.strip().startswith("- ")]


def read_examples(variety: str, nlu: Path = NLU) -> dict[str, list[str]]:
    """intent -> examples, from every file of one variety."""
    by_intent: dict[str, list[str]] = {}
    for path in sorted((nlu / variety).glob("*.yml")):
        if path.name in NOT_AUGMENTED:
            continue
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for block in data.get("nlu") or []:
            if "intent" not in block:
                continue
            by_intent.setdefault(block["intent"], []).extend(examples(block))
    return by_intent


def option_labels(variety: str) -> dict[str, list[str]]:
    """intent -> the option labels (button titles) of domain.yml written in this variety."""
    domain = yaml.safe_load(DOMAIN.read_text(encoding="utf-8"))
    labels: dict[str, list[str]] = {}
    for name, responses in domain.get("responses", {}).items():
        for response in responses:
            conditions = {c.get("name"): c.get("value") for c in response.get("condition") or []}
            if conditions.get("language") != variety:
                continue
            for button in response.get("buttons") or []:
                intent = OPTION_INTENT.get((name, button["payload"]), button["payload"].lstrip("/"))
                if button["title"] not in labels.setdefault(intent, []):
                    labels[intent].append(button["title"])
    return labels


def _texts(node: object) -> list[str]:
    if isinstance(node, dict):
        return [t for value in node.values() for t in _texts(value)]
    return [str(t) for t in node] if isinstance(node, list) else []


def measured() -> set[str]:
    """Normalised sentences of the measurement lists in tests/nlu/."""
    return {normalize(t) for path in MEASURED for t in _texts(yaml.safe_load(path.read_text(encoding="utf-8")))}


def render(variety: str, nlu: Path = NLU, exclude: frozenset[str] = frozenset()) -> str:
    """The augmented training file of one variety, as YAML text, from the written data under
    `nlu`; nothing generated normalises to a measured sentence or to one in `exclude`."""
    by_intent = read_examples(variety, nlu)
    seen = {normalize(t) for texts in by_intent.values() for t in texts} | measured() | exclude
    labels = option_labels(variety)
    # Darija written in Latin letters is also written in Arabic script: the Latin-script
    # examples, written again by rule (scripts/arabizi.py), teach the Arabic-script side.
    crossed = read_examples("dar_lat", nlu) if variety == "dar_ar" else {}
    lines = ['version: "3.1"',
             f"# Generated by scripts/augment_nlu.py from data/nlu/{variety}/ and domain.yml's options:",
             "# do not edit by hand.",
             "nlu:"]
    for intent in sorted(set(by_intent) | set(labels) | set(crossed)):
        extra = []
        for title in labels.get(intent, []):
            if normalize(title) not in seen:
                seen.add(normalize(title))
                extra.append(title)
            extra += variants(title, variety, seen)
        extra += [v for text in by_intent.get(intent, []) for v in variants(text, variety, seen)]
        for text in crossed.get(intent, []):
            written = "" if ANNOTATION.search(text) else to_arabic(text)
            if written and normalize(written) not in seen:
                seen.add(normalize(written))
                extra.append(written)
        if not extra:
            continue
        lines += [f"- intent: {intent}", "  examples: |"]
        lines += [f"    - {v}" for v in extra]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the committed output is stale")
    args = parser.parse_args()
    stale = []
    OUT.mkdir(exist_ok=True)
    for variety in VARIETIES:
        path = OUT / f"{variety}.yml"
        text = render(variety)
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(str(path.relative_to(ROOT)))
        else:
            path.write_text(text, encoding="utf-8")
            print(f"{path.relative_to(ROOT)}: {text.count(chr(10) + '    - ')} sentences")
    if stale:
        sys.exit(f"stale (run `make augment`): {', '.join(stale)}")


if __name__ == "__main__":
    main()
