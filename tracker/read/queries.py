"""Read models for the pages: each function answers one screen's question with a few indexed queries.

Pages call these and render; they never build SQL themselves. Everything here is plain data (dataclasses and
pandas frames) so that exports and the CLI can reuse it.
"""

from __future__ import annotations

import json
import operator
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import sqlalchemy as sa
import yaml
from sqlmodel import Session, select

from tracker.core.config import get_settings
from tracker.core.errors import CatalogError, NotFoundError
from tracker.read.asof import latest_assessments, levels_in_force
from tracker.store import models as m
from tracker.store.vocabulary import DIRECTION_ORDER


@dataclass(slots=True)
class Cell:
    """The level in force for one (company, commitment): what a grid cell shows and links to.

    Read-only by convention, not frozen: a grid builds ten thousand of them, and a frozen dataclass costs
    five times as much to construct. Fields in the column order of `tracker.read.asof.in_force_query`.
    """

    company_id: str
    commitment_id: str
    level: int | None
    basis: str
    valid_from: date
    assessment_id: int
    version_id: int | None  # the document version the level rests on (its quotes are the evidence)


@dataclass(slots=True)
class AssessedCell(Cell):
    """A cell with the assessment's own reasons, for the pages that show them (company page, timeline)."""

    confidence: float | None
    rationale: str


@dataclass(slots=True)
class CompanyRef:
    """A company as a grid lists it (the overview may list a thousand: plain rows, not ORM objects)."""

    id: str
    name: str
    group: str


@dataclass
class Overview:
    framework: m.Framework
    as_of: date
    commitments: list[m.Commitment]
    companies: list[CompanyRef]
    signed_on: dict[str, date]  # company id -> date it signed this framework
    cells: dict[tuple[str, str], Cell]
    headline: dict[str, object] = field(default_factory=dict)

    def frame(self) -> pd.DataFrame:
        """Long form: one row per (company, commitment), level NaN where nothing is assessed."""
        rows = []
        for company in self.companies:
            for commitment in self.commitments:
                cell = self.cells.get((company.id, commitment.id))
                rows.append({
                    "company_id": company.id, "company": company.name, "commitment_id": commitment.id,
                    "commitment": commitment.number, "title": commitment.title,
                    "level": cell.level if cell else None, "basis": cell.basis if cell else "not assessed",
                    "valid_from": cell.valid_from if cell else None,
                })
        return pd.DataFrame(rows)


def frameworks(session: Session) -> list[m.Framework]:
    return list(session.exec(select(m.Framework).order_by(m.Framework.announced.desc(), m.Framework.id)))


def framework_commitments(session: Session, framework_id: str) -> list[m.Commitment]:
    return list(session.exec(
        select(m.Commitment).where(m.Commitment.framework_id == framework_id).order_by(m.Commitment.position)
    ))


def all_commitments(session: Session) -> list[m.Commitment]:
    """Every commitment of every framework, in catalog order (for the self-report form)."""
    return list(session.exec(select(m.Commitment).order_by(m.Commitment.framework_id, m.Commitment.position)))


def company_groups(session: Session) -> list[str]:
    return sorted(set(session.exec(select(m.Company.group))))


def overview(
    session: Session,
    framework_id: str,
    as_of: date,
    *,
    signatories_only: bool = True,
    groups: list[str] | None = None,
) -> Overview:
    """Companies × commitments of one framework as of a date, with the headline figures."""
    framework = session.get(m.Framework, framework_id)
    if framework is None:
        raise NotFoundError(f"unknown framework '{framework_id}'")
    commitments = framework_commitments(session, framework_id)
    signed_on: dict[str, date] = {company_id: day for company_id, day in session.execute(
        sa.select(m.Signature.company_id, m.Signature.signed_on).where(m.Signature.framework_id == framework_id))}
    query = sa.select(m.Company.id, m.Company.name, m.Company.group).order_by(m.Company.name)
    if groups:
        query = query.where(m.Company.group.in_(groups))
    companies = [CompanyRef(*row) for row in session.execute(query)]
    if signatories_only:
        companies = [c for c in companies if c.id in signed_on and signed_on[c.id] <= as_of]
    shown = {c.id for c in companies}
    # The whole framework in one index range scan; keeping the shown companies here costs less than an IN list
    # of every signatory (and stays within every backend's parameter limit).
    cells: dict[tuple[str, str], Cell] = {}
    for row in levels_in_force(session, as_of, framework_id=framework_id):
        cell = _cell(row)  # positional: reading a Row by name three times costs more than the query per row
        if cell.company_id in shown:
            cells[cell.company_id, cell.commitment_id] = cell
    result = Overview(framework, as_of, commitments, companies, signed_on, cells)
    result.headline = _headline(session, result)
    return result


