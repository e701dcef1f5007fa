"""Counsellor login: throttled by (name, address), by address and overall, with password
checks on a thread of their own, so that a login storm reveals no name, locks no counsellor
out and does not slow her webhook."""
from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import hmac
import ipaddress
import math
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, AsyncIterator, Callable, Iterator, Optional, Protocol, TypeVar, Union

from aiohttp import web

from bot.appkeys import SETTINGS, STORE
from bot.console import accounts

T = TypeVar("T")

# One name from one address: PAIR_FREE failures, then 1, 2, 4 ... up to 60 s between tries;
# forgotten PAIR_MEMORY_S after the last failure, or at once on success. Keyed on the name
# typed, known or not: an unknown name is throttled exactly like a real one.
PAIR_FREE, PAIR_MAX_DELAY_S, PAIR_MEMORY_S = 3, 60, 15 * 60
# Password checks per WINDOW_S, from one address and from everywhere (all gateways).
WINDOW_S, PER_ADDRESS, OVERALL = 10 * 60, 20, 200
# Password checks waiting for this gateway's hashing thread; beyond that, "try again".
QUEUE, BUSY_RETRY_S = 8, 2
HASHER_NICE = 19  # the lowest CPU priority


class Counters(Protocol):
    """Expiring counters: in this process, or in Redis when several gateways share them."""

    async def hit(self, key: str, ttl_s: float, sliding: bool) -> int: ...

    async def peek(self, key: str) -> tuple[int, float]: ...

    async def forget(self, key: str) -> None: ...

    async def close(self) -> None: ...


class MemoryCounters:
    """Counters in a dict; expired ones are dropped as it grows (the overall limit bounds it)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._items: dict[str, list[float]] = {}  # key -> [count, expires_at]
        self._clock = clock

    def _live(self, key: str, now: float) -> Optional[list[float]]:
        item = self._items.get(key)
        if item is not None and item[1] <= now:
            del self._items[key]
            return None
        return item

    async def hit(self, key: str, ttl_s: float, sliding: bool) -> int:
        now = self._clock()
        if len(self._items) > 4 * OVERALL:
            self._items = {k: v for k, v in self._items.items() if v[1] > now}
        item = self._live(key, now)
        if item is None:
            item = self._items[key] = [0, now + ttl_s]
        item[0] += 1
        if sliding:
            item[1] = now + ttl_s
        return int(item[0])

    async def peek(self, key: str) -> tuple[int, float]:
        now = self._clock()
        item = self._live(key, now)
        return (0, 0.0) if item is None else (int(item[0]), item[1] - now)

    async def forget(self, key: str) -> None:
        self._items.pop(key, None)

    async def close(self) -> None:
        self._items.clear()


# Count and (re)arm the expiry in one step, so that concurrent gateways never lose a hit.
_HIT = """
local n = redis.call('INCR', KEYS[1])
if n == 1 or ARGV[2] == '1' then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n
"""


class LimitsUnavailable(RuntimeError):
    """The shared counters cannot be reached: no password is checked without its limits."""


class RedisCounters:
    """The same counters in Redis (REDIS_URL), shared by every gateway."""

    def __init__(self, url: str) -> None:
        import redis.asyncio
        import redis.exceptions

        self._redis = redis.asyncio.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._hit = self._redis.register_script(_HIT)
        self._errors = (redis.exceptions.RedisError, OSError)

    @contextlib.asynccontextmanager
    async def _reached(self) -> AsyncIterator[None]:
        try:
            yield
        except self._errors as exc:
            raise LimitsUnavailable(type(exc).__name__) from None

    async def hit(self, key: str, ttl_s: float, sliding: bool) -> int:
        async with self._reached():
            return int(await self._hit(keys=[key], args=[int(ttl_s * 1000), int(sliding)]))

    async def peek(self, key: str) -> tuple[int, float]:
        async with self._reached(), self._redis.pipeline(transaction=True) as pipe:
            count, ttl_ms = await pipe.get(key).pttl(key).execute()
        return (int(count), ttl_ms / 1000) if count is not None and ttl_ms > 0 else (0, 0.0)

    async def forget(self, key: str) -> None:
        async with self._reached():
            await self._redis.delete(key)

    async def close(self) -> None:
        await self._redis.close()
        await self._redis.connection_pool.disconnect()


def pair_delay(failures: int) -> float:
    """Seconds to wait after `failures` failures of one name from one address."""
    return 0.0 if failures < PAIR_FREE else float(min(2 ** (failures - PAIR_FREE), PAIR_MAX_DELAY_S))


class Limiter:
    """The three login limits. Keys are keyed hashes: no name or address is kept in clear, and
    deployments (or tests) sharing one Redis do not share counters unless they share a secret."""

    def __init__(self, counters: Counters, secret: str) -> None:
        self.counters = counters
        self._secret = hmac.new(secret.encode(), b"console-login-limits", hashlib.sha256).digest()

    def key(self, *parts: str) -> str:
        digest = hmac.new(self._secret, "\0".join(parts).encode(), hashlib.sha256).hexdigest()
        return f"salama:login:{digest[:32]}"

    async def admit(self, name: str, address: str) -> float:
        """0 when this attempt may check a password (and is counted); else seconds to wait."""
        count, left = await self.counters.peek(self.key("pair", name, address))
        wait = pair_delay(count) - (PAIR_MEMORY_S - left) if count else 0.0
        if wait > 0:
            return wait
        windows = ((self.key("address", address), PER_ADDRESS), (self.key("overall"), OVERALL))
        for key, limit in windows:
            count, left = await self.counters.peek(key)
            if count >= limit:
                return max(left, 1.0)
        # Counted only once admitted, so that refused tries (from however many addresses)
        # create no counter; concurrent tries may pass a limit by the few in flight.
        for key, _ in windows:
            await self.counters.hit(key, WINDOW_S, sliding=False)
        return 0.0

    async def failed(self, name: str, address: str) -> None:
        await self.counters.hit(self.key("pair", name, address), PAIR_MEMORY_S, sliding=True)

    async def succeeded(self, name: str, address: str) -> None:
        await self.counters.forget(self.key("pair", name, address))


def _lower_priority() -> None:
    """The hashing thread yields the CPU to the event loop and to Rasa: a login may wait a
    little, her answer should not. (Linux sets a nice value per thread.)"""
    with contextlib.suppress(OSError, AttributeError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), HASHER_NICE)


class Hasher:
    """One thread for password hashes, apart from the store's threads (her webhook needs
    those), with a bounded queue: a storm is refused quickly instead of queued for minutes."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="login", initializer=_lower_priority)
        self._waiting = 0

    @contextlib.contextmanager
    def slot(self) -> Iterator[bool]:
        """A place among the QUEUE logins this gateway checks at once; False when full."""
        if self._waiting >= QUEUE:
            yield False
            return
        self._waiting += 1
        try:
            yield True
        finally:
            self._waiting -= 1

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, functools.partial(fn, *args))

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


