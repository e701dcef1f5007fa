"""Messages that leave outside the webhook's answer (late answers, counsellors' replies,
notices) through the outbox; the answer kept for a retried webhook; the first-contact notice."""
from __future__ import annotations

import json
import logging
from typing import Optional

from bot.formatting import split_message
from bot.gateway.parts import Parts, Turn
from bot.inbound import Inbound
from core.language import detect

log = logging.getLogger("salama.gateway")
_SEP = "\x1e"  # between the messages of one stored answer


class Delivery:
    def __init__(self, parts: Parts) -> None:
        self.p = parts

    async def send_later(self, conv_id: str, texts: list[str], sender: str = "bot",
                         counsellor: Optional[str] = None) -> None:
        """Queue messages to her, the first behind a neutral line (her lock screen shows it)."""
        store, vault = self.p.store, self.p.vault
        conv = await store.aio.get_conversation(conv_id)
        if conv is None or conv.quiet or conv.opted_out:
            return
        preview = self.p.texts.get("neutral_preview", conv.language)
        for i, text in enumerate(texts):
            outgoing = f"{preview}\n{text}" if i == 0 else text
            for part in split_message(outgoing, conv.channel):
                await store.aio.enqueue(conv_id, vault.encrypt(part))
                self.p.stats.count("messages_out", conv.channel)
            await store.aio.add_transcript(conv_id, sender, vault.encrypt(text), counsellor)
        self.p.kick_outbox()

    async def send_template(self, conv_id: str, content_sid: str, counsellor: str) -> None:
        """Queue the approved WhatsApp template (after the 24-hour window has closed)."""
        store, vault = self.p.store, self.p.vault
        await store.aio.enqueue(conv_id, vault.encrypt(""), content_sid)
        self.p.stats.count("messages_out", "whatsapp")
        await store.aio.add_transcript(conv_id, "counsellor",
                                       vault.encrypt(f"[WhatsApp template {content_sid}]"), counsellor)
        self.p.kick_outbox()

    def with_first_contact(self, texts: list[str], is_new: bool, language: str) -> list[str]:
        return [self.p.texts.get("first_contact", language), *texts] if is_new else texts

    # -- a late answer: owed in writing first, paid by REST ----------------------------
    async def owe(self, conv_id: str, msg: Inbound, turn: Turn) -> Optional[int]:
        """Persist her message as owed an answer (a pending row marked with its MessageSid)."""
        text, metadata = turn.to_rasa or (msg.body, {"channel": msg.channel,
                                                     "language": turn.language or detect(msg.body)})
        metadata = dict(metadata, owed_sid=msg.message_sid or "-")
        try:
            return await self.p.store.aio.add_pending(conv_id, self.p.vault.encrypt(text),
                                                      self.p.vault.encrypt(json.dumps(metadata)))
        except Exception:
            log.exception("could not record an owed answer conversation=%s", conv_id)
            self.p.metrics.inc("salama_failures_total", component="store")
            return None

    async def pay_owed(self, conv_id: str, turn: Turn, texts: list[str]) -> None:
        """A late answer goes out by REST, then the owed mark goes: a crash in between sends
        it twice (at least once), never zero times. Under the conversation's lock."""
        if texts:
            await self.send_later(conv_id, texts)
        owed_id = await turn.owed if turn.owed is not None else None
        if owed_id is not None:
            await self.p.store.aio.delete_pending(owed_id)

    # -- what a retried webhook is answered ----------------------------------------------
    async def keep_answer(self, conv_id: str, message_sid: str, texts: list[str]) -> None:
        try:
            await self.p.store.aio.finish_turn(conv_id, message_sid,
                                               self.p.vault.encrypt(_SEP.join(texts)), [])
        except Exception:
            log.exception("could not store the reply for a retry")

    def encode(self, texts: list[str]) -> bytes:
        return self.p.vault.encrypt(_SEP.join(texts))

    def decode(self, stored: Optional[bytes]) -> list[str]:
        if stored is None:
            return []  # the first delivery is still being answered
        return [t for t in self.p.vault.decrypt(stored).split(_SEP) if t]
