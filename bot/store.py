"""The gateway store: conversations, idempotency claims, transcripts, outbox, counsellors.

SQLAlchemy Core on SQLite (default, WAL mode) or PostgreSQL (DATABASE_URL). Calls are
synchronous and short; the gateway runs them in a thread (`Store.run`). Text and
addresses are stored encrypted by the caller (see bot.crypto.Vault): this module never
sees clear text it could leak.

The tables below are the newest schema; bot/migrations/ creates and upgrades databases to it
(`python -m bot.migrate`, docs/MIGRATIONS.md). A Store only checks the revision.
"""
from __future__ import annotations

import asyncio
import functools
import json
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional, TypeVar

import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

T = TypeVar("T")
STORE_THREADS = 4
MIGRATIONS = Path(__file__).with_name("migrations")
metadata = sa.MetaData()

conversations = sa.Table(
    "gw_conversations",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),  # the pseudonym
    sa.Column("address_enc", sa.LargeBinary, nullable=False),
    sa.Column("channel", sa.String(10), nullable=False),
    sa.Column("language", sa.String(10)),
    sa.Column("status", sa.String(10), nullable=False, default="bot"),  # bot|waiting|active
    sa.Column("priority", sa.Integer, nullable=False, default=0),  # 2 emergency, 1 disclosure
    sa.Column("region", sa.String(40)),
    sa.Column("counsellor", sa.String(64)),
    sa.Column("waiting_since", sa.Float),
    sa.Column("timeout_notified", sa.Boolean, nullable=False, default=False),
    sa.Column("last_inbound_at", sa.Float),
    sa.Column("opted_out", sa.Boolean, nullable=False, default=False),
    sa.Column("quiet", sa.Boolean, nullable=False, default=False),
    sa.Column("options", sa.Text),  # JSON list of payloads behind "1", "2", ...
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
)

inbound = sa.Table(
    "gw_inbound",
    metadata,
    sa.Column("message_sid", sa.String(64), primary_key=True),
    sa.Column("conversation_id", sa.String(40), nullable=False, index=True),
    sa.Column("received_at", sa.Float, nullable=False),
    sa.Column("reply_enc", sa.LargeBinary),  # TwiML answered, replayed on a retry
)

transcript = sa.Table(
    "gw_transcript",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("conversation_id", sa.String(40), nullable=False, index=True),
    sa.Column("sender", sa.String(12), nullable=False),  # user|bot|counsellor
    sa.Column("counsellor", sa.String(64)),
    sa.Column("text_enc", sa.LargeBinary, nullable=False),
    sa.Column("at", sa.Float, nullable=False),
)

outbox = sa.Table(
    "gw_outbox",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("conversation_id", sa.String(40), nullable=False, index=True),
    sa.Column("body_enc", sa.LargeBinary, nullable=False),
    sa.Column("content_sid", sa.String(64)),  # an approved WhatsApp template instead of a body
    sa.Column("status", sa.String(12), nullable=False, default="pending"),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("next_attempt_at", sa.Float, nullable=False),
    sa.Column("lease_until", sa.Float),
    sa.Column("twilio_sid", sa.String(64), index=True),
    sa.Column("delivery", sa.String(16)),  # Twilio's status callback: delivered, failed...
    sa.Column("created_at", sa.Float, nullable=False),
)

notes = sa.Table(
    "gw_notes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("conversation_id", sa.String(40), nullable=False, index=True),
    sa.Column("counsellor", sa.String(64), nullable=False),
    sa.Column("text_enc", sa.LargeBinary, nullable=False),
    sa.Column("at", sa.Float, nullable=False),
)

counsellors = sa.Table(
    "gw_counsellors",
    metadata,
    sa.Column("username", sa.String(64), primary_key=True),
    sa.Column("password_hash", sa.String(300), nullable=False),
    sa.Column("failed_logins", sa.Integer, nullable=False, default=0),
    sa.Column("locked_until", sa.Float),
    sa.Column("created_at", sa.Float, nullable=False),
)

