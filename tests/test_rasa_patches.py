"""bot.rasa_patches: Rasa's behaviour is kept, only repeated work goes."""
from __future__ import annotations

import copy

import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction

from bot import rasa_patches

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
