"""Alembic environment: migrate the connection SqlStore.open hands over, or a URL (-x url=...)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

from bot.adapters.store.tables import metadata

config = context.config


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def main() -> None:
    connection = config.attributes.get("connection")
    if isinstance(connection, Connection):
        _run(connection)
        return
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option(
        "sqlalchemy.url"
    )
    engine = create_engine(str(url))
    try:
        with engine.begin() as conn:
            _run(conn)
    finally:
        engine.dispose()


main()
