"""Rasa and the action server (fixes 1 and 8 of rasa_ext.rasa_patches): its answers validated
against a schema checked once; and what Rasa sends it to run a custom action, Rasa's request
with her slots, latest message and loop as Rasa sends them, and of her events only what the
actions read, within a stated bound instead of her whole conversation."""
from __future__ import annotations

from functools import lru_cache
from typing import Any, Dict, List, Text


@lru_cache(maxsize=1)
def action_response_validator() -> Any:
    from jsonschema.validators import validator_for
    from rasa.core.actions.action import RemoteAction

    schema = RemoteAction.action_response_format_spec()
    cls = validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def validate_action_result(self: Any, result: Dict[Text, Any]) -> bool:
    from jsonschema.exceptions import best_match
    from rasa.shared.constants import DOCS_BASE_URL

    error = best_match(action_response_validator().iter_errors(result))
    if error is None:
        return True
    # The same message as Rasa's own method.
    error.message += (
        f". Failed to validate Action server response from API, "
        f"make sure your response from the Action endpoint is valid. "
        f"For more information about the format visit "
        f"{DOCS_BASE_URL}/custom-actions"
    )
    raise error


# Her earlier messages the action server receives at most (the newest of the session). With
# the turn's own events, this bounds a request: at most this many reduced messages of at most
# MAX_BODY_CHARS (1,600) characters each; about 100 bytes each for a typical message.
MAX_PAST_MESSAGES = 500


def action_events(tracker: Any) -> List[Dict[Text, Any]]:
    """The events the action server receives, oldest first, as dicts.

    - Only the current session's (after the last `session_started`), as Rasa's tracker store
      reads a conversation back (the tracker of a session's first turn also holds the last).
    - The turn's events (from her latest message on) whole, as Rasa sends them: what rasa_sdk
      itself reads (`slots_to_validate`: the slot events at the end; the latest input
      channel: her latest message; `latest_event_time`: the last event) is among them.
    - Before her latest message, only her messages, each reduced to what the actions read
      (actions/actions.py: the text for the migrant cues, the intent's name for a handoff's
      priority), the newest MAX_PAST_MESSAGES of them. Nothing else of earlier turns (the
      bot's messages, slots, actions, her message's metadata and NLU details) is sent.
    """
    from rasa.shared.core.events import SessionStarted, UserUttered

    turn: List[Any] = []
    past: List[Dict[Text, Any]] = []
    backwards = reversed(tracker.events)
    for event in backwards:
        if isinstance(event, SessionStarted):
            return [e.as_dict() for e in reversed(turn)]
        turn.append(event)
        if isinstance(event, UserUttered):
            break
    for event in backwards:
        if isinstance(event, SessionStarted) or len(past) >= MAX_PAST_MESSAGES:
            break
        if isinstance(event, UserUttered):
            past.append({"event": "user", "timestamp": event.timestamp, "text": event.text,
                         "parse_data": {"intent": {"name": event.intent_name}}})
    return past[::-1] + [e.as_dict() for e in reversed(turn)]


def action_call_format(action: Any, tracker: Any, domain: Any) -> Dict[Text, Any]:
    """`RemoteAction._action_call_format` of Rasa 3.6, with `action_events` for the events."""
    import rasa
    from rasa.shared.core.trackers import EventVerbosity

    state = tracker.current_state(EventVerbosity.NONE)
    state["events"] = action_events(tracker)
    result = {"next_action": action._name, "sender_id": tracker.sender_id, "tracker": state,
              "version": rasa.__version__}
    if (not action._is_selective_domain_enabled()
            or domain.does_custom_action_explicitly_need_domain(action.name())):
        result["domain"] = domain.as_dict()
    return result
