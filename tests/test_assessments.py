"""The as-of read: assessment spans agree with a replay of the history however rows arrive, on every path
that writes assessments (sessions, bulk loads, the migration that introduced them)."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import Session

from tests import factories as f
from tracker.read.asof import latest_assessments, levels_in_force
from tracker.store import models as m
from tracker.store.spans import refresh_spans, spans_out_of_date
from tracker.store.vocabulary import BASIS_RANK

COMPANIES = ["anthropic", "openai"]
COMMITMENTS = ["seoul-2024/I", "seoul-2024/II"]
DAY0 = date(2025, 1, 1)
FUTURE = date(2030, 1, 1)  # after anything the shipped seed holds


def replay(rows: list[dict], as_of: date) -> dict[tuple[str, str], int]:
    """The definition, written out: per pair the newest row by (valid_from, basis rank, recorded_at, id)."""
    best: dict[tuple[str, str], dict] = {}
    for row in rows:
        if row["valid_from"] > as_of:
            continue
        key = (row["company_id"], row["commitment_id"])
        rank = (row["valid_from"], BASIS_RANK[row["basis"]], row["recorded_at"], row["id"])
        if key not in best or rank > best[key]["rank"]:
            best[key] = {**row, "rank": rank}
    return {key: row["id"] for key, row in best.items()}


def _in_force(session: Session, as_of: date, **filters) -> dict[tuple[str, str], int]:
    rows = levels_in_force(session, as_of, **filters)
    pairs = [(r.company_id, r.commitment_id) for r in rows]
    assert len(pairs) == len(set(pairs)), "more than one row in force for a pair"
    return {(r.company_id, r.commitment_id): r.id for r in rows}


history = st.lists(
    st.tuples(
        st.sampled_from(COMPANIES), st.sampled_from(COMMITMENTS), st.integers(0, 6),  # valid_from: DAY0 + n days
        st.sampled_from(sorted(BASIS_RANK)), st.integers(0, 3), st.integers(0, 3),  # basis, level, recorded slot
        st.integers(1, 3),  # flush group: rows arrive in several flushes, not in date order
    ),
    min_size=1, max_size=14,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=history)
def test_spans_agree_with_replay_for_any_history_and_arrival_order(engine, rows):
    with Session(engine) as session:
        session.execute(sa.delete(m.AssessmentSpan))
        session.execute(sa.delete(m.Assessment))
        written = []
        for group in (1, 2, 3):
            for company, commitment, day, basis, level, slot, g in rows:
                if g != group:
                    continue
                a = f.add_assessment(session, company, commitment, level, DAY0 + timedelta(days=day), basis=basis,
                                     recorded_at=datetime(2025, 6, 1, slot, tzinfo=UTC))
                written.append({"id": a.id, "company_id": company, "commitment_id": commitment,
                                "valid_from": a.valid_from, "basis": basis, "recorded_at": a.recorded_at})
            session.commit()
        assert spans_out_of_date(session.connection()) == []
        for offset in range(-1, 9):
            as_of = DAY0 + timedelta(days=offset)
            assert _in_force(session, as_of) == replay(written, as_of), as_of
        as_of = DAY0 + timedelta(days=3)
        expected = {k: v for k, v in replay(written, as_of).items() if k[0] == "openai"}
        assert _in_force(session, as_of, framework_id="seoul-2024", company_ids=["openai"]) == expected
        full = {(a.company_id, a.commitment_id): a for a in latest_assessments(session, as_of)}
        assert {k: a.id for k, a in full.items()} == replay(written, as_of)
        assert all(a.rationale == "" and a.valid_from <= as_of for a in full.values())


def test_a_review_on_the_same_day_outranks_the_automatic_level_and_a_later_one_supersedes_it(session):
    auto = f.add_assessment(session, "openai", "seoul-2024/I", 1, DAY0)
    reviewed = f.add_assessment(session, "openai", "seoul-2024/I", 3, DAY0, basis="reviewed",
                                recorded_at=datetime(2024, 1, 1, tzinfo=UTC))  # recorded earlier, still wins
    later = f.add_assessment(session, "openai", "seoul-2024/I", 2, DAY0 + timedelta(days=30))
    spans = {s.assessment_id: s for s in session.exec(sa.select(m.AssessmentSpan)).scalars()}
    assert (spans[auto.id].valid_from, spans[auto.id].valid_until) == (DAY0, DAY0)  # outranked: empty span
    assert spans[reviewed.id].valid_until == later.valid_from
    assert spans[later.id].valid_until == m.OPEN_END
    assert [r.level for r in levels_in_force(session, DAY0)] == [3]
    assert [r.level for r in levels_in_force(session, DAY0 + timedelta(days=30))] == [2]
    assert levels_in_force(session, DAY0 - timedelta(days=1)) == []


def test_bulk_loads_rebuild_spans_with_refresh_spans(engine):
    with engine.begin() as connection:
        connection.execute(sa.insert(m.Assessment.__table__), [
            {"company_id": "meta", "commitment_id": "seoul-2024/III", "level": n % 4, "basis": "automatic",
             "valid_from": DAY0 + timedelta(days=n), "recorded_at": datetime(2025, 1, 1, tzinfo=UTC),
             "rationale": "", "assessor": "tracker", "origin": "pipeline"} for n in range(5)])
        assert spans_out_of_date(connection) == ["meta"]  # Core inserts bypass the session hook ...
        refresh_spans(connection, ["meta"])  # ... so bulk loaders call this
        assert spans_out_of_date(connection) == []
    with Session(engine) as session:
        assert [r.level for r in levels_in_force(session, DAY0 + timedelta(days=10))] == [0]


def test_the_shipped_seed_loads_with_its_spans_and_replays_the_same_levels(seeded_engine):
    with seeded_engine.connect() as connection:
        assert connection.scalar(sa.select(sa.func.count()).select_from(m.AssessmentSpan)) == connection.scalar(
            sa.select(sa.func.count()).select_from(m.Assessment)) > 0
        assert spans_out_of_date(connection) == []
    with Session(seeded_engine) as session:
        written = [dict(row._mapping) for row in session.execute(sa.select(
            m.Assessment.id, m.Assessment.company_id, m.Assessment.commitment_id, m.Assessment.valid_from,
            m.Assessment.basis, m.Assessment.recorded_at))]
        for as_of in (date(2024, 5, 21), date(2025, 2, 10), date(2025, 10, 1), date(2026, 11, 28)):
            assert _in_force(session, as_of) == replay(written, as_of), as_of


def test_migration_fills_spans_for_existing_assessments(db_server):
    """0003 computes spans in SQL of its own: it must agree with refresh_spans on a history with ties."""
    from tracker.core.db import get_engine

    name = f"ct_mig_{random.randrange(1 << 30):08x}"
    url = db_server.create(name)
    engine = get_engine(url)
    try:
        _migrate_a_history(engine, url)
    finally:
        engine.dispose()
        get_engine.cache_clear()
        db_server.drop(name)


def _migrate_a_history(engine, url: str) -> None:
    from alembic import command

    from tracker.core.db import alembic_config

    config = alembic_config(url)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0002")
    tables = sa.MetaData()
    tables.reflect(engine)
    rows = [("openai", "seoul-2024/I", 0, "automatic", 1, 7), ("openai", "seoul-2024/I", 0, "reviewed", 3, 6),
            ("openai", "seoul-2024/I", 9, "automatic", 2, 7), ("openai", "seoul-2024/I", 9, "self-reported", 1, 5),
            ("openai", "seoul-2024/II", 4, "automatic", 0, 7), ("openai", "seoul-2024/II", 4, "automatic", 2, 8)]
    with engine.begin() as connection:
        connection.execute(tables.tables["framework"].insert(), [{
            "id": "seoul-2024", "name": "Seoul", "short_name": "Seoul", "announced": DAY0, "publisher": "x",
            "source_url": "https://x.test", "description": "", "deadlines": "[]", "preamble": "[]", "groups": "[]"}])
        connection.execute(tables.tables["commitment"].insert(), [{
            "id": c, "framework_id": "seoul-2024", "number": c[-2:], "position": n, "title": c, "text": c,
            "source_url": "https://x.test", "text_confirmed": True, "title_official": False,
            "detail_text_confirmed": False} for n, c in enumerate(COMMITMENTS)])
        connection.execute(tables.tables["company"].insert(), [{
            "id": "openai", "name": "OpenAI", "aliases": "[]", "country": "US", "group": "frontier-lab",
            "haip": "{}"}])
        connection.execute(tables.tables["assessment"].insert(), [{
            "company_id": company, "commitment_id": commitment, "valid_from": DAY0 + timedelta(days=day),
            "basis": basis, "level": level, "recorded_at": datetime(2025, 1, 1, hour), "assessor": "t",
            "rationale": "", "origin": "pipeline"} for company, commitment, day, basis, level, hour in rows])
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    with Session(engine) as session:
        assert spans_out_of_date(session.connection()) == []
        assert sorted((r.commitment_id, r.level) for r in levels_in_force(session, DAY0 + timedelta(days=5))) == [
            ("seoul-2024/I", 3), ("seoul-2024/II", 2)]
        assert sorted((r.commitment_id, r.level) for r in levels_in_force(session, DAY0 + timedelta(days=9))) == [
            ("seoul-2024/I", 1), ("seoul-2024/II", 2)]
    engine.dispose()


def test_framework_grid_reads_only_the_covering_index(session):
    """The overview's read is one range scan of ix_assessmentspan_framework_asof, never a table lookup."""
    from tracker.read.asof import in_force_query

    query = in_force_query(DAY0, framework_id="seoul-2024")
    index = next(i for i in m.AssessmentSpan.__table__.indexes if i.name == "ix_assessmentspan_framework_asof")
    assert {c.name for c in m.AssessmentSpan.__table__.c if c.name in str(query)} <= {c.name for c in index.columns}
    sql = str(query.compile(session.get_bind(), compile_kwargs={"literal_binds": True}))
    if session.get_bind().dialect.name == "sqlite":
        plan = " ".join(str(row[-1]) for row in session.execute(sa.text(f"EXPLAIN QUERY PLAN {sql}")))
        assert "COVERING INDEX ix_assessmentspan_framework_asof" in plan, plan
    else:  # a near-empty table is scanned whatever the indexes: forbid that, and see which index it would use
        session.execute(sa.text("SET LOCAL enable_seqscan = off"))
        session.execute(sa.text("SET LOCAL enable_bitmapscan = off"))
        plan = " ".join(str(row[0]) for row in session.execute(sa.text(f"EXPLAIN {sql}")))
        assert "Index Only Scan using ix_assessmentspan_framework_asof" in plan, plan


