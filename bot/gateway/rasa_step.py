"""The Rasa round trip: what Rasa receives (text, payload behind a digit, location), its
answer rendered for the channel, the actions' instructions applied, and the messages Rasa
missed while down (or whose answer a dead gateway owed) given back to it in order."""
from __future__ import annotations

import json
import logging
import re
from typing import Any, Optional

from bot.formatting import render
from bot.gateway.delivery import Delivery
from bot.gateway.erasure import Erasure
from bot.gateway.parts import Parts, Turn, Writes
from bot.handoff import Handoffs
from bot.inbound import Inbound
from bot.rasa_client import RasaUnavailable
from bot.store import Conversation, TurnStart
from core.contract import Forget, Handoff, instruction

log = logging.getLogger("salama.gateway")
_DIGIT = re.compile(r"^\s*(\d{1,2})\s*[.)]?\s*$")


class RasaStep:
    def __init__(self, parts: Parts, delivery: Delivery, handoffs: Handoffs, erasure: Erasure) -> None:
        self.p, self.delivery, self.handoffs, self.erasure = parts, delivery, handoffs, erasure

    async def answer(self, msg: Inbound, body: str, start: TurnStart, turn: Turn) -> list[str]:
        """Her answer from Rasa, after what Rasa missed; the static answer if Rasa is down."""
        p, conv, language = self.p, start.conversation, turn.language
        text, metadata = turn.to_rasa = to_rasa(msg, body, conv, language)
        earlier, rasa_up = await self.flush_pending(conv.id, msg.channel, language, start.pending,
                                                    skip_sid=msg.message_sid)
        texts = await self.ask(conv.id, text, metadata, msg.channel, language, turn.writes) if rasa_up else None
        if texts is None:
            # Rasa is down: she gets the numbers now; her message waits for Rasa, in order.
            # Her location is as private as her text: both are kept encrypted.
            await p.store.aio.add_pending(conv.id, p.vault.encrypt(text), p.vault.encrypt(json.dumps(metadata)))
            texts = [p.texts.get("static_fallback", language)]
            p.stats.count("fallbacks", "rasa_down")
        return earlier + texts

    async def ask(self, conv_id: str, text: str, metadata: dict, channel: str, language: Optional[str],
                  writes: Optional[Writes] = None) -> Optional[list[str]]:
        """Rasa's answer as channel texts; None when Rasa is unavailable.

        With `writes`, the conversation's new options and the bot's transcript lines are
        left to the turn's Store.finish_turn, unless the answer hands her to a counsellor
        or erases her: then they are written at once, before that happens."""
        p = self.p
        try:
            bot_messages = await p.rasa.send(conv_id, text, metadata)
        except RasaUnavailable as exc:
            log.warning("rasa unavailable conversation=%s reason=%s", conv_id, exc)
            p.metrics.inc("salama_failures_total", component="rasa")
            return None
        if not bot_messages:
            # Rasa answered nothing: the action server failed, or a rule is missing.
            p.metrics.inc("salama_failures_total", component="actions")
            p.stats.count("fallbacks", "error")
            return [p.texts.get("static_fallback", language)]
        reply = render(bot_messages, channel, p.texts.get("menu_option_zero", language))
        instructions = [i for i in (instruction(m.get("custom")) for m in bot_messages) if i]
        if writes is not None and not instructions:
            writes.values["options"] = reply.options
            writes.bot_texts.extend(reply.messages)
            return reply.messages
        await p.store.aio.finish_turn(conv_id, "", None, [p.vault.encrypt(t) for t in reply.messages],
                                      options=reply.options)
        for order in instructions:
            if isinstance(order, Handoff):
                await self.handoffs.start(conv_id, order)
            elif isinstance(order, Forget):
                await self.erasure.forget(conv_id)
        return reply.messages

    async def flush_pending(self, conv_id: str, channel: str, language: Optional[str],
                            rows: Optional[list[dict]] = None, skip_sid: str = "") -> tuple[list[str], bool]:
        """Give Rasa the messages it missed while down or whose answer is owed (a gateway
        died before sending it), oldest first. Returns their answers and whether Rasa took
        them all. Call with the conversation's lock held. `skip_sid`: the message this turn
        is answering itself (its own owed mark)."""
        p, answers = self.p, list[str]()
        if rows is None:
            rows = await p.store.aio.pending_for(conv_id)
        for row in rows:
            metadata = json.loads(p.vault.decrypt(row["metadata_enc"]))
            if skip_sid and metadata.pop("owed_sid", None) == skip_sid:
                continue
            metadata.pop("owed_sid", None)
            texts = await self.ask(conv_id, p.vault.decrypt(row["text_enc"]), metadata, channel, language)
            if texts is None:
                return answers, False
            await p.store.aio.delete_pending(row["id"])
            answers.extend(texts)
        return answers, True

    async def retry_pending(self) -> int:
        """Background: answer, by REST, messages that waited for Rasa. Returns how many flushed."""
        done = 0
        for conv_id in await self.p.store.aio.conversations_with_pending():
            async with self.p.locks.hold(conv_id):
                conv = await self.p.store.aio.get_conversation(conv_id)
                if conv is None:
                    continue
                answers, _ = await self.flush_pending(conv_id, conv.channel, conv.language)
            if answers:
                await self.delivery.send_later(conv_id, answers)
                done += 1
        return done


def to_rasa(msg: Inbound, body: str, conv: Conversation, language: Optional[str]) -> tuple[str, dict]:
    """What Rasa receives: text or payload, and metadata without any number."""
    metadata: dict[str, Any] = {"channel": msg.channel, "language": language}
    if msg.latitude is not None and msg.longitude is not None:
        metadata["location"] = {"lat": msg.latitude, "lng": msg.longitude}
        return "/inform_location", metadata
    digit = _DIGIT.match(body)
    if digit:
        n = int(digit.group(1))
        if n == 0:
            return "/ask_capabilities", metadata
        if 1 <= n <= len(conv.options):
            return conv.options[n - 1], metadata
    return body, metadata
