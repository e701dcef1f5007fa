"""Every custom action on a real Tracker, CollectingDispatcher and domain.yml, without a model."""
from __future__ import annotations

import inspect

import pytest
import yaml
from rasa_sdk import Action
from rasa_sdk.executor import ActionExecutor

from actions import actions as salama_actions
from actions.actions import (
    CONFIRMATION_FLOOR,
    NOT_A_PLACE,
    SAFETY_PLAN_STEPS,
    ActionExtractTurnSlots,
    ActionForgetMe,
    ActionHandoff,
    ActionNearestHelp,
    ActionSafetyPlanStep,
    ValidatePlaceForm,
    directory,
    gazetteer,
)
from core.contract import Forget, Handoff, Priority, instruction
from core.directory.answer import choose
from core.settings import ROOT
from tests.actions_helpers import EXERCISED, Say, conversation, exercises, run_action

VARIETIES = ("dar_ar", "dar_lat", "ar", "fr")
ARABIC_SCRIPT = ("dar_ar", "ar")
CHOICE = '/inform_location{{"place": "{}"}}'  # what her tap on a place button sends back


# -- action_extract_turn_slots: her language, the misses in a row, the confirmation floor --
@exercises(ActionExtractTurnSlots)
def test_every_turn_sets_the_four_turn_slots_and_says_nothing():
    out = run_action(ActionExtractTurnSlots(), conversation(Say("salam", "greet")))
    assert [e["name"] for e in out.events] == ["language", "fallback_count", "second_miss", "answer_unsure"]
    assert out.messages == []


@exercises(ActionExtractTurnSlots)
@pytest.mark.parametrize("variety", VARIETIES)
def test_the_language_the_gateway_detected_wins(variety):
    # The gateway detects once per message; the action must not detect a second time.
    said = Say("rajli kaydrebni, fin nmchi?", "report_violence", metadata={"language": variety})
    out = run_action(ActionExtractTurnSlots(), conversation(said, slots={"language": "fr"}))
    assert out.after.get_slot("language") == variety


@exercises(ActionExtractTurnSlots)
@pytest.mark.parametrize("text, metadata, previous, expected", [
    ("rajli kaydrebni, fin nmchi?", {}, "dar_ar", "dar_lat"),        # rasa shell: no metadata
    ("زوجي يضربني ماذا أفعل", {"channel": "cmdline"}, "fr", "ar"),
    ("mon mari me frappe, je ne sais pas quoi faire", {"language": "en"}, "dar_ar", "fr"),  # not ours
    ("ok", {}, "dar_lat", "dar_lat"),                                  # too short to switch
    ("/affirm", {}, "fr", "fr"),                                       # a button: no language in it
    ("/inform_location", {"location": {"lat": 34.0, "lng": -6.8}}, "ar", "ar"),
])
def test_without_the_gateway_the_language_is_detected_and_sticky(text, metadata, previous, expected):
    said = Say(text, "affirm", metadata=metadata)
    out = run_action(ActionExtractTurnSlots(), conversation(said, slots={"language": previous}))
    assert out.slots["language"] == expected


@exercises(ActionExtractTurnSlots)
@pytest.mark.parametrize("intent, confidence, unsure", [
    ("affirm", CONFIRMATION_FLOOR - 0.01, True),
    ("deny", 0.4, True),
    ("affirm", None, True),                 # no confidence at all is not a sure yes
    ("affirm", CONFIRMATION_FLOOR, False),  # the floor itself passes
    ("deny", 1.0, False),                   # a button or a digit
    ("emergency", 0.2, False),              # the floor never holds back a call for help
    ("request_human", 0.3, False),
])
def test_the_confirmation_floor(intent, confidence, unsure):
    out = run_action(ActionExtractTurnSlots(), conversation(Say("iyeh", intent, confidence)))
    # The rules match `answer_unsure: false`, so it must be a real bool, never None.
    assert out.after.get_slot("answer_unsure") is unsure


@exercises(ActionExtractTurnSlots)
@pytest.mark.parametrize("misses_before, intent, count, offer", [
    (0, "nlu_fallback", 1, False),
    (1, "nlu_fallback", 2, True),   # the second miss in a row offers a person
    (2, "nlu_fallback", 1, False),  # then asks again before offering once more
    (1, "greet", 0, False),         # understood: the count starts over
])
def test_misses_in_a_row(misses_before, intent, count, offer):
    said = Say("zkfjh", intent, 0.3)
    out = run_action(ActionExtractTurnSlots(), conversation(said, slots={"fallback_count": misses_before}))
    assert out.after.get_slot("fallback_count") == count
    assert out.after.get_slot("second_miss") is offer


