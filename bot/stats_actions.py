"""Counts, inside the action server, the topic of each message she sends (its intent's family,
data/stats/topics.yml) and the region she asks for help in (action_nearest_help's answer).

Rasa runs `action_extract_turn_slots` after every message she sends, with the tracker: its
latest intent is the topic. `action_nearest_help` sets the `region` slot: the region asked
about. Only those two labels are counted (bot.stats, into the gateway store's daily counters);
her sender id, text and slots go nowhere. `install()` wraps rasa_sdk's executor once, from
actions.server. A store that cannot be written loses counts, never an answer.
"""
from __future__ import annotations

import asyncio
import functools
import logging
import time
from pathlib import Path
from typing import Any, Optional

import yaml
from rasa_sdk.executor import ActionExecutor

from bot.stats import Stats
from core.settings import ROOT

log = logging.getLogger("salama.stats")
TOPICS = ROOT / "data" / "stats" / "topics.yml"
DOMAIN = ROOT / "domain.yml"
FLUSH_EVERY_S = 5.0


class TopicsError(ValueError):
    """topics.yml does not give every intent exactly one place; the message names file:line."""


def load_topics(path: Path = TOPICS, domain: Path = DOMAIN) -> dict[str, Optional[str]]:
    """intent -> family (None: not counted). Every intent of the domain exactly once."""
    root = yaml.compose(path.read_text(encoding="utf-8"))
    found: dict[str, Optional[str]] = {}

    def add(node: Any, family: Optional[str]) -> None:
        for item in node.value:
            where = f"{path}:{item.start_mark.line + 1}"
            if item.value in found:
                raise TopicsError(f"{where}: intent {item.value!r} is listed twice")
            found[item.value] = family

    for key, value in root.value:
        if key.value == "families":
            for family, intents in value.value:
                add(intents, family.value)
        elif key.value == "not_counted":
            add(value, None)
        else:
            raise TopicsError(f"{path}:{key.start_mark.line + 1}: unknown section {key.value!r}")
    intents = set(yaml.safe_load(domain.read_text(encoding="utf-8"))["intents"]) | {"nlu_fallback"}
    missing, unknown = sorted(intents - set(found)), sorted(set(found) - intents)
    if missing or unknown:
        raise TopicsError(f"{path}:1: intents missing {missing}, not in {domain.name} {unknown}")
    return found


class ActionStats:
    """The counters of one action server: what to count from an action call, and its flush."""

    def __init__(self, stats: Stats, topics: dict[str, Optional[str]]) -> None:
        self.stats, self.topics = stats, topics
        self._flushed = time.monotonic()
        self._flushing: Optional[asyncio.Future] = None

    def record(self, call: dict, result: Optional[dict]) -> None:
        name = call.get("next_action")
        if name == "action_extract_turn_slots":
            intent = ((call.get("tracker") or {}).get("latest_message") or {}).get("intent") or {}
            family = self.topics.get(intent.get("name") or "nlu_fallback", "unknown")
            if family:
                self.stats.count("topics", family)
        elif name == "action_nearest_help":
            for event in (result or {}).get("events", []):
                if event.get("event") == "slot" and event.get("name") == "region" and event.get("value"):
                    self.stats.count("regions_asked", event["value"])

    def flush_if_due(self) -> None:
        """Every FLUSH_EVERY_S, write the counts in a thread; the action's answer does not wait."""
        if time.monotonic() - self._flushed < FLUSH_EVERY_S or (self._flushing and not self._flushing.done()):
            return
        self._flushed = time.monotonic()
        self._flushing = asyncio.get_running_loop().run_in_executor(None, self._flush)

    def _flush(self) -> None:
        try:
            self.stats.flush()
        except Exception as exc:  # the store is down or not migrated: the counts wait
            log.warning("could not write the daily counters: %s", type(exc).__name__)


def install(counter: Optional[ActionStats] = None) -> Optional[ActionStats]:
    """Wrap ActionExecutor.run so that every action call is counted (idempotent). Without
    usable settings the action server runs uncounted rather than not at all."""
    if counter is None:
        from bot.store import make_engine
        from core.settings import SettingsError
        from rasa_ext.tracker_store import settings_from_env

        try:
            counter = ActionStats(Stats(make_engine(settings_from_env().store_url)), load_topics())
        except (SettingsError, TopicsError, OSError) as exc:
            log.warning("the action server counts no topic: %s", exc)
            return None
    assert counter is not None
    run = getattr(ActionExecutor.run, "__wrapped__", ActionExecutor.run)

    @functools.wraps(run)
    async def counted(self: ActionExecutor, action_call: dict) -> Optional[dict]:
        result = await run(self, action_call)
        try:
            counter.record(action_call, result)
            counter.flush_if_due()
        except Exception:  # counting must never cost her an answer
            log.exception("could not count an action call")
        return result

    ActionExecutor.run = counted
    return counter
