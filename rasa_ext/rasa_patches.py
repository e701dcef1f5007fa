"""Performance fixes applied to Rasa 3.6 before it starts (rasa_ext.rasa_server).

Each fix keeps Rasa's behaviour and only removes repeated work; tests/test_rasa_patches.py
checks both.

1. Action-server responses. `RemoteAction._validate_action_result` calls
   `jsonschema.validate(result, schema)`, and jsonschema 4.17's `validate` first checks the
   schema itself against the JSON-Schema metaschema, on every call. Rasa's events schema is
   large, so that check cost about 30 ms of CPU per action-server call: with two calls in an
   average turn (the language slot's mapping action, then a form or a custom action) it was
   more than half of Rasa's CPU per message. The schema is fixed, so it is checked once here
   and the validator reused; the response is still validated, and a bad one raises the same
   ValidationError with the same explanation.
2. Event classes by name. `Event.resolve_by_type` walks every subclass of `Event` (a recursive
   list of about 30 classes) for each stored event it deserialises: half of rebuilding a tracker
   of 1,200 events. The name-to-class map is built once; an unknown name still goes through
   Rasa's own method (its fallback and its error).
3. Dialogue states of a long conversation. Each prediction (about six a turn, by the
   Memoization and Rule policies) asks `Domain.states_for_tracker_history`, which replays the
   whole conversation from its first event: a turn cost three times more after 100 turns than
   at the start. The replay is a left fold over the applied events, so it is kept per
   conversation and continued from where it stopped when the events it folded are still the
   first events of the tracker (the same objects; only those new since the last check are
   compared while the applied events were only added to, as fix 4 tells); otherwise it starts
   again from the first event, as Rasa does. Callers get their own copies of the states (some
   edit the last one). The fold is rasa_ext.states_fold.
4. Applied events. `DialogueStateTracker.applied_events` (the events minus those reverted)
   walks every event of the conversation, and Rasa asks for it about ten times a turn. It is a
   left fold too: the result is kept on the tracker with the number of events folded, and
   continued when the tracker only grew since (same event list, same last folded event, no new
   loop name, since a loop name changes how earlier events are read); otherwise recomputed.
5. The turn's slot mapping, in process. Every turn, Rasa's slot extraction called the action
   server for `action_extract_turn_slots` (the language to answer in, the count of
   misunderstandings), sending the whole conversation and the domain as JSON for an action that
   reads only her slots and her latest message: an HTTP round trip and two JSON codings that
   grow with the conversation. The same class (actions/actions.py) runs here instead, on a
   tracker with those fields and no events; its events are kept under Rasa's own rules (slots
   and bot messages only). Other custom actions still go to the action server.
6. Copies of the tracker. Before running each action Rasa copies the tracker by replaying
   every event into a new one (`DialogueStateTracker.copy`). The replayed tracker is kept on
   the tracker and continued when it only grew since (checked as for 4), and each copy is a
   clone of it: new event list, slots, loop and latest action, the same event objects, as a
   replay gives.
7. Debug strings nobody reads. RulePolicy formats every past state into a string for a debug
   log line on each prediction, even when debug is off (and it always is here: debug logs
   carry her text). The string is built only when that logger's debug level is enabled.
8. What the action server receives. For each custom action Rasa sent every event of her
   conversation (`EventVerbosity.ALL`), serialised by Rasa and parsed by rasa_sdk: those turns
   grew with it. It now sends this turn's events and, before them, her messages of this session
   reduced to text and intent, at most 500 (rasa_ext.action_call: what is read, and the bound).
9. Deep copies for debug lines nobody reads. MemoizationPolicy deep-copies every past state of
   the conversation for a structlog debug line on each prediction (about six a turn), even when
   debug is off. The copy is made only when that logger's debug level is enabled (as for 7).
10. The form's temporary tracker. Validating a slot of the place form, Rasa builds a tracker by
   replaying every event (`FormAction._temporary_tracker`, `DialogueStateTracker.from_events`),
   and activating it copies the tracker it was given (a copy, never continued). Without a
   restart in the conversation it is now a copy (fix 6) with the same events added, and each
   copy carries its own replay, so a copy of a copy continues it too.
11-13. The Rule and Memoization policies read only their last states, and scans of every event
   run in C: rasa_ext.policy_patches.
"""
from __future__ import annotations

