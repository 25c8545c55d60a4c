"""Builders for fixture data: each test states exactly the rows it needs on top of the catalog.

Use with the `session` / `engine` fixtures from conftest (catalog loaded, no seed). Every builder flushes and
returns the row, so ids are available at once.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime

from sqlmodel import Session

from tracker.store import models as m


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def add_version(
    session: Session,
    source_id: str,
    text: str,
    *,
    published_on: date | None = None,
    version_label: str | None = None,
    fetched_at: datetime | None = None,
    origin: str = "imported",
    previous: m.DocumentVersion | None = None,
    silent_reupload: bool = False,
) -> m.DocumentVersion:
    source = session.get(m.Source, source_id)
    version = m.DocumentVersion(
        source_id=source_id, url=source.url if source else f"https://example.org/{source_id}",
        fetched_at=fetched_at or datetime(2026, 1, 1, tzinfo=UTC), origin=origin,
        raw_sha256=_sha("raw:" + text), text_sha256=_sha(text), text=text, char_count=len(text),
        format="text", version_label=version_label, published_on=published_on,
        previous_version_id=previous.id if previous else None, silent_reupload=silent_reupload,
    )
    session.add(version)
    session.flush()
    return version


def add_evidence(
    session: Session, version: m.DocumentVersion, commitment_id: str, quote: str, *,
    indicator_id: str | None = None, section: str | None = "Section", score: float = 0.8, commits: bool = True,
) -> m.Evidence:
    start = (version.text or "").find(quote)
    evidence = m.Evidence(
        version_id=version.id, commitment_id=commitment_id, indicator_id=indicator_id,
        start=start if start >= 0 else None, end=start + len(quote) if start >= 0 else None,
        section=section, quote=quote, score=score, commits=commits, method="test",
    )
    session.add(evidence)
    session.flush()
    return evidence


def add_assessment(
    session: Session, company_id: str, commitment_id: str, level: int | None, valid_from: date, *,
    basis: str = "automatic", version: m.DocumentVersion | None = None, rationale: str = "",
    recorded_at: datetime | None = None, confidence: float | None = 0.7, assessor: str = "tracker",
) -> m.Assessment:
    assessment = m.Assessment(
        company_id=company_id, commitment_id=commitment_id, level=level, basis=basis, valid_from=valid_from,
        recorded_at=recorded_at or datetime.now(UTC), version_id=version.id if version else None,
        rationale=rationale, confidence=confidence, assessor=assessor, method="test",
    )
    session.add(assessment)
    session.flush()
    return assessment


def add_change(
    session: Session, old: m.DocumentVersion | None, new: m.DocumentVersion, direction: str, *,
    old_quote: str | None = None, new_quote: str | None = None, commitments: list[str] | None = None,
    reasons: list[dict] | None = None, announced: str = "silent",
) -> m.ChangeEvent:
    source = session.get(m.Source, new.source_id)
    change = m.ChangeEvent(
        source_id=new.source_id, company_id=source.company_id, old_version_id=old.id if old else None,
        new_version_id=new.id, direction=direction, reasons=reasons or [], commitments=commitments or [],
        old_quote=old_quote, new_quote=new_quote, old_section="Old section", new_section="New section",
        announced=announced, published_on=new.published_on, method="test",
    )
    session.add(change)
    session.flush()
    return change