@dataclass
class Gate:
    limiter: Limiter
    hasher: Hasher


GATE = web.AppKey("console_login", Gate)


@dataclass
class Refused:
    """Too many attempts: the same answer whether the name exists or not."""

    retry_after: int


async def gate_ctx(app: web.Application) -> AsyncIterator[None]:
    """The app's login gate: Redis counters when REDIS_URL is set, else in this process."""
    settings = app[SETTINGS]
    counters: Counters = RedisCounters(settings.redis_url) if settings.redis_url else MemoryCounters()
    hasher = Hasher()
    app[GATE] = Gate(Limiter(counters, settings.salama_secret), hasher)
    yield
    hasher.close()
    await counters.close()


def client_address(request: web.Request) -> str:
    """The peer's address; behind a reverse proxy on this machine (a loopback peer), the
    address that proxy appended last to X-Forwarded-For (the one a client cannot forge).
    An IPv6 address counts as its /64: one subscriber usually holds a whole /64."""
    peer = request.remote or ""
    forwarded = request.headers.get("X-Forwarded-For", "").split(",")[-1].strip()
    try:
        loopback = ipaddress.ip_address(peer).is_loopback
    except ValueError:
        loopback = False
    address = forwarded if forwarded and loopback else peer
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


async def authenticate(app: web.Application, name: str, password: str, address: str) -> Union[bool, Refused]:
    """True for the right password; False for any failure; Refused when throttled."""
    with app[GATE].hasher.slot() as admitted:
        if not admitted:
            return Refused(BUSY_RETRY_S)
        return await _authenticate(app, name, password, address)


async def _authenticate(app: web.Application, name: str, password: str, address: str) -> Union[bool, Refused]:
    gate, store = app[GATE], app[STORE]
    wait = await gate.limiter.admit(name, address)
    if wait:
        return Refused(math.ceil(wait))
    stored = await store.aio.call(accounts.password_hash, store, name)
    if not await gate.hasher.run(accounts.check_password, password, stored):
        await gate.limiter.failed(name, address)
        # An unknown "name" is often a password typed in the wrong box: not kept.
        await store.aio.audit("login_failed", name if stored is not None else None, None)
        return False
    await gate.limiter.succeeded(name, address)
    if stored and accounts.needs_rehash(stored):
        new = await gate.hasher.run(accounts.hash_password, password)
        await store.aio.call(accounts.replace_hash, store, name, stored, new)
    return True
