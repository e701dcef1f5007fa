"""The safety floor: every reply that comes from uncertainty carries the emergency line, and
an unsure yes or no never erases her data nor hands her to a person."""
from __future__ import annotations

import asyncio
import json
import re
from typing import Any
from urllib.request import Request, urlopen

import pytest
import yaml
from rasa.core.actions.action import ActionDefaultFallback
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.actions import CONFIRMATION_FLOOR, ActionExtractTurnSlots, answer_unsure
from bot.appkeys import GATEWAY, STORE
from bot.texts import Texts
from core.settings import ROOT
from tests.conftest import Phone

VARIETIES = ("dar_ar", "dar_lat", "ar", "fr")
CHANNELS = {"whatsapp": "whatsapp:+212600000777", "sms": "+212600000777"}
# The replies from uncertainty: the NLU fallback and Rasa's core fallback (both utter_default),
# the offer of a person after the second miss, an unsure yes or no; the gateway's answers to
# a message with nothing to understand, and to Rasa being down or late.
FLOOR_RESPONSES = ("utter_default", "utter_fallback_offer_human", "utter_answer_unsure")
FLOOR_TEXTS = ("empty_body", "media_only", "static_fallback")
# A first message in each variety, and misunderstood messages in its script: the first of
# them that the model sends to nlu_fallback is used (the model is asked, so a classifier that
# is retrained keeps this test meaningful).
GREETING = {"dar_ar": "السلام عليكم، واش نقدر نسولك؟", "dar_lat": "salam, wach n9der nsowlek?",
            "ar": "السلام عليكم، هل يمكنني أن أسأل؟", "fr": "bonjour, est-ce que je peux demander ?"}
GIBBERISH = {
    "arabic": ["ثقص ضغذ", "غغغ ققق", "غع سف", "دخلط وعطش", "لهص مهغ", "زسج شضي", "شقيف عثفه",
               "ضصث قفغ", "صضث فقغع"],
    "latin": ["zkfjh qsdkjh", "xwxw pppp", "bbc cec", "qzx vvk", "7ab1o tnzekj", "pqwz xkcd",
              "zzzq kkkq", "qxjz", "vbnm qwrt"],
}


def has_floor(text: str) -> bool:
    """The emergency line: police 19, gendarmerie 177 and the listening line 8350."""
    return all(re.search(rf"(?<!\d){n}(?!\d)", text) for n in ("19", "177", "8350"))


def flat(text: str) -> str:
    return " ".join(text.split())


def _responses() -> dict[str, dict[str, dict]]:
    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    out: dict[str, dict[str, dict]] = {}
    for name, variants in domain["responses"].items():
        for variant in variants:
            variety = next(c["value"] for c in variant["condition"] if c["name"] == "language")
            out.setdefault(name, {})[variety] = variant
    return out


RESPONSES = _responses()


# -- the data: every reply from uncertainty has the line, in the four varieties ---------
@pytest.mark.parametrize("variety", VARIETIES)
@pytest.mark.parametrize("name", FLOOR_RESPONSES)
def test_the_fallback_reply_never_leaves_without_the_emergency_line(name, variety):
    assert has_floor(RESPONSES[name][variety]["text"]), (name, variety)


@pytest.mark.parametrize("variety", VARIETIES)
@pytest.mark.parametrize("key", FLOOR_TEXTS)
def test_the_gateway_answers_to_nothing_understood_carry_the_emergency_line(key, variety):
    assert has_floor(Texts.load().get(key, variety)), (key, variety)


def test_rasa_core_fallback_says_utter_default():
    # config.yml names Rasa's own action_default_fallback as the core fallback: it utters
    # utter_default, the floor reply. A custom one would have to be added to FLOOR_RESPONSES.
    config = yaml.safe_load((ROOT / "config.yml").read_text(encoding="utf-8"))
    rule_policy = next(p for p in config["policies"] if p["name"] == "RulePolicy")
    assert rule_policy["core_fallback_action_name"] == "action_default_fallback"
    assert ActionDefaultFallback().utter_action == "utter_default"


def _rules() -> list[dict]:
    rules = []
    for path in sorted((ROOT / "data" / "rules").glob("*.yml")):
        rules += yaml.safe_load(path.read_text(encoding="utf-8")).get("rules", [])
    return rules


def _uncertain(step: dict) -> bool:
    slots = {k: v for s in step.get("slot_was_set", []) for k, v in s.items()}
    return step.get("intent") == "nlu_fallback" or slots.get("answer_unsure") is True


def test_every_rule_for_uncertainty_answers_first_with_a_floor_reply():
    found = 0
    for rule in _rules():
        steps = rule["steps"]
        for i, step in enumerate(steps):
            if _uncertain(step):
                first = next(s["action"] for s in steps[i:] if "action" in s)
                assert first in FLOOR_RESPONSES, rule["rule"]
                found += 1
    assert found >= 5  # misunderstood, again, and an unsure answer in the three questions


