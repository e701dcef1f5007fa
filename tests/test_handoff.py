"""Nobody claims her conversation: she is told honestly and chooses to wait or go back."""
import time
from datetime import datetime

from bot.appkeys import GATEWAY, STORE
from bot.handoff import MOROCCO, notify_unclaimed, within_hours
from tests.conftest import Phone, make_settings, sent_to


def test_working_hours_are_morocco_time(var_dir):
    settings = make_settings(var_dir, counsellor_hours="08:00-20:00")
    at = lambda h, m: datetime(2026, 11, 30, h, m, tzinfo=MOROCCO).timestamp()  # noqa: E731
    assert within_hours(settings, at(8, 0)) and within_hours(settings, at(19, 59))
    assert not within_hours(settings, at(7, 59)) and not within_hours(settings, at(20, 0))


async def test_unclaimed_conversation_is_told_then_waits_or_goes_back(gateway_factory, twilio):
    client, settings, app = await gateway_factory(handoff_wait_s=60)
    phone = Phone(client, settings, "+212600000777")
    await phone.send("bonjour")
    store, gateway = app[STORE], app[GATEWAY]
    await gateway.drain()  # the turn's writes (her language) follow her answer
    conv_id = gateway.vault.pseudonym(phone.address)
    store.update_conversation(conv_id, status="waiting", waiting_since=time.time() - 30)
    assert await notify_unclaimed(app) == 0  # not yet: she has waited 30 s of 60
    store.update_conversation(conv_id, waiting_since=time.time() - 90)
    # The app's own periodic job may tell her first; either way she is told exactly once.
    assert await notify_unclaimed(app) in (0, 1)
    (notice,) = await sent_to(twilio, phone.address)
    assert gateway.texts.get("handoff_timeout", "fr") in notice["body"] and "8350" in notice["body"]
    assert await notify_unclaimed(app) == 0  # told once
    assert await phone.send("1") == [gateway.texts.get("keep_waiting", "fr")]
    assert store.get_conversation(conv_id).status == "waiting"
    store.update_conversation(conv_id, waiting_since=time.time() - 90)
    await notify_unclaimed(app)
    assert await phone.send("2") == [gateway.texts.get("bot_resumed", "fr")]
    assert store.get_conversation(conv_id).status == "bot"
