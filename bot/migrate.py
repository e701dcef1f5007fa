"""`python -m bot.migrate`: create or upgrade the schema, once, before any process uses it.

Two databases are prepared:

- the gateway store (DATABASE_URL, default var/gateway.db): Alembic migrations in
  bot/migrations/ up to the newest; a store made before migrations existed is checked
  against the baseline and adopted (stamped) without touching its rows;
- Rasa's tracker store, read from the `tracker_store` section of the endpoints file: its
  `events` table, exactly as Rasa 3.6 creates it, if it is missing.

Each runs under a lock (a PostgreSQL advisory lock, or a lock file beside a SQLite file),
so migrate steps started together (containers, replicas) run one after the other and the
later ones find nothing to do. The gateway refuses to start on a schema that is behind
(bot.store.SchemaMismatch); `make run`, `make run-scaled` and the compose file run this first.
"""
from __future__ import annotations

import argparse
import contextlib
import fcntl
import sys
import warnings
from pathlib import Path
from typing import Any, Iterator, Optional

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy.engine import URL, Connection, make_url

from bot.store import MIGRATIONS, SchemaMismatch, make_engine, metadata
from core.settings import ROOT

BASELINE = "0001"  # the schema of the last version without migrations
# Any fixed 64-bit number: every migrate step of every version takes the same one.
LOCK_KEY = 7_301_853_620_219_043_841


@contextlib.contextmanager
def locked(url: str) -> Iterator[Connection]:
    """A connection in a transaction that holds the migration lock of this database."""
    engine = make_engine(url)
    try:
        with _file_lock(engine.url), engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                # Held until this transaction ends; PostgreSQL's DDL is transactional, so the
                # next migrate step sees either nothing or everything this one did.
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
            yield conn
    finally:
        engine.dispose()


@contextlib.contextmanager
def _file_lock(url: URL) -> Iterator[None]:
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        yield
        return
    with open(f"{url.database}.migrate-lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file is closed
        yield


def include_object(obj: Any, name: Optional[str], type_: Any, reflected: bool, compare_to: Any) -> bool:
    """Alembic compares only the store's tables: others may share the database (Rasa's
    `events` on PostgreSQL) and are not the gateway's to migrate."""
    return type_ != "table" or name in metadata.tables


def alembic_config(conn: Optional[Connection] = None) -> Config:
    """Alembic's configuration for the gateway store; env.py uses `conn` when given."""
    config = Config(str(MIGRATIONS / "alembic.ini"))
    config.attributes["connection"] = conn
    return config


def revision(conn: Connection) -> Optional[str]:
    """The schema revision stamped in the database (None: empty, or made before migrations)."""
    return MigrationContext.configure(conn).get_current_revision()


def upgrade(url: str, target: str = "head") -> tuple[Optional[str], str]:
    """Bring the gateway store at `url` to the newest revision (or `target`); returns
    (before, after)."""
    with locked(url) as conn:
        before = revision(conn)
        if before is None and _made_before_migrations(conn):
            _check_baseline(conn)
            command.stamp(alembic_config(conn), BASELINE)
            before = BASELINE
        command.upgrade(alembic_config(conn), target)
        after = revision(conn)
    assert after is not None
    return before, after


def _made_before_migrations(conn: Connection) -> bool:
    return any(sa.inspect(conn).has_table(name) for name in metadata.tables)


def _check_baseline(conn: Connection) -> None:
    """A store made before migrations is adopted only if it has the baseline's tables and
    columns: an older one lacks some, and stamping it would hide that."""
    expected = _baseline_columns()
    inspector = sa.inspect(conn)
    for table, columns in sorted(expected.items()):
        if not inspector.has_table(table):
            missing = ["the whole table"]
        else:
            present = {c["name"] for c in inspector.get_columns(table)}
            missing = sorted(columns - present)
        if missing:
            raise SchemaMismatch(
                f"table {table} lacks {', '.join(missing)}: the store at "
                f"{conn.engine.url.render_as_string(hide_password=True)} was made by a version of "
                "Salama older than the migrations' baseline; move it aside (locally: `make clean`)")


def _baseline_columns() -> dict[str, set[str]]:
    """The tables and columns of the baseline revision, read from a scratch database."""
    scratch = sa.create_engine("sqlite://", future=True)
    try:
        with scratch.begin() as conn:
            command.upgrade(alembic_config(conn), BASELINE)
            inspector = sa.inspect(conn)
            return {name: {c["name"] for c in inspector.get_columns(name)}
                    for name in inspector.get_table_names() if name != "alembic_version"}
    finally:
        scratch.dispose()


def tracker_url(endpoints: Path) -> Optional[str]:
    """The tracker store's database URL in `endpoints` (None: it keeps nothing in SQL)."""
    from rasa.utils.endpoints import read_endpoint_config  # Rasa's reader: same ${VAR}s as Rasa

    from rasa_ext.tracker_store import tracker_db_url
    from tools.purge import SQL_TYPES

    config = read_endpoint_config(str(endpoints), "tracker_store")
    if config is None or (config.type or "").lower() not in SQL_TYPES:
        return None
    url = tracker_db_url(host=config.url, **config.kwargs)
    return url if isinstance(url, str) else url.render_as_string(hide_password=False)


def create_tracker_table(url: str) -> bool:
    """Create Rasa's `events` table if it is missing; True if it was created."""
    from rasa.core.tracker_store import SQLTrackerStore

    with locked(url) as conn:
        if sa.inspect(conn).has_table("events"):
            return False
        SQLTrackerStore.Base.metadata.create_all(conn)
        return True


def _shown(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoints", type=Path, default=ROOT / "endpoints.yml",
                        help="the endpoints file Rasa runs with, for its tracker store")
    parser.add_argument("--database-url", help="the gateway store (default: DATABASE_URL, else var/)")
    args = parser.parse_args(argv)
    with warnings.catch_warnings(record=True):  # Rasa's imports warn about their own imports
        from rasa_ext.tracker_store import settings_from_env
    url = args.database_url or settings_from_env().store_url
    try:
        before, after = upgrade(url)
    except SchemaMismatch as exc:
        print(f"migrate: {exc}", file=sys.stderr)
        return 1
    state = "up to date" if before == after else f"migrated from {before or 'empty'}"
    print(f"migrate: gateway store {_shown(url)}: revision {after} ({state})", flush=True)
    endpoints = args.endpoints if args.endpoints.is_absolute() else ROOT / args.endpoints
    with warnings.catch_warnings(record=True):
        events = tracker_url(endpoints)
    if events is None:
        print(f"migrate: tracker store: nothing to create ({endpoints.name} keeps no SQL store)")
    else:
        made = create_tracker_table(events)
        print(f"migrate: tracker store {_shown(events)}: events table "
              f"{'created' if made else 'present'}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
