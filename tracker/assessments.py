"""Assessments: the level of a company on a commitment over time, replayable as of any date.

Rows are never updated: a new row supersedes older ones for the same (company, commitment). "As of D" is the
newest row with `valid_from <= D`; among rows with the same `valid_from` a human judgement (reviewed or
self-reported and approved) outranks an automatic one, then the later recorded row wins.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlmodel import Session

from tracker import models as m

LEVELS: dict[int, str] = {0: "No public evidence", 1: "Mentioned", 2: "Partial", 3: "Comprehensive"}
LEVEL_SHORT: dict[int, str] = {0: "0 none", 1: "1 mentioned", 2: "2 partial", 3: "3 comprehensive"}
BASES = ("automatic", "reviewed", "self-reported")
BASIS_RANK = {"automatic": 0, "self-reported": 1, "reviewed": 2}


def level_label(level: int | None) -> str:
    return "Not applicable" if level is None else LEVELS.get(level, str(level))


def _newest_first(table: type[m.Assessment]) -> tuple:
    return (table.valid_from.desc(), _basis_rank_of(table).desc(), table.recorded_at.desc(), table.id.desc())


def _basis_rank_of(table: type[m.Assessment]) -> sa.Case:
    return sa.case(*((table.basis == basis, rank) for basis, rank in BASIS_RANK.items()), else_=0)


def latest_assessments_query(
    as_of: date,
    *,
    framework_id: str | None = None,
    company_ids: Iterable[str] | None = None,
    commitment_ids: Iterable[str] | None = None,
    dialect: str = "postgresql",
) -> sa.Select:
    """One indexed query: the current row per (company, commitment) as of a date.

    Two formulations of the same answer, because the planners differ (see benchmarks/README.md): on SQLite,
    one index seek per (company, commitment) pair on `ix_assessment_asof` (a correlated LIMIT 1), which reads
    only the rows in force instead of sorting the whole history; on PostgreSQL, a ROW_NUMBER window, which its
    planner runs faster than thousands of correlated subplans.
    """
    if dialect == "sqlite":
        return _latest_by_seek(as_of, framework_id, company_ids, commitment_ids)
    rank = sa.func.row_number().over(
        partition_by=(m.Assessment.company_id, m.Assessment.commitment_id), order_by=_newest_first(m.Assessment)
    ).label("rank")
    inner = sa.select(m.Assessment.id.label("assessment_id"), rank).where(m.Assessment.valid_from <= as_of)
    if framework_id is not None:
        inner = inner.where(m.Assessment.commitment_id.like(f"{framework_id}/%"))
    if company_ids is not None:
        inner = inner.where(m.Assessment.company_id.in_(list(company_ids)))
    if commitment_ids is not None:
        inner = inner.where(m.Assessment.commitment_id.in_(list(commitment_ids)))
    ranked = inner.subquery()
    return (
        sa.select(m.Assessment)
        .join(ranked, ranked.c.assessment_id == m.Assessment.id)
        .where(ranked.c.rank == 1)
    )


def _latest_by_seek(
    as_of: date, framework_id: str | None, company_ids: Iterable[str] | None, commitment_ids: Iterable[str] | None
) -> sa.Select:
    row = sa.orm.aliased(m.Assessment)
    newest = (
        sa.select(row.id)
        .where(row.company_id == m.Company.id, row.commitment_id == m.Commitment.id, row.valid_from <= as_of)
        .order_by(*_newest_first(row))
        .limit(1)
        .correlate(m.Company, m.Commitment)
        .scalar_subquery()
    )
    pairs = sa.select(newest.label("newest_id")).select_from(m.Company).join(m.Commitment, sa.true())
    if framework_id is not None:
        pairs = pairs.where(m.Commitment.id.like(f"{framework_id}/%"))
    if company_ids is not None:
        pairs = pairs.where(m.Company.id.in_(list(company_ids)))
    if commitment_ids is not None:
        pairs = pairs.where(m.Commitment.id.in_(list(commitment_ids)))
    in_force = pairs.subquery("in_force")
    return sa.select(m.Assessment).join(in_force, in_force.c.newest_id == m.Assessment.id)


def latest_assessments(session: Session, as_of: date, **filters: object) -> list[m.Assessment]:
    dialect = session.get_bind().dialect.name
    return list(session.scalars(latest_assessments_query(as_of, dialect=dialect, **filters)))  # type: ignore[arg-type]


@dataclass(frozen=True)
class LevelPoint:
    """One step of a company's level on a commitment (for timelines)."""

    valid_from: date
    level: int | None
    basis: str
    assessment_id: int


def history(session: Session, company_id: str, commitment_id: str) -> list[m.Assessment]:
    """Every row for one (company, commitment), oldest first, including superseded ones."""
    return list(
        session.scalars(
            sa.select(m.Assessment)
            .where(m.Assessment.company_id == company_id, m.Assessment.commitment_id == commitment_id)
            .order_by(m.Assessment.valid_from, m.Assessment.recorded_at, m.Assessment.id)
        )
    )


def add_assessment(session: Session, assessment: m.Assessment) -> m.Assessment:
    """Append an assessment (never update one). Callers that act for a person go through tracker.review."""
    if assessment.level is not None and assessment.level not in LEVELS:
        raise ValueError(f"level must be one of {sorted(LEVELS)} or None, not {assessment.level!r}")
    if assessment.basis not in BASES:
        raise ValueError(f"basis must be one of {BASES}, not {assessment.basis!r}")
    session.add(assessment)
    session.flush()
    return assessment
