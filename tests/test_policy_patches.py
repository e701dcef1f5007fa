"""rasa_ext.policy_patches: the Rule and Memoization policies, trained here by Rasa on the
project's rules and stories, predict what Rasa's own code predicts at every step of long
conversations, while reading only their last states."""
from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any, Iterator

import pytest
from rasa.core.policies.memoization import MemoizationPolicy
from rasa.core.policies.rule_policy import RulePolicy
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ConversationPaused,
    ConversationResumed,
    Restarted,
    SessionStarted,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

from core.settings import ROOT
from rasa_ext import event_scan, policy_patches, rasa_patches

# A rule for the first message only (the project has none): `conversation_start` rules match
# the state without a previous action, which a long conversation's last states never hold.
START_RULE = """version: "3.1"
rules:
  - rule: thanks as a first message
    conversation_start: true
    steps:
      - intent: thank
      - action: utter_greet
"""


class _rasas:
    """Rasa's own code for the states and the policies' keys inside the block (the reference)."""

    PLACES = [(Domain, "states_for_tracker_history", rasa_patches._originals, "states_for_tracker_history"),
              (DialogueStateTracker, "applied_events", rasa_patches._originals, "applied_events"),
              (DialogueStateTracker, "copy", rasa_patches._originals, "copy"),
              (MemoizationPolicy, "_prediction_states", policy_patches._originals, "prediction_states"),
              (MemoizationPolicy, "_create_feature_key", policy_patches._originals, "memoization_key"),
              (RulePolicy, "_create_feature_key", policy_patches._originals, "rule_key")]

    def __enter__(self) -> None:
        self.saved = [cls.__dict__[name] for cls, name, _, _ in self.PLACES]
        for cls, name, originals, key in self.PLACES:
            setattr(cls, name, originals[key])

    def __exit__(self, *_: Any) -> None:
        for (cls, name, _, _), value in zip(self.PLACES, self.saved):
            setattr(cls, name, value)


def _training_trackers(domain: Domain, tmp: Path) -> list:
    from rasa.shared.core.generator import TrainingDataGenerator
    from rasa.shared.core.training_data.story_reader.yaml_story_reader import YAMLStoryReader
    from rasa.shared.core.training_data.structures import StoryGraph

    (tmp / "start.yml").write_text(START_RULE)
    files = [tmp / "start.yml", *sorted((ROOT / "data" / "rules").glob("*.yml")),
             *sorted((ROOT / "data" / "stories").glob("*.yml"))]
    steps = [step for f in files for step in YAMLStoryReader(domain).read_from_file(str(f))]
    return TrainingDataGenerator(StoryGraph(steps), domain, augmentation_factor=0).generate()


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple:
    """(domain, RulePolicy, MemoizationPolicy, training trackers), trained by Rasa's own code."""
    from rasa.engine.graph import ExecutionContext, GraphSchema
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.engine.storage.resource import Resource

    rasa_patches.apply()
    tmp = tmp_path_factory.mktemp("policies")
    (tmp / "storage").mkdir()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        domain = Domain.load(str(ROOT / "domain.yml"))
        trackers = _training_trackers(domain, tmp)
        storage, context = LocalModelStorage(tmp / "storage"), ExecutionContext(GraphSchema({}), "test")
        with _rasas():
            rule = RulePolicy.create(RulePolicy.get_default_config(), storage, Resource("rule"), context)
            rule.train(trackers, domain)
            memo = MemoizationPolicy.create(MemoizationPolicy.get_default_config(), storage,
                                            Resource("memo"), context)
            memo.train(trackers, domain)
    return domain, rule, memo, trackers



def test_training_through_the_patches_is_rasas(trained: tuple, tmp_path: Path) -> None:
    """`make train` runs with the patches: RulePolicy's lookup is the one Rasa's own code learns."""
    from rasa.engine.graph import ExecutionContext, GraphSchema
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.engine.storage.resource import Resource

    domain, rule, _, trackers = trained
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        again = RulePolicy.create(RulePolicy.get_default_config(), LocalModelStorage(tmp_path),
                                  Resource("rule"), ExecutionContext(GraphSchema({}), "test"))
        again.train(trackers, domain)
    assert again.lookup == rule.lookup