def test_only_a_sure_yes_erases_or_hands_off():
    """Every rule that erases or hands off after a yes or no requires answer_unsure: false."""
    checked = 0
    for rule in _rules():
        steps = rule["steps"]
        for i, step in enumerate(steps):
            if step.get("action") not in ("action_forget_me", "action_handoff"):
                continue
            said = [s for s in steps[:i] if "intent" in s or "or" in s]
            if said and said[-1].get("intent") in ("affirm", "deny"):
                slots = [x for s in steps[:i] for x in s.get("slot_was_set", [])]
                assert {"answer_unsure": False} in slots, rule["rule"]
                checked += 1
    assert checked == 3  # erase, the counsellor offered, the counsellor after misunderstanding


# -- the slots that drive it ------------------------------------------------------------
@pytest.mark.parametrize("intent, confidence, unsure", [
    ("affirm", 0.53, True),   # "zkfjh" was taken for yes at 0.53 (issue 14)
    ("deny", CONFIRMATION_FLOOR - 0.01, True),
    ("affirm", CONFIRMATION_FLOOR, False),
    ("affirm", 1.0, False),   # a button or a digit
    ("deny", 0.95, False),
    ("emergency", 0.3, False),  # the floor is for yes and no only: never for danger
    ("nlu_fallback", 0.25, False),
])
def test_answer_unsure(intent, confidence, unsure):
    assert answer_unsure({"name": intent, "confidence": confidence}) is unsure


def _turn_slots(intent: str, confidence: float, fallback_count: float) -> dict[str, Any]:
    tracker = Tracker(
        "test", {"language": "fr", "fallback_count": fallback_count},
        {"text": "xx", "intent": {"name": intent, "confidence": confidence},
         "metadata": {"language": "fr"}},
        [], False, None, None, "action_listen",
    )
    events = asyncio.run(ActionExtractTurnSlots().run(CollectingDispatcher(), tracker, {}))
    return {e["name"]: e["value"] for e in events if e["event"] == "slot"}


def test_every_second_miss_in_a_row_offers_a_person():
    count, seen = 0.0, []
    for intent in ("nlu_fallback", "nlu_fallback", "nlu_fallback", "nlu_fallback", "greet",
                   "nlu_fallback"):
        slots = _turn_slots(intent, 0.9, count)
        count = slots["fallback_count"]
        seen.append(slots["second_miss"])
    assert seen == [False, True, False, True, False, False]


def test_turn_slots_mark_an_unsure_yes():
    assert _turn_slots("affirm", 0.5, 0.0)["answer_unsure"] is True
    assert _turn_slots("affirm", 0.9, 0.0)["answer_unsure"] is False


# -- end to end: the signed webhook, the real Rasa server and action server --------------
def _rasa(stack: Any, path: str, body: dict) -> Any:
    req = Request(f"{stack.rasa_url}{path}?token={stack.token}", method="POST",
                  data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())


@pytest.fixture(scope="module")
def misses(stack: Any) -> dict[str, list[str]]:
    """Two messages per script that the model sends to nlu_fallback."""
    out = {}
    for script, candidates in GIBBERISH.items():
        chosen = [t for t in candidates
                  if _rasa(stack, "/model/parse", {"text": t})["intent"]["name"] == "nlu_fallback"]
        assert len(chosen) >= 2, f"the model understands every {script} nonsense string: add some"
        out[script] = chosen[:2]
    return out


async def _phone(stack: Any, gateway_factory: Any, channel: str) -> tuple[Phone, Any]:
    client, settings, app = await gateway_factory(**stack.gateway_settings())
    address = CHANNELS[channel]
    phone = Phone(client, settings, address)
    return phone, app


def _reply(name: str, variety: str) -> str:
    return flat(RESPONSES[name][variety]["text"])


integration = pytest.mark.integration


@integration
@pytest.mark.parametrize("channel", CHANNELS)
@pytest.mark.parametrize("variety", VARIETIES)
async def test_misunderstood_twice_gets_the_line_then_the_offer_of_a_person(
        stack, gateway_factory, misses, variety, channel):
    phone, app = await _phone(stack, gateway_factory, channel)
    await phone.send(GREETING[variety])
    first, second = misses["arabic" if variety in ("dar_ar", "ar") else "latin"]
    texts = flat("\n".join(await phone.send(first)))
    assert _reply("utter_default", variety) in texts
    texts = flat("\n".join(await phone.send(second)))
    assert _reply("utter_fallback_offer_human", variety) in texts
    assert has_floor(texts) and " 1. " in f" {texts}"
    assert await phone.send("1")  # yes: a counsellor
    conv = app[STORE].get_conversation(app[GATEWAY].vault.pseudonym(phone.address))
    assert conv.status == "waiting"


@integration
@pytest.mark.parametrize("channel", CHANNELS)
@pytest.mark.parametrize("variety", VARIETIES)
async def test_empty_and_media_only_messages_get_the_line(stack, gateway_factory, variety, channel):
    phone, app = await _phone(stack, gateway_factory, channel)
    await phone.send(GREETING[variety])
    texts = app[GATEWAY].texts
    assert await phone.send("") == [texts.get("empty_body", variety)]
    picture = await phone.send("", NumMedia="1", MediaContentType0="image/jpeg",
                               MediaUrl0="https://api.twilio.com/media/1")
    assert picture == [texts.get("media_only", variety)]


