"""Alembic's environment for the gateway store (the tables of bot/store.py).

`python -m bot.migrate` passes its connection, which holds the migration lock. The alembic
command line (a developer writing a migration) gets one the same way, for DATABASE_URL.
"""
from logging.config import fileConfig

from alembic import context
from sqlalchemy.engine import Connection

from bot.migrate import include_object, locked
from bot.store import metadata

config = context.config


def run(connection: Connection) -> None:
    context.configure(
        connection=connection, target_metadata=metadata, include_object=include_object,
        # SQLite alters a table by copying it: Alembic's batch mode does that for us.
        render_as_batch=connection.dialect.name == "sqlite", compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported: run `python -m bot.migrate`")
if config.attributes.get("connection") is not None:
    run(config.attributes["connection"])
else:
    from rasa_ext.tracker_store import settings_from_env

    if config.config_file_name is not None:
        fileConfig(config.config_file_name)
    with locked(settings_from_env().store_url) as conn:
        run(conn)
