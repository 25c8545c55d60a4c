"""Backup and restore: a round trip loses nothing (every table, every raw file), across backends too;
a damaged archive or a non-empty target changes nothing."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from tests.factories import add_assessment
from tracker.cli import main
from tracker.core.db import get_engine
from tracker.core.rawstore import RawStore
from tracker.ingest.pipeline import import_file
from tracker.publish.alerts import subscribe
from tracker.store import models as m
from tracker.store.backup import BackupError, backup, read_rows, restore, tables

V1 = """## Frontier Safety Policy
Version 1.0
Effective January 10, 2025

## Risk thresholds
We will define capability thresholds for CBRN risks and will evaluate every frontier model against them.

## External testing
We will give independent evaluators pre-deployment access to our frontier models.
"""
V2 = V1.replace("Version 1.0", "Version 2.0").replace("January 10, 2025", "June 2, 2025").replace(
    "We will give independent evaluators", "We may give selected evaluators")


def everything(engine) -> dict[str, list[dict]]:
    with engine.connect() as connection:
        return {t.name: list(read_rows(connection, t)) for t in tables()}


def raw_hashes(store: RawStore) -> dict[str, str]:
    return {sha: hashlib.sha256(store.get(sha)).hexdigest() for sha in store.digests()}


@pytest.fixture
def filled(engine, tmp_path):
    """The catalog plus versions (one backfilled, so a version points forward), evidence, levels, changes, a user,
    a run, an alert subscription and delivery, and their raw files."""
    store = RawStore(tmp_path / "raw")
    (tmp_path / "v2.txt").write_text(V2)
    (tmp_path / "v1.txt").write_text(V1)
    with Session(engine) as session:
        subscription = subscribe(session, email="desk@example.org", company_id="anthropic")
        import_file(session, tmp_path / "v2.txt", "anthropic-rsp", raw_store=store)
        import_file(session, tmp_path / "v1.txt", "anthropic-rsp", raw_store=store)  # backfill: slots in before
        add_assessment(session, "openai", "seoul-2024/I", 2, datetime(2025, 3, 1).date(), basis="reviewed",
                       rationale="Reviewed: «quoted» text, ünïcode and \"quotes\".")
        session.add(m.User(username="reviewer", role="reviewer", email="r@example.org",
                           last_login_at=datetime(2026, 2, 3, 4, 5, 6, 789, tzinfo=UTC)))
        session.add(m.RefreshRun(status="finished", counts={"new_version": 1}, errors=[{"source_id": "x"}]))
        session.add(m.AlertDelivery(subscription_id=subscription.id, event_key="version:1", status="sent",
                                    payload={"nested": {"list": [1, 2.5, None]}}))
        session.commit()
    assert len(store.digests()) == 2
    return store


def test_round_trip_loses_nothing(engine, schema_engine, filled, tmp_path):
    archive = backup(engine, tmp_path / "backup.tar.gz", filled)
    assert archive.raw_files == 2 and not archive.missing_raw
    assert archive.tables["documentversion"] == 2
    before = everything(engine)
    assert any(v["previous_version_id"] and v["previous_version_id"] > v["id"] for v in before["documentversion"])

    target_store = RawStore(tmp_path / "restored-raw")
    counts = restore(schema_engine, archive.path, target_store)
    assert counts == {name: len(rows) for name, rows in before.items()}
    assert everything(schema_engine) == before
    assert raw_hashes(target_store) == raw_hashes(filled)

    with Session(schema_engine) as session:  # new rows get fresh ids after the restored ones
        session.add(m.RefreshRun())
        session.commit()


def test_restore_across_backends_into_a_new_sqlite_file(engine, filled, tmp_path):
    archive = backup(engine, tmp_path, filled)  # a folder: the archive gets a dated name
    assert archive.path.parent == tmp_path and archive.path.name.startswith("tracker-backup-")
    target = get_engine(f"sqlite:///{tmp_path / 'elsewhere' / 'restored.db'}")
    try:
        restore(target, archive.path, RawStore(tmp_path / "other-raw"))  # migrates the new file first
        assert everything(target) == everything(engine)
    finally:
        target.dispose()


def test_restore_refuses_a_database_that_is_not_empty_unless_forced(engine, filled, tmp_path):
    archive = backup(engine, tmp_path / "b.tar.gz", filled).path
    with Session(engine) as session:
        add_assessment(session, "google", "seoul-2024/I", 1, datetime(2026, 1, 1).date())
        session.commit()
    changed = everything(engine)
    with pytest.raises(BackupError, match=r"not empty .*pass --force"):
        restore(engine, archive, filled)
    assert everything(engine) == changed
    restore(engine, archive, filled, force=True)
    assert len(everything(engine)["assessment"]) == len(changed["assessment"]) - 1


def rewrite(archive: Path, target: Path, name: str, body: bytes) -> None:
    """A well-formed archive with one member's content replaced (the manifest left as it was)."""
    with tarfile.open(archive) as source, tarfile.open(target, "w:gz") as out:
        for member in source.getmembers():
            data = source.extractfile(member).read()
            if member.name == name:
                data = body
            info = tarfile.TarInfo(member.name)
            info.size = len(data)
            out.addfile(info, io.BytesIO(data))


