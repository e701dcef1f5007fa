"""Privacy by design, pinned: nothing she writes or her number is in clear at rest or in a log,
"forget me" and the retention purge really delete, previews are discreet, Rasa is closed."""
from __future__ import annotations

import asyncio
import os
import secrets
import socket
import subprocess
import time
import warnings
from pathlib import Path
from typing import Iterator
from urllib.error import HTTPError
from urllib.request import urlopen

import pytest
import sqlalchemy as sa
import yaml
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.appkeys import GATEWAY, STORE
from bot.console.canned import CANNED_PATH, load_canned
from bot.store import Store, audit, conversations, inbound, notes, outbox, transcript
from bot.store import metadata as store_metadata
from bot.texts import TEXTS_PATH
from core.crypto import Vault
from core.language import VARIETIES
from core.settings import ROOT
from rasa_ext.tracker_store import EncryptedSQLTrackerStore, UnreadableEvent
from tests.conftest import Phone, empty_postgres_database, make_settings
from tools import purge

integration = pytest.mark.integration
DAY = 86400.0
NUMBER = "whatsapp:+212612345678"
# Her number as it may be written anywhere: international, national, spaced, WhatsApp.
NUMBER_FORMS = ["+212612345678", "212612345678", "00212612345678", "0612345678", "612345678",
                "06 12 34 56 78", "06-12-34-56-78", "06.12.34.56.78", "+212 6 12 34 56 78",
                "+212 612-345678", "whatsapp:+212612345678"]
# Words that tell whoever glances at her lock screen what the message is about.
REVEALING = [
    # French / English
    "violence", "violent", "abus", "abuse", "victime", "victim", "centre", "refuge", "shelter",
    "hébergement", "plainte", "frappe", "battue", "agress", "danger", "police", "gendarmerie",
    "conseillère", "écoute",
    # Arabic script (Darija and MSA)
    "عنف", "ضرب", "ضحية", "ضحايا", "اعتداء", "مركز", "إيواء", "شكاية", "شكوى", "خطر", "البوليس",
    "الشرطة", "الدرك", "مستشار", "استماع", "إنصات",
    # Darija in Latin script
    "l3onf", "3onf", "drebni", "dreb", "darb", "dhiya", "markaz", "chekaya", "khatar", "bolis",
    "mostachar", "tasamo3",
    # the national hotline for women facing violence
    "8350",
]


# -- helpers -------------------------------------------------------------------------------
def files_under(*dirs: Path) -> Iterator[Path]:
    for directory in dirs:
        yield from (p for p in directory.rglob("*") if p.is_file())


def found_in_files(needles: list[str], *dirs: Path, pattern: str = "*") -> list[tuple[str, str]]:
    """(needle, file) for each needle found in clear (UTF-8 bytes) in a file under `dirs`."""
    hits = []
    for path in files_under(*dirs):
        if not path.match(pattern):
            continue
        data = path.read_bytes()
        hits += [(n, str(path)) for n in needles if n.encode() in data]
    return hits


def found_in_rows(needle: str, url: str) -> list[str]:
    """'table.column' for each value holding `needle` in any table of the database at `url`."""
    engine = sa.create_engine(url)
    hits = []
    try:
        with engine.connect() as conn:
            for table in _tables(conn):
                for row in conn.execute(sa.select(table)):
                    for column, value in row._mapping.items():
                        text = bytes(value).decode("latin-1") if isinstance(value, (bytes, memoryview)) \
                            else str(value)
                        if needle in text:
                            hits.append(f"{table.name}.{column}")
    finally:
        engine.dispose()
    return hits


def _tables(conn: sa.engine.Connection) -> list[sa.Table]:
    metadata = sa.MetaData()
    metadata.reflect(bind=conn)
    return list(metadata.tables.values())


def tracker_rows(url: str, sender_id: str) -> int:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text("SELECT count(*) FROM events WHERE sender_id = :s"),
                                {"s": sender_id}).scalar()
    finally:
        engine.dispose()


def gateway_rows(store: Store, conv_id: str, tables: tuple[str, ...] = ()) -> dict[str, int]:
    """Rows about one conversation in every gateway table that has a conversation_id
    (or only in `tables`)."""
    with store.engine.connect() as conn:
        counts = {t.name: conn.execute(sa.select(sa.func.count()).select_from(t)
                                       .where(t.c.conversation_id == conv_id)).scalar()
                  for t in store_metadata.tables.values()
                  if "conversation_id" in t.c and (not tables or t.name in tables)}
        counts["gw_conversations"] = conn.execute(
            sa.select(sa.func.count()).select_from(conversations).where(conversations.c.id == conv_id)
        ).scalar()
    return counts


