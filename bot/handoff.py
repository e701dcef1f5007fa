"""The handoff to a counsellor, from the gateway's side: queueing her (the typed contract is
core.contract.Handoff), what her messages do while she waits or talks with a counsellor, the
return to the bot, and telling her honestly when nobody has claimed her conversation."""
from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Optional

from aiohttp import web

from bot.appkeys import GATEWAY, SETTINGS, STORE
from bot.keywords import Keyword
from bot.rasa_client import RasaUnavailable
from bot.store import Conversation
from core.contract import Handoff
from core.settings import Settings

if TYPE_CHECKING:
    from bot.gateway.parts import Parts

log = logging.getLogger("salama.gateway")
MOROCCO = timezone(timedelta(hours=1))  # Morocco keeps UTC+1 outside Ramadan


class Handoffs:
    def __init__(self, parts: Parts) -> None:
        self.p = parts

    async def start(self, conv_id: str, handoff: Handoff) -> None:
        """Queue her, by priority, for a counsellor who will answer in her variety."""
        values = dict(status="waiting", priority=int(handoff.priority), region=handoff.region,
                      waiting_since=time.time(), timeout_notified=False, counsellor=None)
        if handoff.variety:
            values["language"] = handoff.variety
        await self.p.store.aio.update_conversation(conv_id, **values)
        self.p.metrics.inc("salama_handoffs_total")
        self.p.stats.count("handoffs_asked", handoff.priority.name.lower())
        self.p.stats.count("handoff_reasons", handoff.reason)
        self.p.stats.count("handoff_regions", handoff.region)
        await self.p.notify(conv_id)

    async def route(self, conv: Conversation, word: str, kw: Optional[Keyword], language: str) -> list[str]:
        """Her message while she waits for or talks with a counsellor: the counsellor answers
        it (no automatic reply), unless she goes back to the bot or answers the notice."""
        waiting_told = conv.status == "waiting" and conv.timeout_notified
        if kw is Keyword.BOT or (waiting_told and word == "2"):
            await self.resume_bot(conv.id)
            return [self.p.texts.get("bot_resumed", language)]
        if waiting_told and word == "1":
            await self.p.store.aio.update_conversation(conv.id, timeout_notified=False,
                                                       waiting_since=time.time())
            return [self.p.texts.get("keep_waiting", language)]
        return []

    async def resume_bot(self, conv_id: str) -> None:
        await self.p.store.aio.update_conversation(conv_id, status="bot", counsellor=None,
                                                   waiting_since=None, timeout_notified=False)
        try:
            # The action that paused the conversation never reached action_listen; without
            # it her next message would match no rule.
            await self.p.rasa.append_events(conv_id, [{"event": "resume"},
                                                      {"event": "action", "name": "action_listen"}])
        except RasaUnavailable as exc:
            log.warning("could not resume Rasa conversation=%s reason=%s", conv_id, exc)
        await self.p.notify(conv_id)


def within_hours(settings: Settings, now: float) -> bool:
    start, end = settings.working_hours()
    local = datetime.fromtimestamp(now, MOROCCO)
    minute = local.hour * 60 + local.minute
    return start <= minute < end


async def notify_unclaimed(app: web.Application) -> int:
    """Send the 'nobody is free' message to each conversation waiting too long. Returns count."""
    settings, store, gateway = app[SETTINGS], app[STORE], app[GATEWAY]
    now = time.time()
    # Outside working hours she is told at once; inside, after HANDOFF_WAIT_S.
    open_now = within_hours(settings, now)
    key = "handoff_timeout" if open_now else "handoff_outside_hours"
    waited_since = now - settings.handoff_wait_s if open_now else now
    overdue = await store.aio.waiting_overdue(waited_since)
    told = 0
    for conv in overdue:
        # Several gateways run this job: only the one that claims the notice sends it.
        if await store.aio.claim_timeout_notice(conv.id):
            gateway.stats.count("handoffs_unclaimed" if open_now else "handoffs_after_hours")
            await gateway.send_later(conv.id, gateway.texts.get(key, conv.language))
            told += 1
    return told
