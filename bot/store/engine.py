"""Database engines for the gateway store (and Rasa's tracker store): SQLite kept open in WAL
mode, or PostgreSQL with a pool."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import sqlalchemy as sa
from sqlalchemy.engine import Engine

STORE_THREADS = 4


def sqlite_engine(url: Any, pool_size: int, max_overflow: int, future: bool) -> Engine:
    """A SQLite engine that keeps its connections open, in WAL mode (also Rasa's tracker store,
    rasa_ext.tracker_store)."""
    engine = sa.create_engine(
        url, connect_args={"timeout": 30, "check_same_thread": False}, future=future,
        poolclass=sa.pool.QueuePool, pool_size=pool_size, max_overflow=max_overflow,
    )
    sa.event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # WAL lets readers and one writer work together; busy_timeout waits instead of failing
    # with "database is locked"; synchronous=NORMAL: a crash of the process loses nothing
    # committed, a power cut may lose the last transactions.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = sqlite_path(url)
        if path:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # A pool keeps connections open: SQLAlchemy's default for SQLite files opens one per
        # call (NullPool), which cost about 20 ms a message in `make bench`.
        return sqlite_engine(url, pool_size=STORE_THREADS, max_overflow=8, future=True)
    return sa.create_engine(url, pool_pre_ping=True, pool_size=10, future=True)


def sqlite_path(url: str) -> Optional[str]:
    """The file of a SQLite URL on this machine; None for PostgreSQL or an in-memory database."""
    if not url.startswith("sqlite"):
        return None
    path = url.split("///", 1)[-1]
    return None if path in ("", ":memory:") else path
