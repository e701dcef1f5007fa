"""The gateway store: one door, one interface per concern.

`Store(url)` opens SQLite (default, WAL mode) or PostgreSQL (DATABASE_URL), checks that the
schema is at this version's revision, and offers, each from its own module:
- conversations and turns (bot.store.conversation_store): MessageSid claims, a turn's two
  transactions, the counsellor's claim, the queue, erasure;
- transcript, notes and the messages Rasa has not seen (bot.store.transcript_store);
- the outbox (bot.store.outbox_store);
- audit and retention (bot.store.audit_store).

Methods are synchronous and short; async code calls them through `store.aio`, which runs
each call in one of the store's own threads: `await store.aio.get_conversation(conv_id)`;
on a local SQLite file, the turn's two transactions (ON_LOOP) run on the event loop itself,
on a connection that never waits (AsyncStore says why).
Text and addresses are stored encrypted by the caller (core.crypto.Vault): the store never
sees clear text it could leak. No module outside this package issues SQL on these tables.
"""
from __future__ import annotations

import asyncio
import functools
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Awaitable, Callable

import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from bot.store.account_store import AccountStore
from bot.store.audit_store import AuditStore
from bot.store.conversation_store import Conversation, ConversationStore, TurnStart
from bot.store.engine import STORE_THREADS, make_engine, sqlite_engine, sqlite_path
from bot.store.outbox_store import OutboxStore
from bot.store.schema import (
    audit,
    conversations,
    counsellors,
    daily_counts,
    inbound,
    metadata,
    notes,
    outbox,
    pending,
    sessions,
    transcript,
)
from bot.store.sqlite_direct import Busy, DirectTurns
from bot.store.transcript_store import TranscriptStore

MIGRATIONS = Path(__file__).parent.parent / "migrations"

__all__ = [
    "MIGRATIONS", "Conversation", "SchemaMismatch", "Store", "TurnStart", "audit", "conversations",
    "counsellors", "daily_counts", "inbound", "make_engine", "metadata", "notes", "outbox", "pending",
    "schema_head", "sessions", "sqlite_engine", "transcript",
]


class SchemaMismatch(RuntimeError):
    """The database's schema is not the one this version needs."""


@functools.lru_cache(maxsize=1)
def schema_head() -> str:
    """The newest revision in bot/migrations/: the schema this code needs."""
    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    assert head is not None, "bot/migrations/versions/ holds no migration"
    return head


class Store(ConversationStore, TranscriptStore, OutboxStore, AuditStore, AccountStore):
    """All reads and writes of the gateway's state (see the module's doc)."""

    def __init__(self, url: str) -> None:
        # A few threads of its own: a bounded number of threads is a bounded number of
        # malloc arenas (see bot.malloc), and a store call is short.
        self._threads = ThreadPoolExecutor(max_workers=STORE_THREADS, thread_name_prefix="store")
        self.engine = make_engine(url)
        path = sqlite_path(url)
        self._on_loop = DirectTurns(path) if path else None
        self.aio = AsyncStore(self)
        try:
            self._check_schema()
        except BaseException:
            self.close()
            raise

    def _check_schema(self) -> None:
        """Fail at start-up, clearly, unless the database is at this version's revision: the
        schema is created and upgraded by `python -m bot.migrate`, never by a running process
        (several start together and would race)."""
        with self.engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
        if current != schema_head():
            found = f"at revision {current}" if current else "not migrated (empty, or made before migrations)"
            raise SchemaMismatch(
                f"the store at {self.engine.url.render_as_string(hide_password=True)} is {found}; this "
                f"version needs revision {schema_head()}: run `python -m bot.migrate` first "
                "(`make run` and `make run-scaled` do)")

    def close(self) -> None:
        self._threads.shutdown(wait=True)
        self.engine.dispose()
        if self._on_loop is not None:
            self._on_loop.close()

    def ping(self) -> bool:
        with self.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        return True


# Calls run on the event loop when the store is a local SQLite file (see AsyncStore).
ON_LOOP = frozenset({"begin_turn", "finish_turn"})


class AsyncStore:
    """The store's methods as coroutines, each run in one of the store's threads, off the
    event loop: `await store.aio.finish_turn(...)`.

    Except, on a local SQLite file, the calls in ON_LOOP: the turn's two transactions, the
    first of which she waits for before Rasa is asked. The hop to a thread and back cost more
    than the transaction (0.8 ms in all in an idle process against 0.34 ms called directly,
    1.9 ms in the gateway under `make bench`); run on the loop, on a sqlite3 connection of
    its own (bot.store.sqlite_direct), the first takes 0.07 ms. That connection never waits
    for SQLite's lock: when another connection is writing (a thread of this store, or another
    process), it gives up at once and the call goes to a thread like any other."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run a function of the store's own modules that is not a Store method."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._store._threads, functools.partial(fn, *args, **kwargs))

    def __getattr__(self, name: str) -> Callable[..., Awaitable[Any]]:
        method = getattr(self._store, name)
        on_loop = getattr(self._store._on_loop, name) if name in ON_LOOP and self._store._on_loop else None

        async def call(*args: Any, **kwargs: Any) -> Any:
            if on_loop is not None:
                try:
                    return on_loop(*args, **kwargs)
                except Busy:  # nothing written: the thread does it all, waiting for the lock
                    pass
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._store._threads,
                                              functools.partial(method, *args, **kwargs))

        call.__name__ = name
        setattr(self, name, call)  # made once per method: later lookups find it directly
        return call