def canary_tracker(domain: Domain, sender: str, canary: str, at: float | None = None) -> DialogueStateTracker:
    """A tracker in which she discloses violence and names a town, all carrying `canary`."""
    tracker = DialogueStateTracker(sender, domain.slots)
    intent = {"name": "report_violence", "confidence": 0.97}
    for event in (
        ActionExecuted("action_listen", timestamp=at),
        UserUttered(f"rajli kaydrebni {canary}", intent,
                    [{"entity": "town", "value": canary, "start": 17, "end": 17 + len(canary)}],
                    timestamp=at, metadata={"channel": "whatsapp", "language": "dar_lat"}),
        SlotSet("town", canary, timestamp=at),
        BotUttered(f"Fhemtek: {canary}", {"buttons": []}, timestamp=at),
        ActionExecuted("action_listen", timestamp=at),
    ):
        tracker.update(event)
    return tracker


def as_dicts(tracker: DialogueStateTracker) -> list[dict]:
    return [event.as_dict() for event in tracker.events]


@pytest.fixture(scope="module")
def domain() -> Domain:
    with warnings.catch_warnings():
        # Rasa always warns this on loading a domain, and filters it itself (rasa.utils.common).
        warnings.filterwarnings("ignore", "Slot auto-fill has been removed", UserWarning)
        return Domain.load(str(ROOT / "domain.yml"))


# -- (a) a canary through the live stack: nowhere in clear, yet the bot keeps the context --
@integration
async def test_canary_is_in_no_file_and_no_row_yet_the_conversation_goes_on(live, stack, var_dir, domain):
    phone, _, app = live
    canary = f"zqcanary{secrets.token_hex(4)}"
    texts = await phone.send(f"je cherche un centre d'hébergement pour femmes {canary}")
    assert texts, "the bot must ask where she is"
    texts = await phone.send("j'habite à Agadir")  # only the tracker knows what she asked
    joined = "\n".join(texts)
    assert "8350" in joined and ("Agadir" in joined or "Souss" in joined), joined
    await app[GATEWAY].drain()
    app[STORE].engine.dispose()

    assert found_in_files([canary], var_dir, stack.var_dir) == []
    assert found_in_rows(canary, app[STORE].engine.url) == []
    assert found_in_rows(canary, f"sqlite:///{stack.var_dir / 'tracker.db'}") == []
    # It is there, encrypted: Rasa's process took its key from the stack's var dir.
    conv_id = app[GATEWAY].vault.pseudonym(phone.address)
    secret = os.environ.get("SALAMA_SECRET") or (stack.var_dir / "salama_secret").read_text().strip()
    store = EncryptedSQLTrackerStore(domain, db=str(stack.var_dir / "tracker.db"), vault=Vault(secret),
                                     retention_days=3650)
    tracker = await store.retrieve(conv_id)
    assert any(canary in (e.as_dict().get("text") or "") for e in tracker.events)


# -- (b) the tracker store class on PostgreSQL ----------------------------------------------
@pytest.mark.postgres
async def test_tracker_store_on_postgresql_keeps_no_text_in_clear_and_reads_back(domain):
    with empty_postgres_database() as database_url:  # a database of its own, dropped after
        name = database_url.rsplit("/", 1)[1]
        vault = Vault(secrets.token_urlsafe(24))
        store = EncryptedSQLTrackerStore(domain, dialect="postgresql", host="127.0.0.1", port=5432,
                                         db=name, username="root", vault=vault, retention_days=30)
        canary = f"zqcanary{secrets.token_hex(4)}"
        tracker = canary_tracker(domain, "u-postgres", canary)
        await store.save(tracker)
        url = store.engine.url.render_as_string(hide_password=False)
        assert found_in_rows(canary, url) == []
        assert found_in_rows("report_violence", url) == []
        assert tracker_rows(url, "u-postgres") == len(tracker.events)
        loaded = await store.retrieve("u-postgres")
        assert as_dicts(loaded) == as_dicts(tracker)
        assert loaded.get_slot("town") == canary
        # Erasure: Rasa's PUT .../tracker/events with [] saves an empty tracker.
        await store.save(DialogueStateTracker.from_dict("u-postgres", [], domain.slots))
        assert tracker_rows(url, "u-postgres") == 0
        store.engine.dispose()


