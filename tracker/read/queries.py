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
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa
import yaml
from sqlmodel import Session, select

from tracker.core.config import get_settings
from tracker.core.errors import CatalogError, NotFoundError
from tracker.read.asof import latest_assessments, levels_in_force
from tracker.read.reviews import change_states, reviewed_change_states
from tracker.store import models as m
from tracker.store import versions as versionfacts
from tracker.store.versions import (
    is_public_version,
    public_change,
    public_source,
    public_version,
    watched_source,
)
from tracker.store.vocabulary import (
    BASIS_RANK,
    BINDING_STATUSES,
    DIRECTION_ORDER,
    FINAL_REVIEW_STATUSES,
    REVIEW_LABELS,
    ReviewStatus,
)


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
    score: float | None  # 0-100 within the level's band; ranks cells of one level (None: not scored)

    @property
    def review_label(self) -> str:
        """automatic (not reviewed) / reviewed / self-reported: the label public pages show beside a level."""
        return REVIEW_LABELS.get(self.basis, self.basis)


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
    signed_on: dict[str, date]  # company id -> date it signed this framework (or a law binds it from)
    cells: dict[tuple[str, str], Cell]
    headline: dict[str, object] = field(default_factory=dict)
    declined: dict[str, date] = field(default_factory=dict)  # company id -> date it declined to sign
    # Where a company's own claim is the level in force: the independent level (automatic or reviewed) beside it.
    independent: dict[tuple[str, str], Cell | None] = field(default_factory=dict)

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


EARLIEST_FALLBACK = date(2000, 1, 1)


def first_day(session: Session) -> date:
    """The earliest date worth opening: the first announcement of a framework (a commitment) in the catalog.

    Date pickers start here rather than at a fixed year, so a history loaded from before 2023 stays reachable.
    """
    first = session.scalar(sa.select(sa.func.min(m.Framework.announced)))
    return first or EARLIEST_FALLBACK


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
    signed_on: dict[str, date] = {}
    declined: dict[str, date] = {}
    for company_id, day, status in session.execute(
            sa.select(m.Signature.company_id, m.Signature.signed_on, m.Signature.status)
            .where(m.Signature.framework_id == framework_id)):
        (declined if status == "declined" else signed_on)[company_id] = day
    companies = grid_companies(session, signed_on, as_of, signatories_only=signatories_only, groups=groups)
    shown = {c.id for c in companies}
    # The whole framework in one index range scan; keeping the shown companies here costs less than an IN list
    # of every signatory (and stays within every backend's parameter limit).
    cells: dict[tuple[str, str], Cell] = {}
    for row in levels_in_force(session, as_of, framework_id=framework_id):
        cell = _cell(row)  # positional: reading a Row by name three times costs more than the query per row
        if cell.company_id in shown:
            cells[cell.company_id, cell.commitment_id] = cell
    result = Overview(framework, as_of, commitments, companies, signed_on, cells,
                      declined={k: v for k, v in declined.items() if v <= as_of},
                      independent=independent_levels(session, [k for k, c in cells.items()
                                                               if c.basis == "self-reported"], as_of))
    result.headline = _headline(session, result)
    return result


def grid_companies(session: Session, signed_on: dict[str, date], as_of: date, *, signatories_only: bool,
                   groups: list[str] | None) -> list[CompanyRef]:
    """The companies a grid shows, by name: those in the groups, and with `signatories_only` those bound by the
    date (`signed_on`: company id -> first day the framework, or any crosswalked one, bound it)."""
    query = sa.select(m.Company.id, m.Company.name, m.Company.group).order_by(m.Company.name)
    if groups:
        query = query.where(m.Company.group.in_(groups))
    companies = [CompanyRef(*row) for row in session.execute(query)]
    if signatories_only:
        companies = [c for c in companies if c.id in signed_on and signed_on[c.id] <= as_of]
    return companies


