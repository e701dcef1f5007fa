"""Rasa's SQL tracker store with her events encrypted at rest, real erasure and retention.

`EncryptedSQLTrackerStore` is Rasa 3.6's `SQLTrackerStore` (same `events` table, SQLite or
PostgreSQL) with three differences:

- the `data` column (the event JSON: her text, entities, slots) is Fernet-encrypted with
  the key core.crypto.Vault derives from SALAMA_SECRET (old keys in SALAMA_OLD_SECRETS still
  decrypt); `intent_name` and `action_name`, clear copies of what is inside `data`, are not
  written;
- a tracker saved with fewer events than are stored replaces them: her rows are deleted
  first. Rasa's own store only appends, so `PUT /conversations/<id>/tracker/events` with
  `[]` (the gateway's "forget me") would otherwise delete nothing;
- at most once an hour, after a save, events older than RETENTION_DAYS are deleted;
- the tracker of a conversation is kept in memory after a save, and the next retrieval returns
  it without reading and decrypting every event again, when the database still holds exactly
  what was saved (same number of rows and same last row id for her: any write by another Rasa
  process, an erasure or a purge changes one of them) and the tracker was not changed since.
  Otherwise it is rebuilt from the database, as Rasa does. Kept for TRACKER_CACHE_IDLE_S after
  her last turn, TRACKER_CACHE_SIZE conversations at most; erasure drops it at once. Its save
  then writes the events past those it came back with: Rasa counts her stored events for that
  (twice a save, a query that reads every row of her session), the kept tracker knows them.

endpoints.yml: `tracker_store: {type: rasa_ext.tracker_store.EncryptedSQLTrackerStore, dialect:
..., url: <host>, port: ..., db: ..., username: ..., password: ...}`, as for Rasa's `type: SQL`.
"""
from __future__ import annotations

import asyncio
import itertools
import logging
import os
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Optional, Union

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore, validate_port
from rasa.shared.core.events import SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy.engine import URL, Engine
from sqlalchemy.orm import declarative_base

from bot.store import sqlite_engine
from core.crypto import Vault
from core.settings import ROOT, Settings
from rasa_ext import event_scan

log = logging.getLogger(__name__)
PURGE_EVERY_S = 3600
# Trackers kept in memory (her events in clear, like the tracker of a turn in progress): a
# conversation is dropped after this many seconds without a turn, or when more are kept.
TRACKER_CACHE_IDLE_S = 900
TRACKER_CACHE_SIZE = 1000
EVENTS = sa.table("events", sa.column("timestamp"))


def settings_from_env(env: Optional[Mapping[str, str]] = None) -> Settings:
    """The settings as Settings.from_env reads them, for a process that needs only the secret
    and the retention period: Rasa's process needs no Twilio token, so none is required."""
    env = os.environ if env is None else env
    return Settings.from_env({**env, "SALAMA_LOCAL_MODE": "1"})


def tracker_db_url(dialect: str = "sqlite", host: Optional[str] = None, port: Optional[int] = None,
                   db: str = "rasa.db", username: Optional[str] = None,
                   password: Optional[str] = None, query: Optional[dict] = None,
                   **_: Any) -> Union[str, URL]:
    """The database URL of a tracker store's endpoint config, as Rasa builds it, except that a
    relative SQLite file is under the project root whatever the current directory."""
    if dialect == "sqlite":
        db = str(_sqlite_file(db))
    return SQLTrackerStore.get_db_url(dialect, host, validate_port(port), db, username, password,
                                      None, query)


def purge_events(engine: Engine, cutoff: float) -> int:
    """Delete the tracker events older than `cutoff` (epoch seconds); returns how many."""
    with engine.begin() as conn:
        return conn.execute(EVENTS.delete().where(EVENTS.c.timestamp < cutoff)).rowcount


class UnreadableEvent(RuntimeError):
    """An event encrypted under a key no longer configured (not in SALAMA_OLD_SECRETS).

    Not a ValueError: Rasa's session_scope turns any ValueError into an exit of the server.
    """


class _Encrypted(sa.types.TypeDecorator):
    """Text encrypted on the way in, decrypted on the way out. Rows written before the
    store was encrypted (JSON, starting with '{') are still read."""

    impl = sa.Text
    cache_ok = True

    def __init__(self, vault: Vault) -> None:
        super().__init__()
        self.vault = vault

    def process_bind_param(self, value: Optional[str], dialect: Any) -> Optional[str]:
        return None if value is None else self.vault.encrypt(value).decode("ascii")

    def process_result_value(self, value: Optional[str], dialect: Any) -> Optional[str]:
        if value is None or value.startswith("{"):
            return value
        try:
            return self.vault.decrypt(value.encode("ascii"))
        except ValueError:
            raise UnreadableEvent("a tracker event is encrypted under an unknown key") from None


