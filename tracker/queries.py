"""Read models for the pages: each function answers one screen's question with a few indexed queries.

Pages call these and render; they never build SQL themselves. Everything here is plain data (dataclasses and
pandas frames) so that exports and the CLI can reuse it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

import pandas as pd
import sqlalchemy as sa
from sqlmodel import Session, select

from tracker import models as m
from tracker.assessments import latest_assessments
from tracker.errors import NotFoundError


@dataclass(frozen=True)
class Cell:
    company_id: str
    commitment_id: str
    level: int | None
    basis: str
    valid_from: date
    assessment_id: int
    confidence: float | None
    rationale: str


@dataclass
class Overview:
    framework: m.Framework
    as_of: date
    commitments: list[m.Commitment]
    companies: list[m.Company]
    signatures: dict[str, m.Signature]
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
    signatures = {
        s.company_id: s
        for s in session.exec(select(m.Signature).where(m.Signature.framework_id == framework_id))
    }
    query = select(m.Company).order_by(m.Company.name)
    if groups:
        query = query.where(m.Company.group.in_(groups))
    companies = list(session.exec(query))
    if signatories_only:
        companies = [c for c in companies if c.id in signatures and signatures[c.id].signed_on <= as_of]
    company_ids = [c.id for c in companies]
    cells = {
        (a.company_id, a.commitment_id): Cell(
            a.company_id, a.commitment_id, a.level, a.basis, a.valid_from, a.id, a.confidence, a.rationale
        )
        for a in latest_assessments(session, as_of, framework_id=framework_id, company_ids=company_ids)
    }
    result = Overview(framework, as_of, commitments, companies, signatures, cells)
    result.headline = _headline(session, result)
    return result


def published_frameworks_by(session: Session, company_ids: list[str], by: date) -> dict[str, date]:
    """First publication date (on or before `by`) of a framework document, per company."""
    rows = session.execute(
        sa.select(m.Source.company_id, sa.func.min(m.DocumentVersion.published_on))
        .join(m.DocumentVersion, m.DocumentVersion.source_id == m.Source.id)
        .where(m.Source.kind == "framework", m.Source.company_id.in_(company_ids),
               m.DocumentVersion.published_on.is_not(None), m.DocumentVersion.published_on <= by)
        .group_by(m.Source.company_id)
    ).all()
    return {company_id: first for company_id, first in rows}


def _headline(session: Session, view: Overview) -> dict[str, object]:
    signatories = [c for c in view.companies if c.id in view.signatures]
    headline: dict[str, object] = {"signatories": len(signatories), "companies": len(view.companies)}
    for deadline in view.framework.deadlines:
        due = date.fromisoformat(deadline["date"])
        if due > view.as_of:
            continue
        published = published_frameworks_by(session, [c.id for c in signatories], due)
        due_signatories = [c for c in signatories if view.signatures[c.id].signed_on <= due]
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
