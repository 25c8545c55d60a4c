"""Naive formulations the benchmarks compare against: same answers, the obvious (slow) way.

They are kept here, not in `tracker/`, because nothing in the tracker should call them; tests check that they
agree with the real queries, so a ratio in the benchmark table compares like with like.
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlmodel import Session

from tracker.read.asof import latest_assessments
from tracker.store import models as m
from tracker.store.search import query_words
from tracker.store.vocabulary import BASIS_RANK


def _order_key(a: m.Assessment) -> tuple:
    return (a.valid_from, BASIS_RANK.get(a.basis, 0), a.recorded_at, a.id)


def replay_latest_assessments(
    session: Session, as_of: date, *, framework_id: str | None = None, company_ids: list[str] | None = None,
    commitment_ids: list[str] | None = None,
) -> list[m.Assessment]:
    """As-of by replay: load every row up to the date and keep the newest per pair in Python."""
    query = sa.select(m.Assessment).where(m.Assessment.valid_from <= as_of)
    if framework_id is not None:
        query = query.where(m.Assessment.commitment_id.like(f"{framework_id}/%"))
    if company_ids is not None:
        query = query.where(m.Assessment.company_id.in_(list(company_ids)))
    if commitment_ids is not None:
        query = query.where(m.Assessment.commitment_id.in_(list(commitment_ids)))
    latest: dict[tuple[str, str], m.Assessment] = {}
    for row in session.scalars(query):
        key = (row.company_id, row.commitment_id)
        if key not in latest or _order_key(row) > _order_key(latest[key]):
            latest[key] = row
    return list(latest.values())


def company_page_n_plus_one(session: Session, company_id: str, framework_id: str, as_of: date) -> int:
    """The company page the naive way: per commitment, one as-of query and one evidence query."""
    rows = 0
    commitments = session.scalars(sa.select(m.Commitment.id).where(m.Commitment.framework_id == framework_id)).all()
    for commitment_id in commitments:
        for a in latest_assessments(session, as_of, company_ids=[company_id], commitment_ids=[commitment_id]):
            rows += len(session.scalars(sa.select(m.Evidence).where(
                m.Evidence.version_id == a.version_id, m.Evidence.commitment_id == commitment_id)).all())
    return rows


def commitment_page_n_plus_one(session: Session, commitment_id: str, as_of: date) -> int:
    """The commitment page the naive way: per signatory, one as-of query and one evidence query."""
    rows = 0
    framework_id = commitment_id.split("/")[0]
    companies = session.scalars(sa.select(m.Signature.company_id).where(
        m.Signature.framework_id == framework_id, m.Signature.signed_on <= as_of)).all()
    for company_id in companies:
        for a in latest_assessments(session, as_of, company_ids=[company_id], commitment_ids=[commitment_id]):
            rows += len(session.scalars(sa.select(m.Evidence).where(
                m.Evidence.version_id == a.version_id, m.Evidence.commitment_id == commitment_id)).all())
    return rows


def like_search(session: Session, query: str, limit: int = 20) -> list[int]:
    """Full-text search by scanning: every word as a case-insensitive substring of the whole text."""
    conditions = [sa.func.lower(m.DocumentVersion.text).like(f"%{word.lower()}%") for word in query_words(query)]
    return list(session.scalars(
        sa.select(m.DocumentVersion.id).where(*conditions).order_by(m.DocumentVersion.id.desc()).limit(limit)))
