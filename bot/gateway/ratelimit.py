"""At most N messages a minute per conversation (the gateway lets emergencies and keywords pass)."""
from __future__ import annotations

from collections import defaultdict, deque


class RateLimiter:
    def __init__(self, per_minute: int) -> None:
        self._per_minute = per_minute
        self._seen: dict[str, deque] = defaultdict(deque)
        self._swept = 0.0

    def allow(self, key: str, now: float) -> bool:
        if now - self._swept > 60:  # once a minute, forget senders quiet for a minute
            self._swept = now
            for quiet in [k for k, w in self._seen.items() if not w or w[-1] < now - 60]:
                del self._seen[quiet]
        window = self._seen[key]
        while window and window[0] < now - 60:
            window.popleft()
        if len(window) >= self._per_minute:
            return False
        window.append(now)
        return True
