"""Sends queued messages through Twilio's REST API with backoff; the queue survives restarts."""
from __future__ import annotations

import asyncio
import logging
import random
import time

from bot.metrics import Metrics
from bot.store import Store
from bot.twilio_api import TwilioApi, TwilioRejected, TwilioRetryable
from core.crypto import Vault
from core.settings import Settings

log = logging.getLogger("salama.outbox")
MAX_ATTEMPTS = 8
LEASE_S = 30.0


def backoff_s(attempts: int) -> float:
    """Exponential backoff with jitter (half fixed, half random), at most 5 minutes: many
    gateways retrying after one Twilio outage do not all come back at the same instant."""
    base = min(300.0, 0.5 * 2 ** attempts)
    return base / 2 + random.uniform(0, base / 2)


class OutboxSender:
    """Background task: leases due rows, sends them, records the result."""

    def __init__(self, store: Store, vault: Vault, api: TwilioApi, settings: Settings, metrics: Metrics) -> None:
        self._store = store
        self._vault = vault
        self._api = api
        self._settings = settings
        self._metrics = metrics
        self._wake = asyncio.Event()

    def kick(self) -> None:
        """Something was queued: send it now rather than at the next poll."""
        self._wake.set()

    async def run(self) -> None:
        while True:
            try:
                sent = await self.drain_once()
            except Exception:  # the store is down: keep the loop alive, try again
                log.exception("outbox pass failed")
                self._metrics.inc("salama_failures_total", component="outbox")
                sent = 0
            if not sent:
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout=0.5)
                except asyncio.TimeoutError:
                    pass

    async def drain_once(self) -> int:
        rows = await self._store.aio.lease_due(20, LEASE_S)
        by_conversation: dict[str, list[dict]] = {}
        for row in rows:
            by_conversation.setdefault(row["conversation_id"], []).append(row)
        # Conversations in parallel; one conversation's messages one after the other.
        await asyncio.gather(*(self._send_in_order(group) for group in by_conversation.values()))
        return len(rows)

    async def _send_in_order(self, rows: list[dict]) -> None:
        for i, row in enumerate(rows):
            # Renew this row's lease just before sending: a batch of one conversation can take
            # longer than a lease, and a sender that lost its lease must not send the row.
            lease = await self._store.aio.renew_lease(row["id"], row["lease_until"], LEASE_S)
            if lease is None or not await self._send(dict(row, lease_until=lease)):
                await self._store.aio.release([(r["id"], r["lease_until"]) for r in rows[i + 1:]])
                return

    async def _send(self, row: dict) -> bool:
        """Send one message; False when it must wait for a retry."""
        store = self._store
        conv = await store.aio.get_conversation(row["conversation_id"])
        if conv is None or conv.opted_out or conv.quiet:
            await store.aio.mark_dropped(row["id"], row["lease_until"])
            return True
        to = self._vault.decrypt(conv.address_enc)
        sender = self._settings.twilio_whatsapp_from if conv.channel == "whatsapp" else self._settings.twilio_sms_from
        body = self._vault.decrypt(bytes(row["body_enc"]))
        try:
            sid = await self._api.send(to, sender, body, row["content_sid"])
        except TwilioRetryable as exc:
            attempts = row["attempts"] + 1
            delay = exc.retry_after if exc.retry_after is not None else backoff_s(attempts)
            give_up = attempts >= MAX_ATTEMPTS
            await store.aio.mark_retry(row["id"], row["lease_until"], time.time() + delay, give_up)
            self._metrics.inc("salama_outbound_retries_total", channel=conv.channel)
            log.warning("send retry outbox_id=%s attempt=%s reason=%s", row["id"], attempts, exc)
            if not give_up:
                asyncio.get_running_loop().call_later(delay, self._wake.set)
            return give_up
        except TwilioRejected as exc:
            await store.aio.mark_retry(row["id"], row["lease_until"], time.time(), True)
            self._metrics.inc("salama_failures_total", component="twilio")
            log.warning("send rejected outbox_id=%s reason=%s", row["id"], exc)
            return True
        if not await store.aio.mark_sent(row["id"], row["lease_until"], sid):
            # Another sender took the row after our lease ran out: it may send it again.
            log.warning("sent after losing the lease outbox_id=%s", row["id"])
            self._metrics.inc("salama_failures_total", component="outbox_lease")
        self._metrics.inc("salama_messages_out_total", channel=conv.channel, path="rest")
        return True
