"""The gateway: one message in, its answer out, within the reply budget (bot.gateway's doc
lists the steps)."""
from __future__ import annotations

import asyncio
import functools
import logging
import time
from typing import Awaitable, Callable, Optional

from bot.gateway.delivery import Delivery
from bot.gateway.erasure import Erasure
from bot.gateway.keyword_step import KeywordStep
from bot.gateway.parts import ForgedRetry, Parts, Turn
from bot.gateway.rasa_step import RasaStep
from bot.gateway.ratelimit import RateLimiter
from bot.handoff import Handoffs
from bot.inbound import Inbound
from bot.keywords import Keyword, keyword, word_of
from bot.rasa_client import RasaClient
from bot.texts import Texts
from core.crypto import Vault
from core.language import detect
from core.safety_net import SafetyNet

log = logging.getLogger("salama.gateway")
# Keywords whose message is not kept in the transcript (START only when she had opted out).
_UNKEPT = (Keyword.STOP, Keyword.HELP, Keyword.QUICK_EXIT, Keyword.ERASE)


class Gateway:
    def __init__(self, parts: Parts, safety_net: SafetyNet) -> None:
        self.p = parts
        self.safety_net = safety_net
        self.limiter = RateLimiter(parts.settings.rate_limit_per_minute)
        self.delivery = Delivery(parts)
        self.erasure = Erasure(parts)
        self.handoffs = Handoffs(parts)
        self.keywords = KeywordStep(parts, self.erasure)
        self.rasa_step = RasaStep(parts, self.delivery, self.handoffs, self.erasure)
        self._background: set[asyncio.Task] = set()

    # What the console, the periodic jobs and the tests use.
    @property
    def texts(self) -> Texts:
        return self.p.texts

    @property
    def vault(self) -> Vault:
        return self.p.vault

    @property
    def rasa(self) -> RasaClient:
        return self.p.rasa

    @property
    def stats(self):
        return self.p.stats

    def on_change(self, listener: Callable[[str], Awaitable[None]]) -> None:
        """Register a coroutine called with a conversation id whenever it changes (console)."""
        self.p.listeners.append(listener)

    async def send_later(self, conv_id: str, text: str, sender: str = "bot",
                         counsellor: Optional[str] = None) -> None:
        """Queue a message to her (late answer, counsellor reply, timeout notice)."""
        await self.delivery.send_later(conv_id, [text], sender, counsellor)

    async def send_template(self, conv_id: str, content_sid: str, counsellor: str) -> None:
        await self.delivery.send_template(conv_id, content_sid, counsellor)

    async def forget(self, conv_id: str) -> None:
        await self.erasure.forget(conv_id)

    async def resume_bot(self, conv_id: str) -> None:
        await self.handoffs.resume_bot(conv_id)

    async def hand_back(self, conv_id: str) -> None:
        """A counsellor gives her back to the bot: resume it and tell her, in her variety."""
        await self.handoffs.resume_bot(conv_id)
        conv = await self.p.store.aio.get_conversation(conv_id)
        if conv is not None:
            await self.send_later(conv_id, self.p.texts.get("bot_resumed", conv.language))

    async def retry_pending(self) -> int:
        return await self.rasa_step.retry_pending()

    async def drain(self) -> None:
        """Wait for turns still running (late answers): used at shutdown and in tests."""
        while self._background:
            await asyncio.gather(*list(self._background), return_exceptions=True)

    # -- one message ---------------------------------------------------------------------
    async def handle(self, msg: Inbound,
                     send: Optional[Callable[[list[str]], Awaitable[None]]] = None) -> list[str]:
        """The texts to answer with now (TwiML). Never raises for a well-formed message,
        except ForgedRetry and what `send` raises.

        `send`, when given, is called with those texts to put the answer on the wire; the
        turn's own writes (transcript, options, the answer kept for a retry) wait until it
        returns, so they add nothing to her wait."""
        p, started, channel = self.p, time.monotonic(), msg.channel
        p.metrics.inc("salama_messages_in_total", channel=channel)
        p.stats.count("messages_in", channel)
        conv_id = p.vault.pseudonym(msg.address)
        turn = Turn()
        if not self.limiter.allow(conv_id, time.time()) and not self._passes_limit(conv_id, msg):
            p.metrics.inc("salama_rate_limited_total", channel=channel)
            texts = [p.texts.get("rate_limited", self._language(msg, turn))]
            if send is not None:
                await send(texts)
            return texts

        task = asyncio.create_task(self._process(msg, conv_id, turn))
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        try:
            try:
                texts = await asyncio.wait_for(asyncio.shield(turn.reply), p.settings.reply_budget_s)
            except asyncio.TimeoutError:
                if turn.reply.done():
                    texts = turn.reply.result()
                else:
                    # Past the budget: answer now with the numbers, the real answer follows by
                    # REST. That an answer is owed is written first: if this gateway dies before
                    # Rasa answers, another one (or this one restarted) asks Rasa again.
                    turn.late = True
                    turn.owed = asyncio.create_task(self.delivery.owe(conv_id, msg, turn))
                    await asyncio.shield(turn.owed)
                    p.metrics.inc("salama_late_replies_total", channel=channel)
                    p.stats.count("fallbacks", "rasa_slow")
                    texts = [p.texts.get("static_fallback", self._language(msg, turn))]
            if send is not None:
                await send(texts)
        finally:
            turn.sent.set()  # whatever happened here, the turn must not wait for ever
        p.metrics.observe("salama_reply_seconds", time.monotonic() - started, channel=channel)
        p.metrics.inc("salama_messages_out_total", channel=channel, path="twiml", amount=len(texts))
        p.stats.count("messages_out", channel, len(texts))
        if turn.late and msg.message_sid:
            await self.delivery.keep_answer(conv_id, msg.message_sid, texts)  # a retry gets what she got
        return texts

    def _passes_limit(self, conv_id: str, msg: Inbound) -> bool:
        """Past the rate limit, an emergency, a keyword or the answer to the erase question
        still goes through (the safety net is consulted only then)."""
        word = word_of(msg.body)
        return (self.keywords.passes_limit(conv_id, word, keyword(word, self.p.settings.quick_exit_word))
                or bool(msg.body and self.safety_net.match(msg.body)))

    @staticmethod
    def _language(msg: Inbound, turn: Turn) -> str:
        """The turn's variety; before the conversation is read, from her message alone."""
        return turn.language or detect(msg.body)

    async def _process(self, msg: Inbound, conv_id: str, turn: Turn) -> None:
        # The task is created as the webhook arrives and takes the lock before anything
        # else: messages of one conversation are handled in arrival order.
        p = self.p
        try:
            async with p.locks.hold(conv_id):
                try:
                    texts = await self._turn(msg, conv_id, turn)
                except ForgedRetry as exc:
                    if not turn.late:
                        turn.reply.set_exception(exc)
                    return
                if not turn.late:
                    turn.reply.set_result(texts)  # her answer goes out first...
                    await turn.sent.wait()
                self._count_emergency(turn)
                if not turn.duplicate:
                    await self._finish(msg, conv_id, turn, texts)  # ...then this is written
                    if turn.late:
                        await self.delivery.pay_owed(conv_id, turn, texts)
                if turn.writes.notify:
                    await p.notify(conv_id)
        except Exception:
            log.exception("turn failed conversation=%s", conv_id)
            p.metrics.inc("salama_failures_total", component="gateway")
            p.stats.count("fallbacks", "error")
            if not turn.reply.done():
                turn.reply.set_result([p.texts.get("static_fallback", self._language(msg, turn))])
            self._count_emergency(turn)

    def _count_emergency(self, turn: Turn) -> None:
        """The programme's count of emergencies (the safety net's words in a message that went
        to Rasa), once, after her answer: it is a statistic, not part of the answer."""
        if turn.emergency_check and self.safety_net.match(turn.emergency_check):
            self.p.stats.count("emergencies", turn.language)
        turn.emergency_check = ""

    async def _turn(self, msg: Inbound, conv_id: str, turn: Turn) -> list[str]:
        """The steps of one message, under the conversation's lock."""
        p = self.p
        body = msg.body.strip()[: p.settings.max_body_chars]
        word = word_of(body)
        kw = keyword(word, p.settings.quick_exit_word)
        start = await p.store.aio.begin_turn(  # (her address is encrypted only for a new conversation)
            msg.message_sid, conv_id, functools.partial(p.vault.encrypt, msg.address), msg.channel,
            p.vault.encrypt(body) if body and kw not in _UNKEPT else None, kw is Keyword.START)
        if start is None:  # a retried webhook: answer what was answered, do nothing else
            return await self._replay(msg, conv_id, turn)
        conv = start.conversation
        turn.language = detect(body, conv.language)  # the one detection of her variety
        if turn.language != conv.language:
            turn.writes.values["language"] = turn.language
        if start.is_new:
            p.stats.count("conversations_new", msg.channel)
            p.stats.count("conversations_variety", turn.language)

        texts = await self.keywords.answer(conv, word, kw, turn)
        if texts is not None:
            return texts
        if conv.status in ("waiting", "active"):
            turn.writes.notify = True  # a counsellor's page shows her message and language
            return await self.handoffs.route(conv, word, kw, turn.language)
        pin = msg.latitude is not None and msg.longitude is not None
        if not body and (msg.num_media or not pin):
            # Nothing to understand: she gets the emergency line (the safety floor), not a guess.
            texts = [p.texts.get("media_only" if msg.num_media else "empty_body", turn.language)]
        else:
            turn.emergency_check = body  # counted after her answer (_count_emergency)
            texts = await self.rasa_step.answer(msg, body, start, turn)
        return self.delivery.with_first_contact(texts, start.is_new, turn.language)

    async def _replay(self, msg: Inbound, conv_id: str, turn: Turn) -> list[str]:
        turn.duplicate = True
        owner, reply = await self.p.store.aio.stored_reply(msg.message_sid)
        if owner != conv_id:
            # Twilio retries from the same sender: another sender reusing a MessageSid is a
            # forgery (or a leaked signing key) fishing for her answer. Refuse it.
            self.p.metrics.inc("salama_rejected_webhooks_total", reason="sid_reuse")
            log.warning("refused a MessageSid claimed by another conversation conversation=%s", conv_id)
            raise ForgedRetry()
        self.p.metrics.inc("salama_duplicate_webhooks_total", channel=msg.channel)
        return self.delivery.decode(reply)

    async def _finish(self, msg: Inbound, conv_id: str, turn: Turn, texts: list[str]) -> None:
        """The turn's writes after Rasa (conversation fields, the bot's transcript lines, the
        answer kept for a retried webhook), in one transaction. A late answer's lines are
        written by Delivery.pay_owed and its TwiML answer by handle()."""
        p, writes = self.p, turn.writes
        bot_texts = [] if turn.late else writes.bot_texts
        if not (writes.values or bot_texts or msg.message_sid):
            return
        reply = None if turn.late or not msg.message_sid else self.delivery.encode(texts)
        try:
            await p.store.aio.finish_turn(conv_id, msg.message_sid, reply,
                                          [p.vault.encrypt(t) for t in bot_texts], **writes.values)
        except Exception:
            # She has her answer; what is lost is a transcript line and the digits' meaning.
            log.exception("could not record the turn conversation=%s", conv_id)
            p.metrics.inc("salama_failures_total", component="store")
