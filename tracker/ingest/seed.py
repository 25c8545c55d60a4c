"""The shipped seed: derived data (versions' metadata, short evidence quotes, levels, change events).

The seed never contains the documents themselves. Each file in `data/seed/` is JSON Lines keyed by natural
keys (source id + text hash for versions), so loading it twice adds nothing and a seed built elsewhere can be
loaded into any database. Files:

- `versions.jsonl`: {source_id, text_sha256, raw_sha256 (the stored file: for corpus imports the plain-text copy),
  publisher_sha256 (the publisher's own file), url (the version's own document), archived_url (its Wayback copy),
  fetched_at, version_label, published_on, first_seen_on (re-uploads), char_count, page_count, silent_reupload,
  format, sections}
- `evidence.jsonl`: {source_id, text_sha256, commitment_id, indicator_id, start, end, section, page, quote,
  score, commits, method}
- `assessments.jsonl`: {company_id, commitment_id, level, basis, valid_from, recorded_at, assessor, rationale,
  confidence, method, source_id?, text_sha256?}
- `changes.jsonl`: {source_id, old_source_id, old_text_sha256, new_text_sha256, direction, reasons, commitments, old_quote,
  new_quote, old_section, new_section, old_start, new_start, similarity, announced, announcement_quote,
  announcement_source, published_on, method}
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

from sqlmodel import Session, select

from tracker.core.errors import CatalogError
from tracker.core.jsonl import read_jsonl
from tracker.store import models as m
from tracker.store.versions import lineage_versions

SEED_FILES = ("versions.jsonl", "evidence.jsonl", "assessments.jsonl", "changes.jsonl")
STATE_KEY = "seed_sha256"


def _rows(path: Path) -> Iterator[tuple[int, dict]]:
    yield from read_jsonl(path, error=CatalogError, missing_ok=True)


def seed_digest(seed_dir: Path) -> str:
    digest = hashlib.sha256()
    for name in SEED_FILES:
        path = seed_dir / name
        if path.exists():
            digest.update(name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _datetime(value: str | None) -> datetime:
    if not value:
        return datetime.now(UTC)
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _require(path: Path, number: int, row: dict, *names: str) -> None:
    missing = [n for n in names if row.get(n) in (None, "")]
    if missing:
        raise CatalogError(f"{path}:{number}: missing field(s) {', '.join(missing)}")


def load_seed(session: Session, seed_dir: Path) -> dict[str, int]:
    """Insert what the seed has and the database lacks; returns counts of rows added."""
    counts = {"versions": 0, "evidence": 0, "assessments": 0, "changes": 0}
    digest = seed_digest(seed_dir)
    state = session.get(m.CatalogState, STATE_KEY)
    if state is not None and state.value == digest:
        return counts

    sources = {s.id: s for s in session.exec(select(m.Source))}
    versions = {(v.source_id, v.text_sha256): v for v in session.exec(select(m.DocumentVersion))}

    def version_for(path: Path, number: int, source_id: str, text_sha: str) -> m.DocumentVersion:
        version = versions.get((source_id, text_sha))
        if version is None:
            raise CatalogError(f"{path}:{number}: no version {text_sha[:12]} of source '{source_id}' in versions.jsonl")
        return version

    path = seed_dir / "versions.jsonl"
    added: list[m.DocumentVersion] = []
    for number, row in _rows(path):
        _require(path, number, row, "source_id", "text_sha256", "url")
        if row["source_id"] not in sources:
            raise CatalogError(f"{path}:{number}: unknown source '{row['source_id']}'")
        key = (row["source_id"], row["text_sha256"])
        if key in versions:
            continue
        version = m.DocumentVersion(
            source_id=row["source_id"], text_sha256=row["text_sha256"], raw_sha256=row.get("raw_sha256"),
            publisher_sha256=row.get("publisher_sha256"), url=row["url"], archived_url=row.get("archived_url"),
            first_seen_on=_date(row.get("first_seen_on")), fetched_at=_datetime(row.get("fetched_at")), origin="seed",
            version_label=row.get("version_label"), published_on=_date(row.get("published_on")),
            published_on_evidence=row.get("published_on_evidence"), char_count=row.get("char_count") or 0,
            page_count=row.get("page_count"), silent_reupload=bool(row.get("silent_reupload")),
            format=row.get("format"), sections=row.get("sections") or [],
            mapped_method=row.get("mapped_method"), changes_method=row.get("changes_method"),
            update_record=row.get("update_record") or {},
        )
        session.add(version)
        versions[key] = version
        added.append(version)
        counts["versions"] += 1
    session.flush()
    # Each version's predecessor is the one before it in its lineage (across renames), in version order.
    for source_id in sorted({v.source_id for v in added}):
        ordered = lineage_versions(session, sources[source_id])
        for before, after in zip([None, *ordered], ordered, strict=False):
            after.previous_version_id = before.id if before else None

    path = seed_dir / "evidence.jsonl"
    existing_evidence = {
        (e.version_id, e.commitment_id, e.indicator_id, e.start) for e in session.exec(select(m.Evidence))
    }
    for number, row in _rows(path):
        _require(path, number, row, "source_id", "text_sha256", "commitment_id", "quote", "method")
        version = version_for(path, number, row["source_id"], row["text_sha256"])
        key = (version.id, row["commitment_id"], row.get("indicator_id"), row.get("start"))
        if key in existing_evidence:
            continue
        session.add(m.Evidence(
            version_id=version.id, commitment_id=row["commitment_id"], indicator_id=row.get("indicator_id"),
            start=row.get("start"), end=row.get("end"), section=row.get("section"), page=row.get("page"),
            quote=row["quote"], score=row.get("score") or 0.0, commits=bool(row.get("commits")),
            method=row["method"],
        ))
        existing_evidence.add(key)
        counts["evidence"] += 1

    path = seed_dir / "assessments.jsonl"
    existing_assessments = {
        (a.company_id, a.commitment_id, a.valid_from, a.basis, a.level)
        for a in session.exec(select(m.Assessment).where(m.Assessment.origin == "seed"))
    }
    for number, row in _rows(path):
        _require(path, number, row, "company_id", "commitment_id", "valid_from", "basis")
        valid_from = _date(row["valid_from"])
        key = (row["company_id"], row["commitment_id"], valid_from, row["basis"], row.get("level"))
        if key in existing_assessments:
            continue
        version_id = None
        if row.get("source_id") and row.get("text_sha256"):
            version_id = version_for(path, number, row["source_id"], row["text_sha256"]).id
        session.add(m.Assessment(
            company_id=row["company_id"], commitment_id=row["commitment_id"], level=row.get("level"),
            basis=row["basis"], valid_from=valid_from, recorded_at=_datetime(row.get("recorded_at")),
            assessor=row.get("assessor") or "tracker", rationale=row.get("rationale") or "",
            confidence=row.get("confidence"), score=row.get("score"), version_id=version_id, method=row.get("method"),
            origin="seed",
        ))
        existing_assessments.add(key)
        counts["assessments"] += 1

    path = seed_dir / "changes.jsonl"
    existing_changes = {
        (c.old_version_id, c.new_version_id, c.old_start, c.new_start) for c in session.exec(select(m.ChangeEvent))
    }
    for number, row in _rows(path):
        _require(path, number, row, "source_id", "new_text_sha256", "direction")
        new = version_for(path, number, row["source_id"], row["new_text_sha256"])
        old_source = row.get("old_source_id") or row["source_id"]  # differs when a framework was renamed
        old = version_for(path, number, old_source, row["old_text_sha256"]) if row.get("old_text_sha256") else None
        key = (old.id if old else None, new.id, row.get("old_start"), row.get("new_start"))
        if key in existing_changes:
            continue
        session.add(m.ChangeEvent(
            source_id=row["source_id"], company_id=sources[row["source_id"]].company_id,
            old_version_id=old.id if old else None, new_version_id=new.id, direction=row["direction"],
            reasons=row.get("reasons") or [], commitments=row.get("commitments") or [],
            old_quote=row.get("old_quote"), new_quote=row.get("new_quote"), old_section=row.get("old_section"),
            new_section=row.get("new_section"), old_start=row.get("old_start"), new_start=row.get("new_start"),
            similarity=row.get("similarity"), probability=row.get("probability"),
            weakened_probability=row.get("weakened_probability"), announced=row.get("announced") or "silent",
            announcement_quote=row.get("announcement_quote"), announcement_source=row.get("announcement_source"),
            published_on=_date(row.get("published_on")) or new.published_on,
            detected_at=_datetime(row.get("detected_at")), method=row.get("method") or "",
        ))
        existing_changes.add(key)
        counts["changes"] += 1

    if state is None:
        session.add(m.CatalogState(key=STATE_KEY, value=digest))
    else:
        state.value = digest
        state.updated_at = datetime.now(UTC)
    session.flush()
    return counts
