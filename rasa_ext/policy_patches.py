"""Performance fixes to Rasa 3.6's Memoization and Rule policies, applied by
rasa_ext.rasa_patches.apply() (numbered after its fixes 1-10). Each keeps every prediction;
tests/test_policy_patches.py compares them with Rasa's own code at every step of long
conversations, on policies trained by Rasa on the project's rules and stories.

11. RulePolicy's states. On each prediction (about six a turn) RulePolicy asks for every past
    state of the conversation (it has no max history): each is copied, the featurizer removes
    her text from each, the rule matching walks them all, and when no rule matches they are
    all JSON-encoded into a key. All of it grows with the conversation. What its result reads:
    - the rules (`_get_possible_keys`): at i states from the end, a rule of L states with
      L <= i is kept without reading the state (`_is_rule_applicable`). So with K the most
      states of any rule, the states before the last K are never read; a `conversation_start`
      rule is matched against her first state only when it is among the last K.
    - the key when no rule matches (`_create_feature_key`: every state after the last
      `RULE_SNIPPET_ACTION_NAME` state): only looked up in the rules not in stories, to set the
      prediction's `hide_rule_turn`. Holding more states than any key there, it is none of them.
    Now RulePolicy gets its last K states, K the most states of any key of its lookup (rules,
    unhappy-loop rules, rules not in stories): when she has K states or fewer, Rasa's states
    exactly; with more, the key (when no snippet state is among the K) is LONG_KEY, which, like
    Rasa's, is not in the lookup. K is 4 for the model of 2026-12-02.
12. MemoizationPolicy's states. Rasa 3.6's default `max_history` is None (config.yml sets none),
    so its key is every past state (ML turns only, those after `action_unlikely_intent`
    dropped), JSON-encoded and compressed, on each prediction. It can only be found in the
    lookup if it holds as many states as a memorised key, at most M (8 for the model of
    2026-12-02). Now it gets its last M+1 states: up to M, Rasa's states exactly; with more,
    its key is LONG_KEY, found in the lookup no more than Rasa's. With a `max_history`, the
    last `max_history` states, as Rasa slices them.
Both take only the states Rasa's featurizer would keep (rasa_ext.states_fold.states_tail: only
those are copied), then call its `_choose_last_user_input` on them as Rasa does (it edits each
state on its own). With a policy's debug log on, Rasa's own code runs (its debug line shows
every state); a lookup whose longest key cannot be told also runs Rasa's code, and so does
training (`make train` runs through rasa_ext.rasa_server): RulePolicy's training predicts on its
training trackers before its lookup is complete and keeps the keys of those predictions.
13. Scans of every event for one kind (the tracker store's session check, the form's restart
    check): Rasa's event classes are ABCs, whose `isinstance` runs Python code per event; the
    events' types are collected in C and the few distinct ones checked (rasa_ext.event_scan).
    The states fold's check that her applied events start with the events it folded compares
    only those new since its last check, while her applied events were only added to
    (rasa_ext.states_fold).
"""
from __future__ import annotations

import base64
import json
import logging
import zlib
from typing import Any, Dict, List, Optional, Text, Tuple

from rasa_ext import states_fold

_applied = False
_originals: dict[str, Any] = {}
# A policy's key when its states hold more than any key of its lookup, which Rasa's key, made
# of them all, cannot be either: no lookup holds this one (checked when it is read).
LONG_KEY = "(a key longer than any the policy learnt: a long conversation's states)"


class StatesTail(list):
    """The last states of a conversation; `beyond_lookup`: Rasa's states are more than any key
    of the policy's lookup holds."""

    beyond_lookup = False


def _longest(policy: Any) -> Optional[int]:
    """The most states in any key of the policy's lookup; None when that cannot be told or
    LONG_KEY is one of them. Read once per lookup."""
    memo = policy.__dict__.get("_salama_longest")
    if memo is None or memo[0] is not policy.lookup:
        memo = (policy.lookup, _longest_key(policy))
        policy.__dict__["_salama_longest"] = memo
    return memo[1]


def _longest_key(policy: Any) -> Optional[int]:
    from rasa.core.policies.rule_policy import RULES, RULES_FOR_LOOP_UNHAPPY_PATH, RULES_NOT_IN_STORIES, RulePolicy

    lookup = policy.lookup
    if isinstance(policy, RulePolicy):  # JSON lists of states, and sources that are not JSON
        keys = [*lookup.get(RULES, {}), *lookup.get(RULES_FOR_LOOP_UNHAPPY_PATH, {}),
                *lookup.get(RULES_NOT_IN_STORIES, [])]
        counts = [len(k) for k in map(_json_list, keys) if k is not None]
    elif policy.config.get("enable_feature_string_compression"):
        keys = list(lookup)
        counts = [_states_in(zlib.decompress(base64.b64decode(k)).decode()) for k in keys]
    else:
        return None
    return None if LONG_KEY in keys else max([1, *counts])