def published_frameworks_by(session: Session, company_ids: list[str], by: date) -> dict[str, date]:
    """First publication date (on or before `by`) of a framework document, per company.

    One `min()` per framework source, which `ix_documentversion_source_published` answers with one index seek
    however many weekly versions a source has.
    """
    first = (
        sa.select(sa.func.min(m.DocumentVersion.published_on))
        .where(m.DocumentVersion.source_id == m.Source.id, m.DocumentVersion.published_on <= by)
        .scalar_subquery()
    )
    result: dict[str, date] = {}
    for i in range(0, len(company_ids), 1000):
        rows = session.execute(
            sa.select(m.Source.company_id, first)
            .where(m.Source.kind == "framework", m.Source.company_id.in_(company_ids[i:i + 1000]))
        )
        for company_id, published in rows:
            if published is not None and (company_id not in result or published < result[company_id]):
                result[company_id] = published
    return result


def _headline(session: Session, view: Overview) -> dict[str, object]:
    signatories = [c for c in view.companies if c.id in view.signed_on]
    headline: dict[str, object] = {"signatories": len(signatories), "companies": len(view.companies)}
    for deadline in view.framework.deadlines:
        due = date.fromisoformat(deadline["date"])
        if due > view.as_of:
            continue
        published = published_frameworks_by(session, [c.id for c in signatories], due)
        due_signatories = [c for c in signatories if view.signed_on[c.id] <= due]
        headline["deadline"] = {
            "label": deadline["label"], "date": due,
            "met": sum(1 for c in due_signatories if c.id in published),
            "due": len(due_signatories),
        }
    levels: dict[str, list[int]] = defaultdict(list)
    for (_, commitment_id), cell in view.cells.items():
        if cell.level is not None:
            levels[commitment_id].append(cell.level)
    headline["average_level"] = {
        c.id: (sum(levels[c.id]) / len(levels[c.id]) if levels[c.id] else None) for c in view.commitments
    }
    headline["assessed_cells"] = len(view.cells)
    return headline


# --------------------------------------------------------------------------------------------- cache key


def data_version(session: Session) -> str:
    """A cheap fingerprint of everything pages show: any write changes it, so cached views are dropped.

    One query of index lookups, so it can run on every page load however large the history grows. The big
    tables are append-only (assessment, fetchattempt) or rewritten by delete-and-insert (evidence, change
    events), so their newest id moves on every write; counting them would read millions of rows per page
    view. Small tables that are updated in place (self-reports, runs, signatures, catalog state) also give a
    count and their newest timestamp. A write that only deleted rows would be missed until the cache TTL
    (`TRACKER_CACHE_TTL`) expires; the tracker never makes one.
    """
    parts = [
        sa.select(sa.func.max(table.id)).scalar_subquery()
        for table in (m.Assessment, m.DocumentVersion, m.Evidence, m.ChangeEvent, m.FetchAttempt)
    ]
    for table, changed in ((m.SelfReport, m.SelfReport.decided_at), (m.RefreshRun, m.RefreshRun.finished_at),
                           (m.Signature, None), (m.CatalogState, m.CatalogState.updated_at)):
        parts.append(sa.select(sa.func.count()).select_from(table).scalar_subquery())
        if changed is not None:
            parts.append(sa.select(sa.func.max(changed)).scalar_subquery())
    row = session.execute(sa.select(*parts)).one()
    return "|".join("" if value is None else str(value) for value in row)


# ------------------------------------------------------------------------------------------- shared rows

# Version columns without the text: pages list many versions and must not load whole documents to do so.
VERSION_META = (
    m.DocumentVersion.id, m.DocumentVersion.source_id, m.DocumentVersion.url, m.DocumentVersion.fetched_at,
    m.DocumentVersion.origin, m.DocumentVersion.version_label, m.DocumentVersion.published_on,
    m.DocumentVersion.char_count, m.DocumentVersion.page_count, m.DocumentVersion.format,
    m.DocumentVersion.silent_reupload, m.DocumentVersion.raw_sha256, m.DocumentVersion.text_sha256,
    m.DocumentVersion.previous_version_id, m.DocumentVersion.text.is_not(None).label("has_text"),
)


