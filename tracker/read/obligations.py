"""Legal and regime obligations: which regimes bind a company, how each of its clocks stands, and what the
regimes' change rules flag on its published updates.

Read models for the company page ("Legal and regime obligations"), the overview's deadline table when a regime
is chosen, and the change feed's new versions. The clocks themselves are `tracker.read.deadlines`; the flags
are the pure rules of `tracker.analysis.clocks` applied to each version's stored update record and change
facts, so nothing here reads a document's text.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa
from sqlmodel import Session

from tracker.analysis.clocks import ChangeFact, UpdateRecord, material_change_flags, update_flags
from tracker.core.errors import NotFoundError
from tracker.read.deadlines import DeadlineStatus, clock_label, deadline_statuses, document_sources, upcoming
from tracker.store import models as m
from tracker.store.vocabulary import BINDING_STATUSES, DEADLINE_STATUSES, REGIME_FLAGS, REGIME_KINDS

CHUNK = 900  # ids per IN list: within every backend's parameter limit
FLAGGED_KINDS = ("update-record", "change-within")  # the clocks whose rules judge each published update


@dataclass(frozen=True)
class VersionFlag:
    """One regime rule a published update does not meet: which version, which regime and clock, what is missing."""

    version_id: int
    source_id: str
    company_id: str
    version_label: str  # "v3.1 (2026-04-17)"
    published_on: date
    framework_id: str
    framework_name: str  # the regime's short name
    deadline_id: str
    code: str  # tracker.store.vocabulary.REGIME_FLAGS
    detail: str
    quote: str | None = None

    @property
    def meaning(self) -> str:
        return REGIME_FLAGS.get(self.code, self.code)


def _chunks(ids: Sequence[int]) -> list[list[int]]:
    ids = list(ids)
    return [ids[i:i + CHUNK] for i in range(0, len(ids), CHUNK)]


def version_flags(session: Session, version_ids: Sequence[int]) -> dict[int, list[VersionFlag]]:
    """The regime flags of each version that has any: a few queries for the page's versions, no text read.

    A version is judged by a regime's rules when it is an update (it has a predecessor), was published on or
    after the day the rule started to bind its company (the clock's date or the signature, whichever is later),
    and its source is one of the documents the regime's clocks look at. A version whose text was never read
    (no update record) gets no flag: the clock says "unknown" for it instead.
    """
    if not version_ids:
        return {}
    rows = []
    for chunk in _chunks(version_ids):
        rows += session.execute(
            sa.select(m.DocumentVersion.id, m.DocumentVersion.source_id, m.DocumentVersion.version_label,
                      m.DocumentVersion.published_on, m.DocumentVersion.update_record)
            .where(m.DocumentVersion.id.in_(chunk), m.DocumentVersion.previous_version_id.is_not(None),
                   m.DocumentVersion.published_on.is_not(None))).all()
    if not rows:
        return {}
    sources = {s.id: s for s in session.scalars(
        sa.select(m.Source).where(m.Source.id.in_({row.source_id for row in rows})))}
    companies = {s.company_id for s in sources.values()}
    frameworks = {f.id: f for f in session.scalars(sa.select(m.Framework))
                  if any(d.get("kind") in FLAGGED_KINDS for d in f.deadlines or [])}
    signatures: dict[str, list[m.Signature]] = defaultdict(list)
    for signature in session.scalars(sa.select(m.Signature).where(
            m.Signature.company_id.in_(companies), m.Signature.framework_id.in_(list(frameworks) or [""]),
            m.Signature.status.in_(BINDING_STATUSES))):
        signatures[signature.company_id].append(signature)
    facts: dict[int, list[ChangeFact]] = defaultdict(list)
    for chunk in _chunks([row.id for row in rows]):
        for new_id, direction, announced in session.execute(
                sa.select(m.ChangeEvent.new_version_id, m.ChangeEvent.direction, m.ChangeEvent.announced)
                .where(m.ChangeEvent.new_version_id.in_(chunk))):
            facts[new_id].append(ChangeFact(direction, announced))
    counted = {fid: document_sources(list(sources.values()), framework) for fid, framework in frameworks.items()}
    found: dict[int, list[VersionFlag]] = defaultdict(list)
    for row in sorted(rows, key=lambda r: (r.published_on, r.id)):
        record = UpdateRecord.from_json(row.update_record)
        source = sources.get(row.source_id)
        if record is None or source is None:
            continue
        for signature in sorted(signatures.get(source.company_id, []), key=lambda s: s.framework_id):
            framework = frameworks[signature.framework_id]
            if row.source_id not in counted[framework.id].get(source.company_id, set()):
                continue
            for deadline in framework.deadlines:
                kind = deadline.get("kind")
                if kind not in FLAGGED_KINDS:
                    continue
                if row.published_on < max(date.fromisoformat(str(deadline["date"])), signature.signed_on):
                    continue
                if kind == "update-record":
                    flags = update_flags(record, list(deadline.get("requires", ())))
                else:
                    flags = material_change_flags(record, facts.get(row.id, []), published_on=row.published_on,
                                                  within_days=int(deadline.get("within_days", 30)))
                for flag in flags:
                    found[row.id].append(VersionFlag(
                        row.id, row.source_id, source.company_id, clock_label(row.version_label, row.published_on),
                        row.published_on, framework.id, framework.short_name, str(deadline.get("id", "")),
                        flag.code, flag.detail, flag.quote))
    return dict(found)


# ------------------------------------------------------------------------------------------- company page


@dataclass(frozen=True)
class RegimeObligation:
    """How one regime stands to one company as of a date: its signature (or refusal) and its clocks."""

    framework_id: str
    framework_name: str
    short_name: str
    kind: str  # code-of-practice | law
    status: str  # signed | bound | declined
    since: date  # the day it signed, declined, or the law began to bind it
    date_precision: str
    date_confidence: str
    status_confidence: str | None
    scope: str | None
    scope_title: str | None  # e.g. "Safety and Security chapter only"
    scope_note: str | None
    note: str | None
    source_url: str
    in_force: bool  # binding on the date (signed or bound, from a day on or before it)
    upcoming: bool  # the duties start after the date (RAISE until 1 January 2027)
    applies_from: date | None
    deadlines: list[DeadlineStatus] = field(default_factory=list)
    flags: list[VersionFlag] = field(default_factory=list)

    @property
    def declined(self) -> bool:
        return self.status == "declined"


@dataclass
class CompanyObligations:
    company_id: str
    as_of: date
    regimes: list[RegimeObligation]
    version_sources: dict[int, str]  # version id -> source id, to link every version a clock rests on


def company_obligations(session: Session, company_id: str, as_of: date) -> CompanyObligations:
    """Every regime that binds the company on `as_of` or will (a law from a later day), and every one it
    declined, with each clock's status, due date and the version it rests on, and the flags on its updates."""
    if session.get(m.Company, company_id) is None:
        raise NotFoundError(f"unknown company '{company_id}'")
    rows = session.execute(
        sa.select(m.Signature, m.Framework)
        .join(m.Framework, m.Framework.id == m.Signature.framework_id)
        .where(m.Signature.company_id == company_id, m.Framework.kind.in_(REGIME_KINDS))
        .order_by(m.Framework.announced, m.Framework.id)).all()
    version_ids = list(session.scalars(
        sa.select(m.DocumentVersion.id)
        .join(m.Source, m.Source.id == m.DocumentVersion.source_id)
        .where(m.Source.company_id == company_id, m.DocumentVersion.published_on <= as_of)))
    flags = [flag for items in version_flags(session, version_ids).values() for flag in items]
    regimes = []
    for signature, framework in rows:
        if signature.signed_on > as_of and signature.status != "bound":
            continue  # it had not signed (or declined) yet; a law that will bind it is shown as upcoming
        in_force = signature.status in BINDING_STATUSES and signature.signed_on <= as_of
        scope = next((s for s in framework.scopes or [] if s.get("id") == signature.scope), None)
        regimes.append(RegimeObligation(
            framework.id, framework.name, framework.short_name, framework.kind, signature.status,
            signature.signed_on, signature.date_precision, signature.date_confidence, signature.status_confidence,
            signature.scope, scope.get("title") if scope else None, scope.get("note") if scope else None,
            signature.note, signature.source_url, in_force,
            upcoming(framework, as_of) or signature.signed_on > as_of, framework.applies_from,
            deadline_statuses(session, framework.id, as_of, [company_id]) if in_force else [],
            sorted((f for f in flags if f.framework_id == framework.id and in_force),
                   key=lambda f: (f.published_on, f.deadline_id, f.code), reverse=True),
        ))
    rested = {s.version_id for r in regimes for s in r.deadlines if s.version_id is not None}
    rested |= {f.version_id for r in regimes for f in r.flags}
    sources = dict(session.execute(sa.select(m.DocumentVersion.id, m.DocumentVersion.source_id)
                                   .where(m.DocumentVersion.id.in_(rested or [-1]))).all())
    return CompanyObligations(company_id, as_of, regimes, sources)


# ----------------------------------------------------------------------------------------------- overview


@dataclass(frozen=True)
class DeadlineSpec:
    id: str
    kind: str
    label: str
    date: date


@dataclass
class DeadlineSummary:
    """One framework's clocks as of a date: counts per clock and status, and the rows behind them."""

    framework_id: str
    as_of: date
    upcoming: bool
    applies_from: date | None
    deadlines: list[DeadlineSpec]
    counts: dict[str, dict[str, int]]  # deadline id -> status -> companies
    rows: list[DeadlineStatus]  # by deadline, then company
    version_sources: dict[int, str]
    declined: list[tuple[str, str, date]]  # (company id, name, the day it declined), by name

    def companies(self) -> int:
        return len({row.company_id for row in self.rows})


def deadline_summary(session: Session, framework_id: str, as_of: date) -> DeadlineSummary:
    """Every clock of a framework for every company it binds: a handful of queries, counted here once so the
    overview draws a few numbers and pages through the rows (a thousand companies make a few thousand rows)."""
    framework = session.get(m.Framework, framework_id)
    if framework is None:
        raise NotFoundError(f"unknown framework '{framework_id}'")
    rows = deadline_statuses(session, framework_id, as_of)
    counts: dict[str, Counter] = defaultdict(Counter)
    for row in rows:
        counts[row.deadline_id][row.status] += 1
    specs = [DeadlineSpec(str(d.get("id", d["date"])), str(d.get("kind", "publish-by")), str(d.get("label", "")),
                          date.fromisoformat(str(d["date"]))) for d in framework.deadlines or []]
    version_ids = {row.version_id for row in rows if row.version_id is not None}
    sources: dict[int, str] = {}
    for chunk in _chunks(sorted(version_ids)):
        sources.update(session.execute(sa.select(m.DocumentVersion.id, m.DocumentVersion.source_id)
                                       .where(m.DocumentVersion.id.in_(chunk))).all())
    declined = [(cid, name, day) for cid, name, day in session.execute(
        sa.select(m.Signature.company_id, m.Company.name, m.Signature.signed_on)
        .join(m.Company, m.Company.id == m.Signature.company_id)
        .where(m.Signature.framework_id == framework_id, m.Signature.status == "declined",
               m.Signature.signed_on <= as_of).order_by(m.Company.name))]
    return DeadlineSummary(
        framework_id, as_of, upcoming(framework, as_of), framework.applies_from, specs,
        {d.id: {status: counts[d.id].get(status, 0) for status in DEADLINE_STATUSES if counts[d.id].get(status)}
         for d in specs}, rows, sources, declined)