import copy
import itertools
import logging
from functools import cache
from typing import Any, Dict, List, Optional, Text

from rasa_ext import policy_patches, states_fold, turn_copies
from rasa_ext.action_call import action_call_format, validate_action_result

log = logging.getLogger(__name__)
_applied = False
_originals: dict[str, Any] = {}


_event_classes: dict[str, Any] = {}


def _resolve_by_type(type_name: Text, default: Optional[Any] = None) -> Optional[Any]:
    from rasa.shared.core.events import Event
    from rasa.shared.utils.common import all_subclasses

    if not _event_classes:
        for cls in reversed(all_subclasses(Event)):  # reversed: the first match wins, as in Rasa
            if isinstance(getattr(cls, "type_name", None), str):
                _event_classes[cls.type_name] = cls
    found = _event_classes.get(type_name)
    return found if found is not None else _originals["resolve_by_type"](type_name, default)


class _Applied:
    """`applied_events`' result after the first `count` events of `source`."""

    def __init__(self, source: Any) -> None:
        self.source = source
        self.count = 0
        self.last: Any = None
        self.loop_names: set = set()
        self.events: List[Any] = []
        self.cuts = 0  # times `events` may have lost some (otherwise it was only added to)
        self.replay: Any = None  # a tracker replayed up to `count` (DialogueStateTracker.copy)


def _applied_events(self: Any) -> List[Any]:
    from rasa.shared.core.events import (
        ActionExecuted,
        ActionReverted,
        ActiveLoop,
        Restarted,
        SessionStarted,
        UserUtteranceReverted,
        UserUttered,
    )

    events = self.events
    memo = self.__dict__.get("_salama_applied")
    if (memo is None or memo.source is not events or memo.count > len(events)
            or (memo.count and events[memo.count - 1] is not memo.last)):
        memo = _Applied(events)
    new = list(itertools.islice(events, memo.count, None))
    names = {e.name for e in new if isinstance(e, ActiveLoop) and e.name}
    if not names <= memo.loop_names:
        # Rasa reads the whole conversation in the light of every loop name in it.
        memo = _Applied(events)
        new = list(events)
        names = {e.name for e in new if isinstance(e, ActiveLoop) and e.name}
    memo.loop_names |= names
    applied = memo.events
    for event in new:  # Rasa's loop (trackers.py, applied_events), unchanged but for `cuts`
        if isinstance(event, (Restarted, SessionStarted)):
            applied.clear()
        elif isinstance(event, ActionReverted):
            self._undo_till_previous(ActionExecuted, applied)
        elif isinstance(event, UserUtteranceReverted):
            self._undo_till_previous(UserUttered, applied)
            self._undo_till_previous(ActionExecuted, applied)
        elif (isinstance(event, ActionExecuted) and event.action_name in memo.loop_names
              and not self._first_loop_execution_or_unhappy_path(event.action_name, applied)):
            self._undo_till_previous_loop_execution(event.action_name, applied)
        else:
            applied.append(event)
            continue
        memo.cuts += 1
    if new:
        memo.count, memo.last = len(events), new[-1]
    self.__dict__["_salama_applied"] = memo
    return list(applied)


def _tracker_copy(self: Any) -> Any:
    events = self.events
    memo = self.__dict__.get("_salama_replay")
    if (memo is None or memo.source is not events or memo.count > len(events)
            or (memo.count and events[memo.count - 1] is not memo.last)):
        memo = _Applied(events)
        memo.replay = self.init_copy()
    for event in itertools.islice(events, memo.count, None):
        memo.replay.update(event)
    if len(events) > memo.count:
        memo.count, memo.last = len(events), events[-1]
    self.__dict__["_salama_replay"] = memo
    return _clone(memo.replay)


