"""Rasa custom actions: thin wrappers over the plain modules next to this file."""
from __future__ import annotations

from functools import lru_cache
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ConversationPaused, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from core import language
from core.contract import Forget, Handoff, Priority
from core.directory import Directory
from core.directory.answer import answer, choose, wants_migrant_help
from core.places import Gazetteer, Place

# Intents that, while the place form asks for her town, mean something else than a place.
NOT_A_PLACE = {
    "emergency", "request_human", "forget_me", "ask_capabilities", "goodbye", "deny",
    "report_violence", "ask_confidentiality", "change_language",
}
MAX_PLACE_ATTEMPTS = 2
SAFETY_PLAN_STEPS = 5
# A typed yes or no below this confidence neither erases her data nor hands her to a person:
# the question is asked again (rules on `answer_unsure`). `scripts/measure_floor.py`, model of
# 2026-12-02: at 0.7, 76 of 80 held-out yes/no pass, and of the 125 random strings taken for
# yes/no only "اه" (a real yes, drawn by chance); at 0.5, 12 would. Buttons and digits are 1.0.
CONFIRMATION_FLOOR = 0.7
YES_NO = {"affirm", "deny"}
# After this many misunderstandings in a row she is offered a person (`second_miss`).
MISSES_BEFORE_OFFER = 2


@lru_cache(maxsize=1)
def gazetteer() -> Gazetteer:
    return Gazetteer.load()


@lru_cache(maxsize=1)
def directory() -> Directory:
    return Directory.load()


def _metadata(tracker: Tracker) -> Dict[Text, Any]:
    return tracker.latest_message.get("metadata") or {}


def answer_unsure(intent: Dict[Text, Any]) -> bool:
    """Whether the message is a yes or a no too unsure to erase or hand off on."""
    return (intent.get("name") in YES_NO
            and float(intent.get("confidence") or 0.0) < CONFIRMATION_FLOOR)


class ActionExtractTurnSlots(Action):
    """After every message: the language to answer in, the misunderstandings in a row, and
    whether a yes or no is too unsure to erase or hand off (the safety floor's slots)."""

    def name(self) -> Text:
        return "action_extract_turn_slots"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        previous = tracker.get_slot("language")
        text = tracker.latest_message.get("text") or ""
        # The gateway detects the language once and passes it; other channels
        # (rasa shell, rasa test) get the same detection here.
        variety = _metadata(tracker).get("language")
        if variety not in language.VARIETIES:
            variety = previous if text.startswith("/") else language.detect(text, previous)
        intent = tracker.latest_message.get("intent") or {}
        count = int(tracker.get_slot("fallback_count") or 0)
        # 1, 2, 1, 2...: every second miss in a row offers a person, the others ask again.
        count = count % MISSES_BEFORE_OFFER + 1 if intent.get("name") == "nlu_fallback" else 0
        return [SlotSet("language", variety), SlotSet("fallback_count", float(count)),
                SlotSet("second_miss", count == MISSES_BEFORE_OFFER),
                SlotSet("answer_unsure", answer_unsure(intent))]


class ValidatePlaceForm(FormValidationAction):
    """Resolves the town she gives; asks which one when ambiguous; gives up after two tries."""

    def name(self) -> Text:
        return "validate_place_form"

    async def extract_place(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                            domain: DomainDict) -> Dict[Text, Any]:
        if tracker.get_slot("requested_slot") != "place":
            return {}
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        text = tracker.latest_message.get("text") or ""
        if intent in NOT_A_PLACE or text.startswith("/") and not text.startswith("/inform_location"):
            return {}
        entity = next(tracker.get_latest_entity_values("place"), None)
        if "location" in _metadata(tracker):
            return {"place": "pin"}
        return {"place": entity or text}

    def validate_place(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                       domain: DomainDict) -> Dict[Text, Any]:
        if value == "pin":
            return {"place": value}
        result = gazetteer().resolve(str(value))
        if result.status == "found":
            return _place_slots(result.place, str(value))
        if result.status == "ambiguous":
            dispatcher.utter_message(
                response="utter_place_ambiguous",
                buttons=[_place_button(p, tracker.get_slot("language")) for p in result.candidates],
            )
            return {"place": None}
        attempts = (tracker.get_slot("place_attempts") or 0) + 1
        if attempts >= MAX_PLACE_ATTEMPTS:
            # Stop asking: the form ends and action_nearest_help gives the national line.
            return {"place": str(value), "town": None, "region": None, "place_attempts": 0.0}
        dispatcher.utter_message(response="utter_place_unknown")
        return {"place": None, "place_attempts": float(attempts)}


