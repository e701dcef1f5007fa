"""Hostile and broken input (issue 13): a huge form cannot stall the gateway, bad bytes get a
4xx and no traceback, the sender is a phone number, a reused MessageSid from another sender
is refused, a location must be a place on Earth, and the erase and quick-exit words work in
every state (waiting, claimed, rate limited, Rasa down)."""
from __future__ import annotations

import asyncio
import time
from urllib.parse import urlencode

import pytest

from bot.appkeys import GATEWAY, METRICS, STORE
from bot.inbound import MAX_BODY_BYTES, MAX_FIELDS, Inbound, valid_sender
from tests.conftest import Phone


def _flood(fields: int) -> bytes:
    return urlencode({f"f{i}": "x" for i in range(fields)}).encode()


async def test_a_form_with_110k_fields_is_refused_at_once_and_the_loop_stays_free(gateway_factory):
    client, settings, app = await gateway_factory()
    phone = Phone(client, settings)
    body = _flood(110_000)
    started = time.monotonic()
    flood = asyncio.create_task(client.post("/twilio/messages", data=body, headers={
        "Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": "forged"}))
    genuine_started = time.monotonic()
    texts = await phone.send("bonjour")  # a genuine message meanwhile (Rasa down: static reply)
    genuine = time.monotonic() - genuine_started
    resp = await flood
    assert resp.status == 413
    assert time.monotonic() - started < 2.0 and genuine < 2.0  # was 14-15 s for both
    assert texts and "19" in texts[-1]


@pytest.mark.parametrize("fields", [MAX_FIELDS + 1, 5_000])
async def test_too_many_fields_within_the_size_cap_are_refused_before_the_signature(gateway_factory, fields):
    client, settings, app = await gateway_factory()
    body = _flood(fields)[:MAX_BODY_BYTES]
    resp = await client.post("/twilio/messages", data=body, headers={
        "Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": "forged"})
    assert resp.status == 413


@pytest.mark.parametrize("body,content_type,status", [
    (b"Body=\xff\xfe&From=%2B212600000001", "application/x-www-form-urlencoded", 400),
    (b"Body=%FF%FE&From=%2B212600000001", "application/x-www-form-urlencoded", 400),
    (b"Body=salam", "application/x-www-form-urlencoded; charset=bogus-8", 415),
    (b"Body=salam", "application/x-www-form-urlencoded; charset=latin-1", 415),
    (b'--b\r\nContent-Disposition: form-data; name="Body"\r\n\r\nsalam\r\n--b--\r\n',
     "multipart/form-data; boundary=b", 415),
    (b'{"Body": "salam"}', "application/json", 415),
])
async def test_bad_bytes_get_a_4xx_and_no_traceback(gateway_factory, caplog, body, content_type, status):
    client, settings, app = await gateway_factory()
    resp = await client.post("/twilio/messages", data=body, headers={
        "Content-Type": content_type, "X-Twilio-Signature": "forged"})
    assert resp.status == status
    assert not [r for r in caplog.records if r.levelname == "ERROR" or r.exc_info or r.exc_text]


@pytest.mark.parametrize("header", [
    "application/x-www-form-urlencoded", "application/x-www-form-urlencoded; charset=UTF-8",
    "Application/X-WWW-Form-Urlencoded ;charset=\"utf-8\"", "application/x-www-form-urlencoded; charset=bogus-8",
    "application/x-www-form-urlencoded; boundary=x; charset=latin-1", "multipart/form-data; boundary=b",
    "application/json", "text/plain;charset=utf_8",
])
def test_the_content_type_is_read_as_aiohttp_reads_it(header):
    from aiohttp.test_utils import make_mocked_request

    from bot.inbound import content_type
    request = make_mocked_request("POST", "/twilio/messages", headers={"Content-Type": header})
    assert content_type(header) == (request.content_type, request.charset or "")


async def test_a_form_at_the_field_cap_reaches_the_signature_check(gateway_factory):
    client, settings, app = await gateway_factory()
    resp = await client.post("/twilio/messages", data=_flood(MAX_FIELDS), headers={
        "Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": "forged"})
    assert resp.status == 403


async def test_a_signed_oddity_gets_a_kind_answer_not_a_500(gateway_factory):
    client, settings, app = await gateway_factory()
    phone = Phone(client, settings)
    assert await phone.send("salam", NumMedia="²")  # isdigit() said yes, int() said no
    assert await phone.send("", Latitude="999", Longitude="-7.5")
    assert await phone.send("", Latitude="nan", Longitude="nan")
    assert await phone.send("", Latitude="inf", Longitude="-inf")


