"""The turn's two transactions on a local SQLite file, run on a sqlite3 connection directly,
on the event loop (bot.store.AsyncStore says when).

SQLAlchemy's execution path costs several times the SQL itself here: begin_turn took 0.34 ms
through it against 0.07 ms directly, and three times that in the gateway under `make bench`,
where every turn runs with cold caches after Rasa's. The statements are conversation_store's
own, compiled once for SQLite, so tables and columns cannot drift apart; the tests run both
paths on the same turns and compare every row they leave.

The connection never waits for SQLite's lock and never checkpoints the WAL (a checkpoint
syncs the file; the store's threads do it when they commit, the statistics every few seconds
under traffic): when another connection is writing, `Busy` is raised at once, nothing is
written, and the caller runs the store's own method in a thread.
"""
from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from typing import Any, Callable, Iterator, Optional

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite

from bot.store import conversation_store as cs
from bot.store.conversation_store import Conversation, TurnStart, sealed
from bot.store.schema import conversations


class Busy(Exception):
    """Another connection holds SQLite's write lock: run the call in a thread instead."""


class _Statement:
    """A Core statement compiled once for SQLite: its SQL and the order of its parameters."""

    def __init__(self, statement: Any, keys: Optional[list[str]] = None) -> None:
        compiled = statement.compile(dialect=sqlite.dialect(), column_keys=keys)
        self.sql = str(compiled)
        self._order = compiled.positiontup
        self._fixed = {name: bind.value for name, bind in compiled.binds.items()
                       if not bind.required and bind.value is not None}

    def args(self, params: dict[str, Any]) -> tuple:
        return tuple(params[k] if k in params else self._fixed.get(k) for k in self._order)


_CLAIM = _Statement(cs._CLAIM, ["message_sid", "conversation_id", "received_at"])
_TOUCH = _Statement(cs._TOUCH)
_CREATE = _Statement(cs._CREATE)
_CONVERSATION = _Statement(cs._CONVERSATION)
_TRANSCRIPT = _Statement(cs._TRANSCRIPT, ["conversation_id", "sender", "counsellor", "text_enc", "at"])
_PENDING = _Statement(cs._PENDING)
_CLAIMED = _Statement(cs._CLAIMED)
_SAVE_REPLY = _Statement(cs._SAVE_REPLY, ["reply_enc"])
_BOOLEANS = frozenset(c.name for c in conversations.c if isinstance(c.type, sa.Boolean))


class DirectTurns:
    """begin_turn and finish_turn as ConversationStore's, on one sqlite3 connection used by the
    event loop."""

    def __init__(self, path: str) -> None:
        self._db = sqlite3.connect(path, timeout=0, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA busy_timeout=0")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA wal_autocheckpoint=0")
        self._lock = threading.Lock()  # one transaction at a time (the loop is one thread)
        self._updates: dict[frozenset, _Statement] = {}  # by the columns set

    def close(self) -> None:
        self._db.close()

    def _run(self, statement: _Statement, params: dict[str, Any]) -> sqlite3.Cursor:
        return self._db.execute(statement.sql, statement.args(params))

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        """BEGIN IMMEDIATE (the write lock now, or Busy at once) ... COMMIT, or ROLLBACK."""
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                raise Busy() from exc
            try:
                yield
            except BaseException:
                if self._db.in_transaction:  # (SQLite may have rolled back by itself)
                    self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def begin_turn(
        self, message_sid: str, conversation_id: str, address_enc: bytes | Callable[[], bytes], channel: str,
        user_text_enc: Optional[bytes], unless_opted_out: bool = False,
    ) -> Optional[TurnStart]:
        """ConversationStore.begin_turn's transaction (its doc says what it does)."""
        try:
            with self._transaction():
                return self._begin_turn(message_sid, conversation_id, address_enc, channel,
                                        user_text_enc, unless_opted_out)
        except sqlite3.IntegrityError:
            if message_sid and self._claimed(message_sid):
                return None  # a retried webhook: nothing written
            raise

    def finish_turn(self, conversation_id: str, message_sid: str, reply_enc: Optional[bytes],
                    bot_texts_enc: list[bytes], **values: Any) -> None:
        """ConversationStore.finish_turn's transaction (its doc says what it does)."""
        with self._transaction():
            if values:
                row = cs.columns(values)
                self._run(self._update(frozenset(row)), {**row, "b_id": conversation_id})
            for text_enc in bot_texts_enc:
                self._run(_TRANSCRIPT, {"conversation_id": conversation_id, "sender": "bot", "counsellor": None,
                                        "text_enc": text_enc, "at": time.time()})
            if message_sid and reply_enc is not None:
                self._run(_SAVE_REPLY, {"b_sid": message_sid, "reply_enc": reply_enc})

    def _update(self, names: frozenset) -> _Statement:
        """The UPDATE that sets these columns (compiled once per set of names)."""
        if names not in self._updates:
            unknown = names - set(conversations.c.keys())
            if unknown:  # (SQLAlchemy raises for them too; compiling would drop them)
                raise ValueError(f"no such conversation columns: {sorted(unknown)}")
            self._updates[names] = _Statement(cs._UPDATE, sorted(names))
        return self._updates[names]

    def _begin_turn(self, message_sid: str, conversation_id: str, address_enc: bytes | Callable[[], bytes],
                    channel: str, user_text_enc: Optional[bytes], unless_opted_out: bool) -> TurnStart:
        now = time.time()
        if message_sid:
            self._run(_CLAIM, {"message_sid": message_sid, "conversation_id": conversation_id,
                               "received_at": now})
        created = not self._run(_TOUCH, {"b_id": conversation_id, "b_now": now}).rowcount
        if created:
            self._run(_CREATE, {
                "id": conversation_id, "address_enc": sealed(address_enc), "channel": channel,
                "status": "bot", "priority": 0, "timeout_notified": False, "opted_out": False,
                "quiet": False, "last_inbound_at": now, "created_at": now, "updated_at": now,
            })
        conv = Conversation.from_mapping(self._one(_CONVERSATION, {"b_id": conversation_id}))
        if user_text_enc is not None and not (unless_opted_out and conv.opted_out):
            self._run(_TRANSCRIPT, {"conversation_id": conversation_id, "sender": "user", "counsellor": None,
                                    "text_enc": user_text_enc, "at": time.time()})
        cursor = self._run(_PENDING, {"b_id": conversation_id})
        names = [d[0] for d in cursor.description]
        return TurnStart(conv, created, [dict(zip(names, row)) for row in cursor])

    def _one(self, statement: _Statement, params: dict[str, Any]) -> dict[str, Any]:
        cursor = self._run(statement, params)
        row = cursor.fetchone()
        data = dict(zip((d[0] for d in cursor.description), row))
        for name in _BOOLEANS & data.keys():
            data[name] = bool(data[name])
        return data

    def _claimed(self, message_sid: str) -> bool:
        return self._run(_CLAIMED, {"b_sid": message_sid}).fetchone() is not None
