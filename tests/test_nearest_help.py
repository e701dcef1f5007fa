"""The nearest-help answer in four varieties: kind, distance, how sure and how old, 8350, no shelter address, SMS size."""
from __future__ import annotations

import asyncio
import csv
import datetime as dt
import re
from pathlib import Path

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.actions import ActionNearestHelp
from bot.formatting import SMS_MAX_SEGMENTS, sms_segments, split_message
from core.directory import Directory
from core.directory.answer import answer, choose, wants_migrant_help, word
from core.directory.model import DISCONTINUED
from core.places import Gazetteer

ROOT = Path(__file__).resolve().parent.parent
RESEARCH_CSV = ROOT.parent / "shared" / "data" / "contacts" / "contact_points.csv"
VARIETIES = ("dar_ar", "dar_lat", "ar", "fr")
TODAY = dt.date(2026, 12, 2)
MAX_SMS_MESSAGES = 3
# A woman in Oujda, Fès, Laâyoune, and in Figuig, a small town with nothing within 50 km.
TOWNS = ("oujda", "fes", "laayoune", "figuig")


@pytest.fixture(scope="module")
def gaz() -> Gazetteer:
    return Gazetteer.load()


@pytest.fixture(scope="module")
def directory() -> Directory:
    return Directory.load()


def shelter_addresses() -> list[str]:
    """Every address the researched list gives (the directory never imports them)."""
    if not RESEARCH_CSV.exists():
        return []
    with RESEARCH_CSV.open(encoding="utf-8", newline="") as fh:
        return [row["address"] for row in csv.DictReader(fh) if row["address"]]


def _age_words(variety: str) -> list[str]:
    """What a line says about how sure and how old, without its placeholders."""
    keys = ("how_by_law", "how_study", "how_confirmed", "how_fresh", "how_fresh_unsure", "how_old", "how_undated")
    return [word(k, variety, year="", date="").split("{")[0].strip(" ().,:")[:12] for k in keys]


@pytest.mark.parametrize("variety", VARIETIES)
@pytest.mark.parametrize("town_id", TOWNS)
@pytest.mark.parametrize("shelter", [False, True])
def test_answer_names_kind_distance_and_age_then_8350(gaz, directory, town_id, variety, shelter):
    place = gaz.places[town_id]
    points = choose(directory, place.lat, place.lng, shelter=shelter)
    assert 2 <= len(points) <= 3
    assert [p.km for p in points] == sorted(p.km for p in points)
    text = answer(points, place, variety, gaz, TODAY)
    lines = text.splitlines()
    assert "8350" in lines[-1]
    far = all(p.km > 50 for p in points)
    assert lines[0].startswith(word("header_far" if far else "header_near", variety, town="X").split("X")[0])
    assert far == (town_id == "figuig")
    for point, line in zip(points, lines[1:-1]):
        entry = point.entry
        assert word(f"kind_{entry.kind}", variety) in line
        assert (entry.name_ar if variety in ("dar_ar", "ar") else entry.name_fr) in line
        distance = word("same_town", variety) if point.km < 2 else word("km", variety, km=round(point.km))
        assert distance in line
        assert any(w.lower() in line.lower() for w in _age_words(variety)), line
        if entry.basis in ("sourced", "study") and entry.source_year:
            assert str(entry.source_year) in line  # the year is always said
        if entry.hides_address:
            assert word("hidden_address", variety).lower() in line.lower()
    for address in shelter_addresses():
        assert address not in text
    assert not DISCONTINUED.search(text)
    parts = split_message(text, "sms")
    assert len(parts) <= MAX_SMS_MESSAGES and all(sms_segments(p) <= SMS_MAX_SEGMENTS for p in parts)
    assert "".join(parts).replace("\n", "").replace(" ", "") == text.replace("\n", "").replace(" ", "")  # nothing cut


def test_oujda_gets_its_listening_centre_with_the_year_and_its_court(gaz, directory):
    place = gaz.places["oujda"]
    text = answer(choose(directory, place.lat, place.lng), place, "fr", gaz, TODAY)
    assert "Centre OSES (Ain Ghazal 2000) (dans votre ville) : centre d'écoute. Info ancienne (2006)" in text
    assert "Tribunal de la famille" in text
    fes = gaz.places["fes"]
    text = answer(choose(directory, fes.lat, fes.lng), fes, "fr", gaz, TODAY)
    assert "Tribunal de première instance (dans votre ville) : cellule femmes victimes. Prévue par la loi 103-13 : demandez-la au parquet." in text