def independent_levels(session: Session, pairs: list[tuple[str, str]], as_of: date) -> dict[tuple[str, str], Cell | None]:
    """The newest level not claimed by the company itself, per (company, commitment), as of a date.

    Why: a self-report the reviewers accepted is shown beside the tracker's own level, never instead of it; the
    spans rank it above an automatic level, so the grids ask for the independent one separately (self-reports
    are few: one query over their companies, issued even when there are none so the statement count of a grid
    does not depend on its data).
    """
    a = m.Assessment
    wanted = set(pairs)
    found: dict[tuple[str, str], tuple] = {}
    rows = session.execute(
        sa.select(a.company_id, a.commitment_id, a.level, a.basis, a.valid_from, a.id, a.version_id, a.score,
                  a.recorded_at)
        .where(a.company_id.in_(sorted({c for c, _ in wanted})), a.basis != "self-reported", a.valid_from <= as_of))
    for row in rows:
        key = (row.company_id, row.commitment_id)
        if key not in wanted:
            continue
        rank = (row.valid_from, BASIS_RANK.get(row.basis, 0), row.recorded_at, row.id)
        if key not in found or rank > found[key][0]:
            found[key] = (rank, Cell(*row[:8]))
    return {key: found[key][1] if key in found else None for key in wanted}


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
        if deadline.get("kind", "publish-by") != "publish-by":  # the recurring clocks: tracker.read.deadlines
            continue
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
        for table in (m.Assessment, m.DocumentVersion, m.Evidence, m.ChangeEvent, m.FetchAttempt, m.ChangeReview)
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
    m.DocumentVersion.previous_version_id, m.DocumentVersion.archived_url, m.DocumentVersion.publisher_sha256,
    m.DocumentVersion.first_seen_on, m.DocumentVersion.text.is_not(None).label("has_text"),
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
    archived_url: str | None  # Wayback copy of the version's own document (`url`)
    publisher_sha256: str | None  # the publisher's file; `raw_sha256` is the file the tracker stored
    first_seen_on: date | None  # a silent re-upload: the day it was first seen (its effective date)
    has_text: bool

    @property
    def effective_date(self) -> date:
        return versionfacts.effective_date(self)  # type: ignore[arg-type]

    @property
    def label(self) -> str:
        return versionfacts.display_label(self)  # type: ignore[arg-type]


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
        .where(m.Evidence.version_id.in_(version_ids), m.Evidence.commitment_id.in_(commitment_ids),
               public_version())
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
                        row.version_id, row.score, row.confidence, row.rationale)


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
    announcement_quote: str | None = None  # the company's own words announcing it
    announcement_source: str | None = None  # where they appeared (in-document changelog, announcement post, ...)
    # Review (tracker.read.reviews): `direction`/`announced` above are what is published now, the automatic call
    # until a decision is final; the automatic call itself is kept here. `review_label` is one of the four
    # public labels (vocabulary.REVIEW_LABELS).
    review_status: str = ReviewStatus.AUTOMATIC
    automatic_direction: str | None = None
    automatic_announced: str | None = None
    dismissed: bool = False
    reviewers: tuple[str, ...] = ()

    @property
    def effective_date(self) -> date:
        return self.new_version.effective_date

    @property
    def review_label(self) -> str:
        return REVIEW_LABELS.get(self.review_status, self.review_status)

    @property
    def reviewed(self) -> bool:
        return self.review_status in FINAL_REVIEW_STATUSES


# Weakened and removed commitments are what a reader must see first.


def _prefixed_meta(alias: type[m.DocumentVersion], prefix: str) -> list:
    names = [n for n in VersionInfo.__dataclass_fields__ if n != "has_text"]
    return [getattr(alias, n).label(prefix + n) for n in names] + [alias.text.is_not(None).label(prefix + "has_text")]


def _prefixed_version(row: sa.Row, prefix: str) -> VersionInfo | None:
    mapping = row._mapping
    if mapping[prefix + "id"] is None:
        return None
    return VersionInfo(**{k: mapping[prefix + k] for k in VersionInfo.__dataclass_fields__})


