"""Schema migrations: an empty database is created at the newest revision, equal to store.py's
tables; a store made before migrations is adopted with its rows; a store behind or older
than the baseline is refused by name; migrate steps started together all succeed."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from bot.migrate import BASELINE, create_tracker_table, include_object, upgrade
from bot.store import SchemaMismatch, Store, metadata, schema_head
from core.settings import ROOT
from tests.conftest import empty_postgres_database, free_port

KINDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(params=KINDS)
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of each kind the store runs on."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'gateway.db'}"
    else:
        with empty_postgres_database() as url:
            yield url


def _differences(url: str) -> list:
    """What Alembic's autogenerate would change to bring the database to store.py's tables."""
    engine = sa.create_engine(url, future=True)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True,
                                                             "include_object": include_object})
            return compare_metadata(context, metadata)
    finally:
        engine.dispose()


def _made_before_migrations(url: str) -> None:
    """A store as the last version without migrations left it: the baseline's tables, no
    revision stamped, and rows of hers in them (written with the baseline's columns)."""
    upgrade(url, BASELINE)
    engine = sa.create_engine(url, future=True)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE alembic_version"))
        conn.execute(sa.text(
            "INSERT INTO gw_conversations (id, address_enc, channel, status, priority, timeout_notified,"
            " opted_out, quiet, created_at, updated_at) VALUES ('conv-1', :address, 'sms', 'bot', 0,"
            " false, false, false, 1.0, 1.0)"), {"address": b"address-encrypted"})
        conn.execute(sa.text("INSERT INTO gw_inbound (message_sid, conversation_id, received_at, reply_enc)"
                             " VALUES ('SM0001', 'conv-1', 1.0, :reply)"), {"reply": b"twiml-encrypted"})
        conn.execute(sa.text("INSERT INTO gw_transcript (conversation_id, sender, text_enc, at)"
                             " VALUES ('conv-1', 'user', :text, 1.0)"), {"text": b"text-encrypted"})
        conn.execute(sa.text("INSERT INTO gw_outbox (conversation_id, body_enc, status, attempts,"
                             " next_attempt_at, created_at) VALUES ('conv-1', :body, 'pending', 0, 1.0, 1.0)"),
                     {"body": b"body-encrypted"})
    engine.dispose()


def test_an_empty_database_is_created_at_the_newest_revision_equal_to_the_store_tables(empty_url):
    with pytest.raises(SchemaMismatch, match=r"not migrated.*run `python -m bot.migrate`"):
        Store(empty_url)
    before, after = upgrade(empty_url)
    assert (before, after) == (None, schema_head())
    assert _differences(empty_url) == [], "migrations at head must equal bot/store.py's tables"
    store = Store(empty_url)
    try:
        assert store.begin_turn("SM-new", "conv-new", b"a", "sms", None) is not None
        assert store.begin_turn("SM-new", "conv-new", b"a", "sms", None) is None
    finally:
        store.close()
    assert upgrade(empty_url) == (schema_head(), schema_head()), "a second run changes nothing"


def test_a_store_made_before_migrations_is_adopted_with_every_row(empty_url):
    _made_before_migrations(empty_url)
    with pytest.raises(SchemaMismatch, match="made before migrations"):
        Store(empty_url)
    before, after = upgrade(empty_url)
    assert (before, after) == (BASELINE, schema_head())
    store = Store(empty_url)
    try:
        conversation = store.get_conversation("conv-1")
        assert conversation is not None and conversation.address_enc == b"address-encrypted"
        assert store.stored_reply("SM0001") == ("conv-1", b"twiml-encrypted")
        assert [bytes(r["text_enc"]) for r in store.get_transcript("conv-1")] == [b"text-encrypted"]
        assert store.outbox_backlog() == 1
        assert store.begin_turn("SM0001", "conv-1", b"a", "sms", None) is None, "her MessageSid is still claimed"
    finally:
        store.close()


def test_a_store_older_than_the_baseline_is_refused_naming_the_table_and_columns(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    _made_before_migrations(url)
    engine = sa.create_engine(url, future=True)
    with engine.begin() as conn:  # an older version had no metadata_enc in gw_pending
        conn.execute(sa.text("ALTER TABLE gw_pending DROP COLUMN metadata_enc"))
    with pytest.raises(SchemaMismatch, match="gw_pending lacks metadata_enc"):
        upgrade(url)
    with engine.connect() as conn:
        assert not sa.inspect(conn).has_table("alembic_version"), "nothing stamped"
        assert conn.execute(sa.text("SELECT count(*) FROM gw_transcript")).scalar() == 1
    engine.dispose()


def test_a_store_at_another_revision_refuses_to_start_naming_both_revisions(tmp_path):
    url = f"sqlite:///{tmp_path / 'gateway.db'}"
    upgrade(url)
    engine = sa.create_engine(url, future=True)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0000'"))
    engine.dispose()
    with pytest.raises(SchemaMismatch, match=f"at revision 0000; this version needs revision {schema_head()}"):
        Store(url)


def _migrate_together(url: str, endpoints: Path, count: int) -> list[subprocess.CompletedProcess]:
    env = dict(os.environ, PYTHONPATH=str(ROOT), SALAMA_LOCAL_MODE="1",
               SALAMA_SECRET="a-test-secret-of-enough-length")
    procs = [subprocess.Popen([sys.executable, "-m", "bot.migrate", "--database-url", url,
                               "--endpoints", str(endpoints)], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(count)]
    return [subprocess.CompletedProcess(p.args, p.wait(timeout=120), *p.communicate()) for p in procs]


@pytest.mark.postgres
def test_migrate_steps_started_together_on_an_empty_postgres_database_all_succeed(tmp_path):
    with empty_postgres_database() as url:
        db = sa.engine.make_url(url)
        endpoints = tmp_path / "endpoints.yml"
        endpoints.write_text(
            "tracker_store:\n  type: rasa_ext.tracker_store.EncryptedSQLTrackerStore\n"
            f"  dialect: postgresql\n  url: {db.host}\n  port: {db.port}\n  db: {db.database}\n"
            f"  username: {db.username}\n")
        done = _migrate_together(url, endpoints, 3)
        for proc in done:
            assert proc.returncode == 0, proc.stderr[-2000:]
        out = "".join(p.stdout for p in done)
        assert out.count("migrated from empty") == 1 and out.count("(up to date)") == 2
        assert out.count("events table created") == 1 and out.count("events table present") == 2
        assert _differences(url) == []
        engine = sa.create_engine(url, future=True)
        with engine.connect() as conn:
            assert sa.inspect(conn).has_table("events")
        engine.dispose()


def test_migrate_steps_started_together_on_an_empty_sqlite_file_all_succeed(tmp_path):
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text("tracker_store:\n  type: rasa_ext.tracker_store.EncryptedSQLTrackerStore\n"
                         f"  dialect: sqlite\n  db: {tmp_path / 'tracker.db'}\n")
    done = _migrate_together(f"sqlite:///{tmp_path / 'gateway.db'}", endpoints, 3)
    for proc in done:
        assert proc.returncode == 0, proc.stderr[-2000:]
    out = "".join(p.stdout for p in done)
    assert out.count("migrated from empty") == 1 and out.count("events table created") == 1


def test_the_tracker_table_is_rasas_and_is_created_once(tmp_path):
    from rasa.core.tracker_store import SQLTrackerStore

    url = f"sqlite:///{tmp_path / 'tracker.db'}"
    assert create_tracker_table(url) is True
    assert create_tracker_table(url) is False
    engine = sa.create_engine(url, future=True)
    with engine.connect() as conn:
        columns = {c["name"] for c in sa.inspect(conn).get_columns("events")}
    engine.dispose()
    assert columns == {c.name for c in SQLTrackerStore.SQLEvent.__table__.columns}


def test_the_gateway_process_refuses_to_start_on_an_empty_store_and_says_what_to_run(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT), SALAMA_LOCAL_MODE="1", SALAMA_VAR_DIR=str(tmp_path),
               SALAMA_SECRET="a-test-secret-of-enough-length", GATEWAY_PORT=str(free_port()))
    env.pop("DATABASE_URL", None)
    done = subprocess.run([sys.executable, "-m", "bot.app"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("bot.store.SchemaMismatch: the store at sqlite:///") and "python -m bot.migrate" in last
    assert "Unclosed" not in done.stderr