class _NotWritten(sa.types.TypeDecorator):
    """A column kept for the schema Rasa expects, always written empty."""

    impl = sa.String(255)
    cache_ok = True

    def process_bind_param(self, value: Optional[str], dialect: Any) -> None:
        return None


def _event_model(vault: Vault) -> tuple[Any, Any]:
    """Rasa's `events` table, column for column, with the text columns protected."""
    base = declarative_base()

    class SQLEvent(base):  # type: ignore[misc, valid-type]
        __tablename__ = "events"
        id = sa.Column(sa.Integer, sa.Sequence("events_seq", optional=True), primary_key=True)
        sender_id = sa.Column(sa.String(255), nullable=False, index=True)
        type_name = sa.Column(sa.String(255), nullable=False)
        timestamp = sa.Column(sa.Float)
        intent_name = sa.Column(_NotWritten)
        action_name = sa.Column(_NotWritten)
        data = sa.Column(_Encrypted(vault))

    return base, SQLEvent


def _sqlite_file(db: str) -> Path:
    path = Path(db)
    return path if path.is_absolute() else ROOT / path


def secure_delete(engine: Engine) -> Engine:
    """On SQLite, make deletions overwrite the rows in the file instead of leaving them in
    free pages (a no-op on other databases)."""
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", _secure_delete_pragma)
        engine.dispose()  # connections opened before the listener would not have it
    return engine