@dataclass(slots=True)
class VersionInfo:
    """A version's metadata (never its text); `label` is what a person calls it.

    Read-only by convention, not frozen, like `Cell`: the stocktake builds one per version of every signatory.
    """

    id: int
    source_id: str
    url: str
    fetched_at: object
    origin: str
    version_label: str | None
    published_on: date | None
    char_count: int
    page_count: int | None
    format: str | None
    silent_reupload: bool
    raw_sha256: str | None
    text_sha256: str
    previous_version_id: int | None
    has_text: bool

    @property
    def effective_date(self) -> date:
        return self.published_on or self.fetched_at.date()  # type: ignore[attr-defined]

    @property
    def label(self) -> str:
        name = f"v{self.version_label}" if self.version_label and self.version_label[:1].isdigit() else (
            self.version_label or "")
        when = self.effective_date.isoformat()
        return f"{name} ({when})" if name else when


_VERSION_FIELDS = operator.itemgetter(*VersionInfo.__dataclass_fields__)


def version_info(row: sa.Row) -> VersionInfo:
    """A VersionInfo from any row that has the VERSION_META columns (by name: rows may carry others too)."""
    return VersionInfo(*_VERSION_FIELDS(row._mapping))


@dataclass(frozen=True)
class EvidenceItem:
    """A quote that supports a commitment, with everything needed to cite it."""

    id: int
    commitment_id: str
    indicator_id: str | None
    quote: str
    section: str | None
    page: int | None
    score: float
    commits: bool
    version: VersionInfo
    source_title: str
    company_id: str


def evidence_for(
    session: Session, pairs: list[tuple[int, str]], *, per_commitment: int = 5
) -> dict[tuple[int, str], list[EvidenceItem]]:
    """Best-scoring quotes per (version, commitment) pair, in one query; one quote per indicator first."""
    if not pairs:
        return {}
    version_ids = sorted({v for v, _ in pairs})
    commitment_ids = sorted({c for _, c in pairs})
    rows = session.execute(
        sa.select(m.Evidence, *VERSION_META, m.Source.title.label("source_title"),
                  m.Source.company_id.label("company_id"))
        .join(m.DocumentVersion, m.DocumentVersion.id == m.Evidence.version_id)
        .join(m.Source, m.Source.id == m.DocumentVersion.source_id)
        .where(m.Evidence.version_id.in_(version_ids), m.Evidence.commitment_id.in_(commitment_ids))
        .order_by(m.Evidence.score.desc(), m.Evidence.id)
    ).all()
    wanted = set(pairs)
    grouped: dict[tuple[int, str], list[EvidenceItem]] = defaultdict(list)
    for row in rows:
        evidence = row[0]
        key = (evidence.version_id, evidence.commitment_id)
        if key not in wanted:
            continue
        grouped[key].append(EvidenceItem(
            evidence.id, evidence.commitment_id, evidence.indicator_id, evidence.quote, evidence.section,
            evidence.page, evidence.score, evidence.commits, version_info(row), row.source_title, row.company_id,
        ))
    result = {}
    for key, items in grouped.items():
        seen: set[str | None] = set()
        first = [i for i in items if not (i.indicator_id in seen or seen.add(i.indicator_id))]  # type: ignore[func-returns-value]
        rest = [i for i in items if i not in first]
        result[key] = (first + rest)[:per_commitment]
    return result


def _cell(row: sa.Row) -> Cell:
    """A grid cell from a row of `levels_in_force` (same columns, same order)."""
    return Cell(*row)


def _assessed_cell(row: sa.Row) -> AssessedCell:
    return AssessedCell(row.company_id, row.commitment_id, row.level, row.basis, row.valid_from, row.id,
                        row.version_id, row.confidence, row.rationale)


@dataclass(frozen=True)
class ChangeItem:
    """A flagged change with its company, source and both versions' labels."""

    id: int
    company_id: str
    company_name: str
    source_id: str
    source_title: str
    direction: str
    reasons: list[dict]
    commitments: list[str]
    old_quote: str | None
    new_quote: str | None
    old_section: str | None
    new_section: str | None
    announced: str
    similarity: float | None
    detected_at: object
    old_version: VersionInfo | None
    new_version: VersionInfo

    @property
    def effective_date(self) -> date:
        return self.new_version.effective_date