@integration
@pytest.mark.parametrize("variety", VARIETIES)
async def test_rasa_core_fallback_gets_the_line_in_her_variety(stack, gateway_factory, variety):
    # No state of the current rules leaves Rasa without a prediction, so the core fallback is
    # run through Rasa's API on a conversation the gateway started; it utters utter_default,
    # which the gateway relays as for the NLU fallback above.
    phone, app = await _phone(stack, gateway_factory, "sms")
    await phone.send(GREETING[variety])
    conv_id = app[GATEWAY].vault.pseudonym(phone.address)
    answer = _rasa(stack, f"/conversations/{conv_id}/execute", {"name": "action_default_fallback"})
    texts = flat("\n".join(m.get("text", "") for m in answer["messages"]))
    assert _reply("utter_default", variety) in texts


# An unsure yes or no, whatever the classifier: Rasa's payload with a confidence. Typed, it
# is read as Latin letters by the language detection, so the reply's variety is not checked.
UNSURE = {"affirm": "/affirm@0.5", "deny": "/deny@0.5"}
# In her words: the keyword alone ("mse7", "مسح") is the gateway's own erase, with its own
# confirmation by exact words (bot/keywords.py), where no classifier is involved.
ASK_FORGET = {"dar_ar": "بغيت نمسح كلشي اللي كتبت", "dar_lat": "bghit nmse7 kolchi",
              "ar": "أريد حذف كل رسائلي من هنا", "fr": "je veux effacer toutes mes données"}
DANGER = {"dar_ar": "عتقوني غادي يقتلني", "dar_lat": "3te9ni ghadi y9telni",
          "ar": "أنقذوني، زوجي سيقتلني الآن", "fr": "au secours il va me tuer"}


@integration
@pytest.mark.parametrize("answer", UNSURE)
@pytest.mark.parametrize("variety", VARIETIES)
async def test_an_unsure_answer_never_erases_and_asks_again(stack, gateway_factory, variety, answer):
    phone, app = await _phone(stack, gateway_factory, "whatsapp")
    await phone.send(GREETING[variety])
    assert " 1. " in flat(" " + "\n".join(await phone.send(ASK_FORGET[variety])))
    conv_id = app[GATEWAY].vault.pseudonym(phone.address)
    texts = flat("\n".join(await phone.send(UNSURE[answer])))
    assert has_floor(texts) and " 1. " in f" {texts}", texts  # the line, then the question again
    assert app[STORE].get_conversation(conv_id) is not None  # nothing erased
    assert flat(RESPONSES["utter_forget_me_cancelled"]["fr"]["text"]) not in texts
    await phone.send("1")  # a sure yes, the button: now it is erased
    assert app[STORE].get_conversation(conv_id) is None


@integration
@pytest.mark.parametrize("answer", UNSURE)
@pytest.mark.parametrize("variety", VARIETIES)
async def test_an_unsure_answer_never_hands_off_and_asks_again(stack, gateway_factory, variety, answer):
    phone, app = await _phone(stack, gateway_factory, "sms")
    danger = flat("\n".join(await phone.send(DANGER[variety])))
    assert _reply("utter_offer_human", variety) in danger
    conv_id = app[GATEWAY].vault.pseudonym(phone.address)
    texts = flat("\n".join(await phone.send(UNSURE[answer])))
    assert has_floor(texts) and " 1. " in f" {texts}", texts
    assert app[STORE].get_conversation(conv_id).status == "bot"  # not handed off
    await phone.send("1")
    assert app[STORE].get_conversation(conv_id).status == "waiting"


@integration
async def test_a_real_unsure_yes_is_asked_again(stack, gateway_factory):
    """A yes the model is unsure of, in her words, as a woman types it (dar_lat)."""
    candidates = ["wkha", "ah ymkn", "iyeh chwiya", "ok ymkn", "wakha ila bghiti", "mmm ah"]
    unsure = [t for t in candidates
              if answer_unsure(_rasa(stack, "/model/parse", {"text": t})["intent"])]
    if not unsure:
        pytest.skip("the model is sure of every candidate: nothing to test with real words")
    phone, app = await _phone(stack, gateway_factory, "whatsapp")
    await phone.send(GREETING["dar_lat"])
    await phone.send(ASK_FORGET["dar_lat"])
    texts = flat("\n".join(await phone.send(unsure[0])))
    assert _reply("utter_answer_unsure", "dar_lat") in texts
    assert app[STORE].get_conversation(app[GATEWAY].vault.pseudonym(phone.address)) is not None


@integration
@pytest.mark.parametrize("channel", CHANNELS)
@pytest.mark.parametrize("text", ["3ta9!", "عتاق!", "3ayt llbolis", "تعدّا عليّا"])
async def test_a_call_for_help_the_model_misses_still_gets_the_numbers(stack, gateway_factory,
                                                                      text, channel):
    """Issue 19's examples: understood (emergency) or not (fallback), the numbers are there."""
    phone, _ = await _phone(stack, gateway_factory, channel)
    assert has_floor("\n".join(await phone.send(text)))