sessions = sa.Table(
    "gw_sessions",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("username", sa.String(64), nullable=False),
    sa.Column("csrf_token", sa.String(64), nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
)

audit = sa.Table(
    "gw_audit",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.Float, nullable=False),
    sa.Column("counsellor", sa.String(64)),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("conversation_id", sa.String(40)),
)

pending = sa.Table(
    "gw_pending",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("conversation_id", sa.String(40), nullable=False, index=True),
    sa.Column("text_enc", sa.LargeBinary, nullable=False),  # what goes to Rasa, encrypted
    sa.Column("metadata_enc", sa.LargeBinary, nullable=False),  # JSON: channel, language, location
    sa.Column("created_at", sa.Float, nullable=False),
)


class SchemaMismatch(RuntimeError):
    """The database's schema is not the one this version needs."""


@functools.lru_cache(maxsize=1)
def schema_head() -> str:
    """The newest revision in bot/migrations/: the schema this code needs."""
    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    assert head is not None, "bot/migrations/versions/ holds no migration"
    return head


@dataclass
class Conversation:
    id: str
    address_enc: bytes
    channel: str
    language: Optional[str]
    status: str
    priority: int
    region: Optional[str]
    counsellor: Optional[str]
    waiting_since: Optional[float]
    timeout_notified: bool
    last_inbound_at: Optional[float]
    opted_out: bool
    quiet: bool
    options: list
    created_at: float
    updated_at: float

    @classmethod
    def from_row(cls, row: Any) -> "Conversation":
        data = dict(row._mapping)
        data["options"] = json.loads(data["options"]) if data["options"] else []
        data["address_enc"] = bytes(data["address_enc"])
        return cls(**data)


@dataclass
class TurnStart:
    """What Store.begin_turn read: the conversation, whether it is new, and the messages
    still waiting for Rasa (oldest first)."""

    conversation: Conversation
    is_new: bool
    pending: list


# The statements of a turn, built once: building them per call cost more than running them.
_CLAIM = inbound.insert()
_TOUCH = (conversations.update().where(conversations.c.id == sa.bindparam("b_id"))
          .values(last_inbound_at=sa.bindparam("b_now"), updated_at=sa.bindparam("b_now"), quiet=False))
_CREATE = conversations.insert()
_CONVERSATION = sa.select(conversations).where(conversations.c.id == sa.bindparam("b_id"))
_UPDATE = conversations.update().where(conversations.c.id == sa.bindparam("b_id"))
_TRANSCRIPT = transcript.insert()
_PENDING = (sa.select(pending).where(pending.c.conversation_id == sa.bindparam("b_id"))
            .order_by(pending.c.id))
_SAVE_REPLY = inbound.update().where(inbound.c.message_sid == sa.bindparam("b_sid"))


def _claim(conn: Any, message_sid: str, conversation_id: str) -> None:
    """Raises IntegrityError when the MessageSid was claimed before."""
    conn.execute(_CLAIM, {"message_sid": message_sid, "conversation_id": conversation_id,
                          "received_at": time.time()})


def _touch(conn: Any, conversation_id: str, address_enc: bytes, channel: str) -> tuple[Conversation, bool]:
    now = time.time()
    updated = conn.execute(_TOUCH, {"b_id": conversation_id, "b_now": now}).rowcount
    created = False
    if not updated:
        try:
            with conn.begin_nested():
                conn.execute(_CREATE, {
                    "id": conversation_id, "address_enc": address_enc, "channel": channel,
                    "status": "bot", "priority": 0, "timeout_notified": False, "opted_out": False,
                    "quiet": False, "last_inbound_at": now, "created_at": now, "updated_at": now,
                })
            created = True
        except IntegrityError:  # created concurrently by another gateway
            pass
    row = conn.execute(_CONVERSATION, {"b_id": conversation_id}).first()
    return Conversation.from_row(row), created


def _update_conversation(conn: Any, conversation_id: str, values: dict[str, Any]) -> None:
    values = dict(values)
    if "options" in values and values["options"] is not None:
        values["options"] = json.dumps(values["options"])
    values["updated_at"] = time.time()
    conn.execute(_UPDATE, {**values, "b_id": conversation_id})  # SET the columns given