def _changes(
    session: Session, *conditions: sa.ColumnElement[bool], new: type[m.DocumentVersion] | None = None,
    order_by: Sequence[sa.ColumnElement] | None = None, limit: int | None = None, offset: int = 0,
) -> list[ChangeItem]:
    old = sa.orm.aliased(m.DocumentVersion)
    new = new if new is not None else sa.orm.aliased(m.DocumentVersion)
    query = (
        sa.select(m.ChangeEvent, m.Company.name.label("company_name"), m.Source.title.label("source_title"),
                  *_prefixed_meta(old, "old_"), *_prefixed_meta(new, "new_"))
        .join(m.Company, m.Company.id == m.ChangeEvent.company_id)
        .join(m.Source, m.Source.id == m.ChangeEvent.source_id)
        .join(new, new.id == m.ChangeEvent.new_version_id)
        .outerjoin(old, old.id == m.ChangeEvent.old_version_id)
        .where(public_change(), *conditions)
        .order_by(*(order_by or (m.ChangeEvent.detected_at.desc(), m.ChangeEvent.id)))
    )
    if limit is not None:
        query = query.limit(limit)
    if offset:
        query = query.offset(offset)
    rows = session.execute(query).all()
    states = change_states(session, [(row[0].id, row[0].direction, row[0].announced) for row in rows])
    items = []
    for row in rows:
        change = row[0]
        state = states[change.id]
        items.append(ChangeItem(
            change.id, change.company_id, row.company_name, change.source_id, row.source_title,
            state.direction or change.direction, list(change.reasons or []), list(change.commitments or []),
            change.old_quote, change.new_quote, change.old_section, change.new_section,
            state.announced or change.announced, change.similarity, change.detected_at,
            _prefixed_version(row, "old_"), _prefixed_version(row, "new_"),  # type: ignore[arg-type]
            change.announcement_quote, change.announcement_source,
            state.status, change.direction, change.announced, state.dismissed, state.reviewers,
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
    status: str = "signed"  # signed | declined | bound (by a law)
    status_confidence: str | None = None  # V | C | S | M | ours
    scope: str | None = None  # e.g. safety-and-security (EU Code chapters)
    note: str | None = None


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
                          s.source_url, s.status, s.status_confidence, s.scope, s.note) for s, name in rows]


def source_index(session: Session) -> list[tuple[m.Source, int]]:
    """Every source with how many versions it has (a count on the source index; no version rows loaded)."""
    counts = dict(session.execute(
        sa.select(m.DocumentVersion.source_id, sa.func.count()).group_by(m.DocumentVersion.source_id)).all())
    query = (select(m.Source).where(public_source())
             .order_by(m.Source.company_id, m.Source.kind != "framework", m.Source.title))
    return [(source, counts.get(source.id, 0)) for source in session.exec(query)]


def documents(
    session: Session, company_id: str | None = None, *, source_id: str | None = None
) -> list[SourceDocuments]:
    """Sources (of one company, one source, or all) with their versions' metadata: two queries, no text."""
    query = (select(m.Source).where(public_source())
             .order_by(m.Source.company_id, m.Source.kind != "framework", m.Source.title))
    if company_id is not None:
        query = query.where(m.Source.company_id == company_id)
    if source_id is not None:
        query = query.where(m.Source.id == source_id)
    sources = list(session.exec(query))
    version_query = (sa.select(*VERSION_META).where(public_version())
                     .order_by(m.DocumentVersion.fetched_at.desc(), m.DocumentVersion.id.desc()))
    if company_id is not None or source_id is not None:
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
        signed = [s.framework_id for s in signatures if s.status in BINDING_STATUSES]
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
    reviewed: bool = False  # a reviewer checked the link against both texts


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
                                      m.Signature.signed_on <= as_of, m.Signature.status.in_(BINDING_STATUSES)))
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
        result.append(LinkedCommitment(link.relation, link.note, commitment, name, link.reviewed))
    return sorted(result, key=lambda x: (x.commitment.framework_id, x.commitment.position))


# ------------------------------------------------------------------------------------------------ changes


def _effective_day(dialect: str, published: sa.ColumnElement, fetched: sa.ColumnElement) -> sa.ColumnElement:
    """A version's effective date in SQL (its stated publication date, else the UTC day it was fetched)."""
    fetched_day = sa.func.date(fetched) if dialect == "sqlite" else sa.cast(
        sa.func.timezone("UTC", fetched), sa.Date)
    return sa.func.coalesce(published, fetched_day)


