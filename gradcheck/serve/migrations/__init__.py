"""Alembic migrations of the serve database, shipped in the package and run on start-up.

``upgrade(engine)`` brings any database (new or old, SQLite or PostgreSQL) to the latest
revision. Add a revision as a new file in ``versions/`` (``down_revision`` = the previous
one); never edit a revision that has shipped.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import Engine

HERE = Path(__file__).resolve().parent


def config():  # type: ignore[no-untyped-def]
    """An Alembic Config pointing at the shipped migrations (no alembic.ini needed)."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Run every migration the database has not had yet."""
    from alembic import command

    cfg = config()
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)


def current(engine: Engine) -> str | None:
    """The database's revision (None for an empty database)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