def test_init_rebuilds_spans_that_a_bulk_insert_left_out(engine):
    """A company the seed does not touch, so no session flush happens to rebuild its spans on the way."""
    from tracker.ingest.bootstrap import initialize

    with engine.begin() as connection:
        connection.execute(sa.insert(m.Assessment.__table__), [{
            "company_id": "apple", "commitment_id": "white-house-2023/1", "level": 2, "basis": "automatic",
            "valid_from": FUTURE, "recorded_at": datetime(2025, 1, 1, tzinfo=UTC), "rationale": "",
            "assessor": "tracker", "origin": "pipeline"}])
    counts = initialize(engine)
    assert counts["assessment spans rebuilt"] == 1
    assert "assessment spans rebuilt" not in initialize(engine)  # idempotent once repaired
    with Session(engine) as session:
        assert [r.level for r in levels_in_force(session, FUTURE, company_ids=["apple"],
                                                 commitment_ids=["white-house-2023/1"])] == [2]


def test_two_writers_adding_levels_for_one_company_leave_consistent_spans(engine):
    """A refresh and a reviewer writing at once: the second rebuild waits for the first and sees its row."""
    import threading

    first = Session(engine)
    f.add_assessment(first, "openai", "seoul-2024/I", 1, DAY0)  # flushed: spans rebuilt, transaction open
    errors: list[BaseException] = []

    def second_writer() -> None:
        try:
            with Session(engine) as second:
                f.add_assessment(second, "openai", "seoul-2024/I", 3, DAY0, basis="reviewed")
                second.commit()
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    thread = threading.Thread(target=second_writer)
    thread.start()
    thread.join(timeout=1.0)
    assert thread.is_alive(), "the second writer should wait for the first transaction"
    first.commit()
    first.close()
    thread.join(timeout=30)
    assert not errors, errors
    with Session(engine) as session:
        assert spans_out_of_date(session.connection()) == []
        assert [(r.level, r.basis) for r in levels_in_force(session, DAY0)] == [(3, "reviewed")]
