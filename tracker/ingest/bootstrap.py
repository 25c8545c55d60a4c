"""`init`: migrate, load the catalog and the shipped seed, all or nothing."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session

from tracker.core.config import get_settings
from tracker.core.db import get_engine, migrate, session_scope
from tracker.ingest.catalog import load_catalog, sync_catalog
from tracker.ingest.seed import load_seed
from tracker.store import models as m
from tracker.store.spans import repair_spans


def initialize(engine: Engine | None = None, data_dir: Path | None = None) -> dict[str, int]:
    """Idempotent: running it twice changes nothing. A broken file raises before any row is written."""
    engine = engine or get_engine()
    data_dir = data_dir or get_settings().catalog_dir
    catalog = load_catalog(data_dir)  # parse and cross-check everything first
    migrate(engine)
    with session_scope(engine) as session:
        counts = sync_catalog(session, catalog)
        counts.update(load_seed(session, data_dir / "seed"))
        if repair_spans(session.connection()):
            counts["assessment spans rebuilt"] = 1
        from tracker.ingest.pipeline import record_updates  # here: the app imports this module on start

        if read := record_updates(session):  # versions stored before update records existed (revision 0004)
            counts["update records read"] = read
    return counts


def is_initialized(engine: Engine | None = None) -> bool:
    """True when the schema exists and the catalog has been loaded (cheap: two small queries)."""
    engine = engine or get_engine()
    try:
        with Session(engine) as session:
            return (session.scalar(sa.select(sa.func.count()).select_from(m.Framework)) or 0) > 0
    except sa.exc.SQLAlchemyError:
        return False


def ensure_initialized(engine: Engine | None = None) -> None:
    """Used by the app on start: a fresh checkout creates and fills its database by itself."""
    engine = engine or get_engine()
    if not is_initialized(engine):
        initialize(engine)


def row_counts(engine: Engine | None = None) -> dict[str, int]:
    """Rows per table, for `init` output and idempotency checks."""
    engine = engine or get_engine()
    counts = {}
    with engine.connect() as connection:
        for table in m.SQLModel.metadata.sorted_tables:
            counts[table.name] = connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
    return counts
