"""Her erasure: the gateway's rows, her tracker in Rasa and (if set) her bodies at Twilio."""
from __future__ import annotations

import logging

from bot.gateway.parts import Parts
from bot.rasa_client import RasaUnavailable
from bot.twilio_api import TwilioRejected, TwilioRetryable

log = logging.getLogger("salama.gateway")


class Erasure:
    def __init__(self, parts: Parts) -> None:
        self.p = parts

    async def forget(self, conv_id: str) -> None:
        p = self.p
        sids = await p.store.aio.message_sids(conv_id) if p.settings.twilio_redact_on_forget else []
        await p.store.aio.erase_conversation(conv_id)
        failed = 0
        for sid in sids:
            try:
                await p.twilio.redact(sid)
            except (TwilioRetryable, TwilioRejected):
                failed += 1
        if failed:
            log.warning("could not redact %s of %s messages at Twilio conversation=%s",
                        failed, len(sids), conv_id)
        try:
            await p.rasa.replace_events(conv_id, [])
        except RasaUnavailable as exc:
            log.warning("could not reset the Rasa tracker conversation=%s reason=%s", conv_id, exc)
        p.metrics.inc("salama_erasures_total")
        p.stats.count("erasures")
        await p.notify(conv_id)
