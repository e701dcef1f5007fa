"""The dialogue states of a conversation as a resumable fold (fix 3 of rasa_ext.rasa_patches),
and the last few of them without copying the others (fixes 11 and 12, rasa_ext.policy_patches)."""
from __future__ import annotations

import json
import operator
from collections import OrderedDict
from typing import Any, Callable, Dict, List, Optional, Text, Tuple

# Conversations whose state fold is kept (least recently used dropped first): the fold holds
# references to her events, so the bound is also how many conversations this keeps in memory.
STATES_CACHE_SIZE = 1000


class _Fold:
    """`states_for_tracker_history`'s loop, stopped after `events` and resumable."""

    def __init__(self, domain: Any, tracker: Any) -> None:
        self.domain = domain
        self.replay = tracker.init_copy()
        self.events: List[Any] = []
        self.states: List[Dict] = []
        self.last_ml_action_sub_state: Optional[Dict] = None
        self.turn_was_hidden = False
        # (a tracker's applied events, their `cuts`, and how many were found to be `events`)
        self.checked: Optional[Tuple[Any, int, int]] = None

    def step(self, tr: Any, hide_rule_turn: bool, omit_unset_slots: bool,
             ignore_rule_only_turns: bool, rule_only_data: Optional[Dict]) -> None:
        """One iteration of Rasa's loop (domain.py, states_for_tracker_history), unchanged."""
        from rasa.shared.core.constants import PREVIOUS_ACTION

        domain = self.domain
        if ignore_rule_only_turns:
            if not self.turn_was_hidden:
                self.last_ml_action_sub_state = domain._get_prev_action_sub_state(tr)
            if not tr.followup_action and not tr.latest_action_name == tr.active_loop_name:  # noqa: SIM201 (as Rasa writes it)
                self.turn_was_hidden = hide_rule_turn
            if self.turn_was_hidden:
                return
        state = domain.get_active_state(tr, omit_unset_slots=omit_unset_slots)
        if ignore_rule_only_turns:
            domain._remove_rule_only_features(state, rule_only_data)
            if self.states:
                domain._substitute_rule_only_user_input(state, self.states[-1])
            if self.last_ml_action_sub_state:
                state[PREVIOUS_ACTION] = self.last_ml_action_sub_state
        self.states.append(domain._clean_state(state))

    def final_state(self, args: tuple) -> Optional[Dict]:
        """A copy of the state after every event (Rasa's last iteration), or None when that
        turn is hidden. Not kept: the next events come before it."""
        saved, count = (self.last_ml_action_sub_state, self.turn_was_hidden), len(self.states)
        self.step(self.replay, False, *args)
        self.last_ml_action_sub_state, self.turn_was_hidden = saved
        return _copy_state(self.states.pop()) if len(self.states) > count else None


_folds: OrderedDict[tuple, _Fold] = OrderedDict()


def _copy_state(state: Dict) -> Dict:
    return {k: dict(v) if isinstance(v, dict) else v for k, v in state.items()}


def _fold(domain: Any, tracker: Any, args: tuple) -> _Fold:
    """Her fold, continued up to the tracker's applied events."""
    from rasa.shared.core.events import ActionExecuted

    omit_unset_slots, ignore_rule_only_turns, rule_only_data = args
    key = (tracker.sender_id, tracker.is_rule_tracker, tracker._max_event_history,
           omit_unset_slots, ignore_rule_only_turns,
           json.dumps(rule_only_data, sort_keys=True, default=str))
    applied = tracker.applied_events()
    memo = tracker.__dict__.get("_salama_applied")  # (fix 4's, behind `applied`)
    fold = _folds.get(key)
    if (fold is None or fold.domain is not domain or len(fold.events) > len(applied)
            or not _folded_first(fold, memo, applied)):
        fold = _Fold(domain, tracker)
    for event in applied[len(fold.events):]:
        if isinstance(event, ActionExecuted):
            fold.step(fold.replay, event.hide_rule_turn, *args)
        fold.replay.update(event)
        fold.events.append(event)
    fold.checked = None if memo is None else (memo, memo.cuts, len(fold.events))
    _folds[key] = fold
    _folds.move_to_end(key)
    while len(_folds) > STATES_CACHE_SIZE:
        _folds.popitem(last=False)
    return fold


def _folded_first(fold: _Fold, memo: Any, applied: List[Any]) -> bool:
    """Whether the events folded are the first applied events (the same objects, compared in
    C). Those already found so for these applied events, only added to since, are not compared
    again: the check is as long as the events new to the fold, not as her conversation."""
    start = 0
    if memo is not None and fold.checked is not None and fold.checked[0] is memo and fold.checked[1] == memo.cuts:
        start = fold.checked[2]
    return all(map(operator.is_, fold.events[start:], applied[start:len(fold.events)]))


def states_for_tracker_history(self: Any, tracker: Any, omit_unset_slots: bool = False,
                               ignore_rule_only_turns: bool = False,
                               rule_only_data: Optional[Dict[Text, Any]] = None) -> List[Dict]:
    """`Domain.states_for_tracker_history`: every state, each caller its own copies (callers
    edit them)."""
    args = (omit_unset_slots, ignore_rule_only_turns, rule_only_data)
    fold = _fold(self, tracker, args)
    states = [_copy_state(s) for s in fold.states]
    final = fold.final_state(args)
    return states if final is None else [*states, final]


def states_tail(domain: Any, tracker: Any, count: int, skip: Optional[Callable[[Dict], bool]] = None,
                ignore_rule_only_turns: bool = False,
                rule_only_data: Optional[Dict[Text, Any]] = None) -> Tuple[List[Dict], int]:
    """The last `count` states of `states_for_tracker_history(tracker, False,
    ignore_rule_only_turns, rule_only_data)` for which `skip` is false (copies, oldest first),
    and how many states come before the first of them. Only those are copied."""
    args = (False, ignore_rule_only_turns, rule_only_data)
    fold = _fold(domain, tracker, args)
    final = fold.final_state(args)
    tail = [] if final is None or (skip is not None and skip(final)) else [final]
    before = len(fold.states)
    while before and len(tail) < count:
        before -= 1
        state = fold.states[before]
        if skip is None or not skip(state):
            tail.append(_copy_state(state))
    tail.reverse()
    return tail, before