def effective_between(
    published: sa.ColumnElement, fetched: sa.ColumnElement, since: date | None, until: date | None
) -> list[sa.ColumnElement[bool]]:
    """`since <= effective date <= until` without a function on the columns, so indexes on them still serve."""
    conditions: list[sa.ColumnElement[bool]] = []
    if since is not None:
        start = datetime(since.year, since.month, since.day, tzinfo=UTC)
        conditions.append(sa.or_(published >= since, sa.and_(published.is_(None), fetched >= start)))
    if until is not None:
        end = datetime.combine(until + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
        conditions.append(sa.or_(published <= until, sa.and_(published.is_(None), fetched < end)))
    return conditions


def _change_conditions(
    new: type[m.DocumentVersion], company_ids: list[str] | None, since: date | None, until: date | None,
    directions: list[str] | None,
) -> list[sa.ColumnElement[bool]]:
    conditions = effective_between(new.published_on, new.fetched_at, since, until)
    if company_ids:
        conditions.append(m.ChangeEvent.company_id.in_(company_ids))
    if directions:
        conditions.append(m.ChangeEvent.direction.in_(directions))
    return conditions


def change_feed(
    session: Session,
    *,
    company_ids: list[str] | None = None,
    since: date | None = None,
    until: date | None = None,
    directions: list[str] | None = None,
    weakened_first: bool = True,
    limit: int | None = None,
    offset: int = 0,
    hide_unreviewed: bool = False,
    include_dismissed: bool = False,
    commitment_ids: list[str] | None = None,
    change_id: int | None = None,
) -> list[ChangeItem]:
    """Flagged changes, filtered by company, direction (as published) and the date the new version took effect.

    Filters, order (weakened and removed first, then newest) and the page (`limit`, `offset`) are all in the
    query, so a view reads only the rows it shows; `change_counts` gives the totals per direction. Reviewers'
    decisions are few, so the changes they touched are resolved first and enter the query as id lists:
    `hide_unreviewed` keeps only changes whose review is final, dismissed changes are left out unless
    `include_dismissed`, and a corrected direction counts under its new direction. `commitment_ids` keeps
    changes that touch one of those commitments; `change_id` picks one change (for a permalink).
    """
    new = sa.orm.aliased(m.DocumentVersion)
    day = _effective_day(session.get_bind().dialect.name, new.published_on, new.fetched_at)
    conditions = _feed_conditions(session, new, company_ids=company_ids, since=since, until=until,
                                  directions=directions, commitment_ids=commitment_ids, change_id=change_id,
                                  hide_unreviewed=hide_unreviewed, include_dismissed=include_dismissed)
    order: list[sa.ColumnElement] = []
    if weakened_first:
        order.append(sa.case(DIRECTION_ORDER, value=m.ChangeEvent.direction, else_=9))
    order += [day.desc(), m.ChangeEvent.source_id, m.ChangeEvent.id]
    return _changes(session, *conditions, new=new, order_by=order, limit=limit, offset=offset)


def _feed_conditions(
    session: Session, new: Any, *, company_ids: list[str] | None = None, since: date | None = None,
    until: date | None = None, directions: list[str] | None = None, commitment_ids: list[str] | None = None,
    change_id: int | None = None, hide_unreviewed: bool = False, include_dismissed: bool = False,
) -> list[sa.ColumnElement[bool]]:
    """The filters of the change feed and its counts, all as SQL conditions (one definition for both)."""
    conditions = _change_conditions(new, company_ids, since, until, None)
    conditions += _review_conditions(session, directions, hide_unreviewed=hide_unreviewed,
                                     include_dismissed=include_dismissed)
    if change_id is not None:
        conditions.append(m.ChangeEvent.id == change_id)
    if commitment_ids:  # the JSON list as text holds each id in quotes, on both backends
        listed = sa.cast(m.ChangeEvent.commitments, sa.Text)
        conditions.append(sa.or_(*(listed.like(f'%"{cid}"%') for cid in commitment_ids)))
    return conditions


def _review_conditions(session: Session, directions: list[str] | None, *, hide_unreviewed: bool,
                       include_dismissed: bool) -> list[sa.ColumnElement[bool]]:
    """SQL conditions for what reviewers decided: dismissed changes out, corrected directions where they now
    belong, only final reviews when asked."""
    states = reviewed_change_states(session)
    event = m.ChangeEvent
    conditions: list[sa.ColumnElement[bool]] = []
    dismissed = [cid for cid, state in states.items() if state.dismissed]
    if dismissed and not include_dismissed:
        conditions.append(event.id.not_in(dismissed))
    if hide_unreviewed:
        conditions.append(event.id.in_([cid for cid, st in states.items() if st.status in FINAL_REVIEW_STATUSES]
                                       or [-1]))
    if directions:
        moved_out = [cid for cid, st in states.items() if st.direction and st.direction not in directions]
        moved_in = [cid for cid, st in states.items() if st.direction in directions]
        conditions.append(sa.or_(sa.and_(event.direction.in_(directions), event.id.not_in(moved_out or [-1])),
                                 event.id.in_(moved_in or [-1])))
    return conditions


def change_counts(session: Session, **filters: Any) -> dict[str, int]:
    """How many flagged changes of each direction match the change feed's filters (one GROUP BY, no rows)."""
    new = sa.orm.aliased(m.DocumentVersion)
    rows = session.execute(
        sa.select(m.ChangeEvent.direction, sa.func.count())
        .join(new, new.id == m.ChangeEvent.new_version_id)
        .where(public_change(), *_feed_conditions(session, new, **filters))
        .group_by(m.ChangeEvent.direction)
    )
    return {direction: n for direction, n in rows}


@dataclass(frozen=True)
class NewVersionItem:
    company_id: str
    company_name: str
    source_title: str
    version: VersionInfo
    change_counts: dict[str, int]


def _version_conditions(company_ids: list[str] | None) -> list[sa.ColumnElement[bool]]:
    conditions = [public_version()]
    if company_ids:
        conditions.append(
            m.DocumentVersion.source_id.in_(sa.select(m.Source.id).where(m.Source.company_id.in_(company_ids))))
    return conditions


def version_feed(
    session: Session,
    *,
    company_ids: list[str] | None = None,
    since: date | None = None,
    until: date | None = None,
    limit: int = 200,
    offset: int = 0,
) -> list[NewVersionItem]:
    """New versions, newest first (effective date, then id), each with how many changes of each direction.

    Reads one page: versions with a publication date come in `(published_on, id)` order straight from the
    index on `published_on`, the few without one by `fetched_at`; the two ordered streams are merged here, so
    at most `offset + limit` rows of each are read, never every version.
    """
    v = m.DocumentVersion
    wanted = offset + limit
    base = _version_conditions(company_ids)
    published = session.execute(
        sa.select(v.id, v.published_on)
        .where(v.published_on.is_not(None), *base, *effective_between(v.published_on, v.fetched_at, since, until))
        .order_by(v.published_on.desc(), v.id.desc()).limit(wanted)
    ).all()
    unpublished = session.execute(
        sa.select(v.id, v.fetched_at)
        .where(v.published_on.is_(None), *base, *effective_between(v.published_on, v.fetched_at, since, until))
        .order_by(v.fetched_at.desc(), v.id.desc()).limit(wanted)
    ).all()
    keyed = [(day, version_id) for version_id, day in published]
    keyed += [(_as_utc_date(fetched), version_id) for version_id, fetched in unpublished]
    keyed.sort(reverse=True)
    page_ids = [version_id for _, version_id in keyed[offset:wanted]]
    if not page_ids:
        return []
    rows = session.execute(
        sa.select(*VERSION_META, m.Source.company_id, m.Company.name.label("company_name"),
                  m.Source.title.label("source_title"))
        .join(m.Source, m.Source.id == m.DocumentVersion.source_id)
        .join(m.Company, m.Company.id == m.Source.company_id)
        .where(m.DocumentVersion.id.in_(page_ids))
    ).all()
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    for version_id, direction, n in session.execute(
        sa.select(m.ChangeEvent.new_version_id, m.ChangeEvent.direction, sa.func.count())
        .where(m.ChangeEvent.new_version_id.in_(page_ids))
        .group_by(m.ChangeEvent.new_version_id, m.ChangeEvent.direction)
    ):
        counts[version_id][direction] = n
    items = [NewVersionItem(row.company_id, row.company_name, row.source_title, version_info(row),
                            counts.get(row.id, {})) for row in rows]
    items.sort(key=lambda i: (i.version.effective_date, i.version.id), reverse=True)
    return items


def version_count(
    session: Session, *, company_ids: list[str] | None = None, since: date | None = None, until: date | None = None
) -> int:
    """How many versions `version_feed` would list without a page limit (a count on the index)."""
    v = m.DocumentVersion
    return session.scalar(sa.select(sa.func.count()).select_from(v).where(
        *_version_conditions(company_ids), *effective_between(v.published_on, v.fetched_at, since, until))) or 0


def _as_utc_date(value: datetime) -> date:
    return (value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)).date()


def companies(session: Session) -> list[m.Company]:
    return list(session.exec(select(m.Company).order_by(m.Company.name)))


# ---------------------------------------------------------------------------------------------- documents


def version_text(session: Session, version_id: int) -> str | None:
    """The stored text of one version (None for seed versions, which ship metadata and quotes only)."""
    version = session.get(m.DocumentVersion, version_id)
    if version is None or not is_public_version(session, version_id):
        raise NotFoundError(f"unknown version {version_id}")  # a private upload is not there for readers
    return version.text


def version_quotes(session: Session, version_id: int, limit: int = 50) -> list[EvidenceItem]:
    """The evidence quotes taken from one version, best first (what we can show when no text is stored)."""
    if not is_public_version(session, version_id):
        return []
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
        .where(public_version()).group_by(m.DocumentVersion.source_id))}
    # Self-report sources are not watched: their fetch attempts are a submission's evidence links (private).
    rows = session.execute(
        sa.select(m.Source, m.Company.name).join(m.Company, m.Company.id == m.Source.company_id)
        .where(watched_source())
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
