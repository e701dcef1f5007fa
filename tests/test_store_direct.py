"""The turn's two transactions run directly on sqlite3 (bot.store.sqlite_direct) do what the
store's SQLAlchemy versions do: the same turns on two copies of the store give the same
answers and leave the same rows."""
from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path
from typing import Any, Callable

import pytest

from bot.store import Store
from bot.store.sqlite_direct import Busy, DirectTurns

TIMES = {"received_at", "last_inbound_at", "created_at", "updated_at", "at"}


def _play(store: Store, begin: Callable[..., Any], finish: Callable[..., Any]) -> list[Any]:
    """Turns covering each branch: a new conversation, a known one, no MessageSid, no text,
    her address given encrypted or as the function that encrypts it,
    a retried MessageSid, messages waiting for Rasa, an opted-out sender's START."""
    seen = []

    def turn(*args: Any) -> None:
        start = begin(*args)
        if start is None:
            seen.append(None)
            return
        conv = {k: v for k, v in vars(start.conversation).items() if k not in TIMES}
        pending = [{k: v for k, v in row.items() if k not in TIMES} for row in start.pending]
        seen.append((conv, start.is_new, pending))

    def not_needed() -> bytes:
        raise AssertionError("her address is encrypted only for a new conversation")

    turn("SM1", "conv-a", b"addr-a", "sms", b"hello")
    finish("conv-a", "SM1", b"reply-1", [b"bot-1", b"bot-2"], language="dar_lat", options=["/a", "/b"])
    turn("SM2", "conv-a", not_needed, "sms", b"again")
    finish("conv-a", "SM2", b"reply-2", [], options=None)
    turn("", "conv-b", lambda: b"addr-b", "whatsapp", None)
    finish("conv-b", "", None, [b"bot-3"])
    finish("conv-b", "", None, [], priority=1, quiet=True, language="fr")
    turn("SM1", "conv-a", b"addr-a", "sms", b"retried")
    store.add_pending("conv-a", b"waiting-text", b"waiting-meta")
    store.update_conversation("conv-a", language="dar_lat", options=["/a", "/b"], priority=2)
    turn("SM3", "conv-a", b"addr-a", "sms", b"third")
    store.update_conversation("conv-b", opted_out=True, quiet=True)
    turn("SM4", "conv-b", b"addr-b", "whatsapp", b"START", True)
    turn("SM5", "conv-b", b"addr-b", "whatsapp", b"kept", False)
    return seen


def _rows(path: Path) -> dict[str, list]:
    db = sqlite3.connect(path)
    try:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table' AND name LIKE 'gw_%'")]
        dump = {}
        for table in sorted(tables):
            cursor = db.execute(f"SELECT * FROM {table} ORDER BY 1")  # noqa: S608 - names from the schema
            names = [d[0] for d in cursor.description]
            dump[table] = [{n: v for n, v in zip(names, row) if n not in TIMES} for row in cursor]
        return dump
    finally:
        db.close()


def test_the_direct_turn_gives_the_same_answers_and_rows_as_the_store(tmp_path, migrated_store):
    paths = [tmp_path / "sqlalchemy.db", tmp_path / "direct.db"]
    for path in paths:
        shutil.copyfile(migrated_store, path)
    stores = [Store(f"sqlite:///{path}") for path in paths]
    direct = DirectTurns(str(paths[1]))
    try:
        by_store = _play(stores[0], stores[0].begin_turn, stores[0].finish_turn)
        by_direct = _play(stores[1], direct.begin_turn, direct.finish_turn)
    finally:
        direct.close()
        for store in stores:
            store.close()
    assert repr(by_direct) == repr(by_store)  # types too: False, not 0
    assert by_store[3] is None and by_store[0][1] and not by_store[1][1]
    assert by_store[4][2] == [{"id": 1, "conversation_id": "conv-a", "text_enc": b"waiting-text",
                               "metadata_enc": b"waiting-meta"}]
    assert by_store[4][0]["opted_out"] is False and by_store[5][0]["opted_out"] is True
    assert by_store[1][0]["options"] == ["/a", "/b"] and by_store[2][0]["quiet"] is False
    assert _rows(paths[1]) == _rows(paths[0])


def test_the_direct_turn_gives_up_at_once_while_another_connection_writes(var_dir):
    path = var_dir / "gateway.db"
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    direct = DirectTurns(str(path))
    try:
        with pytest.raises(Busy):
            direct.begin_turn("SM1", "conv-a", b"addr", "sms", b"text")
        with pytest.raises(Busy):
            direct.finish_turn("conv-a", "SM1", b"reply", [b"bot"], language="fr")
        other.execute("ROLLBACK")
        assert direct.begin_turn("SM1", "conv-a", b"addr", "sms", b"text").is_new
        direct.finish_turn("conv-a", "SM1", b"reply", [b"bot"], language="fr")
        with pytest.raises(ValueError):
            direct.finish_turn("conv-a", "", None, [], her_number="+212600000000")
    finally:
        direct.close()
        other.close()