@pytest.mark.parametrize("lat,lng", [("999", "-7.5"), ("nan", "nan"), ("inf", "-inf"), ("33.5", ""),
                                     ("33.5", "abc"), ("-91", "10"), ("10", "181")])
def test_a_location_off_the_earth_is_no_location(lat, lng):
    msg = Inbound.from_form({"From": "+212600000001", "Latitude": lat, "Longitude": lng})
    assert msg.latitude is None and msg.longitude is None


def test_a_real_location_and_a_long_body_are_read():
    msg = Inbound.from_form({"From": "+212600000001", "Latitude": "34.68", "Longitude": "-1.91",
                             "Body": "x" * 5000, "NumMedia": "2"}, max_body_chars=1600)
    assert (msg.latitude, msg.longitude, len(msg.body), msg.num_media) == (34.68, -1.91, 1600, 2)


@pytest.mark.parametrize("sender,ok", [
    ("+212600000001", True), ("whatsapp:+212661234567", True), ("+33612345678", True),
    ("+15005550006", True), ("not-a-phone <script>", False), ("", False), ("+2126", False),
    ("whatsapp:212600000001", False), ("+212 600 000 001", False), ("+99912345678", False),
])
def test_the_sender_must_be_a_phone_number(sender, ok):
    assert valid_sender(sender) is ok


async def test_a_signed_webhook_from_a_non_number_is_refused(gateway_factory):
    client, settings, app = await gateway_factory()
    phone = Phone(client, settings, "not-a-phone <script>")
    resp = await phone.post(phone.params("salam"))
    assert resp.status == 400


async def test_a_message_sid_reused_by_another_sender_is_refused_and_counted(gateway_factory):
    client, settings, app = await gateway_factory()
    her, other = Phone(client, settings, "+212600000444"), Phone(client, settings, "+212600000999")
    params = her.params("salam")
    first = await her.post(params)
    assert first.status == 200
    retry = await her.post(params)
    assert retry.status == 200 and await retry.text() == await first.text()  # Twilio's retry
    forged = dict(params, From=other.address)
    resp = await other.post(forged)
    assert resp.status == 403
    assert "sid_reuse" in app[METRICS].render({})


# -- erase and quick exit, in every state ----------------------------------------------------
async def _conversation(gateway_factory, **settings_overrides):
    client, settings, app = await gateway_factory(**settings_overrides)
    phone = Phone(client, settings, "+212600000777")
    await phone.send("bonjour")  # Rasa is down here: the static answer, and a conversation
    conv_id = app[GATEWAY].vault.pseudonym(phone.address)
    return phone, app, conv_id


@pytest.mark.parametrize("state", ["waiting", "active"])
@pytest.mark.parametrize("word,variety", [("effacer", "fr"), ("mse7!", "dar_lat"), ("مسح", "dar_ar"),
                                          ("Mse7 .", "dar_lat")])
async def test_erase_works_during_a_handoff(gateway_factory, state, word, variety):
    phone, app, conv_id = await _conversation(gateway_factory)
    store, texts = app[STORE], app[GATEWAY].texts
    store.update_conversation(conv_id, status=state, waiting_since=time.time(),
                              counsellor="amina" if state == "active" else None)
    changed = []

    async def listener(cid: str) -> None:
        changed.append((cid, store.get_conversation(cid)))

    app[GATEWAY].on_change(listener)
    asked = await phone.send(word)
    assert len(asked) == 1 and "1" in asked[0] and "2" in asked[0]
    assert store.get_conversation(conv_id).status == state  # not yet
    done = await phone.send("1")
    assert done == [texts.get("erase_done", store_language(done, texts))]
    assert store.get_conversation(conv_id) is None
    assert (conv_id, None) in changed  # the console is told: it shows "erased"


def store_language(done: list[str], texts) -> str:
    return next(v for v in ("dar_ar", "dar_lat", "ar", "fr") if texts.get("erase_done", v) == done[0])


async def test_erase_can_be_cancelled_and_lapses_when_she_writes_something_else(gateway_factory):
    phone, app, conv_id = await _conversation(gateway_factory)
    store, texts = app[STORE], app[GATEWAY].texts
    await phone.send("effacer")
    assert await phone.send("2") == [texts.get("erase_kept", "fr")]
    assert store.get_conversation(conv_id) is not None
    await phone.send("effacer")
    await phone.send("je veux un centre")  # something else: the question lapses
    await app[GATEWAY].drain()  # the turn's writes follow her answer
    assert store.get_conversation(conv_id).options[:1] != ["salama:erase"]
    await phone.send("1")
    assert store.get_conversation(conv_id) is not None