# Weakened and removed commitments are what a reader must see first.


def _prefixed_meta(alias: type[m.DocumentVersion], prefix: str) -> list:
    names = [n for n in VersionInfo.__dataclass_fields__ if n != "has_text"]
    return [getattr(alias, n).label(prefix + n) for n in names] + [alias.text.is_not(None).label(prefix + "has_text")]


def _prefixed_version(row: sa.Row, prefix: str) -> VersionInfo | None:
    mapping = row._mapping
    if mapping[prefix + "id"] is None:
        return None
    return VersionInfo(**{k: mapping[prefix + k] for k in VersionInfo.__dataclass_fields__})


def _changes(session: Session, *conditions: sa.ColumnElement[bool]) -> list[ChangeItem]:
    old = sa.orm.aliased(m.DocumentVersion)
    new = sa.orm.aliased(m.DocumentVersion)

    rows = session.execute(
        sa.select(m.ChangeEvent, m.Company.name.label("company_name"), m.Source.title.label("source_title"),
                  *_prefixed_meta(old, "old_"), *_prefixed_meta(new, "new_"))
        .join(m.Company, m.Company.id == m.ChangeEvent.company_id)
        .join(m.Source, m.Source.id == m.ChangeEvent.source_id)
        .join(new, new.id == m.ChangeEvent.new_version_id)
        .outerjoin(old, old.id == m.ChangeEvent.old_version_id)
        .where(*conditions)
        .order_by(m.ChangeEvent.detected_at.desc(), m.ChangeEvent.id)
    ).all()
    items = []
    for row in rows:
        change = row[0]
        items.append(ChangeItem(
            change.id, change.company_id, row.company_name, change.source_id, row.source_title, change.direction,
            list(change.reasons or []), list(change.commitments or []), change.old_quote, change.new_quote,
            change.old_section, change.new_section, change.announced, change.similarity, change.detected_at,
            _prefixed_version(row, "old_"), _prefixed_version(row, "new_"),  # type: ignore[arg-type]
        ))
    return items


# -------------------------------------------------------------------------------------------- company page


@dataclass(frozen=True)
class SignatureInfo:
    framework_id: str
    framework_name: str
    signed_on: date
    date_precision: str
    date_confidence: str
    label: str | None
    source_url: str


@dataclass(frozen=True)
class SourceDocuments:
    """A watched source and its versions, newest first."""

    source: m.Source
    versions: list[VersionInfo]


@dataclass
class CompanyView:
    company: m.Company
    as_of: date
    framework: m.Framework
    signatures: list[SignatureInfo]
    commitments: list[m.Commitment]
    cells: dict[str, AssessedCell]
    evidence: dict[str, list[EvidenceItem]]
    timeline: list[AssessedCell]
    documents: list[SourceDocuments]
    changes: list[ChangeItem]

    def independent_cells(self) -> dict[str, AssessedCell]:
        """Per commitment, the newest level not claimed by the company itself (automatic or reviewed) as of the
        date: shown beside a self-reported level, never replaced by it."""
        result: dict[str, AssessedCell] = {}
        for cell in self.timeline:  # oldest first: later rows win
            if cell.basis != "self-reported":
                result[cell.commitment_id] = cell
        return result

    def timeline_frame(self) -> pd.DataFrame:
        """Levels over time per commitment, one row per assessment (superseded ones included)."""
        titles = {c.id: f"{c.number} {c.title}" for c in self.commitments}
        return pd.DataFrame([
            {"commitment_id": c.commitment_id, "commitment": titles.get(c.commitment_id, c.commitment_id),
             "valid_from": c.valid_from, "level": c.level, "basis": c.basis}
            for c in self.timeline
        ], columns=["commitment_id", "commitment", "valid_from", "level", "basis"])


def _signatures(session: Session, company_id: str) -> list[SignatureInfo]:
    rows = session.execute(
        sa.select(m.Signature, m.Framework.name)
        .join(m.Framework, m.Framework.id == m.Signature.framework_id)
        .where(m.Signature.company_id == company_id)
        .order_by(m.Signature.signed_on)
    ).all()
    return [SignatureInfo(s.framework_id, name, s.signed_on, s.date_precision, s.date_confidence, s.label,
                          s.source_url) for s, name in rows]


