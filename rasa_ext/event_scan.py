"""Whether a conversation holds an event of a kind, without Python code per event (fix 13 of
rasa_ext.policy_patches: the tracker store's session check, the form's restart check)."""
from __future__ import annotations

from typing import Any, Iterable


def holds(events: Iterable[Any], kind: type) -> bool:
    """`any(isinstance(e, kind) for e in events)`. Rasa's event classes are ABCs, whose
    `isinstance` runs Python code (abc.__instancecheck__) for every event of her conversation;
    the events' types are collected in C instead, and the few distinct ones checked."""
    return any(issubclass(t, kind) for t in set(map(type, events)))
