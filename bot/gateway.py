"""What happens to one inbound message: keywords, handoff routing, Rasa, the reply.

The HTTP layer (bot.webhook) verifies the request and hands the form to `Gateway.handle`,
which returns the texts to answer with in TwiML. Messages of one conversation are handled
one at a time in arrival order; different conversations run concurrently.
"""
from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Optional

from actions.language import detect
from actions.safety_net import SafetyNet
from bot.crypto import Vault
from bot.formatting import render, split_message
from bot.inbound import Inbound
from bot.keywords import ERASE_NO, ERASE_YES, Keyword, erase_answer, keyword, word_of
from bot.locks import ConversationLocks, RedisConversationLocks
from bot.metrics import Metrics
from bot.rasa_client import RasaClient, RasaUnavailable
from bot.settings import Settings
from bot.store import Conversation, Store
from bot.texts import Texts
from bot.twilio_api import TwilioApi, TwilioRejected, TwilioRetryable

log = logging.getLogger("salama.gateway")

PRIORITY = {"emergency": 2, "disclosure": 1, "other": 0}
_DIGIT = re.compile(r"^\s*(\d{1,2})\s*[.)]?\s*$")


class ForgedRetry(Exception):
    """A MessageSid already claimed by another sender: refused (403), nothing answered."""


@dataclass
class _Writes:
    """What a turn writes once Rasa has answered, in one transaction after her answer has
    gone out (Store.finish_turn), still under the conversation's lock."""

    values: dict[str, Any] = field(default_factory=dict)  # conversation fields
    bot_texts: list[str] = field(default_factory=list)  # the bot's lines, for the transcript
    notify: bool = False  # tell the console once this is written


@dataclass
class _Turn:
    late: bool = False
    duplicate: bool = False
    # What went to Rasa (text, metadata), once known; and, once she got the static answer,
    # the task persisting the fact that a real answer is owed (its pending row's id).
    to_rasa: Optional[tuple[str, dict]] = None
    owed: Optional["asyncio.Task[Optional[int]]"] = None
    writes: _Writes = field(default_factory=_Writes)
    reply: "asyncio.Future[list[str]]" = field(default_factory=lambda: asyncio.get_running_loop().create_future())
    sent: asyncio.Event = field(default_factory=asyncio.Event)  # the answer has left


class RateLimiter:
    """At most N messages a minute per conversation; emergencies always pass."""

    def __init__(self, per_minute: int) -> None:
        self._per_minute = per_minute
        self._seen: dict[str, deque] = defaultdict(deque)
        self._swept = 0.0

    def allow(self, key: str, now: float) -> bool:
        if now - self._swept > 60:  # once a minute, forget senders quiet for a minute
            self._swept = now
            for quiet in [k for k, w in self._seen.items() if not w or w[-1] < now - 60]:
                del self._seen[quiet]
        window = self._seen[key]
        while window and window[0] < now - 60:
            window.popleft()
        if len(window) >= self._per_minute:
            return False
        window.append(now)
        return True


