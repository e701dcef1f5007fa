"""rasa_ext.rasa_patches: Rasa's behaviour is kept, only repeated work goes."""
from __future__ import annotations

import copy
import json
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
from rasa_ext import action_call, rasa_patches

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
    assert RemoteAction._validate_action_result is action_call.validate_action_result
    assert rasa_patches._originals["validate_action_result"] is not action_call.validate_action_result


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
    validator = action_call.action_response_validator()
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
        assert set(vars(ours)) - {"_salama_replay"} == set(vars(theirs))
        assert ours.current_state(EventVerbosity.ALL) == theirs.current_state(EventVerbosity.ALL)
        assert ours.model_id is None and ours.active_loop == theirs.active_loop
        assert ours.past_states(domain) == theirs.past_states(domain)
        ours.update(SlotSet("town", "Fes"))  # the copy changes; the original does not
        ours.update(ActiveLoop("place_form"))
        assert tracker.get_slot("town") == "Casablanca" and tracker.active_loop_name is None
        tracker.update(UserUttered("more", {"name": "greet", "confidence": 1.0}, []))
        again = ours.copy()  # a copy of a copy continues the copy's own replay (fix 10)
        with _unpatched():
            assert again.current_state(EventVerbosity.ALL) == ours.copy().current_state(EventVerbosity.ALL)
        assert vars(ours)["_salama_replay"].count == len(ours.events)


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


def _untimed(tracker: DialogueStateTracker) -> dict:
    state = tracker.current_state(EventVerbosity.AFTER_RESTART)
    return {**state, "latest_event_time": None, "events": [dict(e, timestamp=None) for e in state["events"]]}


def test_the_forms_temporary_tracker_is_rasas(domain: Any) -> None:
    from rasa.core.actions.forms import FormAction
    from rasa.shared.core.events import Restarted

    form = FormAction("place_form", None)
    extra = [SlotSet("place", "fes"), SlotSet("town", "Fes")]
    for events in (_conversation(20), [*_conversation(5), Restarted(), *_conversation(3)]):
        tracker = _fresh(domain, "form", [*events, ActiveLoop("place_form"), SlotSet("requested_slot", "place")])
        ours = form._temporary_tracker(tracker, list(extra), domain)
        with _unpatched():
            theirs = rasa_patches._originals["temporary_tracker"](form, tracker, list(extra), domain)
            assert _untimed(ours) == _untimed(theirs)  # (the events added are new in each)
            assert ours.past_states(domain) == theirs.past_states(domain)
        assert ours.active_loop == theirs.active_loop and tracker.get_slot("town") != "Fes"  # unchanged


def test_memoization_deep_copies_only_for_its_debug_lines() -> None:
    import logging

    from rasa.core.policies import memoization
    rasa_patches.apply()
    states = [{"user": {"intent": "greet"}}]
    logger = logging.getLogger("rasa.core.policies.memoization")
    level = logger.level
    try:
        logger.setLevel(logging.INFO)
        assert memoization.copy.deepcopy(states) is states
        logger.setLevel(logging.DEBUG)
        copied = memoization.copy.deepcopy(states)
        assert copied == states and copied[0] is not states[0]
    finally:
        logger.setLevel(level)


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


# -- fix 8: what the action server receives ---------------------------------------------------
def _session(domain: Any, turns: int, tail: list) -> DialogueStateTracker:
    """A session as Rasa's tracker store reads it back: a refugee, an emergency, then turns."""
    said = [UserUttered("ana refugee", {"name": "greet", "confidence": 0.9}, []),
            UserUttered("3tiwni", {"name": "emergency", "confidence": 0.9}, [])]
    turns_ = [e for e in _conversation(turns)[1:] if not isinstance(e, SessionStarted)
              and getattr(e, "action_name", None) != "action_session_start"]
    return _fresh(domain, "call", [ActionExecuted("action_session_start"), SessionStarted(),
                                   ActionExecuted("action_listen"), *said, *turns_, *tail])


async def test_the_actions_answer_the_same_on_what_they_now_receive(domain: Any) -> None:
    from rasa_sdk import Tracker
    from rasa_sdk.executor import CollectingDispatcher

    from actions.actions import ActionHandoff, ActionNearestHelp, ValidatePlaceForm
    form = [UserUttered("casa", {"name": "inform_location", "confidence": 0.9}, [],
                        input_channel="rest"), ActiveLoop("place_form"), SlotSet("requested_slot", "place"),
            SlotSet("help_kind", "shelter"), SlotSet("place", "casa")]
    tracker = _session(domain, 12, form)
    sent = RemoteAction("action_nearest_help", None)._action_call_format(tracker, domain)["tracker"]
    full = tracker.current_state(EventVerbosity.ALL)
    assert [e for e in sent["events"] if e["event"] != "user"] == full["events"][-4:]
    assert sent == {**full, "events": sent["events"]}  # all else as Rasa sends it
    ours, theirs = Tracker.from_dict(sent), Tracker.from_dict(full)  # what rasa_sdk reads itself:
    assert ours.slots_to_validate() == theirs.slots_to_validate() == {
        "requested_slot": "place", "help_kind": "shelter", "place": "casa"}
    assert ours.get_latest_input_channel() == theirs.get_latest_input_channel() == "rest"
    assert ours.current_state()["latest_event_time"] == theirs.current_state()["latest_event_time"]
    answers: dict = {}
    this_turn = {**sent, "events": sent["events"][-4:]}  # without her earlier messages
    for action in (ActionNearestHelp(), ActionHandoff(), ValidatePlaceForm()):
        for which, state in (("sent", sent), ("full", full), ("this turn", this_turn)):
            dispatcher = CollectingDispatcher()  # (a copy each: the form's validation changes it)
            events = await action.run(dispatcher, Tracker.from_dict(copy.deepcopy(state)), domain.as_dict())
            answers[action.name(), which] = events, dispatcher.messages
        assert answers[action.name(), "sent"] == answers[action.name(), "full"], action.name()
    # Her earlier messages were read: a refugee gets the migrant lines, an emergency its priority.
    assert answers["action_nearest_help", "sent"] != answers["action_nearest_help", "this turn"]
    assert '"emergency"' in json.dumps(answers["action_handoff", "sent"])
    assert '"emergency"' not in json.dumps(answers["action_handoff", "this turn"])


def test_the_request_holds_this_session_and_her_newest_messages_only(domain: Any) -> None:
    from rasa_ext.action_call import MAX_PAST_MESSAGES, action_events
    turns = MAX_PAST_MESSAGES + 20
    tracker = _session(domain, turns, [])
    sent, events = action_events(tracker), list(tracker.events)
    last = max(i for i, e in enumerate(events) if isinstance(e, UserUttered))
    assert sent[-(len(events) - last):] == [e.as_dict() for e in events[last:]]  # the turn whole
    past = sent[:-(len(events) - last)]  # before it, her newest messages, reduced
    assert len(past) == MAX_PAST_MESSAGES and past[-1]["text"] == f"msg {turns - 2}"
    assert {tuple(e) for e in past} == {("event", "timestamp", "text", "parse_data")}
    for event in (ActionExecuted("action_session_start"), SessionStarted()):
        tracker.update(event)
    assert action_events(tracker) == []  # a new session: nothing of the last one
    tracker.update(UserUttered("salam", {"name": "greet", "confidence": 0.9}, []))
    assert [e["event"] for e in action_events(tracker)] == ["user"]