async def test_tracker_store_key_rotation_and_rows_from_before_encryption(tmp_path, domain):
    old, new = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    db = str(tmp_path / "tracker.db")
    tracker = canary_tracker(domain, "u-rotation", "zqcanary-rotation")
    await EncryptedSQLTrackerStore(domain, db=db, vault=Vault(old), retention_days=30).save(tracker)

    rotated = EncryptedSQLTrackerStore(domain, db=db, vault=Vault(new, [old]), retention_days=30)
    with rotated.engine.connect() as conn:  # deleted events are overwritten in the file
        assert conn.exec_driver_sql("PRAGMA secure_delete").scalar() == 1
    assert as_dicts(await rotated.retrieve("u-rotation")) == as_dicts(tracker)
    with pytest.raises(UnreadableEvent):
        await EncryptedSQLTrackerStore(domain, db=db, vault=Vault(new), retention_days=30).retrieve("u-rotation")

    # Rows that Rasa's plain SQL store wrote before the switch are still read.
    with rotated.engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO events (sender_id, type_name, timestamp, data) "
                             "VALUES ('u-legacy', 'action', :t, :d)"),
                     {"t": time.time(), "d": '{"event": "action", "name": "action_listen"}'})
    assert [e.type_name for e in (await rotated.retrieve("u-legacy")).events] == ["action"]


# -- (c) forget me: her tracker events and her gateway rows are gone ------------------------
@integration
@pytest.mark.parametrize("ask", ["mse7", "bghit nmse7 kolchi"])  # the keyword, then the intent
async def test_forget_me_deletes_her_tracker_events_and_gateway_rows(live, stack, ask):
    phone, _, app = live
    conv_id = app[GATEWAY].vault.pseudonym(phone.address)
    tracker_url = f"sqlite:///{stack.var_dir / 'tracker.db'}"
    await phone.send("salam")
    await phone.send("rajli kaydrebni")
    assert tracker_rows(tracker_url, conv_id) > 0
    texts = await phone.send(ask)
    assert "\n1. " in "\n".join(texts)  # asks to confirm
    assert await phone.send("1")
    await app[GATEWAY].drain()

    assert tracker_rows(tracker_url, conv_id) == 0
    assert set(gateway_rows(app[STORE], conv_id).values()) == {0}
    # She can start again: a new conversation, the first-contact notice again.
    texts = await phone.send("salam")
    assert texts[0] == app[GATEWAY].texts.get("first_contact", "dar_lat")


# -- (d) retention: old rows go, recent ones stay, in both stores ---------------------------
WRITTEN = ("transcript", "notes", "outbox", "inbound", "audit", "conversations")
WRITTEN_TABLES = ("gw_transcript", "gw_notes", "gw_outbox", "gw_inbound", "gw_audit", "gw_conversations")


def _gateway_rows_at(store: Store, vault: Vault, conv_id: str, at: float) -> None:
    enc = vault.encrypt("zqcanary-retention")
    with store.engine.begin() as conn:
        conn.execute(conversations.insert().values(
            id=conv_id, address_enc=vault.encrypt(NUMBER), channel="whatsapp", status="bot",
            priority=0, timeout_notified=False, opted_out=False, quiet=False, last_inbound_at=at,
            created_at=at, updated_at=at))
        conn.execute(transcript.insert().values(conversation_id=conv_id, sender="user", text_enc=enc, at=at))
        conn.execute(notes.insert().values(conversation_id=conv_id, counsellor="c", text_enc=enc, at=at))
        conn.execute(outbox.insert().values(conversation_id=conv_id, body_enc=enc, status="sent",
                                            attempts=1, next_attempt_at=at, created_at=at))
        conn.execute(inbound.insert().values(message_sid=f"SM{conv_id}", conversation_id=conv_id,
                                             received_at=at))
        conn.execute(audit.insert().values(at=at, counsellor="c", action="reply", conversation_id=conv_id))