# -- validate_place_form: her town, a WhatsApp pin, an ambiguous name, an unknown one --------
@exercises(ValidatePlaceForm)
@pytest.mark.parametrize("said, town, region", [
    (Say("j'habite à Oujda", "inform_location"), "Oujda", "oriental"),        # no entity: her text
    (Say("ana f tanger", "inform_location", place="tanger"), "Tanger", "tanger-tetouan-al-hoceima"),
    (Say("ساكنة ف فاس", "find_shelter"), "Fès", "fes-meknes"),
])
def test_a_real_place_fills_the_form(said, town, region):
    out = run_action(ValidatePlaceForm(), conversation(said, asking_place=True))
    assert out.slots == {"place": said.place or said.text, "town": town, "region": region,
                         "place_attempts": 0.0}
    assert out.messages == []


@exercises(ValidatePlaceForm)
def test_a_pin_fills_the_form_for_the_nearest_help_to_read():
    pin = Say("/inform_location", "inform_location", metadata={"location": {"lat": 34.69, "lng": -1.91}})
    out = run_action(ValidatePlaceForm(), conversation(pin, asking_place=True))
    assert out.slots == {"place": "pin"} and out.messages == []


@exercises(ValidatePlaceForm)
def test_an_unknown_place_is_asked_again_then_the_form_gives_up():
    first = run_action(ValidatePlaceForm(), conversation(Say("qsdfgh jklm", "inform_location"), asking_place=True))
    assert first.responses == ["utter_place_unknown"]
    assert first.slots == {"place": None, "place_attempts": 1.0}
    # Her second try, still unknown: no third question; the national line comes next.
    again = conversation(Say("qsdfgh jklm", "inform_location"), Say("wxcvbn", "inform_location"),
                         slots={"place_attempts": first.slots["place_attempts"]}, asking_place=True)
    second = run_action(ValidatePlaceForm(), again)
    assert second.messages == []
    assert second.slots == {"place": "wxcvbn", "town": None, "region": None, "place_attempts": 0.0}


@exercises(ValidatePlaceForm)
@pytest.mark.parametrize("variety", VARIETIES)
def test_an_ambiguous_place_offers_buttons_in_her_script_and_a_tap_resolves(variety):
    said = Say("casa wla rabat", "inform_location")
    out = run_action(ValidatePlaceForm(), conversation(said, slots={"language": variety}, asking_place=True))
    assert out.responses == ["utter_place_ambiguous"] and out.slots == {"place": None}
    buttons = out.messages[0]["buttons"]
    titles = ["الدار البيضاء", "الرباط"] if variety in ARABIC_SCRIPT else ["Casablanca", "Rabat"]
    assert [b["title"] for b in buttons] == titles
    assert [b["payload"] for b in buttons] == [CHOICE.format("Casablanca"), CHOICE.format("Rabat")]
    # Rasa parses her tap into inform_location with the place entity.
    tap = Say(buttons[1]["payload"], "inform_location", place="Rabat")
    chosen = run_action(ValidatePlaceForm(), conversation(said, tap, slots={"language": variety}, asking_place=True))
    assert chosen.slots["town"] == "Rabat" and chosen.slots["region"] == "rabat-sale-kenitra"


@exercises(ValidatePlaceForm)
@pytest.mark.parametrize("intent", sorted(NOT_A_PLACE))
def test_another_request_while_asked_for_her_town_is_not_taken_as_a_place(intent):
    # "fin nmchi" or "bghit nhder m3a chi wa7ed" is not a town: the rules answer it instead.
    out = run_action(ValidatePlaceForm(), conversation(Say("bghit nhder m3a chi wa7ed", intent), asking_place=True))
    assert out.events == [] and out.messages == []


@exercises(ValidatePlaceForm)
def test_a_button_or_a_message_outside_the_question_is_not_a_place():
    button = conversation(Say("/affirm", "affirm"), asking_place=True)
    assert run_action(ValidatePlaceForm(), button).events == []
    not_asked = conversation(Say("Oujda", "inform_location"))  # the form is not asking her town
    assert run_action(ValidatePlaceForm(), not_asked).events == []


