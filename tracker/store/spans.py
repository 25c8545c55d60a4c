"""Span upkeep and the one way to add an assessment.

Assessments are never updated: a new row supersedes older ones for the same (company, commitment). "As of D" is
the newest row with `valid_from <= D`; among rows with the same `valid_from` a human judgement (reviewed, then
self-reported and approved) outranks an automatic one, then the later recorded row wins. That precedence is
resolved once, when an assessment is added, into `AssessmentSpan` rows ([valid_from, valid_until) per
assessment), so reading any date is a range scan (`tracker.read.asof`, benchmarks/README.md).

The after-flush listener lives here, not beside the tables, so the models import nothing of the upkeep; the
`tracker.store` package imports this module, so no session that can see the tables can skip it.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlmodel import Session

from tracker.store import models as m
from tracker.store.vocabulary import BASES, BASIS_RANK, LEVELS


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
        a.score,
    ).join(m.Commitment, m.Commitment.id == a.commitment_id)
    return query if company_ids is None else query.where(a.company_id.in_(company_ids))


def refresh_spans(connection: sa.Connection, company_ids: Iterable[str] | None = None) -> None:
    """Rewrite the spans of these companies (all when None) from their assessments, in the caller's transaction.

    Called after every flush that adds assessments (see `tracker.store.models`) and by bulk loaders that insert
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


def add_assessment(session: Session, assessment: m.Assessment) -> m.Assessment:
    """Append an assessment (never update one). Validates level and basis; callers that act for a person go through `tracker.accounts`."""
    if assessment.level is not None and assessment.level not in LEVELS:
        raise ValueError(f"level must be one of {sorted(LEVELS)} or None, not {assessment.level!r}")
    if assessment.basis not in BASES:
        raise ValueError(f"basis must be one of {BASES}, not {assessment.basis!r}")
    session.add(assessment)
    session.flush()
    return assessment


@sa.event.listens_for(sa.orm.Session, "after_flush")
def _keep_assessment_spans(session: sa.orm.Session, _context: object) -> None:
    """Every flush that adds assessments rewrites those companies' spans in the same transaction.

    Bulk loaders that insert with Core call `refresh_spans` themselves.
    """
    companies = {obj.company_id for obj in session.new if isinstance(obj, m.Assessment)}
    if companies:
        refresh_spans(session.connection(), companies)
