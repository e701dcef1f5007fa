"""Performance fixes applied to Rasa 3.6 before it starts (bot.rasa_server).

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
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any, Dict, Text

_applied = False
_originals: dict[str, Any] = {}


@lru_cache(maxsize=1)
def _action_response_validator() -> Any:
    from jsonschema.validators import validator_for
    from rasa.core.actions.action import RemoteAction

    schema = RemoteAction.action_response_format_spec()
    cls = validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def _validate_action_result(self: Any, result: Dict[Text, Any]) -> bool:
    from jsonschema.exceptions import best_match
    from rasa.shared.constants import DOCS_BASE_URL

    error = best_match(_action_response_validator().iter_errors(result))
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


def apply() -> None:
    """Install the fixes (idempotent)."""
    global _applied
    if _applied:
        return
    from rasa.core.actions.action import RemoteAction

    _originals["validate_action_result"] = RemoteAction._validate_action_result
    RemoteAction._validate_action_result = _validate_action_result
    _applied = True
