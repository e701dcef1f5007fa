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
    overdue = await store.run(store.waiting_overdue, waited_since)
    for conv in overdue:
        # "1" and "2" now answer this notice, not an earlier question (an erase confirmation).
        await store.run(store.update_conversation, conv.id, timeout_notified=True, options=[])
        await gateway.send_later(conv.id, gateway.texts.get(key, conv.language))
    return len(overdue)