async def test_erase_and_quick_exit_pass_the_rate_limiter(gateway_factory):
    phone, app, conv_id = await _conversation(gateway_factory, rate_limit_per_minute=2)
    texts = app[GATEWAY].texts
    await phone.send("bonjour")
    assert await phone.send("bonjour") == [texts.get("rate_limited", "fr")]
    assert await phone.send(phone.settings.quick_exit_word) == [texts.get("quick_exit", "fr")]
    assert "1" in (await phone.send("effacer"))[0]
    assert await phone.send("1") == [texts.get("erase_done", "fr")]
    assert app[STORE].get_conversation(conv_id) is None


async def test_quick_exit_during_a_handoff_silences_the_counsellor(gateway_factory, twilio):
    phone, app, conv_id = await _conversation(gateway_factory)
    store = app[STORE]
    store.update_conversation(conv_id, status="active", counsellor="amina")
    assert await phone.send(phone.settings.quick_exit_word) == [app[GATEWAY].texts.get("quick_exit", "fr")]
    before = len(twilio.messages)
    await app[GATEWAY].send_later(conv_id, "Vous êtes là ?", sender="counsellor", counsellor="amina")
    await asyncio.sleep(0.5)
    assert len(twilio.messages) == before


# -- a late answer is owed in writing before the static answer leaves ------------------------
@pytest.mark.integration
async def test_a_late_answer_survives_the_gateway_dying_before_rasa_answers(
        stack, gateway_factory, twilio, aiohttp_server):
    from aiohttp import web

    stuck = asyncio.Event()

    async def never_answers(request: web.Request) -> web.Response:
        stuck.set()
        await asyncio.sleep(3600)  # this gateway "dies" while Rasa thinks
        return web.json_response([])

    slow = web.Application()
    slow.router.add_post("/webhooks/rest/webhook", never_answers)
    slow_rasa = await aiohttp_server(slow)
    client, settings, dying = await gateway_factory(**dict(
        stack.gateway_settings(), rasa_url=str(slow_rasa.make_url("")).rstrip("/"),
        reply_budget_s=0.3, rasa_timeout_s=3600))
    phone = Phone(client, settings, "+212600000456")
    static = await phone.send("je cherche un centre à Oujda")
    assert "19" in static[-1] and "8350" in static[-1]  # the numbers at once
    assert stuck.is_set()
    conv_id = dying[GATEWAY].vault.pseudonym(phone.address)
    assert len(dying[STORE].pending_for(conv_id)) == 1  # the owed answer is on disk
    # Another gateway (or this one restarted) on the same store, with a working Rasa.
    _, _, healthy = await gateway_factory(**stack.gateway_settings(), salama_secret=settings.salama_secret)
    await healthy[GATEWAY].retry_pending()  # (its periodic job may have done it already)
    sent = [m for m in twilio.messages if m["to"] == phone.address]
    for _ in range(100):
        if sent:
            break
        await asyncio.sleep(0.05)
        sent = [m for m in twilio.messages if m["to"] == phone.address]
    assert sent, "the owed answer went out by REST"
    assert healthy[STORE].pending_for(conv_id) == []
    for task in list(dying[GATEWAY]._background):
        task.cancel()


@pytest.mark.integration
async def test_a_late_answer_is_sent_once_and_owes_nothing_after(stack, gateway_factory, twilio):
    client, settings, app = await gateway_factory(**stack.gateway_settings(), reply_budget_s=0.001)
    phone = Phone(client, settings, "+212600000457")
    assert await phone.send("mon mari me frappe")
    await app[GATEWAY].drain()
    conv_id = app[GATEWAY].vault.pseudonym(phone.address)
    assert app[STORE].pending_for(conv_id) == []
    assert await app[GATEWAY].retry_pending() == 0
    await asyncio.sleep(0.5)
    assert len([m for m in twilio.messages if m["to"] == phone.address]) >= 1


async def test_metrics_are_typed_prometheus_families(gateway_factory):
    from prometheus_client.parser import text_string_to_metric_families

    client, settings, app = await gateway_factory()
    phone = Phone(client, settings, "+212600000123")
    await phone.send("bonjour")
    await client.post("/twilio/messages", data={"Body": "x"}, headers={"X-Twilio-Signature": "bad"})
    resp = await client.get("/metrics")
    assert resp.headers["Content-Type"].startswith("text/plain; version=")
    families = {f.name: f for f in text_string_to_metric_families(await resp.text())}
    assert families["salama_messages_in"].type == "counter"
    assert families["salama_reply_seconds"].type == "histogram"
    assert families["salama_outbox_backlog"].type == "gauge"
    assert all(f.type != "unknown" for f in families.values())
    rejected = [s for s in families["salama_rejected_webhooks"].samples if s.name.endswith("_total")]
    assert rejected and rejected[0].labels == {"reason": "signature"}