def documents(session: Session, company_id: str | None = None) -> list[SourceDocuments]:
    """Sources (of one company, or all) with their versions' metadata: two queries, no document text."""
    query = select(m.Source).order_by(m.Source.company_id, m.Source.kind != "framework", m.Source.title)
    if company_id is not None:
        query = query.where(m.Source.company_id == company_id)
    sources = list(session.exec(query))
    version_query = sa.select(*VERSION_META).order_by(m.DocumentVersion.fetched_at.desc(), m.DocumentVersion.id.desc())
    if company_id is not None:
        version_query = version_query.where(m.DocumentVersion.source_id.in_([s.id for s in sources]))
    by_source: dict[str, list[VersionInfo]] = defaultdict(list)
    for row in session.execute(version_query):
        by_source[row.source_id].append(version_info(row))
    for versions in by_source.values():
        versions.sort(key=lambda v: (v.effective_date, v.id), reverse=True)
    return [SourceDocuments(s, by_source.get(s.id, [])) for s in sources]


def company_view(session: Session, company_id: str, as_of: date, framework_id: str | None = None) -> CompanyView:
    """Everything the company page shows, as of a date, for one framework (default: its first signed one)."""
    company = session.get(m.Company, company_id)
    if company is None:
        raise NotFoundError(f"unknown company '{company_id}'")
    signatures = _signatures(session, company_id)
    if framework_id is None:
        signed = [s.framework_id for s in signatures]
        framework_id = "seoul-2024" if "seoul-2024" in signed or not signed else signed[0]
    framework = session.get(m.Framework, framework_id)
    if framework is None:
        raise NotFoundError(f"unknown framework '{framework_id}'")
    commitments = framework_commitments(session, framework_id)
    cells = {
        a.commitment_id: _assessed_cell(a)
        for a in latest_assessments(session, as_of, framework_id=framework_id, company_ids=[company_id])
    }
    pairs = [(cell.version_id, cid) for cid, cell in cells.items() if cell.version_id is not None]
    evidence = {cid: items for (_, cid), items in evidence_for(session, pairs).items()}
    timeline = [
        _assessed_cell(a) for a in session.execute(
            sa.select(*m.Assessment.__table__.c)
            .where(m.Assessment.company_id == company_id, m.Assessment.commitment_id.like(f"{framework_id}/%"),
                   m.Assessment.valid_from <= as_of)
            .order_by(m.Assessment.valid_from, m.Assessment.recorded_at, m.Assessment.id)
        )
    ]
    changes = _changes(session, m.ChangeEvent.company_id == company_id)
    changes = [c for c in changes if c.effective_date <= as_of]
    changes.sort(key=lambda c: (DIRECTION_ORDER.get(c.direction, 9), -c.effective_date.toordinal()))
    return CompanyView(company, as_of, framework, signatures, commitments, cells, evidence, timeline,
                       documents(session, company_id), changes)


# ----------------------------------------------------------------------------------------- commitment page


@dataclass(frozen=True)
class LinkedCommitment:
    """An equivalent or overlapping commitment of another framework (the crosswalk, read both ways)."""

    relation: str
    note: str
    commitment: m.Commitment
    framework_name: str


@dataclass
class CommitmentView:
    commitment: m.Commitment
    framework: m.Framework
    as_of: date
    companies: list[m.Company]
    signatures: dict[str, m.Signature]
    cells: dict[str, Cell]
    evidence: dict[str, list[EvidenceItem]]
    links: list[LinkedCommitment]

    def level_counts(self) -> dict[str, int]:
        """How many signatories are at each level (and how many are not assessed yet)."""
        counts: dict[str, int] = defaultdict(int)
        for company in self.companies:
            cell = self.cells.get(company.id)
            counts["not assessed" if cell is None else str(cell.level) if cell.level is not None else "n/a"] += 1
        return dict(counts)