def _near_misses(piece: list) -> list:
    """The piece, then twice again with its first action or her first intent changed: the last
    states of a rule or story without its first one."""
    def changed(kind: type, new: Any) -> list:
        i = next((i for i, e in enumerate(piece) if isinstance(e, kind) and getattr(
            e, "action_name", None) not in ("action_listen", "...")), None)
        return [] if i is None else [*piece[:i], new, *piece[i + 1:]]
    return [*piece, *changed(ActionExecuted, ActionExecuted("utter_menu")),
            *changed(UserUttered, UserUttered("xqzw", {"name": "out_of_scope", "confidence": 0.9}, []))]


def _conversation(trackers: list, restarts: int = 1, pieces_a_session: int = 12) -> list:
    """Her conversation: the training stories and rules one after the other, each with its near
    misses (forms, loops, slots, even the rules' `...` snippets), a handoff pause and resume;
    sessions and restarts every few pieces, opened by START_RULE's first message or a story."""
    opener = [UserUttered("chokran", {"name": "thank", "confidence": 0.9}, []), ActionExecuted("utter_greet"),
              ActionExecuted("action_listen")]
    pieces = [[e for e in t.events if not isinstance(e, SessionStarted)][1:] for t in trackers]
    stories = [p for p, t in zip(pieces, trackers) if not t.is_rule_tracker]
    events: list = [ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen")]
    for k, piece in enumerate(pieces * restarts):
        if k % pieces_a_session == 0:
            events += opener if k % (2 * pieces_a_session) == 0 else stories[k // (2 * pieces_a_session) % len(stories)]
        if not piece or not isinstance(piece[0], UserUttered):
            events.append(UserUttered("salam", {"name": "greet", "confidence": 0.9}, []))
        events += _near_misses(piece)
        if not (isinstance(events[-1], ActionExecuted) and events[-1].action_name == "action_listen"):
            events.append(ActionExecuted("action_listen"))
        if k % 17 == 5:  # a counsellor: paused, then the gateway resumes her (bot/handoff.py)
            events += [UserUttered("/request_human", {"name": "request_human", "confidence": 1.0}, []),
                       ActionExecuted("action_handoff"), ConversationPaused(),
                       ConversationResumed(), ActionExecuted("action_listen")]
        if k % (2 * pieces_a_session) == pieces_a_session - 1:
            events += [UserUttered("/restart", {"name": "restart", "confidence": 1.0}, []),
                       ActionExecuted("action_restart"), Restarted(), ActionExecuted("action_listen")]
        elif k % pieces_a_session == pieces_a_session - 1:
            events += [ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen")]
    return events


def _predictions(domain: Domain, rule: RulePolicy, memo: MemoizationPolicy, events: list) -> Iterator[tuple]:
    """Each policy's prediction, ours then Rasa's, before every action of the conversation (the
    Memoization policy gets the rules' data from the ensemble, as here)."""
    ours, theirs = DialogueStateTracker("her", domain.slots), DialogueStateTracker("her", domain.slots)
    for event, after in zip(events, [*events[1:], None]):
        ours.update(event)
        with _rasas():
            theirs.update(event)
        if after is None or isinstance(after, ActionExecuted):
            for policy, data in ((rule, None), (memo, rule._get_rule_only_data())):
                mine = policy.predict_action_probabilities(ours, domain, rule_only_data=data)
                with _rasas():
                    rasas = policy.predict_action_probabilities(theirs, domain, rule_only_data=data)
                yield policy, data, mine, rasas, ours, theirs


def test_predictions_are_rasas_at_every_step(trained: tuple) -> None:
    domain, rule, memo, trackers = trained
    seen = {"beyond": 0, "start rule": 0, "hidden": 0, "memorised": 0}
    start_key = next(k for k, action in rule.lookup["rules"].items()
                     if action == "utter_greet" and '"intent": "thank"' in k)
    for policy, data, mine, rasas, ours, theirs in _predictions(domain, rule, memo, _conversation(trackers)):
        assert mine == rasas, (type(policy).__name__, len(ours.events))
        states = policy._prediction_states(ours, domain, rule_only_data=data)
        with _rasas():
            full = policy._prediction_states(theirs, domain, rule_only_data=data)
        assert states == full[len(full) - len(states):]  # her last states, the same
        seen["beyond"] += states.beyond_lookup
        seen["hidden"] += mine.hide_rule_turn
        seen["memorised"] += policy is memo and max(mine.probabilities) == 1.0
        seen["start rule"] += policy is rule and rule._get_possible_keys({start_key: ""}, states) != set()
    assert all(seen.values()), seen  # every case met: long, first message, hidden turns, memory


def test_a_conversation_starting_with_the_start_rule(trained: tuple) -> None:
    domain, rule, memo, _ = trained
    first = [ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen"),
             UserUttered("chokran", {"name": "thank", "confidence": 0.9}, [])]
    later = [*first, ActionExecuted("utter_greet"), ActionExecuted("action_listen"),
             UserUttered("chokran", {"name": "thank", "confidence": 0.9}, [])]
    for events, action in ((first, "utter_greet"), (later, "utter_thank")):
        tracker = DialogueStateTracker.from_events("start", events, domain.slots)
        prediction = rule.predict_action_probabilities(tracker, domain)
        with _rasas():
            assert prediction == rule.predict_action_probabilities(
                DialogueStateTracker.from_events("start", events, domain.slots), domain)
        assert domain.action_names_or_texts[prediction.max_confidence_index] == action


def test_the_states_read_are_the_longest_keys(trained: tuple) -> None:
    domain, rule, memo, trackers = trained
    with _rasas():
        states, _ = memo.featurizer.training_states_and_labels(
            [t for t in trackers if not t.is_rule_tracker], domain)
    assert policy_patches._longest(memo) == max(len(s) for s in states)
    assert policy_patches._longest(rule) == max(
        len(policy_patches._json_list(k) or []) for k in rule.lookup["rules"])
    tracker = DialogueStateTracker.from_events("count", _conversation(trackers, 1, 100), domain.slots)
    assert len(rule._prediction_states(tracker, domain)) == policy_patches._longest(rule)
    assert len(memo._prediction_states(tracker, domain)) <= policy_patches._longest(memo) + 1


def test_rasas_code_runs_with_debug_logs(trained: tuple) -> None:
    """Their debug lines show the states: with debug on they are all there, as in Rasa."""
    domain, rule, _, trackers = trained
    tracker = DialogueStateTracker.from_events("debug", _conversation(trackers, 1, 100), domain.slots)
    logger = logging.getLogger("rasa.core.policies.rule_policy")
    level = logger.level
    try:
        logger.setLevel(logging.DEBUG)
        states = rule._prediction_states(tracker, domain)
    finally:
        logger.setLevel(level)
    assert type(states) is list and len(states) > policy_patches._longest(rule)


def test_patches_are_installed_once() -> None:
    rasa_patches.apply()
    rasa_patches.apply()
    assert MemoizationPolicy._prediction_states is policy_patches._prediction_states
    assert RulePolicy._create_feature_key is policy_patches._rule_key
    assert policy_patches._originals["rule_key"] is not policy_patches._rule_key


def test_holds_is_isinstance(trained: tuple) -> None:
    from rasa.shared.core.events import Event

    events = _conversation(trained[3], 1)
    for kind in (SessionStarted, Restarted, ActionExecuted, UserUttered, Event, ConversationPaused):
        for part in (events, events[3:], events[:2], []):
            assert event_scan.holds(part, kind) == any(isinstance(e, kind) for e in part)


def test_the_key_after_a_snippet_state_is_rasas(trained: tuple) -> None:
    """With a `...` state among her last states, Rasa's key is made of the states after it:
    the same from the last states alone (a snippet state only comes from training data)."""
    _, rule, _, _ = trained
    states = [{"prev_action": {"action_name": "utter_menu"}}, {"prev_action": {"action_name": "..."}},
              {"user": {"intent": "thank"}, "prev_action": {"action_name": "action_listen"}}]
    tail = policy_patches.StatesTail(states)
    tail.beyond_lookup = True
    assert rule._create_feature_key(tail) == policy_patches._originals["rule_key"](rule, states)
    assert rule._create_feature_key(policy_patches.StatesTail([states[0], states[2]])) == \
        policy_patches._originals["rule_key"](rule, [states[0], states[2]])
    tail.pop(1)
    assert rule._create_feature_key(tail) == policy_patches.LONG_KEY



def test_the_folds_check_reads_only_what_is_new(trained: tuple) -> None:
    """The fold checks that her applied events start with those it folded; those it checked
    before are not read again while her applied events were only added to (no revert, restart
    or new session since): otherwise all are compared again."""
    from rasa.shared.core.events import UserUtteranceReverted

    from rasa_ext import states_fold
    domain, _, _, trackers = trained
    tracker = DialogueStateTracker.from_events("check", _conversation(trackers, 1, 100)[:200], domain.slots)
    domain.states_for_tracker_history(tracker)
    fold = next(f for k, f in states_fold._folds.items() if k[0] == "check")
    memo, cuts, checked = fold.checked
    assert memo is tracker.__dict__["_salama_applied"] and checked == len(fold.events) > 50
    fold.events[0] = ActionExecuted("not hers")  # (only a fold from another tracker could differ)
    assert states_fold._folded_first(fold, memo, tracker.applied_events())  # not read again
    tracker.update(UserUtteranceReverted())
    assert tracker.applied_events() and memo.cuts > cuts
    assert not states_fold._folded_first(fold, memo, tracker.applied_events())  # all compared
    with _rasas():
        expected = domain.states_for_tracker_history(tracker)
    assert domain.states_for_tracker_history(tracker) == expected  # (a new fold)

# Through Rasa itself: the trained model and the real action server (the `stack` fixture).
RESUME = None  # the gateway's resume after a handoff (bot/handoff.py)
SCRIPT = ["chokran", "rajli kaydrebni", "la", "fin n9der nbat lyouma f casa", "kifach ndir chikaya 3la rajli",
          "/request_human", RESUME, "où je peux dormir ce soir", "Casablanca", "merci", "/restart",
          "salam", "/session_start", "mon mari me frappe", "1", "fin kayn markaz", "fes", "bslama"]


def _comparable(event: dict) -> dict:
    return {k: _comparable(v) if isinstance(v, dict) else v for k, v in event.items()
            if k not in ("timestamp", "message_id")}


@pytest.mark.integration
async def test_a_long_conversation_through_rasa_is_rasas(stack: Any) -> None:
    import rasa.utils.log_utils
    from rasa.core.agent import Agent
    from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
    from rasa.utils.endpoints import EndpointConfig

    from tests.conftest import MODEL

    rasa.utils.log_utils.configure_structlog(logging.WARNING)  # (debug lines carry her text)
    rasa_patches.apply()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Slot auto-fill has been removed", UserWarning)
        agent = Agent.load(str(MODEL), action_endpoint=EndpointConfig(f"{stack.actions_url}/webhook"))

    async def play(sender: str) -> list:
        """Her events after each turn (Rasa keeps only her last session) and its answers."""
        turns = []
        for text in SCRIPT * 3:
            out = CollectingOutputChannel()
            if text is RESUME:
                tracker = await agent.tracker_store.retrieve(sender)
                for event in (ConversationResumed(), ActionExecuted("action_listen")):
                    tracker.update(event)
                await agent.tracker_store.save(tracker)
            else:
                await agent.handle_message(UserMessage(text, out, sender, metadata={"channel": "whatsapp"}))
            tracker = await agent.tracker_store.retrieve(sender)
            turns.append(([_comparable(e.as_dict()) for e in tracker.events],
                          [_comparable({**m, "recipient_id": None}) for m in out.messages]))
        return turns

    ours = await play("ours")
    with _rasas():
        theirs = await play("theirs")
    assert ours == theirs
    kinds = {e["event"] for events, _ in ours for e in events}
    assert {"pause", "resume", "session_started", "active_loop"} <= kinds  # (a restart starts a session)
