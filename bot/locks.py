"""Per-conversation ordering: one message of a conversation at a time, in arrival order."""
from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from typing import AsyncIterator


class ConversationLocks:
    """In-process FIFO locks, one per conversation, dropped when nobody holds or waits.

    asyncio.Lock wakes waiters in the order they started waiting, which is the order the
    webhooks arrived in.
    """

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._users: dict[str, int] = {}

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] = self._users.get(key, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._users[key] -= 1
            if not self._users[key]:
                del self._users[key]
                del self._locks[key]


_TAKE_TICKET = """
local ticket = redis.call('INCR', KEYS[1])
if ticket == 1 then redis.call('SET', KEYS[2], 1) end
redis.call('EXPIRE', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[2], ARGV[1])
return ticket
"""
# Advance "serving" only from the value the caller saw (a holder that died is skipped once).
_ADVANCE_FROM = """
if tonumber(redis.call('GET', KEYS[1]) or '0') == tonumber(ARGV[1]) then
  return redis.call('INCR', KEYS[1])
end
return 0
"""


class RedisConversationLocks:
    """FIFO ticket locks shared by several gateways through Redis.

    Each message takes the next ticket of its conversation (INCR) and waits until the
    conversation's "serving" number reaches it; releasing advances "serving". Within one
    gateway an in-process lock first keeps arrival order. A holder that died (its gateway was
    killed) is skipped after `stale_s` seconds without progress, so a conversation never
    stays stuck.
    """

    def __init__(self, url: str, stale_s: float = 45.0, poll_s: float = 0.01) -> None:
        import redis.asyncio

        self._redis = redis.asyncio.from_url(url)
        self._local = ConversationLocks()
        self._stale_s = stale_s
        self._poll_s = poll_s
        self._take = self._redis.register_script(_TAKE_TICKET)
        self._advance = self._redis.register_script(_ADVANCE_FROM)

    async def close(self) -> None:
        await self._redis.close()
        await self._redis.connection_pool.disconnect()

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        next_key, serving_key = f"salama:order:{key}:next", f"salama:order:{key}:serving"
        async with self._local.hold(key):
            ticket = int(await self._take(keys=[next_key, serving_key], args=[3600]))
            await self._wait_turn(serving_key, ticket)
            try:
                yield
            finally:
                await self._advance(keys=[serving_key], args=[ticket])

    async def _wait_turn(self, serving_key: str, ticket: int) -> None:
        loop = asyncio.get_running_loop()
        seen, since = None, loop.time()
        while True:
            serving = int(await self._redis.get(serving_key) or ticket)
            if serving >= ticket:
                return
            if serving != seen:
                seen, since = serving, loop.time()
            elif loop.time() - since > self._stale_s:
                await self._advance(keys=[serving_key], args=[serving])
                since = loop.time()
            await asyncio.sleep(self._poll_s)
