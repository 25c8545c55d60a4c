"""Shared fixtures: a fresh database per test, cloned from a migrated template, on SQLite or PostgreSQL.

Set TRACKER_TEST_DATABASE_URL to a PostgreSQL URL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)
to run the suite there; each test run creates its own uniquely named databases on that server and drops
them afterwards, so parallel runs never collide. Unset, everything runs on SQLite files in a temp folder.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from tracker.core.config import PROJECT_ROOT, get_settings
from tracker.core.db import get_engine

# ../shared next to the project; TRACKER_SHARED_DIR points elsewhere (a worktree sits one level deeper).
SHARED_DIR = Path(os.environ.get("TRACKER_SHARED_DIR") or PROJECT_ROOT.parent / "shared")
CORPUS_DIR = SHARED_DIR / "corpus"
EVAL_DIR = SHARED_DIR / "eval"
DATA_DIR = PROJECT_ROOT / "data"
TEST_DB_URL = os.environ.get("TRACKER_TEST_DATABASE_URL", "").strip()
IS_POSTGRES = TEST_DB_URL.startswith("postgresql")
RUN_ID = uuid.uuid4().hex[:8]


class _Server:
    """Creates, clones and drops databases on the backend under test."""

    def __init__(self, tmp_root: Path) -> None:
        self.tmp_root = tmp_root
        if IS_POSTGRES:
            url = TEST_DB_URL.replace("postgresql://", "postgresql+psycopg://", 1)
            self.admin = sa.create_engine(url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
            self.base_url = make_url(url)

    def url(self, name: str) -> str:
        if IS_POSTGRES:
            return self.base_url.set(database=name).render_as_string(hide_password=False)
        return f"sqlite:///{self.tmp_root / (name + '.db')}"

    def create(self, name: str, template: str | None = None) -> str:
        if IS_POSTGRES:
            clause = f" TEMPLATE {template}" if template else ""
            with self.admin.connect() as connection:
                connection.execute(sa.text(f'CREATE DATABASE "{name}"{clause}'))
        elif template:
            shutil.copyfile(self.tmp_root / f"{template}.db", self.tmp_root / f"{name}.db")
        return self.url(name)

    def drop(self, name: str) -> None:
        if IS_POSTGRES:
            with self.admin.connect() as connection:
                connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        else:
            for suffix in ("", "-wal", "-shm"):
                (self.tmp_root / f"{name}.db{suffix}").unlink(missing_ok=True)


@pytest.fixture(scope="session")
def db_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Server]:
    server = _Server(tmp_path_factory.mktemp("databases"))
    created: list[str] = []
    server.created = created  # type: ignore[attr-defined]
    yield server
    for name in created:
        server.drop(name)


def _make_template(server: _Server, kind: str) -> str:
    from tracker.core.db import migrate
    from tracker.ingest.bootstrap import initialize

    name = f"ct_{RUN_ID}_tpl_{kind}"
    url = server.create(name)
    server.created.append(name)  # type: ignore[attr-defined]
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    if kind == "schema":
        migrate(engine)
    else:
        seed_dir = DATA_DIR if kind == "seeded" else _catalog_only_dir(server.tmp_root)
        initialize(engine, seed_dir)
    if not IS_POSTGRES:
        with engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return name


def _catalog_only_dir(tmp_root: Path) -> Path:
    """A copy of data/ without the seed, so tests can build exactly the fixture data they need."""
    target = tmp_root / "catalog_only"
    if not target.exists():
        shutil.copytree(DATA_DIR, target, ignore=shutil.ignore_patterns("seed", "raw", "*.db*"))
        (target / "seed").mkdir()
    return target


@pytest.fixture(scope="session")
def db_templates(db_server: _Server) -> Callable[[str], str]:
    cache: dict[str, str] = {}

    def template(kind: str) -> str:
        if kind not in cache:
            cache[kind] = _make_template(db_server, kind)
        return cache[kind]

    return template


def _fresh_engine(db_server: _Server, db_templates: Callable[[str], str], kind: str) -> Iterator[Engine]:
    name = f"ct_{RUN_ID}_{uuid.uuid4().hex[:10]}"
    url = db_server.create(name, template=db_templates(kind))
    engine = get_engine(url)
    try:
        yield engine
        _assert_spans_in_step(engine)
    finally:
        engine.dispose()
        get_engine.cache_clear()
        db_server.drop(name)


def _assert_spans_in_step(engine: Engine) -> None:
    """After every test: whatever it wrote, the as-of spans must still match the assessments."""
    from tracker.store.spans import spans_out_of_date

    try:
        with engine.connect() as connection:
            stale = spans_out_of_date(connection)
    except sa.exc.SQLAlchemyError:  # a test that took the schema apart (migrations, restores) has nothing to check
        return
    assert not stale, (f"assessment spans out of date for {stale}: a write path added assessments without "
                       "tracker.store.spans.refresh_spans")


@pytest.fixture
def schema_engine(db_server: _Server, db_templates: Callable[[str], str]) -> Iterator[Engine]:
    """Migrated, empty database."""
    yield from _fresh_engine(db_server, db_templates, "schema")


@pytest.fixture
def engine(db_server: _Server, db_templates: Callable[[str], str]) -> Iterator[Engine]:
    """Migrated database with the catalog loaded and no seed: tests add exactly the data they need."""
    yield from _fresh_engine(db_server, db_templates, "catalog")


@pytest.fixture
def seeded_engine(db_server: _Server, db_templates: Callable[[str], str]) -> Iterator[Engine]:
    """The database a fresh user gets: catalog plus the shipped seed."""
    yield from _fresh_engine(db_server, db_templates, "seeded")


@pytest.fixture
def session(engine: Engine):
    from sqlmodel import Session

    with Session(engine, expire_on_commit=False) as db_session:
        yield db_session


@pytest.fixture
def use_database(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Callable[[Engine], str]:
    """Point DATABASE_URL (and the raw store) at a test database, for CLI and app tests."""

    def point(engine: Engine) -> str:
        url = engine.url.render_as_string(hide_password=False)
        monkeypatch.setenv("DATABASE_URL", url)
        monkeypatch.setenv("TRACKER_RAW_STORE", str(tmp_path / "raw"))
        get_settings.cache_clear()
        return url

    yield point
    get_settings.cache_clear()


@pytest.fixture
def corpus_dir() -> Path:
    if not CORPUS_DIR.is_dir() or not any(CORPUS_DIR.glob("*.txt")):
        pytest.skip("../shared/corpus is not present")
    return CORPUS_DIR


@pytest.fixture
def eval_dir() -> Path:
    if not (EVAL_DIR / "passages.jsonl").exists():
        pytest.skip("../shared/eval is not present")
    return EVAL_DIR