# -- action_nearest_help: the branches tests/test_nearest_help.py does not cover -----------
@exercises(ActionNearestHelp)
@pytest.mark.parametrize("variety", VARIETIES)
def test_a_pin_gets_the_nearest_help_from_where_she_is(variety):
    oujda = gazetteer().places["oujda"]
    pin = Say("/inform_location", "inform_location", metadata={"location": {"lat": oujda.lat, "lng": oujda.lng}})
    out = run_action(ActionNearestHelp(), conversation(pin, slots={"language": variety, "place": "pin"}))
    [reply] = out.texts
    assert "8350" in reply
    assert (oujda.name_ar if variety in ARABIC_SCRIPT else oujda.name_fr) in reply.splitlines()[0]
    assert out.slots == {"town": "Oujda", "region": "oriental", "place": None, "help_kind": None}


@exercises(ActionNearestHelp)
def test_a_shelter_request_gets_the_shelters():
    casa = gazetteer().places["casablanca"]
    shelters = {p.entry.id for p in choose(directory(), casa.lat, casa.lng, shelter=True)}
    contacts = {p.entry.id for p in choose(directory(), casa.lat, casa.lng)}
    only_shelters = [e for e in directory().entries if e.id in shelters - contacts]
    assert only_shelters  # Casablanca has a shelter that a contact point request does not list
    said = Say("fin nbat f casa", "find_shelter", place="casa")
    for help_kind, listed in (("shelter", True), ("contact", False)):
        out = run_action(ActionNearestHelp(), conversation(said, slots={"language": "fr", "help_kind": help_kind}))
        assert all((e.name_fr in out.texts[0]) is listed for e in only_shelters), out.texts[0]


@exercises(ActionNearestHelp)
def test_the_town_she_names_now_beats_the_one_she_named_before():
    said = Say("non, je suis à Agadir", "inform_location", place="Agadir")
    out = run_action(ActionNearestHelp(), conversation(said, slots={"language": "fr", "place": "Rabat"}))
    assert out.slots["town"] == "Agadir" and "Agadir" in out.texts[0].splitlines()[0]


@exercises(ActionNearestHelp)
def test_an_ambiguous_place_asks_which_and_keeps_what_she_looks_for():
    said = Say("casa wla rabat", "find_shelter")
    out = run_action(ActionNearestHelp(), conversation(said, slots={"place": "casa wla rabat", "help_kind": "shelter"}))
    assert out.responses == ["utter_place_ambiguous"] and len(out.messages[0]["buttons"]) == 2
    assert out.slots == {"place": None}
    assert out.after.get_slot("help_kind") == "shelter"  # her tap must still get shelters


@exercises(ActionNearestHelp)
@pytest.mark.parametrize("place, response", [
    ("wxcvbn", "utter_place_unknown_final"),  # the form gave up: the national line
    (None, "utter_ask_place"),                # nothing yet: ask where she is
])
def test_without_a_place_she_is_told_so_and_nothing_lingers(place, response):
    said = Say("fin nmchi", "find_contact_point")
    out = run_action(ActionNearestHelp(), conversation(said, slots={"place": place, "help_kind": "contact"}))
    assert out.responses == [response] and out.texts == []
    assert out.slots == {"place": None, "help_kind": None}


# -- action_handoff and action_forget_me: what they tell the gateway (core/contract.py) ------
@exercises(ActionHandoff)
@pytest.mark.parametrize("intents, priority", [
    (["emergency", "request_human"], Priority.EMERGENCY),
    (["report_violence", "emergency", "affirm"], Priority.EMERGENCY),
    (["report_violence", "request_human"], Priority.DISCLOSURE),
    (["report_online_violence", "affirm"], Priority.DISCLOSURE),
    (["greet", "nlu_fallback", "nlu_fallback", "affirm"], Priority.OTHER),
])
def test_handoff_pauses_the_bot_and_tells_the_gateway_who_waits(intents, priority):
    said = [Say("...", intent) for intent in intents]
    tracker = conversation(*said, slots={"language": "dar_lat", "region": "oriental"})
    out = run_action(ActionHandoff(), tracker)
    assert out.responses == ["utter_handoff"]
    reason = "asked" if intents[-1] == "request_human" else "offered"
    assert out.custom == [{"handoff": {"priority": priority.label, "reason": reason,
                                       "variety": "dar_lat", "region": "oriental"}}]
    # The gateway reads back exactly what the action meant.
    assert instruction(out.custom[0]) == Handoff(priority, reason, "dar_lat", "oriental")
    assert [e["event"] for e in out.events] == ["pause"] and out.after.is_paused()


