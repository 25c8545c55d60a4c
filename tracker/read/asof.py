"""The as-of reader: the assessment in force per (company, commitment) on any date, one indexed range scan over
the spans that `tracker.store.spans` keeps.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from tracker.store import models as m


def in_force_query(
    as_of: date,
    *,
    framework_id: str | None = None,
    company_ids: Iterable[str] | None = None,
    commitment_ids: Iterable[str] | None = None,
) -> sa.Select:
    """The as-of query: the span in force on `as_of` per (company, commitment), one indexed range scan.

    Columns, in this order (`tracker.read.queries.Cell` is built from it positionally): company_id, commitment_id,
    level, basis, valid_from, id (the assessment's), version_id, score. All are in the covering index
    `ix_assessmentspan_framework_asof`, so a framework grid never reads a table.
    """
    span = m.AssessmentSpan
    query = sa.select(
        span.company_id, span.commitment_id, span.level, span.basis, span.valid_from,
        span.assessment_id.label("id"), span.version_id, span.score,
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