def _add_transcript(conn: Any, conversation_id: str, sender: str, text_enc: bytes,
                    counsellor: Optional[str] = None) -> None:
    conn.execute(_TRANSCRIPT, {"conversation_id": conversation_id, "sender": sender,
                               "counsellor": counsellor, "text_enc": text_enc, "at": time.time()})


def sqlite_engine(url: Any, pool_size: int, max_overflow: int, future: bool) -> Engine:
    """A SQLite engine that keeps its connections open, in WAL mode (also Rasa's tracker store,
    bot.tracker_store)."""
    engine = sa.create_engine(
        url, connect_args={"timeout": 30, "check_same_thread": False}, future=future,
        poolclass=sa.pool.QueuePool, pool_size=pool_size, max_overflow=max_overflow,
    )
    sa.event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # WAL lets readers and one writer work together; busy_timeout waits instead of failing
    # with "database is locked"; synchronous=NORMAL: a crash of the process loses nothing
    # committed, a power cut may lose the last transactions.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # A pool keeps connections open: SQLAlchemy's default for SQLite files opens one per
        # call (NullPool), which cost about 20 ms a message in `make bench`.
        return sqlite_engine(url, pool_size=STORE_THREADS, max_overflow=8, future=True)
    return sa.create_engine(url, pool_pre_ping=True, pool_size=10, future=True)


