"""Alembic environment: runs the hub's migrations on the URL given by hub.store.migrate."""

from __future__ import annotations

from alembic import context

from adapters.sql_engine import build_engine
from hub.store.tables import metadata

config = context.config


def run_migrations_online() -> None:
    engine = build_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=metadata,
                          render_as_batch=engine.dialect.name == "sqlite")
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=metadata,
                      literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