def commitment_view(session: Session, commitment_id: str, as_of: date) -> CommitmentView:
    """One commitment: its text, every signatory's level and quotes as of a date, and the crosswalk."""
    commitment = session.get(m.Commitment, commitment_id)
    if commitment is None:
        raise NotFoundError(f"unknown commitment '{commitment_id}'")
    framework = session.get(m.Framework, commitment.framework_id)
    signatures = {
        s.company_id: s for s in session.exec(
            select(m.Signature).where(m.Signature.framework_id == commitment.framework_id,
                                      m.Signature.signed_on <= as_of))
    }
    cells = {a.company_id: _cell(a) for a in levels_in_force(session, as_of, commitment_ids=[commitment_id])}
    company_ids = sorted(set(signatures) | set(cells))
    companies = list(session.exec(select(m.Company).where(m.Company.id.in_(company_ids)).order_by(m.Company.name)))
    versions = {company_id: cell.version_id for company_id, cell in cells.items() if cell.version_id is not None}
    pairs = [(version_id, commitment_id) for version_id in versions.values()]
    by_version = evidence_for(session, pairs)
    evidence = {company_id: by_version.get((version_id, commitment_id), [])
                for company_id, version_id in versions.items()}
    return CommitmentView(commitment, framework, as_of, companies, signatures, cells, evidence,  # type: ignore[arg-type]
                          crosswalk(session, commitment_id))




def crosswalk(session: Session, commitment_id: str) -> list[LinkedCommitment]:
    """Links from and to a commitment, with the other side's commitment and framework name."""
    links = list(session.exec(select(m.CommitmentLink).where(sa.or_(
        m.CommitmentLink.from_commitment_id == commitment_id, m.CommitmentLink.to_commitment_id == commitment_id))))
    other_ids = {link.to_commitment_id if link.from_commitment_id == commitment_id else link.from_commitment_id
                 for link in links}
    if not other_ids:
        return []
    rows = session.execute(
        sa.select(m.Commitment, m.Framework.name)
        .join(m.Framework, m.Framework.id == m.Commitment.framework_id)
        .where(m.Commitment.id.in_(other_ids))
    ).all()
    others = {c.id: (c, name) for c, name in rows}
    result = []
    for link in links:
        other = link.to_commitment_id if link.from_commitment_id == commitment_id else link.from_commitment_id
        commitment, name = others[other]
        result.append(LinkedCommitment(link.relation, link.note, commitment, name))
    return sorted(result, key=lambda x: (x.commitment.framework_id, x.commitment.position))


# ------------------------------------------------------------------------------------------------ changes


def change_feed(
    session: Session,
    *,
    company_ids: list[str] | None = None,
    since: date | None = None,
    until: date | None = None,
    directions: list[str] | None = None,
    weakened_first: bool = True,
    commitment_ids: list[str] | None = None,
    change_id: int | None = None,
) -> list[ChangeItem]:
    """Flagged changes, filtered by company, direction, commitment touched and the date the new version took
    effect (or one change by id, for a permalink)."""
    conditions = []
    if change_id is not None:
        conditions.append(m.ChangeEvent.id == change_id)
    if company_ids:
        conditions.append(m.ChangeEvent.company_id.in_(company_ids))
    if directions:
        conditions.append(m.ChangeEvent.direction.in_(directions))
    items = [c for c in _changes(session, *conditions)
             if (since is None or c.effective_date >= since) and (until is None or c.effective_date <= until)]
    if commitment_ids:
        wanted = set(commitment_ids)
        items = [c for c in items if wanted.intersection(c.commitments)]
    items.sort(key=lambda c: (-c.effective_date.toordinal(), c.source_id, c.id))
    if weakened_first:
        items.sort(key=lambda c: DIRECTION_ORDER.get(c.direction, 9))
    return items


@dataclass(frozen=True)
class NewVersionItem:
    company_id: str
    company_name: str
    source_title: str
    version: VersionInfo
    change_counts: dict[str, int]


def version_feed(
    session: Session, *, company_ids: list[str] | None = None, since: date | None = None, until: date | None = None
) -> list[NewVersionItem]:
    """New versions, newest first, each with how many changes of each direction it brought."""
    query = (sa.select(*VERSION_META, m.Source.company_id, m.Company.name.label("company_name"),
                       m.Source.title.label("source_title"))
             .join(m.Source, m.Source.id == m.DocumentVersion.source_id)
             .join(m.Company, m.Company.id == m.Source.company_id))
    if company_ids:
        query = query.where(m.Source.company_id.in_(company_ids))
    rows = session.execute(query).all()
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    for version_id, direction, n in session.execute(
        sa.select(m.ChangeEvent.new_version_id, m.ChangeEvent.direction, sa.func.count())
        .group_by(m.ChangeEvent.new_version_id, m.ChangeEvent.direction)
    ):
        counts[version_id][direction] = n
    items = []
    for row in rows:
        version = version_info(row)
        if (since and version.effective_date < since) or (until and version.effective_date > until):
            continue
        items.append(NewVersionItem(row.company_id, row.company_name, row.source_title, version,
                                    counts.get(version.id, {})))
    items.sort(key=lambda i: (i.version.effective_date, i.version.id), reverse=True)
    return items


