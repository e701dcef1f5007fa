"""The gateway on its own (Rasa down): signatures, idempotency, keywords, never silent."""
from __future__ import annotations

import asyncio
import re
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa
from twilio.request_validator import RequestValidator

from bot.appkeys import GATEWAY, METRICS, STORE
from bot.gateway import Inbound
from bot.store import conversations, inbound, transcript
from tests.conftest import Phone, twiml_messages

NUMBERS = ("8350", "19", "177")


async def test_unsigned_webhook_is_refused_and_nothing_is_stored(gateway_factory):
    client, settings, app = await gateway_factory()
    phone = Phone(client, settings)
    params = phone.params("salam")
    resp = await client.post("/twilio/messages", data=params)
    assert resp.status == 403
    resp = await phone.post(params, signature="bm90IGEgc2lnbmF0dXJl")
    assert resp.status == 403
    with app[STORE].engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(inbound)).scalar() == 0


async def test_signature_uses_public_base_url_not_the_request_url(gateway_factory):
    client, settings, _ = await gateway_factory()
    phone = Phone(client, settings)
    params = phone.params("salam")
    # Signed for the URL the request really arrived on (as a proxy would expose): refused.
    local_url = str(client.make_url("/twilio/messages"))
    wrong = RequestValidator(settings.twilio_auth_token).compute_signature(local_url, params)
    assert (await phone.post(params, signature=wrong)).status == 403
    assert (await phone.post(params)).status == 200


async def test_rasa_down_gets_static_reply_with_numbers_in_her_language(gateway_factory):
    client, settings, _ = await gateway_factory()
    phone = Phone(client, settings)
    texts = await phone.send("rajli kaydrebni fin nmchi")
    joined = "\n".join(texts)
    assert all(n in joined for n in NUMBERS)
    assert not any("\u0600" <= ch <= "\u06ff" for ch in texts[-1]), "dar_lat must get Latin script"
    texts = await Phone(client, settings, "+212600000777").send("زوجي يضربني ماذا أفعل")
    assert any("\u0600" <= ch <= "\u06ff" for ch in texts[-1])
    assert "8350" in texts[-1]


async def test_first_contact_text_comes_once(gateway_factory):
    client, settings, app = await gateway_factory()
    phone = Phone(client, settings)
    first = await phone.send("bonjour")
    second = await phone.send("bonjour")
    assert len(first) == len(second) + 1
    assert first[0] == app[GATEWAY].texts.get("first_contact", "fr")


async def test_retried_webhook_is_answered_once_with_the_same_reply(gateway_factory):
    client, settings, app = await gateway_factory()
    phone = Phone(client, settings)
    params = phone.params("salam")
    first = await (await phone.post(params)).text()
    again = await (await phone.post(params)).text()
    assert first == again
    with app[STORE].engine.connect() as conn:
        user_rows = conn.execute(
            sa.select(sa.func.count()).select_from(transcript).where(transcript.c.sender == "user")
        ).scalar()
    assert user_rows == 1


async def test_stop_and_start(gateway_factory):
    client, settings, app = await gateway_factory()
    phone = Phone(client, settings)
    await phone.send("salam")
    texts = await phone.send("STOP")
    assert texts == [app[GATEWAY].texts.get("opted_out", "dar_lat")]
    with app[STORE].engine.connect() as conn:
        assert conn.execute(sa.select(conversations.c.opted_out)).scalar() is True
    texts = await phone.send("START")
    assert texts == [app[GATEWAY].texts.get("opted_in", "dar_lat")]


async def test_help_keyword_in_her_language(gateway_factory):
    client, settings, app = await gateway_factory()
    phone = Phone(client, settings, "+212600000002")
    await phone.send("bonjour, j'ai besoin de parler")
    assert await phone.send("AIDE") == [app[GATEWAY].texts.get("help", "fr")]


async def test_voice_note_gets_a_kind_text_only_reply(gateway_factory):
    client, settings, app = await gateway_factory()
    phone = Phone(client, settings)
    await phone.send("salam")
    texts = await phone.send("", NumMedia="1", MediaContentType0="audio/ogg",
                             MediaUrl0="https://api.twilio.com/media/1")
    assert texts == [app[GATEWAY].texts.get("media_only", "dar_lat")]


async def test_quick_exit_reveals_nothing_and_stores_nothing(gateway_factory):
    client, settings, app = await gateway_factory()
    phone = Phone(client, settings)
    await phone.send("salam")
    texts = await phone.send(settings.quick_exit_word)
    assert texts == [app[GATEWAY].texts.get("quick_exit", "dar_lat")]
    with app[STORE].engine.connect() as conn:
        assert conn.execute(sa.select(conversations.c.quiet)).scalar() is True
        assert conn.execute(sa.select(sa.func.count()).select_from(transcript)).scalar() == 1


async def test_number_never_stored_in_clear(gateway_factory, var_dir):
    client, settings, app = await gateway_factory()
    phone = Phone(client, settings, "whatsapp:+212612345678")
    await phone.send("ana f casa w rajli kaydrebni")
    app[STORE].engine.dispose()
    for path in var_dir.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert b"612345678" not in data, path
            assert b"kaydrebni" not in data, path


async def test_rate_limit_spares_emergencies(gateway_factory):
    client, settings, app = await gateway_factory(rate_limit_per_minute=3)
    phone = Phone(client, settings)
    for _ in range(3):
        await phone.send("salam")
    limited = await phone.send("salam")
    assert limited == [app[GATEWAY].texts.get("rate_limited", "dar_lat")]
    urgent = await phone.send("ghadi y9telni 3te9ni")
    assert any("19" in t for t in urgent) and urgent != limited


