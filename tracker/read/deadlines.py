"""Deadline rows of a framework: every clock for every company it binds, and the version each status rests on.

The read side of `tracker.analysis.clocks`, for the overview, company page, stocktake and exports. A few indexed
queries gather the companies that signed the framework or are bound by it (never those that declined), the
versions of their framework documents with the update record ingest read from each (no document text is
loaded), and the change analysis of those versions. Which documents count: a company's `framework` sources,
plus, for a law or a code of practice, its `companion` sources that name the framework (compliance frameworks
such as Anthropic's Frontier Compliance Framework are companions of its RSP).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa
from sqlmodel import Session

from tracker.analysis.clocks import ChangeFact, ClockVersion, RegimeFlag, UpdateRecord, clock_status
from tracker.store import models as m
from tracker.store.vocabulary import BINDING_STATUSES

BINDING = BINDING_STATUSES  # a declined signature binds nothing


@dataclass(frozen=True)
class DeadlineStatus:
    """One clock for one company as of a date: its status and the version it rests on."""

    framework_id: str
    deadline_id: str
    kind: str  # publish-by | review-every | change-within | update-record
    label: str
    company_id: str
    company: str
    bound_from: date  # the day it signed, or the day the law began to bind it
    coverage: str  # signed | bound
    coverage_confidence: str  # V | C | S | M | ours: how sure it is that the company is bound
    scope: str | None
    status: str  # tracker.store.vocabulary.DEADLINE_STATUSES
    due: date | None
    version_id: int | None
    version_label: str
    version_published_on: date | None
    first_published_on: date | None  # the company's first framework document, as the Paris rows show it
    detail: str
    flags: tuple[RegimeFlag, ...] = field(default_factory=tuple)


def upcoming(framework: m.Framework, as_of: date) -> bool:
    """True while the framework's duties have not started to apply (RAISE until 1 January 2027)."""
    return framework.applies_from is not None and framework.applies_from > as_of


def document_sources(sources: list[m.Source], framework: m.Framework) -> dict[str, set[str]]:
    """Per company, the sources whose versions the framework's clocks look at."""
    regime = framework.kind in ("law", "code-of-practice")
    found: dict[str, set[str]] = defaultdict(set)
    for source in sources:
        if source.kind == "framework" or (regime and source.kind == "companion" and framework.id in source.frameworks):
            found[source.company_id].add(source.id)
    return found


def deadline_statuses(
    session: Session, framework_id: str, as_of: date, company_ids: list[str] | None = None,
) -> list[DeadlineStatus]:
    """Every deadline of the framework for every company bound by it on `as_of`, by deadline then company."""
    framework = session.get(m.Framework, framework_id)
    if framework is None or not framework.deadlines:
        return []
    query = (sa.select(m.Signature, m.Company.name)
             .join(m.Company, m.Company.id == m.Signature.company_id)
             .where(m.Signature.framework_id == framework_id, m.Signature.status.in_(BINDING),
                    m.Signature.signed_on <= as_of))
    if company_ids is not None:
        query = query.where(m.Signature.company_id.in_(company_ids))
    signatures = sorted(session.execute(query).all(), key=lambda row: (row[1].lower(), row[0].company_id))
    if not signatures:
        return []
    companies = [signature.company_id for signature, _ in signatures]
    sources = list(session.scalars(sa.select(m.Source).where(m.Source.company_id.in_(companies))))
    owner = {sid: cid for cid, sids in document_sources(sources, framework).items() for sid in sids}
    versions = _clock_versions(session, owner, as_of) if owner else {}
    first = {cid: min(v.published_on for v in vs) for cid, vs in versions.items() if vs}
    rows = []
    for deadline in framework.deadlines:
        for signature, name in signatures:
            result = clock_status(deadline, signature.signed_on, versions.get(signature.company_id, []), as_of)
            version = result.version
            rows.append(DeadlineStatus(
                framework_id=framework_id, deadline_id=str(deadline.get("id", deadline["date"])),
                kind=str(deadline.get("kind", "publish-by")), label=str(deadline.get("label", "")),
                company_id=signature.company_id, company=name, bound_from=signature.signed_on,
                coverage=signature.status, coverage_confidence=signature.status_confidence or signature.date_confidence,
                scope=signature.scope, status=result.status, due=result.due,
                version_id=version.id if version else None, version_label=version.label if version else "",
                version_published_on=version.published_on if version else None,
                first_published_on=first.get(signature.company_id), detail=result.detail, flags=result.flags,
            ))
    return rows


def clock_label(version_label: str | None, published_on: date) -> str:
    """How a clock names a version: "v2.1 (2025-03-31)", "draft-2025-02-10 (2025-02-10)", or just the date."""
    name = version_label or ""
    name = f"v{name}" if name[:1].isdigit() else name  # as VersionInfo.label: "v2.1", but "draft-2025-02-10"
    return f"{name} ({published_on.isoformat()})" if name else published_on.isoformat()


def _clock_versions(session: Session, owner: dict[str, str], as_of: date) -> dict[str, list[ClockVersion]]:
    """Each company's dated framework versions up to `as_of` with their update records and change facts."""
    source_ids = list(owner)
    rows = session.execute(
        sa.select(m.DocumentVersion.id, m.DocumentVersion.source_id, m.DocumentVersion.version_label,
                  m.DocumentVersion.published_on, m.DocumentVersion.previous_version_id,
                  m.DocumentVersion.update_record)
        .where(m.DocumentVersion.source_id.in_(source_ids), m.DocumentVersion.published_on.is_not(None),
               m.DocumentVersion.published_on <= as_of)
    ).all()
    facts: dict[int, list[ChangeFact]] = defaultdict(list)
    ids = [row.id for row in rows]
    for i in range(0, len(ids), 1000):
        for new_id, direction, announced in session.execute(
                sa.select(m.ChangeEvent.new_version_id, m.ChangeEvent.direction, m.ChangeEvent.announced)
                .where(m.ChangeEvent.new_version_id.in_(ids[i:i + 1000]))):
            facts[new_id].append(ChangeFact(direction, announced))
    found: dict[str, list[ClockVersion]] = defaultdict(list)
    for row in rows:
        found[owner[row.source_id]].append(ClockVersion(
            id=row.id, label=clock_label(row.version_label, row.published_on), published_on=row.published_on,
            is_update=row.previous_version_id is not None,
            record=UpdateRecord.from_json(row.update_record), changes=tuple(facts.get(row.id, ()))))
    return found
