"""Assessments: the level of a company on a commitment over time, replayable as of any date.

Rows are never updated: a new row supersedes older ones for the same (company, commitment). "As of D" is the
newest row with `valid_from <= D`; among rows with the same `valid_from` a human judgement (reviewed or
self-reported and approved) outranks an automatic one, then the later recorded row wins. That precedence is
resolved once, when an assessment is added, into `AssessmentSpan` rows ([valid_from, valid_until) per
assessment), so reading any date is a range scan (see benchmarks/README.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from tracker import models as m

LEVELS: dict[int, str] = {0: "No public evidence", 1: "Mentioned", 2: "Partial", 3: "Comprehensive"}
LEVEL_SHORT: dict[int, str] = {0: "0 none", 1: "1 mentioned", 2: "2 partial", 3: "3 comprehensive"}
BASES = ("automatic", "reviewed", "self-reported")
BASIS_RANK = {"automatic": 0, "self-reported": 1, "reviewed": 2}


def level_label(level: int | None) -> str:
    return "Not applicable" if level is None else LEVELS.get(level, str(level))


def _basis_rank_of(table: type[m.Assessment]) -> sa.Case:
    return sa.case(*((table.basis == basis, rank) for basis, rank in BASIS_RANK.items()), else_=0)


# ------------------------------------------------------------------------------------------- spans (upkeep)

SPAN_LOCK_KEY = 0x7370_616E  # "span": PostgreSQL advisory lock that serialises span rebuilds across writers
_CHUNK = 500  # companies per statement: far below every backend's bound-parameter limit


def _span_select(company_ids: list[str] | None) -> sa.Select:
    """Every assessment with the date its successor (in precedence order) takes over, or OPEN_END."""
    a = m.Assessment
    successor_from = sa.func.lead(a.valid_from).over(
        partition_by=(a.company_id, a.commitment_id),
        order_by=(a.valid_from, _basis_rank_of(a), a.recorded_at, a.id),
    )
    query = sa.select(
        a.id, m.Commitment.framework_id, a.company_id, a.commitment_id, a.valid_from,
        sa.func.coalesce(successor_from, sa.literal(m.OPEN_END, sa.Date)), a.level, a.basis, a.version_id,
    ).join(m.Commitment, m.Commitment.id == a.commitment_id)
    return query if company_ids is None else query.where(a.company_id.in_(company_ids))


def refresh_spans(connection: sa.Connection, company_ids: Iterable[str] | None = None) -> None:
    """Rewrite the spans of these companies (all when None) from their assessments, in the caller's transaction.

    Called after every flush that adds assessments (see `tracker.models`) and by bulk loaders that insert
    with SQLAlchemy Core. A company's spans are rebuilt whole, so rows may arrive in any order (backfills).
    """
    span = m.AssessmentSpan.__table__
    columns = list(span.c.keys())  # the table's column order is `_span_select`'s
    if connection.dialect.name == "postgresql":
        connection.execute(sa.select(sa.func.pg_advisory_xact_lock(SPAN_LOCK_KEY)))
    if company_ids is None:
        connection.execute(span.delete())
        connection.execute(span.insert().from_select(columns, _span_select(None)))
        return
    ids = sorted(set(company_ids))
    for i in range(0, len(ids), _CHUNK):
        chunk = ids[i:i + _CHUNK]
        connection.execute(span.delete().where(span.c.company_id.in_(chunk)))
        connection.execute(span.insert().from_select(columns, _span_select(chunk)))


def repair_spans(connection: sa.Connection) -> bool:
    """Rebuild every span when there are not exactly as many as assessments (for `init`); True if it did.

    Catches the likely fault, a bulk insert that skipped `refresh_spans`, with two counts instead of a
    comparison of every row.
    """
    count = sa.func.count()
    if connection.scalar(sa.select(count).select_from(m.Assessment)) == connection.scalar(
            sa.select(count).select_from(m.AssessmentSpan)):
        return False
    refresh_spans(connection)
    return True


def spans_out_of_date(connection: sa.Connection) -> list[str]:
    """Companies whose spans do not match their assessments (empty when all is well); for checks and tests."""
    expected = {tuple(row) for row in connection.execute(_span_select(None))}
    stored = {tuple(row) for row in connection.execute(sa.select(m.AssessmentSpan.__table__))}
    return sorted({row[2] for row in expected ^ stored})


# ---------------------------------------------------------------------------------------------- as-of reads


def in_force_query(
    as_of: date,
    *,
    framework_id: str | None = None,
    company_ids: Iterable[str] | None = None,
    commitment_ids: Iterable[str] | None = None,
) -> sa.Select:
    """The as-of query: the span in force on `as_of` per (company, commitment), one indexed range scan.

    Columns, in this order (`tracker.queries.Cell` is built from it positionally): company_id, commitment_id,
    level, basis, valid_from, id (the assessment's), version_id. All are in the covering index
    `ix_assessmentspan_framework_asof`, so a framework grid never reads a table.
    """
    span = m.AssessmentSpan
    query = sa.select(
        span.company_id, span.commitment_id, span.level, span.basis, span.valid_from,
        span.assessment_id.label("id"), span.version_id,
    ).where(span.valid_from <= as_of, span.valid_until > as_of)
    if framework_id is not None:
        query = query.where(span.framework_id == framework_id)
    if company_ids is not None:
        query = query.where(span.company_id.in_(list(company_ids)))
    if commitment_ids is not None:
        query = query.where(span.commitment_id.in_(list(commitment_ids)))
    return query


def levels_in_force(session: Session, as_of: date, **filters: Any) -> list[sa.Row]:
    """Level, basis and version per (company, commitment) as of a date: rows of `in_force_query`."""
    return list(session.execute(in_force_query(as_of, **filters)))


def latest_assessments(session: Session, as_of: date, **filters: Any) -> list[sa.Row]:
    """The whole assessment in force per (company, commitment) as of a date (rationale, confidence, ...).

    Rows with the Assessment's column names, read-only: as-of readers never need
    identity-mapped objects, and building thousands of them costs more than the query.
    """
    spans = in_force_query(as_of, **filters).subquery("in_force")
    return list(session.execute(sa.select(*m.Assessment.__table__.c).join(spans, spans.c.id == m.Assessment.id)))


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
