"""End to end through the gateway with the real Rasa server and action server."""
from __future__ import annotations

import asyncio
import re

import pytest
import sqlalchemy as sa

from bot.appkeys import GATEWAY, STORE
from bot.store import conversations, transcript
from tests.conftest import Phone, twiml_messages

pytestmark = pytest.mark.integration
ARABIC = re.compile("[\u0600-\u06ff]")


def is_arabic(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return sum(bool(ARABIC.match(c)) for c in letters) > len(letters) / 2


async def test_salam_gets_greeting_and_numbered_menu(live):
    phone, _, app = live
    texts = await phone.send("salam")
    assert texts[0] == app[GATEWAY].texts.get("first_contact", "dar_lat")
    joined = "\n".join(texts[1:])
    assert "\n1. " in joined and "\n0. " in joined
    # "1" picks the first option of the menu: the emergency numbers.
    texts = await phone.send("1")
    assert "19" in texts[0] and "177" in texts[0]


@pytest.mark.parametrize("text, arabic", [
    ("rajli kaydrebni kol nhar", False),
    ("راجلي كيضربني كل نهار", True),
    ("زوجي يضربني كل يوم", True),
    ("mon mari me frappe tous les jours", False),
])
async def test_disclosure_is_acknowledged_in_her_script_then_asks_if_safe(live, text, arabic):
    phone, _, _ = live
    texts = await phone.send(text)
    body = "\n".join(texts[1:])
    assert is_arabic(body) == arabic, body
    assert "\n1. " in body  # are you safe now? 1 yes / 2 no
    texts = await phone.send("2")  # not safe: the emergency numbers come at once
    assert "19" in texts[0] and "177" in texts[0]


@pytest.mark.parametrize("text", ["ghadi y9telni 3te9ni", "غادي يقتلني عتقوني", "أنقذوني سيقتلني",
                                  "au secours il va me tuer"])
async def test_emergency_always_gives_the_numbers(live, text):
    phone, _, _ = live
    texts = await phone.send(text)
    assert any("19" in t and "177" in t and "8350" in t for t in texts), texts


async def test_shelter_asks_for_the_town_then_gives_nearest_help(live):
    phone, _, _ = live
    await phone.send("bonjour")
    texts = await phone.send("je cherche un centre d'hébergement pour femmes")
    assert texts, "the bot must ask where she is"
    texts = await phone.send("j'habite à Agadir")
    joined = "\n".join(texts)
    assert "8350" in joined
    assert "Agadir" in joined or "Souss" in joined


async def test_whatsapp_location_pin_names_the_town(live):
    phone, _, _ = live
    await phone.send("salam")
    # A pin in Oujda (coordinates of the town centre).
    texts = await phone.send("", Latitude="34.6867", Longitude="-1.9114", Label="")
    joined = "\n".join(texts)
    assert "Oujda" in joined or "Oriental" in joined or "Wjda" in joined.title()
    assert "8350" in joined


async def test_empty_body_gets_the_emergency_line_and_the_way_to_the_menu(live):
    phone, _, app = live
    await phone.send("bonjour")
    texts = await phone.send("")
    assert texts == [app[GATEWAY].texts.get("empty_body", "fr")]
    assert "0" in texts[0] and "8350" in texts[0]
    texts = await phone.send("0")
    assert "\n1. " in "\n".join(texts)


async def test_handoff_pauses_the_bot_until_she_writes_bot(live):
    phone, _, app = live
    await phone.send("bonjour")
    texts = await phone.send("je veux parler à une conseillère")
    assert texts
    conv_id = app[GATEWAY].vault.pseudonym(phone.address)
    conv = app[STORE].get_conversation(conv_id)
    assert conv.status == "waiting"
    assert await phone.send("vous êtes là ?") == []  # for the counsellor, no bot answer
    texts = await phone.send("robot")
    assert texts == [app[GATEWAY].texts.get("bot_resumed", "fr")]
    assert app[STORE].get_conversation(conv_id).status == "bot"
    texts = await phone.send("bonjour")
    assert texts and "\n1. " in "\n".join(texts)


async def test_forget_me_erases_her_conversation(live):
    phone, _, app = live
    await phone.send("salam")
    await phone.send("rajli kaydrebni")
    texts = await phone.send("bghit nmse7 kolchi")
    assert "\n1. " in "\n".join(texts)  # asks to confirm
    texts = await phone.send("1")
    assert texts
    with app[STORE].engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(conversations)).scalar() == 0


async def test_late_answer_goes_out_by_rest_with_a_neutral_first_line(stack, gateway_factory, twilio):
    client, settings, app = await gateway_factory(**stack.gateway_settings(), reply_budget_s=0.001)
    phone = Phone(client, settings, "whatsapp:+212600000999")
    params = phone.params("mon mari me frappe")
    texts = twiml_messages(await (await phone.post(params)).text())
    assert "8350" in texts[-1]  # the static answer, at once
    for _ in range(100):
        if twilio.messages:
            break
        await asyncio.sleep(0.1)
    assert twilio.messages, "the real answer must follow through the REST API"
    first = twilio.messages[0]
    assert first["to"] == "whatsapp:+212600000999"
    preview = app[GATEWAY].texts.get("neutral_preview", "fr")
    assert first["body"].startswith(preview)
    # The transcript has the real answer once (not once as TwiML and again by REST), and a
    # retried webhook gets what she got at once.
    await app[GATEWAY].drain()
    vault = app[GATEWAY].vault
    with app[STORE].engine.connect() as conn:
        bot_lines = [vault.decrypt(r.text_enc) for r in conn.execute(
            sa.select(transcript.c.text_enc).where(transcript.c.sender == "bot"))]
    assert bot_lines and len(bot_lines) == len(set(bot_lines))
    assert preview not in bot_lines[0]
    assert twiml_messages(await (await phone.post(params)).text()) == texts


async def test_safety_plan_goes_step_by_step_and_resumes_after_the_menu(live):
    phone, _, _ = live
    await phone.send("bonjour")
    first = "\n".join(await phone.send("comment me préparer à partir en sécurité"))
    assert "1/5" in first
    second = "\n".join(await phone.send("1"))  # "1": next step
    assert "2/5" in second
    await phone.send("0")  # the menu
    third = "\n".join(await phone.send("suivant"))
    assert "3/5" in third


async def test_every_topic_is_reachable_from_the_menu(live):
    phone, _, _ = live
    await phone.send("bonjour")
    menu = "\n".join(await phone.send("0"))
    last = max(int(n) for n in re.findall(r"^(\d+)\. ", menu, re.M))
    topics = "\n".join(await phone.send(str(last)))  # the last option: other topics
    assert topics.count("\n") >= 7
    answer = "\n".join(await phone.send("3"))  # online violence
    assert "e-blagh.ma" in answer


async def test_forget_me_can_also_redact_her_messages_at_twilio(stack, gateway_factory, twilio):
    client, settings, app = await gateway_factory(**stack.gateway_settings(), twilio_redact_on_forget="1")
    phone = Phone(client, settings, "whatsapp:+212600000555")
    sids = []
    for body in ("salam", "effacer", "1"):
        params = phone.params(body)
        sids.append(params["MessageSid"])
        assert (await phone.post(params)).status == 200
    assert set(sids) <= set(twilio.redacted)
