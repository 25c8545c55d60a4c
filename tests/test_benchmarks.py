"""The benchmark data generator and the naive baselines, at a tiny scale (no timing here)."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from benchmarks import baselines
from benchmarks.generate import START, commitment_id, company_id, framework_id, generate
from tracker.read.asof import latest_assessments
from tracker.read.queries import commitment_view, company_view, overview
from tracker.store import models as m
from tracker.store.search import search_versions

COMPANIES, COMMITMENTS, YEARS, PER = 3, 4, 1, 2


@pytest.fixture
def generated(engine):
    counts = generate(engine, COMPANIES, COMMITMENTS, YEARS, seed=7, commitments_per_framework=PER)
    return engine, counts


def _count(session: Session, model, *where) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def test_generator_writes_the_requested_shape(generated):
    engine, counts = generated
    with Session(engine) as session:
        bench = m.Commitment.id.like("bench-%")
        assert _count(session, m.Framework, m.Framework.id.like("bench-%")) == COMMITMENTS // PER
        assert _count(session, m.Commitment, bench) == COMMITMENTS
        assert _count(session, m.Company, m.Company.id.like("bench-%")) == COMPANIES
        assert _count(session, m.Signature, m.Signature.framework_id.like("bench-%")) == COMPANIES * 2
        assert _count(session, m.DocumentVersion) == COMPANIES * 52 * YEARS
        assessments = _count(session, m.Assessment)
        assert assessments >= COMPANIES * COMMITMENTS  # one initial row per pair, then a few changes a year
        assert assessments < COMPANIES * COMMITMENTS * 52 * YEARS / 4
        assert counts.rows["assessment"] == assessments
        assert counts.rows["documentversion"] == COMPANIES * 52 * YEARS
        first = session.scalar(sa.select(m.DocumentVersion).where(
            m.DocumentVersion.source_id == f"{company_id(1)}-framework").order_by(m.DocumentVersion.id).offset(1))
        assert first.previous_version_id == first.id - 1 and first.published_on == date(2021, 1, 11)
        assert {a.commitment_id for a in session.scalars(sa.select(m.Assessment))} == {
            commitment_id(k, PER) for k in range(1, COMMITMENTS + 1)}
        assert commitment_id(3, PER) == "bench-02/C003" and framework_id(2) == "bench-02"


def test_generator_is_deterministic(engine, schema_engine):
    a = generate(engine, 2, 2, 1, seed=3).rows
    b = generate(schema_engine, 2, 2, 1, seed=3).rows
    assert a == b


@pytest.mark.parametrize("as_of", [START, date(2021, 6, 30), date(2030, 1, 1)])
def test_as_of_query_gives_one_row_per_pair_and_agrees_with_replay(generated, as_of):
    engine, _ = generated
    with Session(engine) as session:
        rows = latest_assessments(session, as_of, framework_id=framework_id(1))
        pairs = Counter((a.company_id, a.commitment_id) for a in rows)
        assert len(pairs) == COMPANIES * PER and set(pairs.values()) == {1}
        replayed = baselines.replay_latest_assessments(session, as_of, framework_id=framework_id(1))
        assert sorted(a.id for a in rows) == sorted(a.id for a in replayed)
        everything = latest_assessments(session, as_of)
        assert sorted(a.id for a in everything) == sorted(a.id for a in baselines.replay_latest_assessments(
            session, as_of))


def test_reviewed_rows_on_the_same_day_win_in_both_formulations(generated):
    engine, _ = generated
    with Session(engine) as session:
        reviewed = session.scalar(sa.select(m.Assessment).where(m.Assessment.basis == "reviewed").limit(1))
        if reviewed is None:  # the tiny scale may draw no review: add one on top of an automatic row's day
            auto = session.scalar(sa.select(m.Assessment).order_by(m.Assessment.id.desc()).limit(1))
            reviewed = m.Assessment(company_id=auto.company_id, commitment_id=auto.commitment_id, level=3,
                                    basis="reviewed", valid_from=auto.valid_from, recorded_at=auto.recorded_at)
            session.add(reviewed)
            session.commit()
        for rows in (latest_assessments(session, reviewed.valid_from, company_ids=[reviewed.company_id],
                                        commitment_ids=[reviewed.commitment_id]),
                     baselines.replay_latest_assessments(session, reviewed.valid_from,
                                                         company_ids=[reviewed.company_id],
                                                         commitment_ids=[reviewed.commitment_id])):
            assert [a.id for a in rows] == [reviewed.id]


def test_page_baselines_see_the_same_evidence_as_the_pages(generated):
    engine, _ = generated
    as_of = date(2021, 9, 1)
    with Session(engine) as session:
        view = company_view(session, company_id(1), as_of, framework_id(1))
        assert len(view.cells) == PER
        page_quotes = sum(len(items) for items in view.evidence.values())
        assert baselines.company_page_n_plus_one(session, company_id(1), framework_id(1), as_of) == page_quotes
        cview = commitment_view(session, commitment_id(1, PER), as_of)
        assert len(cview.cells) == COMPANIES
        quotes = sum(len(items) for items in cview.evidence.values())
        assert baselines.commitment_page_n_plus_one(session, commitment_id(1, PER), as_of) == quotes
        assert len(overview(session, framework_id(1), as_of).cells) == COMPANIES * PER


def test_like_baseline_finds_what_full_text_search_finds(generated):
    engine, _ = generated
    with Session(engine) as session:
        text = session.scalar(sa.select(m.DocumentVersion.text).order_by(m.DocumentVersion.id).limit(1))
        token = text.split("Revision note ")[1].rstrip(".")
        hits = search_versions(session, token)
        assert len(hits) == 1
        assert baselines.like_search(session, token) == [hits[0].version_id]
