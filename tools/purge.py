"""`make purge`: delete gateway rows and Rasa tracker events older than RETENTION_DAYS.

The tracker database is the one Rasa uses: read from the `tracker_store` section of
endpoints.yml (or --endpoints). Prints counts only, never content.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Optional

from rasa.utils.endpoints import read_endpoint_config

from bot.store import Store
from core.settings import ROOT, Settings
from rasa_ext.tracker_store import EncryptedSQLTrackerStore, purge_events_at, settings_from_env, tracker_db_url

SQL_TYPES = {"sql", f"{EncryptedSQLTrackerStore.__module__}.{EncryptedSQLTrackerStore.__name__}".lower()}
MEMORY_TYPES = {"", "in_memory"}


class PurgeError(Exception):
    """The tracker store is configured in a way this command cannot purge."""


def purge_gateway(settings: Settings, cutoff: float) -> dict[str, int]:
    store = Store(settings.store_url)
    try:
        return store.purge_older_than(cutoff)
    finally:
        store.close()


def purge_tracker(endpoints: Path, cutoff: float) -> Optional[int]:
    """Events deleted from the tracker store of `endpoints`; None if it keeps nothing on disk."""
    if not endpoints.exists():
        raise PurgeError(f"{endpoints}: no such file")
    config = read_endpoint_config(str(endpoints), "tracker_store")
    kind = (config.type or "").lower() if config else ""
    if kind in MEMORY_TYPES:
        return None
    if kind not in SQL_TYPES:
        raise PurgeError(f"{endpoints}: tracker store type {config.type!r} is not an SQL store")
    return purge_events_at(tracker_db_url(host=config.url, **config.kwargs), cutoff)


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoints", type=Path, default=ROOT / "endpoints.yml",
                        help="the endpoints file Rasa runs with (default: endpoints.yml)")
    args = parser.parse_args(argv)
    settings = settings_from_env()
    cutoff = time.time() - settings.retention_days * 86400
    print(f"retention: {settings.retention_days} days")
    gateway = purge_gateway(settings, cutoff)
    print("gateway: " + " ".join(f"{table}={count}" for table, count in gateway.items()))
    try:
        events = purge_tracker(args.endpoints, cutoff)
    except PurgeError as exc:
        print(f"tracker: not purged: {exc}", file=sys.stderr)
        return 1
    print("tracker: nothing stored (in-memory)" if events is None else f"tracker: events={events}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
