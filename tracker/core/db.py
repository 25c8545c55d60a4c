"""Engines, sessions and migrations for the one database the tracker uses (`DATABASE_URL`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session

from tracker.core.config import PROJECT_ROOT, get_settings
from tracker.core.errors import TrackerError

ALEMBIC_INI = PROJECT_ROOT / "alembic.ini"
MIGRATIONS_DIR = PROJECT_ROOT / "tracker" / "migrations"


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    # 64 MiB of page cache per connection (the default is 2 MiB): a framework grid at a thousand companies
    # reads ~10 MB of index, and pages held by SQLite survive the OS evicting the file from its cache.
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.close()


@lru_cache(maxsize=8)
def get_engine(url: str | None = None) -> Engine:
    """One engine per URL per process; SQLite files get WAL and foreign keys, their folder is created."""
    url = url or get_settings().database_url
    if url.startswith("sqlite"):
        path = sa.engine.make_url(url).database
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return sa.create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)


@contextmanager
def session_scope(engine: Engine | None = None) -> Iterator[Session]:
    """A session that commits on success and rolls back (losing nothing already stored) on error."""
    session = Session(engine or get_engine(), expire_on_commit=False)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def alembic_config(url: str | None = None):
    from alembic.config import Config

    config = Config(str(ALEMBIC_INI))
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", (url or get_settings().database_url).replace("%", "%%"))
    return config


def migrate(engine: Engine | None = None) -> None:
    """Bring the schema to the newest migration (creates the database file if missing)."""
    from alembic import command

    engine = engine or get_engine()
    try:
        with engine.begin() as connection:
            config = alembic_config(engine.url.render_as_string(hide_password=False))
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except sa.exc.OperationalError as exc:
        raise TrackerError(f"cannot reach the database at {engine.url!r}: {exc.orig}") from exc
