"""rasa_ext.tracker_store keeps a saved tracker in memory: a retrieval gives what the database gives."""
from __future__ import annotations

import secrets
import warnings
from pathlib import Path

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from core.crypto import Vault
from core.settings import ROOT
from rasa_ext.tracker_store import EncryptedSQLTrackerStore


@pytest.fixture(scope="module")
def domain() -> Domain:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Slot auto-fill has been removed", UserWarning)
        return Domain.load(str(ROOT / "domain.yml"))


@pytest.fixture
def stores(tmp_path: Path, domain: Domain) -> tuple[EncryptedSQLTrackerStore, EncryptedSQLTrackerStore]:
    """Two stores on one database, as two Rasa processes."""
    vault, db = Vault(secrets.token_urlsafe(24)), str(tmp_path / "tracker.db")
    return (EncryptedSQLTrackerStore(domain, db=db, vault=vault, retention_days=30),
            EncryptedSQLTrackerStore(domain, db=db, vault=vault, retention_days=30))


def turn(tracker: DialogueStateTracker, text: str) -> None:
    for event in (UserUttered(text, {"name": "greet", "confidence": 0.9}, []),
                  SlotSet("language", "dar_lat"), ActionExecuted("utter_greet"),
                  BotUttered(f"answer to {text}"), ActionExecuted("action_listen")):
        tracker.update(event)


def dump(tracker: DialogueStateTracker) -> list[dict]:
    return [e.as_dict() for e in tracker.events]


async def saved_session(store: EncryptedSQLTrackerStore, domain) -> DialogueStateTracker:
    """Her session started and one turn, saved (so kept in the store's memory)."""
    tracker = DialogueStateTracker("her", domain.slots)
    tracker.update(SessionStarted())
    turn(tracker, "salam")
    await store.save(tracker)
    return tracker


async def from_database(store: EncryptedSQLTrackerStore, sender: str) -> list[dict]:
    store._kept.clear()
    return dump(await store.retrieve(sender))


async def test_the_saved_tracker_comes_back_without_reading_the_database(stores, domain):
    a, _ = stores
    tracker = await saved_session(a, domain)
    for i in range(3):
        again = await a.retrieve("her")
        assert again is tracker  # no decryption of her history
        turn(again, f"msg {i}")
        await a.save(again)
    assert dump(await a.retrieve("her")) == await from_database(a, "her")


async def test_a_write_by_another_process_is_read_back(stores, domain):
    a, b = stores
    tracker = DialogueStateTracker("her", domain.slots)
    turn(tracker, "salam")
    await a.save(tracker)
    other = await b.retrieve("her")  # her conversation went to the other Rasa process
    turn(other, "rajli kaydrebni")
    await b.save(other)
    got = await a.retrieve("her")
    assert got is not tracker and [e["text"] for e in dump(got) if e["event"] == "user"] == [
        "salam", "rajli kaydrebni"]


async def test_erasure_by_another_process_is_seen(stores, domain):
    a, b = stores
    tracker = DialogueStateTracker("her", domain.slots)
    turn(tracker, "salam")
    await a.save(tracker)
    b.delete("her")
    assert await a.retrieve("her") is None


async def test_a_turn_that_failed_before_its_save_is_not_kept(stores, domain):
    a, _ = stores
    tracker = DialogueStateTracker("her", domain.slots)
    turn(tracker, "salam")
    await a.save(tracker)
    half = await a.retrieve("her")
    half.update(UserUttered("lost", {"name": "greet", "confidence": 0.9}, []))  # then it failed
    again = await a.retrieve("her")
    assert [e["text"] for e in dump(again) if e["event"] == "user"] == ["salam"]


async def test_a_tracker_in_which_a_session_started_is_read_back(stores, domain):
    """Rasa retrieves from the last session start on: a tracker holding events before it (her
    first turn, or a turn after the session expired) is not what a retrieval gives, so not kept."""
    a, _ = stores
    tracker = DialogueStateTracker("her", domain.slots)
    tracker.update(SlotSet("session_started_metadata", {"channel": "sms"}))
    tracker.update(ActionExecuted("action_session_start"))
    tracker.update(SessionStarted())
    turn(tracker, "salam")
    await a.save(tracker)
    got = await a.retrieve("her")
    assert got is not tracker
    assert dump(got) == dump(tracker)[2:] == await from_database(a, "her")


async def test_a_replacement_erases_and_is_kept_empty(stores, domain):
    """`PUT .../tracker/events` with [] (forget me): the rows go, and nothing old comes back."""
    a, _ = stores
    tracker = DialogueStateTracker("her", domain.slots)
    turn(tracker, "salam")
    await a.save(tracker)
    await a.save(DialogueStateTracker("her", domain.slots))
    got = await a.retrieve("her")
    assert got is None or list(got.events) == []
    a._kept.clear()
    assert await a.retrieve("her") is None  # no row left


def test_the_memory_is_bounded(stores, domain, monkeypatch):
    import asyncio

    from rasa_ext import tracker_store
    a, _ = stores
    monkeypatch.setattr(tracker_store, "TRACKER_CACHE_SIZE", 3)

    async def play() -> None:
        for n in range(5):
            t = DialogueStateTracker(f"s{n}", domain.slots)
            turn(t, "salam")
            await a.save(t)
    asyncio.run(play())
    assert list(a._kept) == ["s2", "s3", "s4"]


async def test_a_kept_tracker_is_saved_without_counting_her_stored_events(stores, domain):
    """Rasa counts her stored events (every row of her session) to know what to write; a
    tracker that came back from memory knows it. The rows written are the same."""
    import sqlalchemy as sa
    a, b = stores
    statements: list[str] = []
    sa.event.listen(a.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    tracker = await saved_session(a, domain)
    for i in range(3):
        again = await a.retrieve("her")
        assert again is tracker
        turn(again, f"msg {i}")
        statements.clear()
        await a.save(again)
        assert not [s for s in statements if "count(*)" in s.lower()]
    reference = DialogueStateTracker("ref", domain.slots)  # saved by Rasa's own counting
    for event in tracker.events:
        reference.update(event)
        await b.save(reference)
    ours, theirs = await from_database(a, "her"), await from_database(b, "ref")
    assert len(ours) == len(theirs) == len(tracker.events) and ours == dump(tracker)
