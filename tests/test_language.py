"""Variety detection: script, Darija markers, stickiness, explicit switches."""
import pytest

from core.language import detect, requested_variety


@pytest.mark.parametrize("text, expected", [
    ("rajli kaydrebni, fin nmchi?", "dar_lat"),
    ("3afak fin kayn chi centre", "dar_lat"),
    ("راجلي كيضربني فين نمشي", "dar_ar"),
    ("بغيت نهضر مع شي حد", "dar_ar"),
    ("زوجي يضربني ماذا أفعل", "ar"),
    ("أين يمكنني أن أجد مركز إيواء", "ar"),
    ("mon mari me frappe, je ne sais pas quoi faire", "fr"),
    ("j'habite à Kénitra", "fr"),
])
def test_first_message_variety(text, expected):
    assert detect(text, None) == expected


@pytest.mark.parametrize("previous", ["dar_ar", "dar_lat", "ar", "fr"])
@pytest.mark.parametrize("text", ["ok", "1", "👍", "merci", "شكرا", "", "2."])
def test_short_neutral_messages_do_not_flip_the_language(previous, text):
    assert detect(text, previous) == previous


def test_merci_after_darija_stays_darija():
    assert detect("merci bzaf", "dar_lat") == "dar_lat"


@pytest.mark.parametrize("text, expected", [
    ("en français svp", "fr"), ("francais", "fr"), ("b darija 3afak", "dar_lat"),
    ("بالدارجة عافاك", "dar_ar"), ("بالعربية من فضلك", "ar"), ("en arabe", "ar"),
])
def test_explicit_request_switches(text, expected):
    assert requested_variety(text) == expected
    assert detect(text, "dar_ar" if expected != "dar_ar" else "fr") == expected


def test_a_clear_sentence_in_another_variety_switches():
    assert detect("je veux parler à quelqu'un s'il vous plait", "dar_lat") == "fr"
    assert detect("راجلي كيضربني", "fr") == "dar_ar"
