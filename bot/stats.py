"""The programme's daily counters: `stats.count(kind, key)` at each event, flushed in batches.

Counting costs her nothing: `count` adds to a dict in memory; `flush` (every few seconds,
from the console's background task, and at shutdown) adds the batch to the store's
`gw_daily_counts` (bot.store.stats_store). A gateway that dies loses at most its last few seconds
of counts, never a message. Keys are closed lists or short labels, never her words.
"""
from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import datetime, timedelta
from typing import Optional
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine

from bot.store import stats_store

MOROCCO = ZoneInfo("Africa/Casablanca")  # UTC+1, UTC+0 during Ramadan
# kind: what its key is ("" when it has none).
KINDS = {
    "conversations_new": "channel",
    "conversations_variety": "variety of her first message",
    "messages_in": "channel",
    "messages_out": "channel",
    "handoff_regions": "region of the handoff",
    "regions_asked": "region she asked for help in (action server)",
    "topics": "family of her message's intent (data/stats/topics.yml; action server)",
    "emergencies": "variety",
    "handoffs_asked": "priority",
    "handoff_reasons": "asked (she asked) or offered (she accepted the bot's offer)",
    "handoff_wait": "bucket (WAIT_BUCKETS)",
    "handoffs_unclaimed": "",
    "handoffs_after_hours": "",
    "fallbacks": "reason: rasa_slow, rasa_down, error",
    "erasures": "",
    "quick_exits": "",
    "stops": "",
}
# Minutes waited until a counsellor claimed her: (upper bound, label); the last is open.
WAIT_BUCKETS = ((1, "0-1"), (5, "1-5"), (15, "5-15"), (30, "15-30"), (60, "30-60"),
                (120, "60-120"), (None, "120+"))
MAX_KEY = 40


def day_of(at: float) -> str:
    """The Morocco calendar day of a Unix time, as YYYY-MM-DD (the last day asked for is kept
    with its bounds: every message asks, and nearly always for the same day)."""
    start, end, day = _last_day
    if start <= at < end:
        return day
    moment = datetime.fromtimestamp(at, MOROCCO)
    midnight = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    next_midnight = (midnight + timedelta(days=1, hours=3)).replace(hour=0)  # (a 23- or 25-hour day)
    _last_day[:] = [midnight.timestamp(), next_midnight.timestamp(), moment.strftime("%Y-%m-%d")]
    return _last_day[2]


_last_day: list = [0.0, 0.0, ""]


def wait_bucket(seconds: float) -> str:
    minutes = max(seconds, 0) / 60
    for bound, label in WAIT_BUCKETS:
        if bound is None or minutes < bound:
            return label
    raise AssertionError("the last bucket is open")


class Stats:
    """Daily counters of one process, added to the store by `flush`."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._pending: Counter[tuple[str, str, str]] = Counter()
        self._lock = threading.Lock()  # count() on the loop, flush() in a store thread

    def count(self, kind: str, key: Optional[str] = "", n: int = 1, at: Optional[float] = None) -> None:
        """Count `n` events of `kind` today (Morocco time), under `key` (None: "unknown")."""
        if kind not in KINDS:
            raise ValueError(f"unknown counter kind {kind!r}")  # a bug: the kinds are fixed
        label = "unknown" if key is None else str(key)[:MAX_KEY]
        with self._lock:
            self._pending[(day_of(time.time() if at is None else at), kind, label)] += n

    def flush(self) -> int:
        """Add what was counted since the last flush to the store; returns the rows written.
        On failure the batch is kept for the next flush."""
        with self._lock:
            batch, self._pending = self._pending, Counter()
        try:
            stats_store.add_counts(self._engine, [(*k, n) for k, n in batch.items()])
        except Exception:
            with self._lock:
                self._pending.update(batch)
            raise
        return len(batch)
