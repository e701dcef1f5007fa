"""SMS segment counting, splitting and numbered options."""
from bot.formatting import is_gsm7, render, sms_segments, split_message


def test_gsm7_and_ucs2_segments():
    assert is_gsm7("Bonjour, appelez le 8350 !")
    assert sms_segments("a" * 160) == 1 and sms_segments("a" * 161) == 2
    assert sms_segments("a" * 306) == 2 and sms_segments("a" * 307) == 3
    # One Arabic letter makes the whole message UCS-2: 70 a segment, 67 when split.
    assert not is_gsm7("salam ع")
    assert sms_segments("ع" * 70) == 1 and sms_segments("ع" * 71) == 2
    assert sms_segments("ع" * 134) == 2 and sms_segments("ع" * 135) == 3
    # Extension characters count twice in GSM-7; an emoji is two UTF-16 units.
    assert sms_segments("€" * 80) == 1 and sms_segments("€" * 81) == 2
    assert sms_segments("🙂" * 35) == 1 and sms_segments("🙂" * 36) == 2


def test_long_arabic_reply_splits_at_sentences_within_three_segments():
    sentence = "عيطي ل 8350 فاش ما بغيتي، كاينين ناس يسمعو ليك. "
    text = sentence * 12
    parts = split_message(text, "sms")
    assert len(parts) > 1
    assert all(sms_segments(p) <= 3 for p in parts)
    assert all(p.endswith(".") for p in parts), "cut at sentence ends"
    assert "".join(p.replace(" ", "") for p in parts) == text.replace(" ", "")


def test_latin_reply_fits_in_one_message_when_short_and_keeps_lines():
    text = "Ligne un.\nLigne deux."
    assert split_message(text, "sms") == [text]


def test_whatsapp_limit_is_1024_characters():
    parts = split_message("mot " * 600, "whatsapp")
    assert all(len(p) <= 1024 for p in parts) and len(parts) == 3


def test_a_word_longer_than_a_message_is_cut():
    parts = split_message("x" * 1000, "sms")
    assert all(sms_segments(p) <= 3 for p in parts) and "".join(parts) == "x" * 1000


def test_buttons_become_numbered_options_and_zero_is_the_menu():
    reply = render(
        [{"text": "**Choisissez**", "buttons": [{"title": "Centre", "payload": "/find_shelter"},
                                               {"title": "Appeler", "payload": "/find_contact_point"}]},
         {"text": "Autre message"}],
        "sms", "Menu")
    assert reply.options == ["/find_shelter", "/find_contact_point"]
    assert reply.messages == ["Choisissez\n1. Centre\n2. Appeler\nAutre message\n0. Menu"]