@exercises(ActionHandoff)
def test_handoff_without_a_known_region_keeps_her_variety():
    out = run_action(ActionHandoff(), conversation(Say("bghit nhder m3a chi wa7ed", "request_human")))
    assert instruction(out.custom[0]) == Handoff(Priority.OTHER, "asked", "dar_ar", None)


@exercises(ActionForgetMe)
def test_forget_me_confirms_then_asks_the_gateway_to_erase():
    tracker = conversation(Say("mse7 kolchi", "forget_me"), Say("iyeh", "affirm", 0.95),
                           slots={"language": "dar_lat", "town": "Oujda"})
    out = run_action(ActionForgetMe(), tracker)
    # She reads the confirmation first; then the gateway erases everything, that text included.
    assert [m.get("response") or m.get("custom") for m in out.messages] == ["utter_forget_me_done", {"forget": True}]
    assert instruction(out.custom[0]) == Forget()  # the gateway takes only JSON true for an erase
    assert out.events == [] and not out.after.is_paused()  # the gateway erases, not the action


# -- action_safety_plan_step -------------------------------------------------------------
@exercises(ActionSafetyPlanStep)
def test_the_safety_plan_one_step_a_message_to_the_end():
    tracker = conversation(Say("kifach nwajed rasi", "ask_safety_plan"))
    seen = []
    for _ in range(SAFETY_PLAN_STEPS + 1):
        out = run_action(ActionSafetyPlanStep(), tracker)
        seen += out.responses
        step = out.after.get_slot("plan_step")
        tracker = conversation(Say("kifach nwajed rasi", "ask_safety_plan"), Say("w mn b3d?", "next_step"),
                               slots={"plan_step": step})
    assert seen == [f"utter_safety_plan_{n}" for n in range(1, SAFETY_PLAN_STEPS + 1)] + ["utter_safety_plan_done"]
    assert step == 0  # done: a new "next" does not restart the plan by itself


@exercises(ActionSafetyPlanStep)
@pytest.mark.parametrize("step", range(1, SAFETY_PLAN_STEPS))
def test_next_goes_one_step_on(step):
    out = run_action(ActionSafetyPlanStep(), conversation(Say("suivant", "next_step"), slots={"plan_step": step}))
    assert out.responses == [f"utter_safety_plan_{step + 1}"] and out.slots == {"plan_step": step + 1.0}


@exercises(ActionSafetyPlanStep)
@pytest.mark.parametrize("step", [0, 3, SAFETY_PLAN_STEPS])
def test_asking_for_the_plan_starts_it_over(step):
    out = run_action(ActionSafetyPlanStep(), conversation(Say("plan de sécurité", "ask_safety_plan"),
                                                          slots={"plan_step": step}))
    assert out.responses == ["utter_safety_plan_1"] and out.slots == {"plan_step": 1.0}


@exercises(ActionSafetyPlanStep)
def test_next_with_no_plan_going_says_there_is_no_next_step():
    out = run_action(ActionSafetyPlanStep(), conversation(Say("w daba?", "next_step")))
    assert out.responses == ["utter_next_step_none"] and out.events == []


# -- the guard: an action in domain.yml without a test here fails ------------------------
def _domain_actions() -> list[str]:
    return yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))["actions"]


def test_every_action_in_the_domain_has_a_test_here():
    missing = sorted(set(_domain_actions()) - EXERCISED)
    assert not missing, f"add a test marked @exercises(...) in tests/test_actions.py for {missing}"


def test_the_action_server_serves_every_domain_action_and_no_other():
    executor = ActionExecutor()
    executor.register_package("actions")
    assert sorted(executor.actions) == sorted(_domain_actions())
    defined = {cls().name() for _, cls in inspect.getmembers(salama_actions, inspect.isclass)
               if issubclass(cls, Action) and cls.__module__ == salama_actions.__name__}
    assert defined == set(_domain_actions())

