"""What was said (encrypted by the caller), counsellors' notes, and the messages Rasa has not
seen yet (it was down, or a gateway died owing her an answer)."""
from __future__ import annotations

import time
from typing import Optional

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.store.conversation_store import _PENDING, add_line
from bot.store.schema import notes, pending, transcript


class TranscriptStore:
    engine: Engine

    def add_transcript(self, conversation_id: str, sender: str, text_enc: bytes,
                       counsellor: Optional[str] = None) -> None:
        with self.engine.begin() as conn:
            add_line(conn, conversation_id, sender, text_enc, counsellor)

    def get_transcript(self, conversation_id: str) -> list[dict]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(transcript).where(transcript.c.conversation_id == conversation_id)
                                .order_by(transcript.c.id))
            return [dict(r._mapping) for r in rows]

    def last_lines(self, conversation_ids: list[str]) -> dict[str, dict]:
        """The newest transcript line of each conversation (the console's queue previews)."""
        if not conversation_ids:
            return {}
        latest = (sa.select(sa.func.max(transcript.c.id))
                  .where(transcript.c.conversation_id.in_(conversation_ids))
                  .group_by(transcript.c.conversation_id))
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(transcript).where(transcript.c.id.in_(latest)))
            return {r.conversation_id: dict(r._mapping) for r in rows}

    def add_note(self, conversation_id: str, counsellor: str, text_enc: bytes) -> None:
        with self.engine.begin() as conn:
            conn.execute(notes.insert().values(conversation_id=conversation_id, counsellor=counsellor,
                                               text_enc=text_enc, at=time.time()))

    def get_notes(self, conversation_id: str) -> list[dict]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(notes).where(notes.c.conversation_id == conversation_id)
                                .order_by(notes.c.id))
            return [dict(r._mapping) for r in rows]

    # -- what Rasa has not seen yet -----------------------------------------------------
    def add_pending(self, conversation_id: str, text_enc: bytes, metadata_enc: bytes) -> int:
        with self.engine.begin() as conn:
            result = conn.execute(pending.insert().values(
                conversation_id=conversation_id, text_enc=text_enc, metadata_enc=metadata_enc,
                created_at=time.time()))
            return int(result.inserted_primary_key[0])

    def pending_for(self, conversation_id: str) -> list[dict]:
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(_PENDING, {"b_id": conversation_id})]

    def delete_pending(self, pending_id: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(pending.delete().where(pending.c.id == pending_id))

    def conversations_with_pending(self) -> list[str]:
        with self.engine.connect() as conn:
            return list(conn.execute(sa.select(pending.c.conversation_id).distinct()).scalars())