def _json_list(key: Text) -> Optional[list]:
    try:
        value = json.loads(key)
    except ValueError:
        return None  # a default or loop source ("predicting default action with intent ...")
    return value if isinstance(value, list) else None


def _states_in(feature_str: Text) -> int:
    """How many states a memorised key holds (Rasa's JSON with the quotes removed); without her
    words in it, each state is one brace at the first level, else at most every brace."""
    if "text:" in feature_str:
        return feature_str.count("{")
    depth = states = 0
    for char in feature_str:
        if char == "{":
            states += depth == 0
            depth += 1
        elif char == "}":
            depth -= 1
    return states


def _tail_wanted(policy: Any) -> Optional[Tuple[int, int]]:
    """(how many of the last states to take, the most a lookup key holds) or None for Rasa's
    own code: only MaxHistoryTrackerFeaturizer, RulePolicy and MemoizationPolicy themselves,
    debug logs off (their debug lines show the states)."""
    from rasa.core.featurizers.tracker_featurizers import MaxHistoryTrackerFeaturizer
    from rasa.core.policies.memoization import MemoizationPolicy
    from rasa.core.policies.rule_policy import RulePolicy

    rule = isinstance(policy, RulePolicy)
    if (type(policy.featurizer) is not MaxHistoryTrackerFeaturizer
            or not (rule or type(policy) is MemoizationPolicy)
            or logging.getLogger(type(policy).__module__).isEnabledFor(logging.DEBUG)):
        return None
    max_history = policy.featurizer.max_history
    if max_history is not None and not rule:
        return max_history, max_history + 1  # Rasa keeps these; the key is theirs exactly
    longest = _longest(policy)
    if longest is None:
        return None
    return longest + (not rule), longest


def _prediction_states(self: Any, tracker: Any, domain: Any, use_text_for_last_user_input: bool = False,
                       rule_only_data: Optional[Dict[Text, Any]] = None) -> List[Dict]:
    """`Policy._prediction_states` (MaxHistoryTrackerFeaturizer.prediction_states on one tracker)
    for the states the policy reads (fixes 11 and 12)."""
    from rasa.core.featurizers.tracker_featurizers import _is_prev_action_unlikely_intent_in_state
    from rasa.core.policies.policy import SupportedData
    from rasa.shared.core.generator import TrackerWithCachedStates

    wanted = _tail_wanted(self)
    if wanted is None or isinstance(tracker, TrackerWithCachedStates):  # (training: below)
        return _originals["prediction_states"](self, tracker, domain, use_text_for_last_user_input,
                                               rule_only_data)
    count, longest = wanted
    ml_only = self.supported_data() == SupportedData.ML_DATA  # as Policy._prediction_states
    tail, before = states_fold.states_tail(
        domain, tracker, count, skip=_is_prev_action_unlikely_intent_in_state if ml_only else None,
        ignore_rule_only_turns=ml_only, rule_only_data=rule_only_data)
    states = StatesTail(tail)
    # (Rule: `count` states and more before them, no skipping; Memoization: more than `longest`)
    states.beyond_lookup = len(tail) > longest or (before > 0 and not ml_only and len(tail) == longest)
    self.featurizer._choose_last_user_input([states], use_text_for_last_user_input)
    return states


def _memoization_key(self: Any, states: List[Dict]) -> Optional[Text]:
    """`MemoizationPolicy._create_feature_key`; LONG_KEY for states beyond its lookup."""
    if getattr(states, "beyond_lookup", False):
        return LONG_KEY
    return _originals["memoization_key"](self, states)


def _rule_key(self: Any, states: List[Dict]) -> Optional[Text]:
    """`RulePolicy._create_feature_key` (the states after the last snippet state); LONG_KEY
    for states beyond its lookup when no snippet state cuts them."""
    if getattr(states, "beyond_lookup", False) and not any(map(self._is_rule_snippet_state, states)):
        return LONG_KEY
    return _originals["rule_key"](self, states)


def apply() -> None:
    """Install the fixes (idempotent)."""
    global _applied
    if _applied:
        return
    from rasa.core.policies.memoization import MemoizationPolicy
    from rasa.core.policies.rule_policy import RulePolicy

    _originals["prediction_states"] = MemoizationPolicy._prediction_states
    MemoizationPolicy._prediction_states = _prediction_states
    _originals["memoization_key"] = MemoizationPolicy._create_feature_key
    MemoizationPolicy._create_feature_key = _memoization_key
    _originals["rule_key"] = RulePolicy._create_feature_key
    RulePolicy._create_feature_key = _rule_key
    _applied = True