async def test_purge_removes_old_rows_and_keeps_recent_ones_in_both_stores(
        tmp_path, var_dir, domain, monkeypatch, capsys):
    settings = make_settings(var_dir, retention_days=30)
    vault = Vault(settings.salama_secret)
    store = Store(settings.store_url)
    old, recent = time.time() - 40 * DAY, time.time() - 1 * DAY
    _gateway_rows_at(store, vault, "u-old", old)
    _gateway_rows_at(store, vault, "u-recent", recent)
    db = tmp_path / "tracker.db"
    # A long retention here, so that the store's own hourly purge leaves the old rows to tools.purge.
    tracker_store = EncryptedSQLTrackerStore(domain, db=str(db), vault=vault, retention_days=3650)
    await tracker_store.save(canary_tracker(domain, "u-old", "zqcanary-retention", at=old))
    await tracker_store.save(canary_tracker(domain, "u-recent", "zqcanary-retention", at=recent))
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text(yaml.safe_dump({"tracker_store": {
        "type": "rasa_ext.tracker_store.EncryptedSQLTrackerStore", "dialect": "sqlite", "db": str(db)}}))
    for name, value in {"SALAMA_SECRET": settings.salama_secret, "SALAMA_VAR_DIR": str(var_dir),
                        "RETENTION_DAYS": "30"}.items():
        monkeypatch.setenv(name, value)

    assert purge.main(["--endpoints", str(endpoints)]) == 0

    out = capsys.readouterr().out
    counts = dict(item.split("=") for item in out.split("gateway: ")[1].splitlines()[0].split())
    assert {k: counts[k] for k in WRITTEN} == {k: "1" for k in WRITTEN}
    assert "tracker: events=5" in out
    assert "zqcanary" not in out and "612345678" not in out
    assert set(gateway_rows(store, "u-old", WRITTEN_TABLES).values()) == {0}
    assert set(gateway_rows(store, "u-recent", WRITTEN_TABLES).values()) == {1}
    assert tracker_rows(f"sqlite:///{db}", "u-old") == 0
    assert tracker_rows(f"sqlite:///{db}", "u-recent") == 5
    store.close()


async def test_tracker_store_purges_by_itself_after_a_save(tmp_path, domain):
    vault = Vault(secrets.token_urlsafe(24))
    store = EncryptedSQLTrackerStore(domain, db=str(tmp_path / "tracker.db"), vault=vault,
                                     retention_days=30)
    await store.save(canary_tracker(domain, "u-old", "zq", at=time.time() - 40 * DAY))
    await store.save(canary_tracker(domain, "u-new", "zq"))  # first save since start: purges
    assert await store.retrieve("u-old") is None
    assert await store.retrieve("u-new") is not None


def test_purge_refuses_a_tracker_store_it_cannot_reach(tmp_path, var_dir, monkeypatch, capsys):
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text("tracker_store:\n  type: redis\n  url: localhost\n")
    monkeypatch.setenv("SALAMA_VAR_DIR", str(var_dir))
    assert purge.main(["--endpoints", str(endpoints)]) == 1
    assert "not purged" in capsys.readouterr().err


# -- (e) a canary and her number through every path: in no log, no file in clear -----------
@integration
async def test_canary_and_number_reach_no_log_and_no_file_on_any_path(
        stack, gateway_factory, twilio, var_dir, gateway_logs):
    canary = f"zqcanary{secrets.token_hex(4)}"
    client, settings, app = await gateway_factory(**stack.gateway_settings())
    phone = Phone(client, settings, NUMBER)
    # success
    assert await phone.send(f"salam {canary}")
    assert await phone.send(f"rajli kaydrebni {canary}")
    # media: a photo with a caption, then a voice note alone
    assert await phone.send(canary, NumMedia="1", MediaContentType0="image/jpeg",
                            MediaUrl0="https://api.twilio.com/media/1")
    assert await phone.send("", NumMedia="1", MediaContentType0="audio/ogg",
                            MediaUrl0="https://api.twilio.com/media/2")
    # handoff: what she writes while waiting is for the counsellor
    assert await phone.send(f"je veux parler à une conseillère {canary}")
    assert await phone.send(f"vous êtes là ? {canary}") == []
    assert await phone.send("robot")
    # STOP, a message while opted out, START
    assert await phone.send("STOP")
    await phone.send(f"{canary} encore")
    assert await phone.send("START")
    # quick exit, then she writes again
    assert await phone.send(settings.quick_exit_word)
    assert await phone.send(f"{canary} salam")
    # a late answer, sent through the REST API with the neutral preview
    late_client, late_settings, late_app = await gateway_factory(**stack.gateway_settings(),
                                                                 reply_budget_s=0.001)
    assert await Phone(late_client, late_settings, NUMBER).send(f"mon mari me frappe {canary}")
    # Rasa down, over SMS
    down_client, down_settings, down_app = await gateway_factory()
    assert await Phone(down_client, down_settings, "+212612345678").send(f"fin nmchi {canary}")
    for a in (app, late_app, down_app):
        await a[GATEWAY].drain()
    for _ in range(100):
        if twilio.messages:
            break
        await asyncio.sleep(0.1)
    assert twilio.messages, "the late answer must have gone out"

    assert list(gateway_logs.glob("*.log")), "the gateway must have logged"
    assert (stack.var_dir / "logs" / "rasa-test.log").exists()
    everything = [canary, *NUMBER_FORMS]
    assert found_in_files(everything, var_dir, stack.var_dir, pattern="*.log") == []
    assert found_in_files(everything, var_dir, stack.var_dir) == []


