"""Read models behind the pages: right numbers, a cache key that moves on every write, a fixed query count."""

from __future__ import annotations

import pickle
from contextlib import contextmanager
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from tests import factories as f
from tests.test_pages import AS_OF, INJECTION, build_dashboard_data
from tracker.core.errors import NotFoundError
from tracker.read import queries as q
from tracker.store import models as m


@contextmanager
def count_queries(engine):
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)


def test_data_version_changes_on_every_kind_of_write(engine):
    with Session(engine, expire_on_commit=False) as session:
        seen = {q.data_version(session)}
        version = f.add_version(session, "anthropic-rsp", "text one")
        session.commit()
        seen.add(q.data_version(session))
        f.add_assessment(session, "anthropic", "seoul-2024/I", 1, date(2025, 1, 1), version=version)
        session.commit()
        seen.add(q.data_version(session))
        session.add(m.FetchAttempt(source_id="anthropic-rsp", url="https://x.test", outcome="failed"))
        session.commit()
        seen.add(q.data_version(session))
        assert len(seen) == 4
        assert q.data_version(session) == q.data_version(session)


def test_company_view_numbers_and_query_count(engine):
    with Session(engine, expire_on_commit=False) as session:
        ids = build_dashboard_data(session)
    with Session(engine) as session, count_queries(engine) as statements:
        view = q.company_view(session, "anthropic", AS_OF)
    assert view.framework.id == "seoul-2024"
    assert {k: (c.level, c.basis) for k, c in view.cells.items()} == {
        "seoul-2024/II": (3, "reviewed"), "seoul-2024/IV": (1, "automatic")}
    assert [e.quote for e in view.evidence["seoul-2024/II"]] == [INJECTION]
    assert view.evidence["seoul-2024/II"][0].version.id == ids["v2"]
    assert [c.direction for c in view.changes] == ["weakened", "added"]
    assert len(view.timeline) == 3
    rsp = next(d for d in view.documents if d.source.id == "anthropic-rsp")
    assert [v.id for v in rsp.versions] == [ids["v2"], ids["v1"]] and rsp.versions[0].label == "v2.1 (2025-03-31)"
    assert len(statements) <= 12, statements  # a fixed number of queries, not one per commitment or version
    pickle.loads(pickle.dumps(view))  # st.cache_data pickles what it stores


def test_commitment_view_and_crosswalk(engine):
    with Session(engine, expire_on_commit=False) as session:
        build_dashboard_data(session)
        view = q.commitment_view(session, "seoul-2024/II", date(2025, 1, 1))
        assert view.cells["anthropic"].level == 2
        assert view.evidence["anthropic"][0].quote.startswith("We will define capability thresholds")
        counts = view.level_counts()
        assert counts["2"] == 1 and sum(counts.values()) == len(view.companies)
        links = session.scalar(sa.select(sa.func.count()).select_from(m.CommitmentLink).where(sa.or_(
            m.CommitmentLink.from_commitment_id == "seoul-2024/II", m.CommitmentLink.to_commitment_id == "seoul-2024/II")))
        assert len(view.links) == links
        with pytest.raises(NotFoundError, match="unknown commitment"):
            q.commitment_view(session, "seoul-2024/XX", AS_OF)
        with pytest.raises(NotFoundError, match="unknown company"):
            q.company_view(session, "nobody", AS_OF)


def test_change_and_version_feeds_filter_and_order(engine):
    with Session(engine, expire_on_commit=False) as session:
        build_dashboard_data(session)
        feed = q.change_feed(session)
        assert [c.direction for c in feed] == ["weakened", "added"]
        assert feed[0].old_version.version_label == "2.0" and feed[0].new_version.version_label == "2.1"
        assert q.change_feed(session, company_ids=["openai"]) == []
        assert q.change_feed(session, since=date(2025, 4, 1)) == []
        assert [c.direction for c in q.change_feed(session, directions=["added"])] == ["added"]
        versions = q.version_feed(session)
        assert [v.version.version_label for v in versions] == ["2.1", "2.0", "beta"]
        assert versions[0].change_counts == {"weakened": 1, "added": 1}
        assert [v.version.version_label for v in q.version_feed(session, until=date(2024, 12, 31))] == ["2.0", "beta"]


def test_sources_health_last_attempt_success_and_unchanged(engine):
    with Session(engine, expire_on_commit=False) as session:
        for day, outcome in ((1, "new_version"), (2, "unchanged"), (3, "failed")):
            session.add(m.FetchAttempt(source_id="anthropic-rsp", url="https://x.test", outcome=outcome,
                                       reason="timeout" if outcome == "failed" else None,
                                       started_at=datetime(2026, 1, day, tzinfo=UTC)))
        session.commit()
        view = q.sources_health(session)
        rsp = next(s for s in view.sources if s.source_id == "anthropic-rsp")
        assert (rsp.status, rsp.last_reason, rsp.failures) == ("failing", "timeout", 1)
        assert rsp.last_success_at == datetime(2026, 1, 2, tzinfo=UTC)
        assert rsp.last_unchanged_at == datetime(2026, 1, 2, tzinfo=UTC)
        assert [s.source_id for s in view.failing()] == ["anthropic-rsp"]


def test_version_quotes_for_a_version_without_text(engine):
    with Session(engine, expire_on_commit=False) as session:
        ids = build_dashboard_data(session)
        assert q.version_text(session, ids["seed"]) is None
        assert [i.quote for i in q.version_quotes(session, ids["seed"])] == [
            "We evaluate frontier models before deployment."]


def test_methodology_reads_rubrics_texts_and_metrics():
    material = q.methodology()
    assert "seoul-2024" in material.rubrics
    assert {"indicator", "what we look for", "core"} <= set(material.rubrics["seoul-2024"].columns)
    assert "mapping" in material.texts and "mapping" in material.metrics


def test_overview_and_commitment_views_issue_the_same_queries_for_two_or_twenty_companies(engine):
    """No query per company or per cell: growing the grid tenfold adds rows, not statements."""
    with Session(engine, expire_on_commit=False) as session:
        build_dashboard_data(session)

    def statements() -> tuple[int, int, q.Overview]:
        with Session(engine) as session, count_queries(engine) as overview_sql:
            view = q.overview(session, "seoul-2024", AS_OF)
        with Session(engine) as session, count_queries(engine) as commitment_sql:
            q.commitment_view(session, "seoul-2024/II", AS_OF)
        return len(overview_sql), len(commitment_sql), view

    small_overview, small_commitment, before = statements()
    with Session(engine, expire_on_commit=False) as session:
        signatories = [c.id for c in before.companies]
        commitments = [c.id for c in before.commitments]
        for n, company_id in enumerate(signatories):
            for k, commitment_id in enumerate(commitments):
                f.add_assessment(session, company_id, commitment_id, (n + k) % 4, date(2025, 1, 1))
        session.commit()
    big_overview, big_commitment, after = statements()
    assert len(after.cells) == len(signatories) * len(commitments) > 10 * len(before.cells)
    assert (big_overview, big_commitment) == (small_overview, small_commitment)
    assert small_overview <= 8, small_overview