class Gateway:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        vault: Vault,
        rasa: RasaClient,
        texts: Texts,
        safety_net: SafetyNet,
        metrics: Metrics,
        locks: ConversationLocks | RedisConversationLocks,
        enqueue_hook: Callable[[], None],
        twilio: TwilioApi,
    ) -> None:
        self.settings = settings
        self.store = store
        self.vault = vault
        self.rasa = rasa
        self.texts = texts
        self.safety_net = safety_net
        self.metrics = metrics
        self.locks = locks
        self._kick_outbox = enqueue_hook
        self.twilio = twilio
        self._limiter = RateLimiter(settings.rate_limit_per_minute)
        self._listeners: list[Callable[[str], Awaitable[None]]] = []
        self._background: set[asyncio.Task] = set()
        # Conversations asked to confirm an erasure: her answer passes the rate limiter.
        self._erase_asked: set[str] = set()

    # -- public --------------------------------------------------------------------
    def on_change(self, listener: Callable[[str], Awaitable[None]]) -> None:
        """Register a coroutine called with a conversation id whenever it changes (console)."""
        self._listeners.append(listener)

    async def handle(self, msg: Inbound,
                     send: Optional[Callable[[list[str]], Awaitable[None]]] = None) -> list[str]:
        """The texts to answer with now (TwiML). Never raises for a well-formed message,
        except what `send` raises.

        `send`, when given, is called with those texts to put the answer on the wire; the
        turn's own writes (transcript, options, the answer kept for a retry) wait until it
        returns, so they add nothing to her wait."""
        started = time.monotonic()
        channel = msg.channel
        self.metrics.inc("salama_messages_in_total", channel=channel)
        conv_id = self.vault.pseudonym(msg.address)
        # Consulted only when the limiter would refuse: an emergency or a keyword passes.
        limited = not self._limiter.allow(conv_id, time.time())
        word = word_of(msg.body)
        if limited and not (keyword(word, self.settings.quick_exit_word)
                            or (conv_id in self._erase_asked and erase_answer(word, [ERASE_YES, ERASE_NO]) is not None)
                            or (msg.body and self.safety_net.match(msg.body))):
            self.metrics.inc("salama_rate_limited_total", channel=channel)
            texts = [self.texts.get("rate_limited", detect(msg.body))]
            if send is not None:
                await send(texts)
            return texts

        turn = _Turn()
        task = asyncio.create_task(self._process(msg, conv_id, turn))
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        try:
            try:
                texts = await asyncio.wait_for(asyncio.shield(turn.reply), self.settings.reply_budget_s)
            except asyncio.TimeoutError:
                if turn.reply.done():
                    texts = turn.reply.result()
                else:
                    # Past the budget: answer now with the numbers, the real answer follows by
                    # REST. That an answer is owed is written first: if this gateway dies before
                    # Rasa answers, another one (or this one restarted) asks Rasa again.
                    turn.late = True
                    turn.owed = asyncio.create_task(self._owe(conv_id, msg, turn))
                    await asyncio.shield(turn.owed)
                    self.metrics.inc("salama_late_replies_total", channel=channel)
                    texts = [self.texts.get("static_fallback", detect(msg.body))]
            if send is not None:
                await send(texts)
        finally:
            turn.sent.set()  # whatever happened here, the turn must not wait for ever
        self.metrics.observe("salama_reply_seconds", time.monotonic() - started, channel=channel)
        self.metrics.inc("salama_messages_out_total", channel=channel, path="twiml", amount=len(texts))
        if turn.late and msg.message_sid:
            await self._save_reply(msg.message_sid, texts)  # a retry gets what she got
        return texts

    async def drain(self) -> None:
        """Wait for turns still running (late answers) — used at shutdown and in tests."""
        while self._background:
            await asyncio.gather(*list(self._background), return_exceptions=True)

    # -- one turn, under the conversation's lock -----------------------------------
    async def _process(self, msg: Inbound, conv_id: str, turn: _Turn) -> None:
        # The task is created as the webhook arrives and takes the lock before anything
        # else: messages of one conversation are handled in arrival order.
        try:
            async with self.locks.hold(conv_id):
                try:
                    texts = await self._turn(msg, conv_id, turn)
                except ForgedRetry as exc:
                    if not turn.late:
                        turn.reply.set_exception(exc)
                    return
                except Exception:
                    log.exception("turn failed conversation=%s", conv_id)
                    self.metrics.inc("salama_failures_total", component="gateway")
                    texts = [self.texts.get("static_fallback", detect(msg.body))]
                if not turn.late:
                    turn.reply.set_result(texts)  # her answer goes out first...
                    await turn.sent.wait()
                if not turn.duplicate:
                    await self._finish(msg, conv_id, turn, texts)  # ...then this is written
                if turn.late and not turn.duplicate:
                    await self._pay_owed(conv_id, turn, texts)
                if turn.writes.notify:
                    await self._notify(conv_id)
        except Exception:
            log.exception("turn failed conversation=%s", conv_id)
            self.metrics.inc("salama_failures_total", component="gateway")
            if not turn.reply.done():
                turn.reply.set_result([self.texts.get("static_fallback", detect(msg.body))])
            return

    async def _owe(self, conv_id: str, msg: Inbound, turn: _Turn) -> Optional[int]:
        """Persist her message as owed an answer (a pending row marked with its MessageSid)."""
        text, metadata = turn.to_rasa or (msg.body, {"channel": msg.channel, "language": detect(msg.body)})
        metadata = dict(metadata, owed_sid=msg.message_sid or "-")
        try:
            return await self.store.run(self.store.add_pending, conv_id, self.vault.encrypt(text),
                                        self.vault.encrypt(json.dumps(metadata)))
        except Exception:
            log.exception("could not record an owed answer conversation=%s", conv_id)
            self.metrics.inc("salama_failures_total", component="store")
            return None

    async def _pay_owed(self, conv_id: str, turn: _Turn, texts: list[str]) -> None:
        """A late answer goes out by REST, then the owed mark goes: a crash in between sends
        it twice (at least once), never zero times. Under the conversation's lock."""
        if texts:
            await self._send_later(conv_id, texts)
        owed_id = await turn.owed if turn.owed is not None else None
        if owed_id is not None:
            await self.store.run(self.store.delete_pending, owed_id)

    async def _finish(self, msg: Inbound, conv_id: str, turn: _Turn, texts: list[str]) -> None:
        """The turn's writes after Rasa (conversation fields, the bot's transcript lines, the
        answer kept for a retried webhook), in one transaction. A late answer's lines are
        written by _send_later and its TwiML answer by handle()."""
        writes, vault = turn.writes, self.vault
        bot_texts = [] if turn.late else writes.bot_texts
        if not (writes.values or bot_texts or msg.message_sid):
            return
        reply = None if turn.late or not msg.message_sid else vault.encrypt("\x1e".join(texts))
        try:
            await self.store.run(self.store.finish_turn, conv_id, msg.message_sid, reply,
                                 [vault.encrypt(t) for t in bot_texts], **writes.values)
        except Exception:
            # She has her answer; what is lost is a transcript line and the digits' meaning.
            log.exception("could not record the turn conversation=%s", conv_id)
            self.metrics.inc("salama_failures_total", component="store")

    async def _turn(self, msg: Inbound, conv_id: str, turn: _Turn) -> list[str]:
        store, vault = self.store, self.vault
        body = msg.body.strip()[: self.settings.max_body_chars]
        word = word_of(body)
        kw = keyword(word, self.settings.quick_exit_word)
        # Her text goes to the transcript, unless it is a keyword (START only when she had
        # opted out; the quick-exit and erase words are never kept).
        unkept = kw in (Keyword.STOP, Keyword.HELP, Keyword.QUICK_EXIT, Keyword.ERASE)
        start = await store.run(
            store.begin_turn, msg.message_sid, conv_id, vault.encrypt(msg.address), msg.channel,
            vault.encrypt(body) if body and not unkept else None, kw is Keyword.START,
        )
        if start is None:  # a retried webhook: answer what was answered, do nothing else
            turn.duplicate = True
            owner, reply = await store.run(store.stored_reply, msg.message_sid)
            if owner != conv_id:
                # Twilio retries from the same sender: another sender reusing a MessageSid is a
                # forgery (or a leaked signing key) fishing for her answer. Refuse it.
                self.metrics.inc("salama_rejected_webhooks_total", reason="sid_reuse")
                log.warning("refused a MessageSid claimed by another conversation conversation=%s", conv_id)
                raise ForgedRetry()
            self.metrics.inc("salama_duplicate_webhooks_total", channel=msg.channel)
            return self._decode_reply(reply)
        conv, is_new = start.conversation, start.is_new
        language = detect(body, conv.language)
        if language != conv.language:
            turn.writes.values["language"] = language

        # Keywords first, in every state (bot.keywords).
        if kw is Keyword.STOP:
            await store.run(store.update_conversation, conv_id, opted_out=True)
            return [self.texts.get("opted_out", language)]
        if kw is Keyword.START and conv.opted_out:
            await store.run(store.update_conversation, conv_id, opted_out=False)
            return [self.texts.get("opted_in", language)]
        if kw is Keyword.QUICK_EXIT:
            # Reveal nothing; keep nothing of this message; stay quiet until she writes.
            await store.run(store.update_conversation, conv_id, quiet=True)
            return [self.texts.get("quick_exit", language)]
        if kw is Keyword.ERASE:
            turn.writes.values["options"] = [ERASE_YES, ERASE_NO]
            self._erase_asked.add(conv_id)
            return [self.texts.get("erase_confirm", language)]
        answer = erase_answer(word, conv.options)
        self._erase_asked.discard(conv_id)
        if answer is True:
            await self.forget(conv_id)
            turn.writes.values.clear()  # nothing of her is written after the erasure
            return [self.texts.get("erase_done", language)]
        if answer is False:
            turn.writes.values["options"] = []
            return [self.texts.get("erase_kept", language)]
        if conv.options[:1] == [ERASE_YES]:
            turn.writes.values["options"] = []  # she wrote something else: the question lapses
            conv.options = []
        if kw is Keyword.HELP:
            return [self.texts.get("help", language)]

        if conv.status in ("waiting", "active"):
            texts = await self._in_handoff(conv, word, kw, language)
            turn.writes.notify = True  # a counsellor's page shows her message and language
            return texts

        if msg.num_media and not body:
            return self._with_first_contact([self.texts.get("media_only", language)], is_new, language)

        text, metadata = turn.to_rasa = self._to_rasa(msg, body, conv, language)
        earlier, rasa_up = await self._flush_pending(conv_id, msg.channel, language, start.pending,
                                                     skip_sid=msg.message_sid)
        texts = (await self._ask_rasa(conv_id, text, metadata, msg.channel, language, turn.writes)
                 if rasa_up else None)
        if texts is None:
            # Rasa is down: she gets the numbers now; her message waits for Rasa, in order.
            # Her location is as private as her text: both are kept encrypted.
            await store.run(store.add_pending, conv_id, vault.encrypt(text),
                            vault.encrypt(json.dumps(metadata)))
            texts = [self.texts.get("static_fallback", language)]
        return self._with_first_contact(earlier + texts, is_new, language)

    async def _ask_rasa(self, conv_id: str, text: str, metadata: dict, channel: str,
                        language: str, writes: Optional[_Writes] = None) -> Optional[list[str]]:
        """Rasa's answer as channel texts; None when Rasa is unavailable.

        With `writes`, the conversation's new options and the bot's transcript lines are
        left to the caller's Store.finish_turn, unless the answer hands her to a counsellor
        or erases her: then they are written at once, before that happens."""
        store, vault = self.store, self.vault
        try:
            bot_messages = await self.rasa.send(conv_id, text, metadata)
        except RasaUnavailable as exc:
            log.warning("rasa unavailable conversation=%s reason=%s", conv_id, exc)
            self.metrics.inc("salama_failures_total", component="rasa")
            return None
        if not bot_messages:
            # Rasa answered nothing: the action server failed, or a rule is missing.
            self.metrics.inc("salama_failures_total", component="actions")
            return [self.texts.get("static_fallback", language)]
        reply = render(bot_messages, channel, self.texts.get("menu_option_zero", language))
        custom = any(m.get("custom") for m in bot_messages)
        if writes is not None and not custom:
            writes.values["options"] = reply.options
            writes.bot_texts.extend(reply.messages)
            return reply.messages
        await store.run(store.finish_turn, conv_id, "", None,
                        [vault.encrypt(t) for t in reply.messages], options=reply.options)
        await self._apply_custom(conv_id, bot_messages)
        return reply.messages

    async def _flush_pending(self, conv_id: str, channel: str, language: str,
                             rows: Optional[list[dict]] = None,
                             skip_sid: str = "") -> tuple[list[str], bool]:
        """Give Rasa the messages it missed while down or whose answer is owed (a gateway
        died before sending it), oldest first. Returns their answers and whether Rasa took
        them all. Call with the conversation's lock held. `skip_sid`: the message this turn
        is answering itself (its own owed mark)."""
        answers: list[str] = []
        if rows is None:
            rows = await self.store.run(self.store.pending_for, conv_id)
        for row in rows:
            metadata = json.loads(self.vault.decrypt(row["metadata_enc"]))
            if skip_sid and metadata.pop("owed_sid", None) == skip_sid:
                continue
            metadata.pop("owed_sid", None)
            texts = await self._ask_rasa(conv_id, self.vault.decrypt(row["text_enc"]), metadata,
                                         channel, language)
            if texts is None:
                return answers, False
            await self.store.run(self.store.delete_pending, row["id"])
            answers.extend(texts)
        return answers, True

    async def retry_pending(self) -> int:
        """Background: answer, by REST, messages that waited for Rasa. Returns how many flushed."""
        done = 0
        for conv_id in await self.store.run(self.store.conversations_with_pending):
            async with self.locks.hold(conv_id):
                conv = await self.store.run(self.store.get_conversation, conv_id)
                if conv is None:
                    continue
                answers, _ = await self._flush_pending(conv_id, conv.channel, conv.language)
            if answers:
                await self._send_later(conv_id, answers)
                done += 1
        return done

    def _to_rasa(self, msg: Inbound, body: str, conv: Conversation, language: str) -> tuple[str, dict]:
        """What Rasa receives: text or payload, and metadata without any number."""
        metadata: dict[str, Any] = {"channel": msg.channel, "language": language}
        if msg.latitude is not None and msg.longitude is not None:
            metadata["location"] = {"lat": msg.latitude, "lng": msg.longitude}
            return "/inform_location", metadata
        if not body:
            return "/ask_capabilities", metadata
        digit = _DIGIT.match(body)
        if digit:
            n = int(digit.group(1))
            if n == 0:
                return "/ask_capabilities", metadata
            if 1 <= n <= len(conv.options):
                return conv.options[n - 1], metadata
        return body, metadata

    async def _apply_custom(self, conv_id: str, bot_messages: list[dict]) -> None:
        """Act on the actions' instructions: hand off to a counsellor, or erase everything."""
        for message in bot_messages:
            custom = message.get("custom") or {}
            if "handoff" in custom:
                info = custom["handoff"]
                await self.store.run(
                    self.store.update_conversation,
                    conv_id,
                    status="waiting",
                    priority=PRIORITY.get(info.get("priority", "other"), 0),
                    region=info.get("region"),
                    waiting_since=time.time(),
                    timeout_notified=False,
                    counsellor=None,
                )
                self.metrics.inc("salama_handoffs_total")
                await self._notify(conv_id)
            if custom.get("forget"):
                await self.forget(conv_id)

    async def forget(self, conv_id: str) -> None:
        """Erase her conversation here, her tracker in Rasa and (if set) her bodies at Twilio."""
        sids = (await self.store.run(self.store.message_sids, conv_id)
                if self.settings.twilio_redact_on_forget else [])
        await self.store.run(self.store.erase_conversation, conv_id)
        failed = 0
        for sid in sids:
            try:
                await self.twilio.redact(sid)
            except (TwilioRetryable, TwilioRejected):
                failed += 1
        if failed:
            log.warning("could not redact %s of %s messages at Twilio conversation=%s", failed, len(sids), conv_id)
        try:
            await self.rasa.replace_events(conv_id, [])
        except RasaUnavailable as exc:
            log.warning("could not reset the Rasa tracker conversation=%s reason=%s", conv_id, exc)
        self.metrics.inc("salama_erasures_total")
        await self._notify(conv_id)

    async def _in_handoff(self, conv: Conversation, word: str, kw: Optional[Keyword],
                          language: str) -> list[str]:
        if kw is Keyword.BOT or (conv.status == "waiting" and conv.timeout_notified and word == "2"):
            await self.resume_bot(conv.id)
            return [self.texts.get("bot_resumed", language)]
        if conv.status == "waiting" and conv.timeout_notified and word == "1":
            await self.store.run(self.store.update_conversation, conv.id, timeout_notified=False,
                                 waiting_since=time.time())
            return [self.texts.get("keep_waiting", language)]
        return []  # a counsellor answers; no automatic message

    async def resume_bot(self, conv_id: str) -> None:
        await self.store.run(self.store.update_conversation, conv_id, status="bot", counsellor=None,
                             waiting_since=None, timeout_notified=False)
        try:
            # The action that paused the conversation never reached action_listen; without
            # it her next message would match no rule.
            await self.rasa.append_events(conv_id, [{"event": "resume"},
                                                    {"event": "action", "name": "action_listen"}])
        except RasaUnavailable as exc:
            log.warning("could not resume Rasa conversation=%s reason=%s", conv_id, exc)
        await self._notify(conv_id)

    # -- sending outside the webhook's answer ---------------------------------------
    async def send_later(self, conv_id: str, text: str, sender: str = "bot",
                         counsellor: Optional[str] = None) -> None:
        """Queue a message to her (late answer, counsellor reply, timeout notice)."""
        await self._send_later(conv_id, [text], sender, counsellor)

    async def send_template(self, conv_id: str, content_sid: str, counsellor: str) -> None:
        """Queue the approved WhatsApp template (after the 24-hour window has closed)."""
        await self.store.run(self.store.enqueue, conv_id, self.vault.encrypt(""), content_sid)
        await self.store.run(self.store.add_transcript, conv_id, "counsellor",
                             self.vault.encrypt(f"[WhatsApp template {content_sid}]"), counsellor)
        self._kick_outbox()

    async def _send_later(self, conv_id: str, texts: list[str], sender: str = "bot",
                          counsellor: Optional[str] = None) -> None:
        conv = await self.store.run(self.store.get_conversation, conv_id)
        if conv is None or conv.quiet or conv.opted_out:
            return
        # The lock screen shows the first line: it must say nothing about violence.
        preview = self.texts.get("neutral_preview", conv.language)
        for i, text in enumerate(texts):
            outgoing = f"{preview}\n{text}" if i == 0 else text
            for part in split_message(outgoing, conv.channel):
                await self.store.run(self.store.enqueue, conv_id, self.vault.encrypt(part))
            await self.store.run(self.store.add_transcript, conv_id, sender,
                                 self.vault.encrypt(text), counsellor)
        self._kick_outbox()

    # -- helpers ---------------------------------------------------------------------
    def _with_first_contact(self, texts: list[str], is_new: bool, language: str) -> list[str]:
        if not is_new:
            return texts
        return [self.texts.get("first_contact", language), *texts]

    async def _save_reply(self, message_sid: str, texts: list[str]) -> None:
        try:
            payload = "\x1e".join(texts)
            await self.store.run(self.store.save_reply, message_sid, self.vault.encrypt(payload))
        except Exception:
            log.exception("could not store the reply for a retry")

    def _decode_reply(self, stored: Optional[bytes]) -> list[str]:
        if stored is None:
            return []  # the first delivery is still being answered
        text = self.vault.decrypt(stored)
        return [t for t in text.split("\x1e") if t]

    async def _notify(self, conv_id: str) -> None:
        for listener in self._listeners:
            try:
                await listener(conv_id)
            except Exception:
                log.exception("listener failed")
