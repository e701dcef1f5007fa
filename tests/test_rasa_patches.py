"""rasa_ext.rasa_patches: Rasa's behaviour is kept, only repeated work goes."""
from __future__ import annotations

import copy
from typing import Any

import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
from rasa.shared.core.events import (
    ActionExecuted,
    ActionExecutionRejected,
    ActionReverted,
    ActiveLoop,
    BotUttered,
    Event,
    SessionStarted,
    SlotSet,
    UserUtteranceReverted,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker, EventVerbosity

from core.settings import ROOT
from rasa_ext import rasa_patches

VALID = [
    {"events": [], "responses": []},
    {"events": [{"event": "slot", "name": "language", "value": "dar_lat", "timestamp": None},
                {"event": "slot", "name": "fallback_count", "value": 0.0}],
     "responses": [{"response": "utter_greet"}]},
    {"events": [{"event": "active_loop", "name": "place_form"},
                {"event": "pause"}, {"event": "bot", "text": "salam", "data": {}}],
     "responses": [{"text": "x", "buttons": [{"title": "1", "payload": "/affirm"}]}]},
    {},
]
INVALID = [
    {"events": "not a list"},
    {"events": [{"name": "language"}]},                       # no "event" key
    {"events": [{"event": "slot", "name": 3}]},               # name must be a string
    {"responses": ["not an object"]},
    {"events": [{"event": "no_such_event"}]},
]


@pytest.fixture(scope="module")
def action() -> RemoteAction:
    rasa_patches.apply()
    return RemoteAction("action_extract_turn_slots", None)


def test_patch_is_installed_once(action: RemoteAction) -> None:
    rasa_patches.apply()
    assert RemoteAction._validate_action_result is rasa_patches._validate_action_result
    assert rasa_patches._originals["validate_action_result"] is not rasa_patches._validate_action_result


@pytest.mark.parametrize("payload", VALID)
def test_valid_responses_pass_as_before(action: RemoteAction, payload: dict) -> None:
    original = rasa_patches._originals["validate_action_result"]
    assert original(action, copy.deepcopy(payload)) is True
    assert action._validate_action_result(copy.deepcopy(payload)) is True


@pytest.mark.parametrize("payload", INVALID)
def test_invalid_responses_raise_the_same_error(action: RemoteAction, payload: dict) -> None:
    original = rasa_patches._originals["validate_action_result"]
    with pytest.raises(ValidationError) as theirs:
        original(action, copy.deepcopy(payload))
    with pytest.raises(ValidationError) as ours:
        action._validate_action_result(copy.deepcopy(payload))
    assert ours.value.message == theirs.value.message
    assert "Failed to validate Action server response" in ours.value.message
    assert list(ours.value.path) == list(theirs.value.path)


def test_the_schema_is_checked_once(action: RemoteAction, monkeypatch: pytest.MonkeyPatch) -> None:
    """The point of the patch: the metaschema check does not run per response."""
    validator = rasa_patches._action_response_validator()
    calls = []
    monkeypatch.setattr(type(validator), "check_schema",
                        classmethod(lambda cls, schema, *a, **k: calls.append(1)))
    for _ in range(3):
        action._validate_action_result({"events": [], "responses": []})
    assert calls == []


# -- long conversations: the folds give what Rasa's own replay gives -------------------------
def _domain() -> Any:
    import warnings

    from rasa.shared.core.domain import Domain
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Slot auto-fill has been removed", UserWarning)
        return Domain.load(str(ROOT / "domain.yml"))


@pytest.fixture(scope="module")
def domain() -> Any:
    rasa_patches.apply()
    return _domain()


def _turn(i: int) -> list:
    """One turn of a conversation; every few turns a form, a rewind, an action rejection or a
    new session, so every branch of Rasa's loops is met."""
    intent = ["greet", "report_violence", "find_shelter", "ask_legal_info", "thank"][i % 5]
    events = [UserUttered(f"msg {i}", {"name": intent, "confidence": 0.9}, [],
                          metadata={"channel": "whatsapp", "language": "dar_lat"}),
              SlotSet("language", "dar_lat"), SlotSet("fallback_count", 0.0)]
    if intent == "find_shelter":
        events += [ActionExecuted("place_form"), ActiveLoop("place_form"),
                   SlotSet("requested_slot", "place"), BotUttered("fin?"),
                   ActionExecuted("action_listen"),
                   UserUttered("casa", {"name": "inform_location", "confidence": 0.9}, []),
                   ActionExecuted("place_form"), SlotSet("place", "casa"), ActiveLoop(None),
                   SlotSet("requested_slot", None), ActionExecuted("action_nearest_help"),
                   BotUttered("numbers"), SlotSet("town", "Casablanca")]
    elif i % 7 == 3:
        events += [ActionExecuted("action_default_fallback"), UserUtteranceReverted()]
    elif i % 11 == 5:
        events += [ActionExecuted("utter_greet"), ActionReverted(),
                   ActionExecutionRejected("place_form")]
    else:
        events += [ActionExecuted(f"utter_{intent}"), BotUttered(f"answer {i}")]
    if i % 13 == 12:
        events += [ActionExecuted("action_session_start"), SessionStarted()]
    return events + [ActionExecuted("action_listen")]


def _conversation(turns: int) -> list:
    events: list = [ActionExecuted("action_listen")]
    for i in range(turns):
        events += _turn(i)
    return events


def _fresh(domain: Any, sender: str, events: list) -> DialogueStateTracker:
    tracker = DialogueStateTracker(sender, domain.slots)
    for event in events:
        tracker.update(event)
    return tracker


def _rasa_states(domain: Any, tracker: DialogueStateTracker, **kw: Any) -> list:
    with _unpatched():
        return rasa_patches._originals["states_for_tracker_history"](domain, tracker, **kw)


class _unpatched:
    """Rasa's own applied_events and copy inside the block (the reference to compare with)."""

    def __enter__(self) -> None:
        self.saved = DialogueStateTracker.applied_events, DialogueStateTracker.copy
        DialogueStateTracker.applied_events = rasa_patches._originals["applied_events"]
        DialogueStateTracker.copy = rasa_patches._originals["copy"]

    def __exit__(self, *_: Any) -> None:
        DialogueStateTracker.applied_events, DialogueStateTracker.copy = self.saved


FLAGS = [dict(), dict(omit_unset_slots=True),
         dict(ignore_rule_only_turns=True, rule_only_data={"slots": ["requested_slot"],
                                                           "loops": ["place_form"]})]


@pytest.mark.parametrize("flags", FLAGS)
def test_states_of_a_growing_conversation_are_rasas(domain: Any, flags: dict) -> None:
    tracker = DialogueStateTracker("growing", domain.slots)
    for i, event in enumerate(_conversation(40)):
        tracker.update(event)
        if i % 3 == 0 or isinstance(event, ActionExecuted):
            ours = domain.states_for_tracker_history(tracker, **flags)
            assert ours == _rasa_states(domain, _fresh(domain, "x", list(tracker.events)), **flags)
            for state in ours:  # a caller editing its states changes nothing for the next call
                for sub in state.values():
                    sub.clear()


def test_states_after_a_branch_or_a_reload_are_rasas(domain: Any) -> None:
    events = _conversation(12)
    a = _fresh(domain, "branch", events + _turn(3))
    b = _fresh(domain, "branch", events + _turn(4))  # other objects: the fold starts again
    assert domain.states_for_tracker_history(a) == _rasa_states(domain, a)
    assert domain.states_for_tracker_history(b) == _rasa_states(domain, b)
    shared = _fresh(domain, "branch", events)
    copy_a, copy_b = shared.copy(), shared.copy()  # same event objects, then different turns
    for event in _turn(1):
        copy_a.update(event)
    for event in _turn(2):
        copy_b.update(event)
    for t in (copy_a, copy_b, copy_a):
        assert domain.states_for_tracker_history(t) == _rasa_states(domain, t)


def test_applied_events_follow_rasa_as_the_conversation_grows(domain: Any) -> None:
    tracker = DialogueStateTracker("applied", domain.slots)
    with _unpatched():
        reference = DialogueStateTracker("applied", domain.slots)
    for event in _conversation(30):
        tracker.update(event)
        with _unpatched():
            reference.update(event)
            expected = reference.applied_events()
        got = tracker.applied_events()
        assert got == expected and all(a is b for a, b in zip(got, expected))
        got.clear()  # the caller's list is its own


def test_a_loop_named_late_rereads_the_conversation(domain: Any) -> None:
    """Rasa reads every ActionExecuted of a loop in the light of all loop names, even later ones."""
    tracker = DialogueStateTracker("late", domain.slots)
    for event in [ActionExecuted("action_listen"), ActionExecuted("place_form"),
                  ActionExecuted("place_form")]:
        tracker.update(event)
    tracker.applied_events()
    tracker.update(ActiveLoop("place_form"))
    with _unpatched():
        assert tracker.applied_events() == _fresh(domain, "late", list(tracker.events)).applied_events()
    assert tracker.applied_events() == _fresh(domain, "late", list(tracker.events)).applied_events()


def test_a_copy_is_the_replayed_tracker_and_independent(domain: Any) -> None:
    tracker = _fresh(domain, "copy", _conversation(20))
    tracker.model_id = "m1"
    for _ in range(2):
        ours = tracker.copy()
        with _unpatched():
            theirs = tracker.copy()
        assert set(vars(ours)) == set(vars(theirs))
        assert ours.current_state(EventVerbosity.ALL) == theirs.current_state(EventVerbosity.ALL)
        assert ours.model_id is None and ours.active_loop == theirs.active_loop
        assert ours.past_states(domain) == theirs.past_states(domain)
        ours.update(SlotSet("town", "Fes"))  # the copy changes; the original does not
        ours.update(ActiveLoop("place_form"))
        assert tracker.get_slot("town") == "Casablanca" and tracker.active_loop_name is None
        tracker.update(UserUttered("more", {"name": "greet", "confidence": 1.0}, []))


def test_event_classes_are_found_by_name_as_rasa_finds_them() -> None:
    rasa_patches.apply()
    from rasa.shared.utils.common import all_subclasses
    for cls in all_subclasses(Event):
        name = getattr(cls, "type_name", None)
        if isinstance(name, str):
            assert Event.resolve_by_type(name) is rasa_patches._originals["resolve_by_type"](name)
    assert Event.resolve_by_type("topic") is None
    with pytest.raises(ValueError):
        Event.resolve_by_type("no_such_event")


async def test_the_turn_slots_action_in_rasa_returns_what_the_action_server_would(domain: Any) -> None:
    """Same events as the action class run on the full tracker the action server receives."""
    from rasa.core.actions.action import ActionExtractSlots
    from rasa_sdk import Tracker
    from rasa_sdk.executor import CollectingDispatcher

    from actions.actions import ActionExtractTurnSlots

    extract = ActionExtractSlots(None)
    cases = [("salam", {"channel": "sms", "language": "fr"}, "greet"),
             ("rajli kaydrebni", {}, "report_violence"),
             ("/affirm", {}, "affirm"), ("xqzw", {}, "nlu_fallback")]
    tracker = _fresh(domain, "turn", _conversation(3))
    for text, metadata, intent in cases:
        tracker.update(UserUttered(text, {"name": intent, "confidence": 0.9}, [], metadata=metadata))
        ours = await extract._run_custom_action("action_extract_turn_slots", None, None, tracker, domain)
        theirs = await ActionExtractTurnSlots().run(
            CollectingDispatcher(), Tracker.from_dict(tracker.current_state(EventVerbosity.ALL)), {})
        assert [(e.key, e.value) for e in ours] == [(e["name"], e["value"]) for e in theirs]
        for event in ours:
            tracker.update(event)
    assert tracker.get_slot("fallback_count") == 1.0


def test_rule_policy_debug_string_only_when_debug_is_on() -> None:
    import logging

    from rasa.core.policies.rule_policy import RulePolicy
    rasa_patches.apply()
    states = [{"user": {"intent": "greet"}, "prev_action": {"action_name": "action_listen"}}]
    logger = logging.getLogger("rasa.core.policies.rule_policy")
    level = logger.level
    try:
        logger.setLevel(logging.INFO)
        assert RulePolicy.format_tracker_states(states) == ""
        logger.setLevel(logging.DEBUG)
        assert "user intent: greet" in RulePolicy.format_tracker_states(states)
    finally:
        logger.setLevel(level)