class Store:
    """All reads and writes of the gateway's state."""

    def __init__(self, url: str) -> None:
        # A few threads of its own: a bounded number of threads is a bounded number of
        # malloc arenas (see bot.malloc), and a store call is short.
        self._threads = ThreadPoolExecutor(max_workers=STORE_THREADS, thread_name_prefix="store")
        self.engine = make_engine(url)
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

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run one store call in one of the store's threads, off the event loop."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._threads, functools.partial(fn, *args, **kwargs))

    def close(self) -> None:
        self._threads.shutdown(wait=True)
        self.engine.dispose()

    def ping(self) -> bool:
        with self.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        return True

    # -- idempotency ---------------------------------------------------------------
    def claim_message(self, message_sid: str, conversation_id: str) -> bool:
        """True if this MessageSid is new (claimed now); False for a retried webhook."""
        try:
            with self.engine.begin() as conn:
                _claim(conn, message_sid, conversation_id)
            return True
        except IntegrityError:
            return False

    def save_reply(self, message_sid: str, reply_enc: bytes) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                inbound.update()
                .where(inbound.c.message_sid == message_sid)
                .values(reply_enc=reply_enc)
            )

    def stored_reply(self, message_sid: str) -> tuple[Optional[str], Optional[bytes]]:
        """Who claimed this MessageSid, and the answer kept for a retry (None if not yet)."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(inbound.c.conversation_id, inbound.c.reply_enc)
                               .where(inbound.c.message_sid == message_sid)).first()
        if row is None:
            return None, None
        return row.conversation_id, bytes(row.reply_enc) if row.reply_enc is not None else None

    def is_claimed(self, message_sid: str) -> bool:
        """Whether this MessageSid was claimed (its answer may still be on its way)."""
        with self.engine.connect() as conn:
            return conn.execute(sa.select(inbound.c.message_sid)
                                .where(inbound.c.message_sid == message_sid)).first() is not None

    # -- conversations -------------------------------------------------------------
    def get_conversation(self, conversation_id: str) -> Optional[Conversation]:
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(conversations).where(conversations.c.id == conversation_id)
            ).first()
        return Conversation.from_row(row) if row else None

    def touch_conversation(
        self, conversation_id: str, address_enc: bytes, channel: str
    ) -> tuple[Conversation, bool]:
        """Record an inbound message; create the conversation if new. Returns (conv, is_new)."""
        with self.engine.begin() as conn:
            return _touch(conn, conversation_id, address_enc, channel)

    # -- one turn: a transaction before Rasa, one after ------------------------------------
    def begin_turn(
        self, message_sid: str, conversation_id: str, address_enc: bytes, channel: str,
        user_text_enc: Optional[bytes], unless_opted_out: bool = False,
    ) -> Optional[TurnStart]:
        """Everything a message needs before Rasa, in one transaction: claim its MessageSid,
        record it on the conversation (created if new), add her text to the transcript
        (`user_text_enc`; not when `unless_opted_out` and she has opted out) and read the
        messages still waiting for Rasa. None for a retried webhook (the MessageSid was
        claimed before): then nothing is written."""
        try:
            with self.engine.begin() as conn:
                if message_sid:
                    _claim(conn, message_sid, conversation_id)
                conv, created = _touch(conn, conversation_id, address_enc, channel)
                if user_text_enc is not None and not (unless_opted_out and conv.opted_out):
                    _add_transcript(conn, conversation_id, "user", user_text_enc)
                rows = conn.execute(_PENDING, {"b_id": conversation_id})
                return TurnStart(conv, created, [dict(r._mapping) for r in rows])
        except IntegrityError:
            if message_sid and self.is_claimed(message_sid):
                return None
            raise

    def finish_turn(
        self, conversation_id: str, message_sid: str, reply_enc: Optional[bytes],
        bot_texts_enc: list[bytes], **values: Any,
    ) -> None:
        """Everything a turn writes after Rasa answered, in one transaction: conversation
        fields (`values`: language, options...), the bot's lines in the transcript and the
        answer kept for a retried webhook."""
        with self.engine.begin() as conn:
            if values:
                _update_conversation(conn, conversation_id, values)
            for text_enc in bot_texts_enc:
                _add_transcript(conn, conversation_id, "bot", text_enc)
            if message_sid and reply_enc is not None:
                conn.execute(_SAVE_REPLY, {"b_sid": message_sid, "reply_enc": reply_enc})

    def update_conversation(self, conversation_id: str, **values: Any) -> None:
        with self.engine.begin() as conn:
            _update_conversation(conn, conversation_id, values)

    def claim_conversation(self, conversation_id: str, counsellor: str) -> bool:
        """Atomically give a waiting conversation to one counsellor."""
        with self.engine.begin() as conn:
            return bool(
                conn.execute(
                    conversations.update()
                    .where(conversations.c.id == conversation_id)
                    .where(conversations.c.status == "waiting")
                    .values(status="active", counsellor=counsellor, updated_at=time.time())
                ).rowcount
            )

    def list_conversations(self, statuses: tuple[str, ...], counsellor: Optional[str] = None) -> list[Conversation]:
        query = sa.select(conversations).where(conversations.c.status.in_(statuses))
        if counsellor:
            query = query.where(conversations.c.counsellor == counsellor)
        query = query.order_by(conversations.c.priority.desc(), conversations.c.waiting_since)
        with self.engine.connect() as conn:
            return [Conversation.from_row(r) for r in conn.execute(query)]

    def waiting_overdue(self, older_than: float) -> list[Conversation]:
        query = (
            sa.select(conversations)
            .where(conversations.c.status == "waiting")
            .where(conversations.c.timeout_notified.is_(False))
            .where(conversations.c.waiting_since < older_than)
        )
        with self.engine.connect() as conn:
            return [Conversation.from_row(r) for r in conn.execute(query)]

    def message_sids(self, conversation_id: str) -> list[str]:
        """Twilio's ids of her messages, both ways (to redact them at Twilio)."""
        with self.engine.connect() as conn:
            inbound_sids = conn.execute(sa.select(inbound.c.message_sid).where(
                inbound.c.conversation_id == conversation_id)).scalars().all()
            outbound_sids = conn.execute(sa.select(outbox.c.twilio_sid).where(
                outbox.c.conversation_id == conversation_id).where(outbox.c.twilio_sid.isnot(None))).scalars().all()
        return [*inbound_sids, *outbound_sids]

    def erase_conversation(self, conversation_id: str) -> None:
        """Delete everything held about one conversation (her 'forget me')."""
        with self.engine.begin() as conn:
            for table in (transcript, outbox, notes, inbound, pending):
                conn.execute(table.delete().where(table.c.conversation_id == conversation_id))
            conn.execute(conversations.delete().where(conversations.c.id == conversation_id))

    # -- transcript ------------------------------------------------------------------
    def add_transcript(
        self, conversation_id: str, sender: str, text_enc: bytes, counsellor: Optional[str] = None
    ) -> None:
        with self.engine.begin() as conn:
            _add_transcript(conn, conversation_id, sender, text_enc, counsellor)

    def get_transcript(self, conversation_id: str) -> list[dict]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(transcript)
                .where(transcript.c.conversation_id == conversation_id)
                .order_by(transcript.c.id)
            )
            return [dict(r._mapping) for r in rows]

    # -- notes and audit -----------------------------------------------------------
    def add_note(self, conversation_id: str, counsellor: str, text_enc: bytes) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                notes.insert().values(
                    conversation_id=conversation_id,
                    counsellor=counsellor,
                    text_enc=text_enc,
                    at=time.time(),
                )
            )

    def get_notes(self, conversation_id: str) -> list[dict]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(notes).where(notes.c.conversation_id == conversation_id).order_by(notes.c.id)
            )
            return [dict(r._mapping) for r in rows]

    def audit(self, action: str, counsellor: Optional[str], conversation_id: Optional[str]) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                audit.insert().values(
                    at=time.time(),
                    action=action,
                    counsellor=counsellor,
                    conversation_id=conversation_id,
                )
            )

    # -- outbox ------------------------------------------------------------------------
    def enqueue(self, conversation_id: str, body_enc: bytes, content_sid: Optional[str] = None) -> int:
        now = time.time()
        with self.engine.begin() as conn:
            result = conn.execute(
                outbox.insert().values(
                    conversation_id=conversation_id,
                    body_enc=body_enc,
                    content_sid=content_sid,
                    status="pending",
                    attempts=0,
                    next_attempt_at=now,
                    created_at=now,
                )
            )
            return int(result.inserted_primary_key[0])

    def lease_due(self, limit: int, lease_s: float) -> list[dict]:
        """Take due messages for sending, in order; a lease keeps two senders off a row.

        A conversation's messages go out in order: a row waiting for a retry, or leased by
        another sender, holds back the rows queued after it for the same conversation.
        """
        now = time.time()
        taken: list[int] = []
        with self.engine.begin() as conn:
            rows = conn.execute(
                sa.select(outbox.c.id, outbox.c.conversation_id, outbox.c.next_attempt_at,
                          outbox.c.lease_until)
                .where(outbox.c.status == "pending")
                .order_by(outbox.c.id)
                .limit(limit * 10)
            ).all()
            blocked: set[str] = set()
            for row_id, conv_id, due_at, lease in rows:
                if conv_id in blocked:
                    continue
                if due_at > now or (lease is not None and lease >= now):
                    blocked.add(conv_id)
                    continue
                got = conn.execute(
                    outbox.update()
                    .where(outbox.c.id == row_id)
                    .where(outbox.c.status == "pending")
                    .where(sa.or_(outbox.c.lease_until.is_(None), outbox.c.lease_until < now))
                    .values(lease_until=now + lease_s)
                ).rowcount
                if got:
                    taken.append(row_id)
                else:
                    blocked.add(conv_id)
                if len(taken) >= limit:
                    break
            if not taken:
                return []
            result = conn.execute(sa.select(outbox).where(outbox.c.id.in_(taken)).order_by(outbox.c.id))
            return [dict(r._mapping) for r in result]

    def renew_lease(self, outbox_id: int, lease: float, lease_s: float) -> Optional[float]:
        """Extend a lease this sender holds (`lease` is the value it set); None if it lost it."""
        renewed = max(time.time() + lease_s, lease + 1e-6)  # a new value: the old one is stale
        with self.engine.begin() as conn:
            got = conn.execute(outbox.update().where(outbox.c.id == outbox_id)
                               .where(outbox.c.status == "pending")
                               .where(outbox.c.lease_until == lease)
                               .values(lease_until=renewed)).rowcount
        return renewed if got else None

    def release(self, leases: list[tuple[int, float]]) -> None:
        """Give back leases not used (an earlier message of the conversation failed)."""
        with self.engine.begin() as conn:
            for outbox_id, lease in leases:
                conn.execute(outbox.update().where(outbox.c.id == outbox_id)
                             .where(outbox.c.lease_until == lease).values(lease_until=None))

    def mark_sent(self, outbox_id: int, lease: float, twilio_sid: str) -> bool:
        """Record a send; False if this sender no longer held the row's lease."""
        return self._finish_send(outbox_id, lease, status="sent", twilio_sid=twilio_sid,
                                 attempts=outbox.c.attempts + 1)

    def mark_retry(self, outbox_id: int, lease: float, next_attempt_at: float, give_up: bool) -> bool:
        return self._finish_send(outbox_id, lease, status="failed" if give_up else "pending",
                                 attempts=outbox.c.attempts + 1, next_attempt_at=next_attempt_at)

    def mark_dropped(self, outbox_id: int, lease: float) -> bool:
        return self._finish_send(outbox_id, lease, status="dropped")

    def _finish_send(self, outbox_id: int, lease: float, **values: Any) -> bool:
        """Only the holder of the lease writes the outcome (compare-and-set on lease_until)."""
        with self.engine.begin() as conn:
            return bool(conn.execute(outbox.update().where(outbox.c.id == outbox_id)
                                     .where(outbox.c.lease_until == lease)
                                     .values(lease_until=None, **values)).rowcount)

    def record_delivery(self, twilio_sid: str, status: str) -> bool:
        with self.engine.begin() as conn:
            return bool(
                conn.execute(
                    outbox.update().where(outbox.c.twilio_sid == twilio_sid).values(delivery=status)
                ).rowcount
            )

    def outbox_backlog(self) -> int:
        with self.engine.connect() as conn:
            return int(
                conn.execute(
                    sa.select(sa.func.count()).select_from(outbox).where(outbox.c.status == "pending")
                ).scalar()
            )

    # -- messages Rasa has not seen yet (it was down) -----------------------------------
    def add_pending(self, conversation_id: str, text_enc: bytes, metadata_enc: bytes) -> int:
        with self.engine.begin() as conn:
            result = conn.execute(pending.insert().values(
                conversation_id=conversation_id, text_enc=text_enc, metadata_enc=metadata_enc,
                created_at=time.time()))
            return int(result.inserted_primary_key[0])

    def pending_for(self, conversation_id: str) -> list[dict]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(pending).where(pending.c.conversation_id == conversation_id)
                                .order_by(pending.c.id))
            return [dict(r._mapping) for r in rows]

    def delete_pending(self, pending_id: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(pending.delete().where(pending.c.id == pending_id))

    def conversations_with_pending(self) -> list[str]:
        with self.engine.connect() as conn:
            return list(conn.execute(sa.select(pending.c.conversation_id).distinct()).scalars())

    # -- retention -----------------------------------------------------------------------
    def purge_older_than(self, cutoff: float) -> dict[str, int]:
        """Remove what is older than the retention period. Returns counts per table."""
        counts = {}
        with self.engine.begin() as conn:
            counts["transcript"] = conn.execute(transcript.delete().where(transcript.c.at < cutoff)).rowcount
            counts["notes"] = conn.execute(notes.delete().where(notes.c.at < cutoff)).rowcount
            counts["outbox"] = conn.execute(outbox.delete().where(outbox.c.created_at < cutoff)).rowcount
            counts["inbound"] = conn.execute(inbound.delete().where(inbound.c.received_at < cutoff)).rowcount
            counts["audit"] = conn.execute(audit.delete().where(audit.c.at < cutoff)).rowcount
            counts["pending"] = conn.execute(pending.delete().where(pending.c.created_at < cutoff)).rowcount
            counts["conversations"] = conn.execute(
                conversations.delete()
                .where(conversations.c.updated_at < cutoff)
                .where(conversations.c.status == "bot")
            ).rowcount
        return counts