def companies(session: Session) -> list[m.Company]:
    return list(session.exec(select(m.Company).order_by(m.Company.name)))


# ---------------------------------------------------------------------------------------------- documents


def version_text(session: Session, version_id: int) -> str | None:
    """The stored text of one version (None for seed versions, which ship metadata and quotes only)."""
    version = session.get(m.DocumentVersion, version_id)
    if version is None:
        raise NotFoundError(f"unknown version {version_id}")
    return version.text


def version_quotes(session: Session, version_id: int, limit: int = 50) -> list[EvidenceItem]:
    """The evidence quotes taken from one version, best first (what we can show when no text is stored)."""
    commitment_ids = list(session.scalars(
        sa.select(m.Evidence.commitment_id).where(m.Evidence.version_id == version_id).distinct()))
    grouped = evidence_for(session, [(version_id, c) for c in commitment_ids], per_commitment=limit)
    items = [item for items in grouped.values() for item in items]
    return sorted(items, key=lambda i: (i.commitment_id, -i.score))[:limit]


# ----------------------------------------------------------------------------------------- sources health


@dataclass(frozen=True)
class SourceHealth:
    source_id: str
    company_id: str
    company_name: str
    title: str
    url: str
    kind: str
    active: bool
    fetchable: bool
    last_attempt_at: object | None
    last_outcome: str | None
    last_http_status: int | None
    last_reason: str | None
    last_error: str | None
    last_success_at: object | None
    last_unchanged_at: object | None
    failures: int
    versions: int
    latest_version_at: object | None

    @property
    def status(self) -> str:
        """One word for the table: ok, failing, never fetched, import only or inactive."""
        if not self.active:
            return "inactive"
        if not self.fetchable:
            return "import only"
        if self.last_outcome is None:
            return "never fetched"
        return "failing" if self.last_outcome == "failed" else "ok"


@dataclass
class SourcesHealthView:
    sources: list[SourceHealth]
    runs: list[m.RefreshRun]

    def failing(self) -> list[SourceHealth]:
        return [s for s in self.sources if s.status == "failing"]


def sources_health(session: Session, *, runs: int = 20) -> SourcesHealthView:
    """Per source: the last attempt, last success, last time seen unchanged, failures; plus recent runs."""
    rank = sa.func.row_number().over(
        partition_by=m.FetchAttempt.source_id, order_by=(m.FetchAttempt.started_at.desc(), m.FetchAttempt.id.desc())
    ).label("rank")
    ranked = sa.select(m.FetchAttempt.id, rank).subquery()
    last = {a.source_id: a for a in session.scalars(
        sa.select(m.FetchAttempt).join(ranked, ranked.c.id == m.FetchAttempt.id).where(ranked.c.rank == 1))}
    success = m.FetchAttempt.outcome != "failed"
    unchanged = m.FetchAttempt.outcome.in_(["unchanged", "not_modified"])
    aggregates = {row.source_id: row for row in session.execute(
        sa.select(m.FetchAttempt.source_id,
                  sa.func.max(sa.case((success, m.FetchAttempt.started_at))).label("last_success_at"),
                  sa.func.max(sa.case((unchanged, m.FetchAttempt.started_at))).label("last_unchanged_at"),
                  sa.func.sum(sa.case((m.FetchAttempt.outcome == "failed", 1), else_=0)).label("failures"))
        .group_by(m.FetchAttempt.source_id))}
    versions = {row.source_id: row for row in session.execute(
        sa.select(m.DocumentVersion.source_id, sa.func.count().label("n"),
                  sa.func.max(m.DocumentVersion.fetched_at).label("latest"))
        .group_by(m.DocumentVersion.source_id))}
    rows = session.execute(
        sa.select(m.Source, m.Company.name).join(m.Company, m.Company.id == m.Source.company_id)
        .order_by(m.Company.name, m.Source.title)).all()
    utc = m.UTCDateTime()
    result = []
    for source, company_name in rows:
        attempt, agg, ver = last.get(source.id), aggregates.get(source.id), versions.get(source.id)
        result.append(SourceHealth(
            source.id, source.company_id, company_name, source.title, source.url, source.kind, source.active,
            source.fetchable, attempt.started_at if attempt else None, attempt.outcome if attempt else None,
            attempt.http_status if attempt else None, attempt.reason if attempt else None,
            attempt.error if attempt else None,
            _as_utc(utc, agg.last_success_at) if agg else None, _as_utc(utc, agg.last_unchanged_at) if agg else None,
            int(agg.failures or 0) if agg else 0, ver.n if ver else 0, _as_utc(utc, ver.latest) if ver else None,
        ))
    recent = list(session.exec(select(m.RefreshRun).order_by(m.RefreshRun.started_at.desc()).limit(runs)))
    return SourcesHealthView(result, recent)


