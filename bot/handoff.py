"""Handoff timing: tell her honestly when nobody has claimed her conversation."""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

from aiohttp import web

from bot.appkeys import GATEWAY, SETTINGS, STORE
from bot.settings import Settings

MOROCCO = timezone(timedelta(hours=1))  # Morocco keeps UTC+1 outside Ramadan


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
            await gateway.send_later(conv.id, gateway.texts.get(key, conv.language))
            told += 1
    return told