def test_damaged_archives_are_refused_and_change_nothing(engine, schema_engine, filled, tmp_path):
    archive = backup(engine, tmp_path / "good.tar.gz", filled).path
    before = everything(schema_engine)
    store = RawStore(tmp_path / "untouched")

    truncated = tmp_path / "truncated.tar.gz"
    truncated.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    with pytest.raises(BackupError, match="damaged or not a tracker backup"):
        restore(schema_engine, truncated, store)

    with tarfile.open(archive) as source:
        table = source.extractfile("tables/assessment.jsonl").read()
        raw_name = next(n for n in source.getnames() if n.startswith("raw/"))
    edited = tmp_path / "edited.tar.gz"
    rewrite(archive, edited, "tables/assessment.jsonl", table.replace(b'"level": 2', b'"level": 3'))
    with pytest.raises(BackupError, match=r"tables/assessment\.jsonl is damaged"):
        restore(schema_engine, edited, store)
    flipped = tmp_path / "raw.tar.gz"
    rewrite(archive, flipped, raw_name, b"not the bytes that were stored")
    with pytest.raises(BackupError, match="is damaged"):
        restore(schema_engine, flipped, store)
    not_ours = tmp_path / "other.tar.gz"
    rewrite(archive, not_ours, "manifest.json", json.dumps({"format": "something-else"}).encode())
    with pytest.raises(BackupError, match="not a commitment-tracker-backup"):
        restore(schema_engine, not_ours, store)
    plain = tmp_path / "plain.gz"
    plain.write_bytes(gzip.compress(b"hello"))
    with pytest.raises(BackupError, match="damaged or not a tracker backup"):
        restore(schema_engine, plain, store)

    assert everything(schema_engine) == before
    assert store.digests() == []


def test_backup_of_a_database_being_written_is_consistent(engine, filled, tmp_path):
    """Rows written in a transaction that is still open are not in the archive; committed ones are."""
    with Session(engine) as writer:
        writer.add(m.RefreshRun(status="running"))
        writer.flush()  # written, not committed
        if engine.dialect.name == "sqlite":
            writer.rollback()  # SQLite allows one writer: the open write transaction would block the copy
        archive = backup(engine, tmp_path / "while-writing.tar.gz", filled)
        writer.rollback()
    assert archive.tables["refreshrun"] == 1


def test_backup_and_restore_commands(engine, schema_engine, filled, use_database, tmp_path, capsys):
    use_database(engine)  # its raw store (tmp_path / "raw") is the one `filled` wrote to
    assert main(["backup", str(tmp_path / "cli.tar.gz")]) == 0
    assert "2 raw file(s)" in capsys.readouterr().out
    assert main(["restore", str(tmp_path / "cli.tar.gz")]) == 2
    assert "pass --force" in capsys.readouterr().err
    assert main(["restore", str(tmp_path / "missing.tar.gz")]) == 2
    assert "no such file" in capsys.readouterr().err
    use_database(schema_engine)
    get_engine.cache_clear()  # get_engine() without a URL is cached per process: forget the first database
    assert main(["restore", str(tmp_path / "cli.tar.gz")]) == 0
    assert "restored" in capsys.readouterr().out
    with schema_engine.connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(m.DocumentVersion.__table__)).scalar() == 2
