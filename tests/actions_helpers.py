"""Run one custom action as the action server would: a real Tracker built by Rasa from domain.yml."""
from __future__ import annotations

import asyncio
import functools
import json
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, ActiveLoop, Event, SlotSet, UserUttered
from rasa.shared.core.slots import CategoricalSlot
from rasa.shared.core.trackers import DialogueStateTracker, EventVerbosity
from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from core.settings import ROOT

with warnings.catch_warnings():
    # Rasa always warns this on loading a domain, and filters it itself (rasa.utils.common).
    warnings.filterwarnings("ignore", "Slot auto-fill has been removed", UserWarning)
    DOMAIN = Domain.load(str(ROOT / "domain.yml"))

# Names of the actions a test in tests/test_actions.py runs (filled by @exercises at import).
EXERCISED: set[str] = set()
_ran: list[str] = []


@dataclass
class Say:
    """One message of hers as the NLU pipeline and the gateway hand it to Rasa."""

    text: str
    intent: str
    confidence: Optional[float] = 1.0
    place: Optional[str] = None  # the `place` entity, when the model tagged one
    metadata: dict[str, Any] = field(default_factory=dict)

    def event(self) -> UserUttered:
        intent: dict[str, Any] = {"name": self.intent}
        if self.confidence is not None:
            intent["confidence"] = self.confidence
        entities = [] if self.place is None else [
            {"entity": "place", "value": self.place, "start": 0, "end": len(self.text)}]
        return UserUttered(self.text, intent, entities, metadata=self.metadata)


def conversation(*said: Say, slots: Optional[dict[str, Any]] = None,
                 asking_place: bool = False) -> DialogueStateTracker:
    """Rasa's tracker after her messages (the last one is the turn being answered).

    `slots` were set earlier in the conversation. With `asking_place` the place form is
    active and asks for `place`, and the events end as Rasa's FormAction hands them to
    validate_place_form (rasa/core/actions/forms.py, `_temporary_tracker`)."""
    events: list[Event] = [ActionExecuted("action_session_start"), ActionExecuted("action_listen")]
    events += [SlotSet(name, value) for name, value in (slots or {}).items()]
    for message in said[:-1]:
        events += [message.event(), ActionExecuted("action_listen")]
    if asking_place:
        events += [ActiveLoop("place_form"), SlotSet("requested_slot", "place"),
                   ActionExecuted("action_listen")]
    last = said[-1]
    events.append(last.event())
    # action_extract_slots fills `place` from the entity (its from_entity mapping).
    extracted = [] if last.place is None else [SlotSet("place", last.place)]
    events += extracted
    if asking_place:
        events += [SlotSet("requested_slot", "place"), ActionExecuted("place_form"), *extracted]
    return DialogueStateTracker.from_events("test-sender", events, slots=DOMAIN.slots)


@dataclass
class Outcome:
    """What the action sent back, and the conversation once Rasa applied its events."""

    events: list[dict[str, Any]]
    messages: list[dict[str, Any]]
    after: DialogueStateTracker

    @property
    def slots(self) -> dict[str, Any]:
        """The slots the action set, by name."""
        return {e["name"]: e["value"] for e in self.events if e["event"] == "slot"}

    @property
    def responses(self) -> list[str]:
        return [m["response"] for m in self.messages if m.get("response")]

    @property
    def custom(self) -> list[dict[str, Any]]:
        return [m["custom"] for m in self.messages if m.get("custom")]

    @property
    def texts(self) -> list[str]:
        return [m["text"] for m in self.messages if m.get("text")]


def run_action(action: Action, tracker: DialogueStateTracker) -> Outcome:
    """Run `action` on the JSON Rasa would send, check what comes back is valid for the domain."""
    # What crosses the wire: the tracker state and the domain, as JSON.
    state = json.loads(json.dumps(tracker.current_state(EventVerbosity.ALL)))
    domain = json.loads(json.dumps(DOMAIN.as_dict()))
    dispatcher = CollectingDispatcher()
    _ran.append(action.name())
    events = asyncio.run(action.run(dispatcher, Tracker.from_dict(state), domain)) or []
    events, messages = json.loads(json.dumps(events)), json.loads(json.dumps(dispatcher.messages))
    for message in messages:
        assert message.get("response") is None or message["response"] in DOMAIN.responses, message
    after = tracker.copy()
    for data in events:
        event = Event.from_parameters(data)
        assert event is not None, data
        if isinstance(event, SlotSet):
            slot = next((s for s in DOMAIN.slots if s.name == event.key), None)
            assert slot is not None, f"{action.name()} sets {event.key}, which domain.yml does not declare"
            if isinstance(slot, CategoricalSlot) and event.value is not None:
                assert event.value in slot.values, (event.key, event.value)
        after.update(event)
    return Outcome(events, messages, after)


def exercises(*actions: type[Action]) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Mark a test as a test of these actions; it fails if it does not run each of them."""
    names = {cls().name() for cls in actions}
    EXERCISED.update(names)

    def decorate(test: Callable[..., None]) -> Callable[..., None]:
        @functools.wraps(test)
        def wrapper(*args: Any, **kwargs: Any) -> None:
            start = len(_ran)
            test(*args, **kwargs)
            missing = names - set(_ran[start:])
            assert not missing, f"{test.__name__} is marked as exercising {missing} but never ran it"
        return wrapper
    return decorate