def test_laayoune_and_figuig_are_told_the_distance_of_what_is_far(gaz, directory):
    figuig = gaz.places["figuig"]
    text = answer(choose(directory, figuig.lat, figuig.lng), figuig, "dar_lat", gaz, TODAY)
    assert text.startswith("Ma kan3ref 7tta blasa f 50 km 7da Figuig. L a9rab lik:")
    assert re.search(r"Bouarfa \(\d+ km\)", text)
    laayoune = gaz.places["laayoune"]
    text = answer(choose(directory, laayoune.lat, laayoune.lng), laayoune, "ar", gaz, TODAY)
    assert "المحكمة الابتدائية (في مدينتك)" in text and "السمارة" in text  # and the nearest space, farther


@pytest.mark.parametrize(
    "texts, expected",
    [
        (["rajli kaydrebni", "ana mhajra, fin nmchi?"], True),
        (["je suis réfugiée, mon mari me frappe"], True),
        (["أنا لاجئة"], True),
        (["my husband beats me, where can i go?"], True),
        (["rajli kaydrebni fin nmchi"], False),
        (["mon mari me frappe, où aller ?"], False),
        (["راجلي كيضربني"], False),
        (["help"], False),
    ],
)
def test_who_gets_the_migrant_lines(texts, expected):
    assert wants_migrant_help(texts) is expected


def test_migrant_lines_only_for_a_migrant(gaz, directory):
    rabat = gaz.places["rabat"]
    plain = answer(choose(directory, rabat.lat, rabat.lng), rabat, "fr", gaz, TODAY)
    assert "Orient-Occident" not in plain and "06" not in plain
    migrant = choose(directory, rabat.lat, rabat.lng, migrant=True)
    text = answer(migrant, rabat, "fr", gaz, TODAY)
    assert migrant[0].entry.kind == "migrant_line" and "Fondation Orient-Occident" in text
    assert "Tél. 0614004722" in text and "8350" in text
    # Far from the four towns with a social worker: the national free line.
    agadir = gaz.places["agadir"]
    far = choose(directory, agadir.lat, agadir.lng, migrant=True)
    assert far[0].entry.id == "foo-free-line" and far[0].km is None
    assert "0800004146" in answer(far, agadir, "dar_ar", gaz, TODAY)


def _tracker(text: str, variety: str, slots: dict) -> Tracker:
    events = [{"event": "user", "text": text, "parse_data": {"intent": {"name": "inform_location"}}}]
    latest = {"text": text, "intent": {"name": "inform_location"}, "entities": [], "metadata": {}}
    return Tracker("test", {"language": variety, **slots}, latest, events, False, None, None, "action_listen")


@pytest.mark.parametrize("variety, text, expected", [
    ("fr", "j'habite à Oujda", "Oujda"),
    ("dar_ar", "ساكنة ف فاس", "فاس"),
    ("dar_lat", "ana f l3ayoun", "Laâyoune"),
    ("ar", "أسكن في فجيج", "فجيج"),
])
def test_the_action_sends_one_answer_in_her_variety(variety, text, expected):
    dispatcher = CollectingDispatcher()
    tracker = _tracker(text, variety, {"place": text.split()[-1], "help_kind": None})
    events = asyncio.run(ActionNearestHelp().run(dispatcher, tracker, {}))
    assert len(dispatcher.messages) == 1
    reply = dispatcher.messages[0]["text"]
    assert expected in reply.splitlines()[0] and "8350" in reply
    assert {"event": "slot", "name": "place", "value": None, "timestamp": None} in events


def test_no_answer_for_any_town_gives_the_old_line_or_outgrows_the_sms_limits(gaz, directory):
    towns = [p for p in gaz.places.values() if p.kind == "town"]
    for town in towns:
        for shelter, migrant in ((False, False), (True, False), (False, True)):
            points = choose(directory, town.lat, town.lng, shelter=shelter, migrant=migrant)
            for variety in VARIETIES:
                text = answer(points, town, variety, gaz, TODAY)
                assert not DISCONTINUED.search(text) and "8350" in text
                parts = split_message(text, "sms")
                assert len(parts) <= MAX_SMS_MESSAGES, (town.id, variety, text)


def test_the_action_adds_the_migrant_lines_for_a_woman_writing_english():
    dispatcher = CollectingDispatcher()
    tracker = _tracker("i am in Rabat, my husband beats me, where can i go", "fr", {"place": "Rabat", "help_kind": None})
    asyncio.run(ActionNearestHelp().run(dispatcher, tracker, {}))
    reply = dispatcher.messages[0]["text"]
    assert "Fondation Orient-Occident" in reply.splitlines()[1] and "8350" in reply