def _secure_delete_pragma(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA secure_delete=ON")
    cur.close()


@dataclass
class _Kept:
    """A saved tracker and what the database held for her just after the save."""

    tracker: DialogueStateTracker
    events: int  # len(tracker.events) when saved: more means a turn changed it since
    rows: int
    last_id: Optional[int]
    at: float


def _as_retrieved(tracker: DialogueStateTracker) -> bool:
    """Whether the tracker holds what retrieving it would give: Rasa retrieves the events from
    the last session start on, so a tracker in which a session started after its first event
    (her first turn, or a turn after the session expired) is read back from the database."""
    return not event_scan.holds(itertools.islice(tracker.events, 1, None), SessionStarted)


class EncryptedSQLTrackerStore(SQLTrackerStore):
    """Rasa's SQLTrackerStore, encrypted at rest, with erasure and retention (see module doc).

    `vault` and `retention_days` default to what SALAMA_SECRET, SALAMA_OLD_SECRETS (or
    var/salama_secret) and RETENTION_DAYS give, read as Settings.from_env reads them.
    """

    def __init__(self, domain: Any = None, dialect: str = "sqlite", host: Optional[str] = None,
                 port: Optional[int] = None, db: str = "rasa.db", username: Optional[str] = None,
                 password: Optional[str] = None, event_broker: Any = None,
                 login_db: Optional[str] = None, query: Optional[dict] = None,
                 vault: Optional[Vault] = None, retention_days: Optional[int] = None,
                 **kwargs: Any) -> None:
        if vault is None or retention_days is None:
            settings = settings_from_env()
            vault = vault or settings.vault()
            retention_days = settings.retention_days if retention_days is None else retention_days
        self.engine: Engine
        self.vault = vault
        self.retention_s = float(retention_days) * 86400
        self._next_purge = 0.0
        self._kept: OrderedDict[str, _Kept] = OrderedDict()
        self._stored: dict[str, tuple[DialogueStateTracker, int]] = {}  # events stored: (tracker, n)
        # Rasa's methods use self.Base and self.SQLEvent: per instance, they carry our key.
        self.Base, self.SQLEvent = _event_model(vault)
        if dialect == "sqlite":
            path = _sqlite_file(db)
            path.parent.mkdir(parents=True, exist_ok=True)
            db = str(path)
        super().__init__(domain, dialect, host, port, db, username, password, event_broker,
                         login_db, query, **kwargs)
        if self.engine.dialect.name == "sqlite":
            # Rasa opens SQLite with SQLAlchemy 1.4's default for files: a new connection per
            # session (three or four a message) in rollback-journal mode with an fsync on
            # every commit. Keep connections open and use WAL instead, as the gateway store does.
            url = self.engine.url
            self.engine.dispose()
            self.engine = sqlite_engine(url, pool_size=4, max_overflow=4, future=False)
            self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)
        secure_delete(self.engine)

    async def save(self, tracker: DialogueStateTracker) -> None:
        self._kept.pop(tracker.sender_id, None)
        known = self._stored.pop(tracker.sender_id, None)
        if known is not None and known[0] is tracker:
            stored = known[1]  # it came back from memory, the database unchanged since
        else:
            with self.session_scope() as session:
                stored = self._event_query(session, tracker.sender_id,
                                           fetch_events_from_all_sessions=False).count()
        if len(tracker.events) < stored:
            # A replacement, not a continuation: forget what was stored, then write it.
            self.delete(tracker.sender_id)
            stored = 0
        self._stored[tracker.sender_id] = (tracker, stored)  # for _additional_events
        try:
            await super().save(tracker)
        finally:
            self._stored.pop(tracker.sender_id, None)
        if _as_retrieved(tracker):
            with self.session_scope() as session:
                rows, last_id = self._stamp(session, tracker.sender_id)
            self._keep(tracker.sender_id, _Kept(tracker, len(tracker.events), rows, last_id,
                                                time.monotonic()))
        await self._purge_if_due()

    async def _retrieve(self, sender_id: str,
                        fetch_events_from_all_sessions: bool) -> Optional[DialogueStateTracker]:
        kept = self._kept.pop(sender_id, None)
        if kept is not None and not fetch_events_from_all_sessions and self.domain:  # noqa: SIM102
            if (len(kept.tracker.events) == kept.events
                    and time.monotonic() - kept.at < TRACKER_CACHE_IDLE_S):
                with self.session_scope() as session:
                    if self._stamp(session, sender_id) == (kept.rows, kept.last_id):
                        # Until the next save, a failed turn must not leave it here changed.
                        self._stored[sender_id] = (kept.tracker, kept.events)
                        while len(self._stored) > TRACKER_CACHE_SIZE:  # turns that never saved
                            self._stored.pop(next(iter(self._stored)))
                        return kept.tracker
        return await super()._retrieve(sender_id, fetch_events_from_all_sessions)

    def _additional_events(self, session: Any, tracker: DialogueStateTracker) -> Any:
        """Rasa's: the events of the tracker past those of her session already stored."""
        known = self._stored.get(tracker.sender_id)
        if known is None or known[0] is not tracker:
            return super()._additional_events(session, tracker)
        return itertools.islice(tracker.events, known[1], len(tracker.events))

    def _stamp(self, session: Any, sender_id: str) -> tuple[int, Optional[int]]:
        """How many rows she has and the last one's id: any other write changes one of them."""
        rows, last_id = session.query(sa.func.count(self.SQLEvent.id), sa.func.max(self.SQLEvent.id)) \
            .filter(self.SQLEvent.sender_id == sender_id).one()
        return int(rows), last_id

    def _keep(self, sender_id: str, kept: _Kept) -> None:
        self._kept[sender_id] = kept
        self._kept.move_to_end(sender_id)
        while self._kept and (len(self._kept) > TRACKER_CACHE_SIZE or
                              kept.at - next(iter(self._kept.values())).at > TRACKER_CACHE_IDLE_S):
            self._kept.popitem(last=False)

    def delete(self, sender_id: str) -> int:
        """Delete every stored event of one conversation; returns how many."""
        self._kept.pop(sender_id, None)
        self._stored.pop(sender_id, None)
        with self.session_scope() as session:
            count = session.query(self.SQLEvent).filter(
                self.SQLEvent.sender_id == sender_id
            ).delete(synchronize_session=False)
            session.commit()
        return count

    def purge_older_than(self, cutoff: float) -> int:
        return purge_events(self.engine, cutoff)

    async def _purge_if_due(self) -> None:
        now = time.monotonic()
        if now < self._next_purge:
            return
        self._next_purge = now + PURGE_EVERY_S
        try:
            removed = await asyncio.to_thread(self.purge_older_than, time.time() - self.retention_s)
        except Exception as exc:  # a failed purge must not fail her turn; the next one retries
            log.warning("tracker retention purge failed: %s", type(exc).__name__)
            return
        if removed:
            self._kept.clear()  # (a kept tracker's stamp would not match anyway)
            self._stored.clear()
            log.info("retention purge removed %d tracker events", removed)


def purge_events_at(url: Union[str, URL], cutoff: float) -> int:
    """Delete the events older than `cutoff` from the tracker database at `url` (`make purge`);
    0 when Rasa has not created its table yet."""
    engine = secure_delete(sa.create_engine(url, future=True))
    try:
        if not sa.inspect(engine).has_table("events"):
            return 0
        return purge_events(engine, cutoff)
    finally:
        engine.dispose()
