"""One refresh at a time per database: a PostgreSQL advisory lock, or a lock file beside a SQLite file."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from filelock import FileLock, Timeout
from sqlalchemy.engine import Engine

from tracker.core.config import get_settings
from tracker.core.errors import TrackerError

REFRESH_LOCK_KEY = 0x7472_6163  # "trac": any constant shared by every instance of the tracker


class LockBusy(TrackerError):
    """Another refresh is running against the same database."""


def _lock_file(engine: Engine) -> Path:
    database = engine.url.database
    if database and database != ":memory:":
        return Path(database).with_suffix(".refresh.lock")
    return get_settings().raw_store_dir.parent / "tracker.ingest.refresh.lock"


@contextmanager
def refresh_lock(engine: Engine, *, wait: bool = False, timeout: float = 3600.0) -> Iterator[None]:
    """Hold the refresh lock for the block; without `wait`, raise LockBusy at once if it is taken.

    PostgreSQL: a session advisory lock on a dedicated connection (autocommit, so it never sits idle in a
    transaction); the server drops it when that connection dies, so a killed run never leaves it held.
    SQLite: an OS file lock beside the database file, likewise released by the kernel when the process dies.
    """
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            deadline = time.monotonic() + (timeout if wait else 0)
            while not connection.execute(sa.select(sa.func.pg_try_advisory_lock(REFRESH_LOCK_KEY))).scalar():
                if time.monotonic() >= deadline:
                    raise LockBusy("another refresh is running against this database; try again later, "
                                   "or pass --wait to wait for it")
                time.sleep(0.5)
            try:
                yield
            finally:
                try:
                    connection.execute(sa.select(sa.func.pg_advisory_unlock(REFRESH_LOCK_KEY)))
                except sa.exc.DBAPIError:
                    connection.invalidate()  # never return a connection that may still hold the lock to the pool
        return
    path = _lock_file(engine)
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(path))
    try:
        lock.acquire(timeout=timeout if wait else 0)
    except Timeout:
        raise LockBusy(f"another refresh is running against this database (lock {path}); try again later, "
                       "or pass --wait to wait for it") from None
    try:
        yield
    finally:
        lock.release()
