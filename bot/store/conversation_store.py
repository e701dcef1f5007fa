"""Conversations and their turns: the MessageSid claim, one transaction before Rasa and one
after, the counsellor's claim, the queue, and her erasure."""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, Callable, Optional

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from bot.store.schema import conversations, inbound, notes, outbox, pending, transcript


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
    def from_row(cls, row: Any) -> Conversation:
        return cls.from_mapping(dict(row._mapping))

    @classmethod
    def from_mapping(cls, data: dict[str, Any]) -> Conversation:
        data["options"] = json.loads(data["options"]) if data["options"] else []
        data["address_enc"] = bytes(data["address_enc"])
        return cls(**data)


@dataclass
class TurnStart:
    """What begin_turn read: the conversation, whether it is new, and the messages still
    waiting for Rasa (oldest first)."""

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
_CLAIMED = sa.select(inbound.c.conversation_id, inbound.c.reply_enc).where(
    inbound.c.message_sid == sa.bindparam("b_sid"))


def _claim(conn: Any, message_sid: str, conversation_id: str) -> None:
    """Raises IntegrityError when the MessageSid was claimed before."""
    conn.execute(_CLAIM, {"message_sid": message_sid, "conversation_id": conversation_id,
                          "received_at": time.time()})


def sealed(address_enc: bytes | Callable[[], bytes]) -> bytes:
    """Her encrypted address, or the function that encrypts it, called only when needed (a new
    conversation): an encryption a turn saved."""
    return address_enc() if callable(address_enc) else address_enc


def _touch(conn: Any, conversation_id: str, address_enc: bytes | Callable[[], bytes],
           channel: str) -> tuple[Conversation, bool]:
    now = time.time()
    updated = conn.execute(_TOUCH, {"b_id": conversation_id, "b_now": now}).rowcount
    created = False
    if not updated:
        try:
            with conn.begin_nested():
                conn.execute(_CREATE, {
                    "id": conversation_id, "address_enc": sealed(address_enc), "channel": channel,
                    "status": "bot", "priority": 0, "timeout_notified": False, "opted_out": False,
                    "quiet": False, "last_inbound_at": now, "created_at": now, "updated_at": now,
                })
            created = True
        except IntegrityError:  # created concurrently by another gateway
            pass
    row = conn.execute(_CONVERSATION, {"b_id": conversation_id}).first()
    return Conversation.from_row(row), created


def update_values(conn: Any, conversation_id: str, values: dict[str, Any]) -> None:
    conn.execute(_UPDATE, {**columns(values), "b_id": conversation_id})  # SET the columns given


def columns(values: dict[str, Any]) -> dict[str, Any]:
    """Conversation fields as stored: the options as JSON, and the time of the change."""
    values = dict(values)
    if "options" in values and values["options"] is not None:
        values["options"] = json.dumps(values["options"])
    values["updated_at"] = time.time()
    return values


def add_line(conn: Any, conversation_id: str, sender: str, text_enc: bytes,
             counsellor: Optional[str] = None) -> None:
    conn.execute(_TRANSCRIPT, {"conversation_id": conversation_id, "sender": sender,
                               "counsellor": counsellor, "text_enc": text_enc, "at": time.time()})


class ConversationStore:
    """Conversation rows, the MessageSid claims, and a turn's two transactions."""

    engine: Engine

    def get_conversation(self, conversation_id: str) -> Optional[Conversation]:
        with self.engine.connect() as conn:
            row = conn.execute(_CONVERSATION, {"b_id": conversation_id}).first()
        return Conversation.from_row(row) if row else None

    def begin_turn(
        self, message_sid: str, conversation_id: str, address_enc: bytes | Callable[[], bytes], channel: str,
        user_text_enc: Optional[bytes], unless_opted_out: bool = False,
    ) -> Optional[TurnStart]:
        """Everything a message needs before Rasa, in one transaction: claim its MessageSid,
        record it on the conversation (created if new, with `address_enc`, or what that
        function returns), add her text to the transcript
        (`user_text_enc`; not when `unless_opted_out` and she has opted out) and read the
        messages still waiting for Rasa. None for a retried webhook (the MessageSid was
        claimed before): then nothing is written.

        bot.store.sqlite_direct runs the same transaction on a local SQLite file."""
        try:
            with self.engine.begin() as conn:
                if message_sid:
                    _claim(conn, message_sid, conversation_id)
                conv, created = _touch(conn, conversation_id, address_enc, channel)
                if user_text_enc is not None and not (unless_opted_out and conv.opted_out):
                    add_line(conn, conversation_id, "user", user_text_enc)
                rows = conn.execute(_PENDING, {"b_id": conversation_id})
                return TurnStart(conv, created, [dict(r._mapping) for r in rows])
        except IntegrityError:
            if message_sid and self.stored_reply(message_sid)[0] is not None:
                return None
            raise

    def finish_turn(
        self, conversation_id: str, message_sid: str, reply_enc: Optional[bytes],
        bot_texts_enc: list[bytes], **values: Any,
    ) -> None:
        """Everything a turn writes after Rasa answered, in one transaction: conversation
        fields (`values`: language, options...), the bot's lines in the transcript and the
        answer kept for a retried webhook (`reply_enc`, alone when the rest is empty).
        bot.store.sqlite_direct runs the same transaction on a local SQLite file."""
        with self.engine.begin() as conn:
            if values:
                update_values(conn, conversation_id, values)
            for text_enc in bot_texts_enc:
                add_line(conn, conversation_id, "bot", text_enc)
            if message_sid and reply_enc is not None:
                conn.execute(_SAVE_REPLY, {"b_sid": message_sid, "reply_enc": reply_enc})

    def stored_reply(self, message_sid: str) -> tuple[Optional[str], Optional[bytes]]:
        """Who claimed this MessageSid, and the answer kept for a retry (None if not yet)."""
        with self.engine.connect() as conn:
            row = conn.execute(_CLAIMED, {"b_sid": message_sid}).first()
        if row is None:
            return None, None
        return row.conversation_id, bytes(row.reply_enc) if row.reply_enc is not None else None

    def update_conversation(self, conversation_id: str, **values: Any) -> None:
        with self.engine.begin() as conn:
            update_values(conn, conversation_id, values)

    def claim_conversation(self, conversation_id: str, counsellor: str) -> bool:
        """Atomically give a waiting conversation to one counsellor."""
        with self.engine.begin() as conn:
            return bool(conn.execute(
                conversations.update()
                .where(conversations.c.id == conversation_id)
                .where(conversations.c.status == "waiting")
                .values(status="active", counsellor=counsellor, updated_at=time.time())
            ).rowcount)

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

    def claim_timeout_notice(self, conversation_id: str) -> bool:
        """Mark a waiting conversation as told that nobody is free; True for the one caller
        (of several gateways' periodic jobs) that gets to tell her. Clears her options: "1"
        and "2" now answer this notice."""
        with self.engine.begin() as conn:
            return bool(conn.execute(
                conversations.update()
                .where(conversations.c.id == conversation_id)
                .where(conversations.c.status == "waiting")
                .where(conversations.c.timeout_notified.is_(False))
                .values(timeout_notified=True, options=None, updated_at=time.time())
            ).rowcount)

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
