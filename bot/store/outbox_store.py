"""The outbox: messages to send through Twilio's REST API, leased to one sender at a time
(the lease is a compare-and-set token), in order per conversation."""
from __future__ import annotations

import time
from typing import Any, Optional

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.store.schema import outbox


class OutboxStore:
    engine: Engine

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
