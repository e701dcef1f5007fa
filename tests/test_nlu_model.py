"""The trained model understands every menu option typed as free text, and sends gibberish to the fallback."""
from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest
import yaml

from core.textnorm import fold_latin
from scripts.perturb_text import perturb

pytestmark = [pytest.mark.integration, pytest.mark.filterwarnings("ignore")]

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "models" / "salama.tar.gz"
DOMAIN = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
# The digit for "No, I am in danger" gives `deny`, which the rule answers with the
# emergency reply: typed as text, the safety net reads the danger and gives that reply too.
SAME_ANSWER = {("utter_ask_safe_now", "/deny"): {"emergency"}}


def options() -> list[tuple[str, str, str, str]]:
    """(response, language, title, payload) for every button of every response."""
    found = []
    for name, variants in DOMAIN["responses"].items():
        for variant in variants:
            language = next((c["value"] for c in variant.get("condition", []) if c.get("name") == "language"), None)
            for button in variant.get("buttons") or []:
                found.append((name, language, button["title"], button["payload"]))
    return found


def spellings(title: str) -> list[str]:
    """The label as written, and without accents in lower case."""
    return list(dict.fromkeys([title, fold_latin(title)]))


@pytest.fixture(scope="module")
def parse() -> Any:
    if not MODEL.exists():
        pytest.fail("these tests need the trained model: run `make train` (make test does)")
    import rasa.utils.log_utils
    from rasa.core.agent import Agent

    # Rasa logs parsed text at debug level: never in test output either.
    rasa.utils.log_utils.configure_structlog(logging.WARNING)
    agent = Agent.load(str(MODEL))

    def _parse(text: str) -> str:
        return asyncio.run(agent.parse_message(text))["intent"]["name"]
    return _parse


def test_every_menu_has_options_in_four_languages() -> None:
    languages = {language for _, language, _, _ in options()}
    assert languages == {"dar_ar", "dar_lat", "ar", "fr"}
    assert len(options()) > 100


@pytest.mark.parametrize("response,language,title,payload", options(),
                         ids=[f"{r}-{lang}-{i}" for i, (r, lang, _, _) in enumerate(options())])
def test_option_label_typed_as_text_gives_its_option(parse: Any, response: str, language: str,
                                                      title: str, payload: str) -> None:
    expected = {payload.lstrip("/")} | SAME_ANSWER.get((response, payload), set())
    wrong = {text: parse(text) for text in spellings(title)}
    wrong = {text: got for text, got in wrong.items() if got not in expected}
    assert not wrong, f"{response} ({language}) option {title!r} -> {payload}: {wrong}"


def test_option_labels_with_a_typo_mostly_give_their_option(parse: Any) -> None:
    """One respelling and one slip of the thumb (scripts/perturb_text.py, not the augmenter's
    rules) on every distinct label: a short label can lose its meaning to one slip, so the
    bar is 90 %, and a typo never turns an option into an emergency it did not say."""
    seen, right, alarms = set(), 0, []
    for response, language, title, payload in options():
        typo = perturb(title, language)
        if (typo, payload) in seen:
            continue
        seen.add((typo, payload))
        got = parse(typo)
        right += got in {payload.lstrip("/")} | SAME_ANSWER.get((response, payload), set())
        if got in ("emergency", "report_violence") and payload not in ("/emergency", "/deny"):
            alarms.append((typo, got))
    assert right / len(seen) >= 0.9, f"{right}/{len(seen)}"
    assert not alarms


@pytest.mark.parametrize("text", ["zkfjh", "qsdfqsdf", "xkcd vbnm", "ثقفغعه", "ظطزرذ", "hjklm wxcv", "jfjfjfj"])
def test_gibberish_goes_to_the_fallback(parse: Any, text: str) -> None:
    assert parse(text) == "nlu_fallback", text


@pytest.mark.parametrize("text,intent", [("wakhaaa", "affirm"), ("iyeh", "affirm"), ("oui", "affirm"),
                                         ("la", "deny"), ("non merci", "deny"), ("لا", "deny")])
def test_short_answers_still_understood(parse: Any, text: str, intent: str) -> None:
    assert parse(text) == intent


@pytest.mark.parametrize("text", ["Ana f khatar daba", "ana fi khatar", "rani f khatar",
                                  "rajli 7bsni f dar ma khllanich nkhrej", "3ta9!", "عتاق!", "عيط للبوليس",
                                  "3ayt llbolis"])
def test_issue_examples_are_emergencies(parse: Any, text: str) -> None:
    assert parse(text) == "emergency", text