def _place_slots(place: Place, raw: str) -> Dict[Text, Any]:
    return {"place": raw, "town": place.name_fr, "region": place.region, "place_attempts": 0.0}


def _name(place: Place, variety: Optional[str]) -> str:
    """The place's name in her script."""
    return place.name_ar if variety in ("dar_ar", "ar") else place.name_fr


def _place_button(place: Place, variety: Optional[str]) -> Dict[Text, Text]:
    return {"title": _name(place, variety), "payload": f'/inform_location{{"place": "{place.name_fr}"}}'}


class ActionNearestHelp(Action):
    """The nearest centres or contact points from her town or WhatsApp pin, honestly."""

    def name(self) -> Text:
        return "action_nearest_help"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        variety = tracker.get_slot("language")
        location = _metadata(tracker).get("location")
        place: Optional[Place] = None
        if location:
            place = gazetteer().reverse(float(location["lat"]), float(location["lng"]))
            lat, lng = float(location["lat"]), float(location["lng"])
        else:
            raw = next(tracker.get_latest_entity_values("place"), None) or tracker.get_slot("place")
            if raw and raw != "pin":
                result = gazetteer().resolve(str(raw))
                if result.status == "found":
                    place = result.place
                elif result.status == "ambiguous":
                    dispatcher.utter_message(
                        response="utter_place_ambiguous",
                        buttons=[_place_button(p, variety) for p in result.candidates],
                    )
                    return [SlotSet("place", None)]
            if place is None:
                if raw:
                    dispatcher.utter_message(response="utter_place_unknown_final")
                else:
                    dispatcher.utter_message(response="utter_ask_place")
                return [SlotSet("place", None), SlotSet("help_kind", None)]
            lat, lng = place.lat, place.lng
        # Migrant and refugee lines only when she says she is one, or writes in a language
        # the bot does not serve: her messages of this conversation are read for that.
        texts = [e.get("text") or "" for e in tracker.events if e.get("event") == "user"]
        points = choose(directory(), lat, lng, shelter=tracker.get_slot("help_kind") == "shelter",
                        migrant=wants_migrant_help(texts))
        dispatcher.utter_message(text=answer(points, place, variety, gazetteer()))
        return [SlotSet("town", place.name_fr), SlotSet("region", place.region), SlotSet("place", None),
                SlotSet("help_kind", None)]


class ActionHandoff(Action):
    """Pause the bot and tell the gateway to queue her for a counsellor."""

    def name(self) -> Text:
        return "action_handoff"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        intents = [e.get("parse_data", {}).get("intent", {}).get("name")
                   for e in tracker.events if e.get("event") == "user"]
        asked = (tracker.latest_message.get("intent") or {}).get("name") == "request_human"
        handoff = Handoff(priority=Priority.from_intents(intents), reason="asked" if asked else "offered",
                          variety=tracker.get_slot("language"), region=tracker.get_slot("region"))
        dispatcher.utter_message(response="utter_handoff")
        dispatcher.utter_message(json_message=handoff.payload())
        return [ConversationPaused()]


class ActionForgetMe(Action):
    """Erase: the gateway deletes her store rows and resets this tracker."""

    def name(self) -> Text:
        return "action_forget_me"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        dispatcher.utter_message(response="utter_forget_me_done")
        dispatcher.utter_message(json_message=Forget().payload())
        return []


class ActionSafetyPlanStep(Action):
    """The safety plan, one step a message: 'ask_safety_plan' starts, 'next_step' goes on."""

    def name(self) -> Text:
        return "action_safety_plan_step"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        step = int(tracker.get_slot("plan_step") or 0)
        if intent == "ask_safety_plan":
            step = 1
        elif 1 <= step < SAFETY_PLAN_STEPS:
            step += 1
        elif step == SAFETY_PLAN_STEPS:
            dispatcher.utter_message(response="utter_safety_plan_done")
            return [SlotSet("plan_step", 0.0)]
        else:
            dispatcher.utter_message(response="utter_next_step_none")
            return []
        dispatcher.utter_message(response=f"utter_safety_plan_{step}")
        return [SlotSet("plan_step", float(step))]