async def test_concurrent_messages_of_one_conversation_keep_their_order(gateway_factory):
    client, settings, app = await gateway_factory()
    phone = Phone(client, settings)
    bodies = [f"message {i}" for i in range(10)]
    tasks = []
    registry = app[METRICS].registry
    for i, body in enumerate(bodies):  # arrive in this order, while earlier ones are still in flight
        tasks.append(asyncio.create_task(phone.send(body)))
        # The next one leaves once this one has reached the gateway (HTTP alone does not
        # keep two concurrent requests in order on a loaded machine).
        while (registry.get_sample_value("salama_messages_in_total", {"channel": "whatsapp"}) or 0) < i + 1:
            await asyncio.sleep(0.001)
    await asyncio.gather(*tasks)
    conv_id = app[GATEWAY].vault.pseudonym(phone.address)
    rows = app[STORE].get_transcript(conv_id)
    seen = [app[GATEWAY].vault.decrypt(r["text_enc"]) for r in rows if r["sender"] == "user"]
    assert seen == bodies


async def test_healthz_reports_rasa_down(gateway_factory):
    client, _, _ = await gateway_factory()
    resp = await client.get("/healthz")
    assert resp.status == 503
    body = await resp.json()
    assert body["store"] == "ok" and body["rasa"].startswith("down")


async def test_metrics_have_no_number_or_text(gateway_factory):
    client, settings, _ = await gateway_factory()
    await Phone(client, settings, "+212600000123").send("canary-text-5531")
    text = await (await client.get("/metrics")).text()
    assert "salama_messages_in_total" in text
    assert "600000123" not in text and "canary" not in text



def test_rate_limiter_forgets_quiet_senders():
    from bot.gateway import RateLimiter

    limiter = RateLimiter(per_minute=2)
    for i in range(500):
        assert limiter.allow(f"u{i}", now=100.0 + i / 100)
    assert limiter.allow("late", now=200.0)
    assert len(limiter._seen) == 1


async def test_each_answer_is_written_once_on_a_kept_alive_connection(gateway_factory):
    """Twilio reuses connections: the answer, written before the turn is recorded, must
    not be written a second time when the handler returns."""
    client, settings, _ = await gateway_factory()
    phone = Phone(client, settings)
    reader, writer = await asyncio.open_connection(client.host, client.port)
    try:
        for body in ("salam", "rajli kaydrebni"):
            params = phone.params(body)
            form = urlencode(params).encode()
            writer.write(
                b"POST /twilio/messages HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n"
                b"Content-Type: application/x-www-form-urlencoded\r\n"
                + f"X-Twilio-Signature: {phone.signature(params)}\r\n".encode()
                + f"Content-Length: {len(form)}\r\n\r\n".encode() + form)
            await writer.drain()
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            assert head.startswith(b"HTTP/1.1 200")
            length = int(re.search(rb"Content-Length: (\d+)", head).group(1))
            assert "8350" in twiml_messages((await reader.readexactly(length)).decode())[-1]
        # Nothing more may arrive: a second copy would be read as the next answer.
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(reader.read(1), 0.5)
    finally:
        writer.close()


async def test_a_failed_send_does_not_hold_her_conversation(gateway_factory):
    """If writing the answer fails (the connection dropped), the turn still ends and her
    next message is answered."""
    client, settings, app = await gateway_factory()
    gateway = app[GATEWAY]

    async def broken(texts: list[str]) -> None:
        raise ConnectionResetError

    first = Inbound(address="whatsapp:+212600000555", body="salam", message_sid="SMbroken0001")
    with pytest.raises(ConnectionResetError):
        await gateway.handle(first, broken)
    second = Inbound(address="whatsapp:+212600000555", body="salam", message_sid="SMbroken0002")
    texts = await asyncio.wait_for(gateway.handle(second), 10)
    assert "8350" in texts[-1]
    await asyncio.wait_for(gateway.drain(), 10)
    with app[STORE].engine.connect() as conn:
        kept = dict(conn.execute(sa.select(inbound.c.message_sid, inbound.c.reply_enc)).all())
    assert set(kept) == {"SMbroken0001", "SMbroken0002"} and all(kept.values())


@pytest.mark.parametrize("texts", [
    [], ["salam"], ["a & b < c > \"d\" 'e'", "سلام\nلالة", ""],
    ["1. Ana f khatar daba\n2. Markaz 9rib menni", "<Message>not markup</Message>"],
])
def test_twiml_is_what_twilios_library_renders(texts):
    from twilio.twiml.messaging_response import MessagingResponse

    from bot.webhook import twiml_xml

    reference = MessagingResponse()
    for text in texts:
        reference.message(text)
    assert twiml_xml(texts) == str(reference)
    assert twiml_messages(twiml_xml(texts)) == texts


async def test_the_console_is_told_after_her_message_and_language_are_recorded(gateway_factory):
    """During a handoff her message goes to the counsellor's page: when the page is told,
    the store already has her text and the language she now writes in."""
    client, settings, app = await gateway_factory()
    phone = Phone(client, settings, "whatsapp:+212600000444")
    await phone.send("bonjour")
    store, gateway = app[STORE], app[GATEWAY]
    conv_id = gateway.vault.pseudonym(phone.address)
    store.update_conversation(conv_id, status="active", counsellor="amina")
    seen = []

    async def page(changed: str) -> None:
        seen.append((store.get_conversation(changed).language, len(store.get_transcript(changed))))

    gateway.on_change(page)
    before = len(store.get_transcript(conv_id))
    assert await phone.send("راجلي كيضربني") == []
    await gateway.drain()
    assert seen == [("dar_ar", before + 1)]