# -- (f) what may reach her lock screen unasked is discreet --------------------------------
def _unprompted_texts(variety: str) -> list[tuple[str, str]]:
    """(source, text) of every message that may follow the neutral preview in `variety`:
    a late answer (any gateway text or bot response), a notice, a counsellor's canned reply."""
    texts = [(f"gateway.yml:{key}", table[variety])
             for key, table in yaml.safe_load(TEXTS_PATH.read_text(encoding="utf-8")).items()]
    domain_file = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    for name, variations in domain_file["responses"].items():
        for variation in variations:
            conditions = {c.get("value") for c in variation.get("condition") or []}
            if variation.get("text") and (not conditions or variety in conditions):
                texts.append((f"domain.yml:{name}", variation["text"]))
    if CANNED_PATH.exists():
        texts += [(f"canned.yml:{r['key']}", r["texts"][variety]) for r in load_canned()]
    return texts


def _revealing(text: str) -> list[str]:
    folded = text.casefold()
    return [word for word in REVEALING if word.casefold() in folded]


@pytest.mark.parametrize("variety", VARIETIES)
def test_neutral_preview_reveals_nothing(variety):
    table = yaml.safe_load(TEXTS_PATH.read_text(encoding="utf-8"))
    preview = table["neutral_preview"][variety]
    assert preview.strip() and _revealing(preview) == []


@pytest.mark.parametrize("variety", VARIETIES)
def test_first_40_characters_of_any_unprompted_message_reveal_nothing(variety):
    preview = yaml.safe_load(TEXTS_PATH.read_text(encoding="utf-8"))["neutral_preview"][variety]
    leaks = []
    for source, text in _unprompted_texts(variety):
        shown = f"{preview}\n{text}"[:40]  # as bot.gateway composes it
        if _revealing(shown):
            leaks.append(f"{source}: {shown!r} {_revealing(shown)}")
    assert leaks == [], "\n".join(leaks)


# -- (g) Rasa's API needs the token; Rasa and the actions listen on loopback only ------------
@integration
def test_rasa_api_needs_the_token(stack):
    url = f"{stack.rasa_url}/conversations/x/tracker"
    for query in ("", "?token=wrong"):
        with pytest.raises(HTTPError) as refused:
            urlopen(url + query, timeout=30)
        refused.value.close()
        assert refused.value.code == 401
    with urlopen(f"{url}?token={stack.token}", timeout=30) as resp:
        assert resp.status == 200


def _own_ipv4_addresses() -> list[str]:
    out = subprocess.run(["hostname", "-I"], capture_output=True, text=True, check=False).stdout
    return [a for a in out.split() if "." in a and not a.startswith("127.")]


@integration
def test_rasa_and_actions_listen_on_loopback_only(stack):
    out = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True, check=True).stdout
    for name in ("rasa", "actions"):
        pid = stack.kid(name).proc.pid
        local = [line.split()[3] for line in out.splitlines() if f"pid={pid}," in line]
        assert local, f"{name} (pid {pid}) listens on nothing"
        assert all(a.startswith(("127.0.0.1:", "[::1]:")) for a in local), (name, local)
    ports = [int(u.rsplit(":", 1)[1]) for u in (stack.rasa_url, stack.actions_url)]
    for address in _own_ipv4_addresses():
        for port in ports:
            with socket.socket() as s:
                s.settimeout(2)
                assert s.connect_ex((address, port)) != 0, f"{address}:{port} accepts connections"
