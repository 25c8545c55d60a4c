"""Backups: the database and the raw files it references, in one archive that restores on either backend.

An archive is a `.tar.gz` with `manifest.json` (format, schema revision, row count and sha256 of every table
file, size of every raw file), `tables/<table>.jsonl` (one JSON object per row, tables in dependency order)
and `raw/<sha256>` (each raw file under its own hash, so it checks itself).

Consistency while the app keeps writing: on SQLite the database is first copied with SQLite's online backup
API and the copy is read; on PostgreSQL every table is read inside one REPEATABLE READ transaction (one
snapshot). Raw files are immutable and written before the rows that reference them are committed, so every
file the snapshot references exists.

Restore checks the whole archive (every hash, every row count) before it writes anything, then loads every
table in one transaction and adds the raw files; a damaged archive changes nothing.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import sqlite3
import tarfile
import tempfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlmodel import SQLModel

from tracker.core.db import alembic_config, migrate
from tracker.core.errors import TrackerError
from tracker.core.rawstore import RawStore
from tracker.store import models as m

FORMAT = "commitment-tracker-backup/1"
BATCH = 500
RAW_REFERENCES = (("documentversion", "raw_sha256"), ("selfreport", "upload_sha256"))


class BackupError(TrackerError):
    """The archive cannot be written or restored; the message says why and what to do."""


@dataclass
class BackupResult:
    path: Path
    tables: dict[str, int]
    raw_files: int
    missing_raw: list[str] = field(default_factory=list)  # referenced, but not in the raw store


def tables() -> list[sa.Table]:
    """Every table of the tracker, parents before children."""
    return list(SQLModel.metadata.sorted_tables)


def schema_head() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None
    return head


def _encode(value: object) -> object:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _decoder(column: sa.Column):
    if isinstance(column.type, m.UTCDateTime):
        return lambda v: None if v is None else datetime.fromisoformat(v).astimezone(UTC)
    if isinstance(column.type, sa.Date):
        return lambda v: None if v is None else date.fromisoformat(v)
    return None


def read_rows(connection: Connection, table: sa.Table) -> Iterator[dict]:
    """Rows of a table in primary-key order, as plain dicts of Python values."""
    query = table.select().order_by(*table.primary_key.columns)
    for row in connection.execution_options(yield_per=BATCH).execute(query):
        yield dict(row._mapping)


@contextmanager
def _snapshot(engine: Engine) -> Iterator[Connection]:
    """A connection that sees one consistent state of the database for as long as it is open."""
    if engine.dialect.name == "sqlite":
        database = engine.url.database
        if not database or database == ":memory:":
            raise BackupError("an in-memory SQLite database cannot be backed up")
        with tempfile.TemporaryDirectory(prefix="tracker-backup-") as folder:
            copy = Path(folder) / "snapshot.db"
            source, target = sqlite3.connect(database), sqlite3.connect(copy)
            try:
                source.backup(target)  # SQLite's online backup: a consistent copy while others write
            finally:
                source.close()
                target.close()
            snapshot = sa.create_engine(f"sqlite:///{copy}", poolclass=sa.pool.NullPool)
            try:
                with snapshot.connect() as connection:
                    yield connection
            finally:
                snapshot.dispose()
        return
    with engine.connect().execution_options(isolation_level="REPEATABLE READ") as connection, connection.begin():
        yield connection


def backup(engine: Engine, path: Path, raw_store: RawStore | None = None) -> BackupResult:
    """Write an archive of the database and its raw files to `path` (a file, or a folder to put it in)."""
    raw_store = raw_store or RawStore()
    path = Path(path)
    if path.is_dir():
        path = path / f"tracker-backup-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.tar.gz"
    if not path.parent.is_dir():
        raise BackupError(f"folder {path.parent} does not exist")
    manifest: dict = {"format": FORMAT, "created_at": datetime.now(UTC).isoformat(),
                      "backend": engine.dialect.name, "tables": {}, "raw": {}, "missing_raw": []}
    referenced: set[str] = set()
    partial = path.with_name(path.name + ".partial")
    with tempfile.TemporaryDirectory(prefix="tracker-backup-") as folder:
        work = Path(folder)
        with _snapshot(engine) as connection:
            manifest["schema_revision"] = connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
            for table in tables():
                digest, count = hashlib.sha256(), 0
                with open(work / f"{table.name}.jsonl", "wb") as out:
                    for row in read_rows(connection, table):
                        line = (json.dumps({k: _encode(v) for k, v in row.items()}, ensure_ascii=False,
                                           sort_keys=True) + "\n").encode()
                        out.write(line)
                        digest.update(line)
                        count += 1
                        for table_name, column in RAW_REFERENCES:
                            if table.name == table_name and row.get(column):
                                referenced.add(row[column])
                manifest["tables"][table.name] = {"rows": count, "sha256": digest.hexdigest()}
        try:
            with tarfile.open(partial, "w:gz") as archive:
                for table in tables():
                    archive.add(work / f"{table.name}.jsonl", arcname=f"tables/{table.name}.jsonl")
                for sha in sorted(referenced):
                    try:
                        body = raw_store.get(sha)
                    except (TrackerError, ValueError):
                        manifest["missing_raw"].append(sha)
                        continue
                    if hashlib.sha256(body).hexdigest() != sha:
                        manifest["missing_raw"].append(sha)  # damaged in the store: do not copy the damage
                        continue
                    _add_bytes(archive, f"raw/{sha}", body)
                    manifest["raw"][sha] = len(body)
                _add_bytes(archive, "manifest.json", json.dumps(manifest, indent=2).encode())
            os.replace(partial, path)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    return BackupResult(path, {n: t["rows"] for n, t in manifest["tables"].items()}, len(manifest["raw"]),
                        manifest["missing_raw"])


def _add_bytes(archive: tarfile.TarFile, name: str, body: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(body)
    info.mtime = int(datetime.now(UTC).timestamp())
    archive.addfile(info, io.BytesIO(body))


# ------------------------------------------------------------------------------------------------ restore


@contextmanager
def _open_archive(path: Path) -> Iterator[tarfile.TarFile]:
    if not path.is_file():
        raise BackupError(f"{path}: no such file")
    try:
        with tarfile.open(path, "r:*") as archive:
            yield archive
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        raise BackupError(f"{path}: the archive is damaged or not a tracker backup ({exc}); nothing was restored") from None


def _member_bytes(archive: tarfile.TarFile, name: str) -> bytes:
    try:
        handle = archive.extractfile(name)
    except KeyError:
        handle = None
    if handle is None:
        raise BackupError(f"the archive has no {name}; it is incomplete, nothing was restored")
    return handle.read()


def verify_archive(path: Path) -> dict:
    """Check the manifest, every table file's hash and row count and every raw file's hash; return the manifest."""
    with _open_archive(Path(path)) as archive:
        try:
            manifest = json.loads(_member_bytes(archive, "manifest.json"))
        except json.JSONDecodeError as exc:
            raise BackupError(f"{path}: manifest.json is not valid JSON ({exc.msg}); nothing was restored") from None
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise BackupError(f"{path}: not a {FORMAT} archive; nothing was restored")
        expected = {f"tables/{name}.jsonl" for name in manifest["tables"]} | {f"raw/{sha}" for sha in manifest["raw"]}
        names = set(archive.getnames()) - {"manifest.json"}
        if names != expected:
            extra, missing = sorted(names - expected), sorted(expected - names)
            raise BackupError(f"{path}: the archive does not match its manifest (missing {missing[:3]}, unexpected "
                              f"{extra[:3]}); nothing was restored")
        for name, info in manifest["tables"].items():
            body = _member_bytes(archive, f"tables/{name}.jsonl")
            if hashlib.sha256(body).hexdigest() != info["sha256"] or body.count(b"\n") != info["rows"]:
                raise BackupError(f"{path}: tables/{name}.jsonl is damaged (hash or row count differs from the "
                                  "manifest); nothing was restored")
        for sha in manifest["raw"]:
            if hashlib.sha256(_member_bytes(archive, f"raw/{sha}")).hexdigest() != sha:
                raise BackupError(f"{path}: raw/{sha[:12]}… is damaged; nothing was restored")
    return manifest


def row_counts(connection: Connection) -> dict[str, int]:
    return {t.name: connection.execute(sa.select(sa.func.count()).select_from(t)).scalar_one() for t in tables()}


def restore(engine: Engine, path: Path, raw_store: RawStore | None = None, *, force: bool = False) -> dict[str, int]:
    """Load an archive into an empty database (or replace everything with `force`); returns rows per table."""
    path = Path(path)
    raw_store = raw_store or RawStore()
    manifest = verify_archive(path)
    head = schema_head()
    if manifest.get("schema_revision") != head:
        raise BackupError(f"{path}: made with schema revision {manifest.get('schema_revision')}, this tracker is at "
                          f"{head}; restore it with the tracker version that made it, then upgrade")
    known = {t.name for t in tables()}
    if set(manifest["tables"]) != known:
        raise BackupError(f"{path}: its tables ({', '.join(sorted(set(manifest['tables']) ^ known))} differ) do not "
                          "match this tracker's schema; nothing was restored")
    migrate(engine)
    with engine.begin() as connection:
        present = {name: n for name, n in row_counts(connection).items() if n}
        if present and not force:
            listed = ", ".join(f"{name} {n}" for name, n in list(present.items())[:5])
            raise BackupError(f"the database is not empty ({listed}{', …' if len(present) > 5 else ''}); restore "
                              "into a new database, or pass --force to replace everything in it")
        for table in reversed(tables()):
            connection.execute(table.delete())
        with _open_archive(path) as archive:
            for table in tables():
                _load_table(connection, table, _member_bytes(archive, f"tables/{table.name}.jsonl"))
        if connection.dialect.name == "postgresql":
            _reset_sequences(connection)
        restored = row_counts(connection)
        wanted = {name: info["rows"] for name, info in manifest["tables"].items()}
        if restored != wanted:
            raise BackupError(f"restored row counts {restored} differ from the manifest {wanted}; rolled back")
    with _open_archive(path) as archive:
        for sha in manifest["raw"]:
            raw_store.put(_member_bytes(archive, f"raw/{sha}"))
    return restored


def _load_table(connection: Connection, table: sa.Table, body: bytes) -> None:
    decoders = {c.name: d for c in table.columns if (d := _decoder(c)) is not None}
    # A column pointing into its own table (a version's previous version) may point forward: fill it in after.
    self_refs = [c.name for c in table.columns if any(fk.column.table is table for fk in c.foreign_keys)]
    later: list[dict] = []
    batch: list[dict] = []
    for line in body.splitlines():
        row = json.loads(line)
        for name, decode in decoders.items():
            row[name] = decode(row.get(name))
        if self_refs and any(row.get(name) is not None for name in self_refs):
            later.append({"_pk": row[table.primary_key.columns.keys()[0]], **{f"_{n}": row[n] for n in self_refs}})
            row = {**row, **dict.fromkeys(self_refs)}
        batch.append(row)
        if len(batch) >= BATCH:
            connection.execute(table.insert(), batch)
            batch = []
    if batch:
        connection.execute(table.insert(), batch)
    if later:
        pk = table.primary_key.columns.values()[0]
        connection.execute(
            table.update().where(pk == sa.bindparam("_pk")).values({n: sa.bindparam(f"_{n}") for n in self_refs}), later
        )


def _reset_sequences(connection: Connection) -> None:
    """Make PostgreSQL hand out ids after the restored ones."""
    for table in tables():
        columns = [c for c in table.primary_key.columns if c.autoincrement is True or
                   (c.autoincrement == "auto" and isinstance(c.type, sa.Integer))]
        for column in columns:
            quoted = connection.dialect.identifier_preparer.quote(table.name)
            connection.execute(sa.text(
                f"SELECT setval(pg_get_serial_sequence(:table, :column), COALESCE(MAX({column.name}), 1), "
                f"MAX({column.name}) IS NOT NULL) FROM {quoted}"
            ), {"table": quoted, "column": column.name})