def _as_utc(kind: m.UTCDateTime, value: object) -> object:
    """Aggregates (max of a CASE) lose the column type; give them back as UTC-aware datetimes."""
    if value is None:
        return None
    if isinstance(value, str):  # SQLite returns the stored text for an untyped aggregate
        value = datetime.fromisoformat(value)
    return kind.process_result_value(value, None)  # type: ignore[arg-type]


# -------------------------------------------------------------------------------------------- methodology


@dataclass
class Methodology:
    """What the methodology page explains, read from data/: rubrics, method notes and measured agreement."""

    rubrics: dict[str, pd.DataFrame]  # framework id -> one row per indicator
    rubric_notes: dict[str, str]
    texts: dict[str, str]  # "mapping" / "changes" -> Markdown written by us
    metrics: dict[str, dict]  # "mapping" / "changes" -> the eval report as stored


def methodology(data_dir: Path | None = None) -> Methodology:
    """Read rubrics, method notes and metrics; a missing file is simply left out (the page says so)."""
    data_dir = data_dir or get_settings().catalog_dir
    rubrics, notes = {}, {}
    for path in sorted((data_dir / "rubrics").glob("*.yaml")):
        try:
            spec = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise CatalogError(f"{path}: not valid YAML: {exc}") from None
        rows = []
        for commitment in spec.get("commitments", []):
            for indicator in commitment.get("indicators", []):
                rows.append({
                    "commitment": commitment.get("id", "").split("/")[-1],
                    "commitment title": commitment.get("title", ""),
                    "indicator": indicator.get("id", ""),
                    "core": "yes" if indicator.get("required") else "",
                    "what we look for": indicator.get("description", ""),
                    "cue phrases": ", ".join(str(c) for c in indicator.get("cues", [])),
                })
        framework_id = str(spec.get("framework", path.stem))
        rubrics[framework_id] = pd.DataFrame(rows)
        notes[framework_id] = str(spec.get("method_note", "") or "")
    texts = {p.stem: p.read_text(encoding="utf-8") for p in sorted((data_dir / "methodology").glob("*.md"))}
    metrics = {}
    for path in sorted((data_dir / "metrics").glob("*.json")):
        try:
            metrics[path.stem] = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise CatalogError(f"{path}: not valid JSON: {exc.msg}") from None
    return Methodology(rubrics, notes, texts, metrics)


SUBMISSION_PAGE = "submission"  # url path of the public page of approved self-reports


def submission_path(self_report_id: int) -> str:
    """Relative link to the public page of an approved submission (for the public pages' labels)."""
    return f"{SUBMISSION_PAGE}?id={self_report_id}"


def submission_links(session: Session, assessment_ids: Sequence[int]) -> dict[int, str]:
    """{assessment id: link to its public submission} for assessments that came from an approved self-report.

    Public pages label these cells as company-reported and link here, so claims are never mistaken for checks.
    """
    if not assessment_ids:
        return {}
    rows = session.exec(
        sa.select(m.Assessment.id, m.Assessment.self_report_id)
        .join(m.SelfReport, m.SelfReport.id == m.Assessment.self_report_id)
        .where(m.Assessment.id.in_(list(assessment_ids)), m.SelfReport.status == "approved")
    ).all()
    return {assessment_id: submission_path(report_id) for assessment_id, report_id in rows}
