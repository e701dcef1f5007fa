"""Copies a turn makes of her conversation (fixes 9 and 10 of rasa_ext.rasa_patches): deep
copies of every past state for debug lines that are off, and the form's temporary tracker."""
from __future__ import annotations

import copy
import logging
from typing import Any, Callable, List

from rasa_ext import event_scan

_rasas: dict[str, Callable] = {}  # Rasa's own methods, set by rasa_patches.apply()


class _DebugOnlyCopy:
    """The `copy` module for a module whose deep copies only feed its debug log lines: the copy
    is made when that logger's debug level is enabled (structlog's filter_by_level reads the
    same level), otherwise the value itself is passed to a call that drops it."""

    def __init__(self, logger: str) -> None:
        self._log = logging.getLogger(logger)

    def deepcopy(self, value: Any, memo: Any = None) -> Any:
        return copy.deepcopy(value, memo) if self._log.isEnabledFor(logging.DEBUG) else value

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)


def debug_only_copy(logger: str) -> Any:
    return _DebugOnlyCopy(logger)


def temporary_tracker(self: Any, current_tracker: Any, additional_events: List[Any], domain: Any) -> Any:
    """`FormAction._temporary_tracker`: the tracker replayed with the requested slot, the form's
    execution and `additional_events` added. Rasa replays the events after the latest restart
    into a new tracker; without a restart that is what a copy of the tracker holds."""
    from rasa.shared.core.constants import REQUESTED_SLOT
    from rasa.shared.core.events import ActionExecuted, Restarted, SlotSet

    if event_scan.holds(current_tracker.events, Restarted):
        return _rasas["temporary_tracker"](self, current_tracker, additional_events, domain)
    tracker = current_tracker.copy()
    for event in [SlotSet(REQUESTED_SLOT, self.get_slot_to_fill(current_tracker)),
                  ActionExecuted(self.name()), *additional_events]:
        tracker.update(event)
    return tracker