def _clone(tracker: Any, replay: bool = True) -> Any:
    """A tracker in the same state, sharing nothing that an event or an action changes; with
    `replay`, it carries its own replayed tracker, so that its own copies continue it."""
    new = copy.copy(tracker)
    new.__dict__.pop("_salama_replay", None)
    new.__dict__.pop("_salama_applied", None)
    new.events = tracker._create_events(tracker.events)
    new.slots = type(tracker.slots)((name, copy.copy(slot)) for name, slot in tracker.slots.items())
    new.active_loop = copy.copy(tracker.active_loop)
    new.latest_action = None if tracker.latest_action is None else dict(tracker.latest_action)
    if replay and new.events:
        memo = new.__dict__["_salama_replay"] = _Applied(new.events)
        memo.count, memo.last, memo.replay = len(new.events), new.events[-1], _clone(tracker, False)
    return new


# Slot-mapping actions run inside Rasa: each reads nothing but her slots and latest message.
IN_PROCESS_SLOT_ACTIONS = {"action_extract_turn_slots": ("actions.actions", "ActionExtractTurnSlots")}


@cache
def _in_process_action(name: Text) -> Any:
    import importlib

    module, cls = IN_PROCESS_SLOT_ACTIONS[name]
    return getattr(importlib.import_module(module), cls)()


async def _run_custom_action(self: Any, custom_action: Text, output_channel: Any, nlg: Any,
                             tracker: Any, domain: Any) -> List[Any]:
    if custom_action not in IN_PROCESS_SLOT_ACTIONS:
        return await _originals["run_custom_action"](self, custom_action, output_channel, nlg,
                                                     tracker, domain)
    from rasa.shared.core.events import BotUttered, SlotSet, deserialise_events
    from rasa_sdk import Tracker
    from rasa_sdk.executor import CollectingDispatcher

    dispatcher = CollectingDispatcher()
    state = tracker.current_state()  # every field the action server gets, except the events
    state["events"] = []
    result = await _in_process_action(custom_action).run(dispatcher, Tracker.from_dict(state), {})
    if dispatcher.messages:  # Rasa would send them through the NLG: this action must send none
        log.error("%s runs in Rasa: its messages are dropped", custom_action)
    return [e for e in deserialise_events(result) if isinstance(e, (SlotSet, BotUttered))]


def _format_tracker_states(states: List[Dict]) -> Text:
    if logging.getLogger("rasa.core.policies.rule_policy").isEnabledFor(logging.DEBUG):
        return _originals["format_tracker_states"](states)
    return ""


def apply() -> None:
    """Install the fixes (idempotent)."""
    global _applied
    if _applied:
        return
    from rasa.core.actions.action import ActionExtractSlots, RemoteAction
    from rasa.core.actions.forms import FormAction
    from rasa.core.policies import memoization
    from rasa.core.policies.rule_policy import RulePolicy
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import Event
    from rasa.shared.core.trackers import DialogueStateTracker

    _originals["validate_action_result"] = RemoteAction._validate_action_result
    RemoteAction._validate_action_result = validate_action_result  # type: ignore[assignment]
    _originals["resolve_by_type"] = Event.resolve_by_type
    Event.resolve_by_type = staticmethod(_resolve_by_type)  # type: ignore[assignment]
    _originals["states_for_tracker_history"] = Domain.states_for_tracker_history
    Domain.states_for_tracker_history = states_fold.states_for_tracker_history  # type: ignore[assignment]
    _originals["run_custom_action"] = ActionExtractSlots._run_custom_action
    ActionExtractSlots._run_custom_action = _run_custom_action  # type: ignore[assignment]
    _originals["applied_events"] = DialogueStateTracker.applied_events
    DialogueStateTracker.applied_events = _applied_events  # type: ignore[assignment]
    _originals["copy"] = DialogueStateTracker.copy
    DialogueStateTracker.copy = _tracker_copy  # type: ignore[assignment]
    _originals["action_call_format"] = RemoteAction._action_call_format
    RemoteAction._action_call_format = action_call_format  # type: ignore[assignment]
    _originals["temporary_tracker"] = turn_copies._rasas["temporary_tracker"] = FormAction._temporary_tracker
    FormAction._temporary_tracker = turn_copies.temporary_tracker  # type: ignore[method-assign]
    memoization.copy = turn_copies.debug_only_copy("rasa.core.policies.memoization")  # type: ignore[attr-defined]
    _originals["format_tracker_states"] = RulePolicy.format_tracker_states
    RulePolicy.format_tracker_states = staticmethod(_format_tracker_states)  # type: ignore[assignment]
    policy_patches.apply()
    _applied = True
