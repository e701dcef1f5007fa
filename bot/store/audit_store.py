"""The counsellors' audit trail (who did what to which conversation, never text) and the
retention purge of everything older than the retention period."""
from __future__ import annotations

import time
from typing import Optional

from sqlalchemy.engine import Engine

from bot.store.schema import audit, conversations, inbound, notes, outbox, pending, transcript


class AuditStore:
    engine: Engine

    def audit(self, action: str, counsellor: Optional[str], conversation_id: Optional[str]) -> None:
        with self.engine.begin() as conn:
            conn.execute(audit.insert().values(at=time.time(), action=action, counsellor=counsellor,
                                               conversation_id=conversation_id))

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
