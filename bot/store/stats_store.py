"""The programme's daily counters in SQL: one row per (Morocco day, kind, key) and a count.

Counts only. No pseudonym, text, number or time finer than the day is kept, and a row is
never tied to a conversation: an erasure or the retention purge has nothing here to remove,
and no conversation can be rebuilt from it (table `daily_counts` in bot.store.schema,
created by bot/migrations/versions/0002_programme.py). Functions of an engine, not Store
methods: the action server writes here too, without opening a whole Store.
"""
from __future__ import annotations

from typing import Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.store.schema import daily_counts


def add_counts(engine: Engine, counts: Iterable[tuple[str, str, str, int]]) -> None:
    """Add (day, kind, key, n) to the counters in one transaction, from any gateway at once."""
    rows = [{"day": d, "kind": k, "key": key, "n": n} for d, k, key, n in counts if n]
    if not rows:
        return
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        stmt = insert(daily_counts).values(day=sa.bindparam("day"), kind=sa.bindparam("kind"),
                                           key=sa.bindparam("key"), count=sa.bindparam("n"))
        # One statement per row, both dialects: an upsert adds to the row another gateway made.
        stmt = stmt.on_conflict_do_update(index_elements=["day", "kind", "key"],
                                          set_={"count": daily_counts.c.count + stmt.excluded.count})
        conn.execute(stmt, rows)


def read_counts(engine: Engine, first_day: str, last_day: str) -> list[tuple[str, str, str, int]]:
    """Every counter from first_day to last_day (inclusive), as (day, kind, key, count)."""
    query = (sa.select(daily_counts.c.day, daily_counts.c.kind, daily_counts.c.key, daily_counts.c.count)
             .where(daily_counts.c.day >= first_day).where(daily_counts.c.day <= last_day))
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(query)]
