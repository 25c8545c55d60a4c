"""Stocktake numbers on a synthetic world (tests/stocktake_scenario.py), including the as-of replay."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlmodel import Session

from tests.stocktake_scenario import AS_OF, FRAMEWORK, HOSTILE_QUOTE, SINCE, build
from tracker.core.errors import NotFoundError, ValidationError
from tracker.publish.stocktake import TABLES, build_stocktake, column_docs

PAGE = Path(__file__).resolve().parents[1] / "app_pages" / "stocktake.py"


@pytest.fixture
def world(schema_engine):
    with Session(schema_engine, expire_on_commit=False) as session:
        scenario = build(session)
        session.commit()
        yield session, scenario


def _by(rows, key):
    return {getattr(r, key): r for r in rows}


def test_signatories_are_those_signed_by_the_as_of_date(world):
    session, _ = world
    stocktake = build_stocktake(session, FRAMEWORK, AS_OF, SINCE)
    assert [c.company_id for c in stocktake.companies] == ["alpha", "beta", "gamma"]  # delta signs in 2026
    assert len(stocktake.levels) == 3 * 3
    later = build_stocktake(session, FRAMEWORK, date(2026, 6, 1), SINCE)
    assert "delta" in {c.company_id for c in later.companies}


def test_counts_per_commitment(world):
    session, _ = world
    rows = _by(build_stocktake(session, FRAMEWORK, AS_OF, SINCE).commitments, "commitment")
    one, two, three = rows["I"], rows["II"], rows["III"]
    assert (one.signatories, one.level_0, one.level_1, one.level_2, one.level_3, one.not_assessed) == (3, 0, 1, 0, 1, 1)
    assert (one.average_level, one.average_level_since, one.moved_up, one.moved_down) == (2.0, 1.0, 1, 0)
    assert (two.level_1, two.level_2, two.not_assessed, two.average_level, two.average_level_since) == (1, 1, 1, 1.5, 2.0)
    assert (two.moved_up, two.moved_down) == (0, 1)
    assert (three.level_0, three.not_applicable, three.not_assessed, three.average_level) == (1, 1, 1, 0.0)


def test_as_of_replay_hides_later_levels_versions_and_changes(world):
    session, scenario = world
    stocktake = build_stocktake(session, FRAMEWORK, AS_OF, SINCE)
    alpha_one = next(r for r in stocktake.levels if r.company_id == "alpha" and r.commitment == "I")
    assert alpha_one.level == 3 and alpha_one.level_since == 1 and alpha_one.moved == "up"
    assert scenario.versions["a3"].id not in {c.version_id for c in stocktake.changes}
    assert scenario.changes["later"].id not in {c.change_id for c in stocktake.changes}
    assert scenario.versions["a3"].id not in {d.version_id for d in stocktake.documents}
    # The same database replayed a year later shows the 2026 level and version.
    later = build_stocktake(session, FRAMEWORK, date(2026, 6, 1), AS_OF)
    alpha_one = next(r for r in later.levels if r.company_id == "alpha" and r.commitment == "I")
    assert (alpha_one.level, alpha_one.level_since, alpha_one.moved) == (0, 3, "down")
    assert alpha_one.version_id == scenario.versions["a3"].id
    assert scenario.changes["later"].id in {c.change_id for c in later.changes}


def test_every_level_carries_its_citation(world):
    session, scenario = world
    levels = build_stocktake(session, FRAMEWORK, AS_OF, SINCE).levels
    a2 = scenario.versions["a2"]
    alpha_one = next(r for r in levels if r.company_id == "alpha" and r.commitment == "I")
    assert alpha_one.evidence_quote == "We will always assess risks."  # committing passage beats a weaker one
    assert alpha_one.quote_from == "evidence"
    assert (alpha_one.source_id, alpha_one.version_id, alpha_one.text_sha256) == ("alpha-fw", a2.id, a2.text_sha256)
    assert alpha_one.source_url == a2.url and alpha_one.retrieved_at == a2.fetched_at
    assert alpha_one.raw_sha256 == a2.raw_sha256 and alpha_one.published_on == date(2025, 6, 1)
    # A reviewed level without a version of its own is cited with the company's newest evidence.
    beta_one = next(r for r in levels if r.company_id == "beta" and r.commitment == "I")
    assert beta_one.basis == "reviewed" and beta_one.level == 1
    assert beta_one.evidence_quote == "Beta assesses risks." and beta_one.version_id == scenario.versions["b1"].id
    assert beta_one.quote_from == "newest evidence"
    assert beta_one.rationale == "Reviewer: mentions risk assessment only."
    for row in levels:
        if row.level is not None and row.level > 0:
            assert row.evidence_quote and row.source_url and row.retrieved_at and len(row.text_sha256) == 64, row
    gamma = [r for r in levels if r.company_id == "gamma"]
    assert [r.basis for r in gamma] == ["not assessed", "not assessed", "reviewed"]
    assert [r.level_label for r in gamma] == ["Not assessed", "Not assessed", "Not applicable"]


def test_a_reviewer_quote_cites_the_reviewed_version(world):
    session, scenario = world
    from tests.factories import add_assessment

    b1 = scenario.versions["b1"]
    add_assessment(session, "beta", f"{FRAMEWORK}/III", 2, date(2025, 7, 1), basis="reviewed", version=b1,
                   rationale='Partial: mitigations named, no detail. Quote: "Beta "mitigates" risks."')
    row = next(r for r in build_stocktake(session, FRAMEWORK, AS_OF, SINCE).levels
               if r.company_id == "beta" and r.commitment == "III")
    assert (row.level, row.quote_from, row.evidence_quote) == (2, "rationale", 'Beta "mitigates" risks.')
    assert (row.version_id, row.text_sha256) == (b1.id, b1.text_sha256)


def test_changes_in_the_window(world):
    session, scenario = world
    changes = build_stocktake(session, FRAMEWORK, AS_OF, SINCE).changes
    kinds = sorted((c.kind, c.company_id, c.commitments) for c in changes)
    assert kinds == sorted([
        ("new_version", "alpha", ""), ("new_framework", "beta", ""),
        ("weakened", "alpha", f"{FRAMEWORK}/II"), ("strengthened", "alpha", f"{FRAMEWORK}/I"),
        ("level_up", "alpha", f"{FRAMEWORK}/I"), ("level_down", "alpha", f"{FRAMEWORK}/II"),
        ("level_new", "beta", f"{FRAMEWORK}/II"), ("level_new", "beta", f"{FRAMEWORK}/I"),
        ("deadline_met", "alpha", ""), ("deadline_missed", "beta", ""), ("deadline_missed", "gamma", ""),
    ])
    weakened = next(c for c in changes if c.kind == "weakened")
    assert weakened.change_id == scenario.changes["weakened"].id and weakened.new_quote == HOSTILE_QUOTE
    assert "modal_weakened" in weakened.detail and weakened.date == date(2025, 6, 1)
    assert [c.date for c in changes] == sorted(c.date for c in changes)
    # The hub page (not a framework) seen in 2024 is outside the window: no row.
    assert scenario.versions["hub"].id not in {c.version_id for c in changes}


def test_deadlines_and_company_summary(world):
    session, scenario = world
    stocktake = build_stocktake(session, FRAMEWORK, AS_OF, SINCE)
    status = {d.company_id: d.status for d in stocktake.deadlines}
    assert status == {"alpha": "met", "beta": "late", "gamma": "missed"}
    companies = _by(stocktake.companies, "company_id")
    alpha = companies["alpha"]
    assert (alpha.assessed, alpha.level_0, alpha.level_1, alpha.level_3, alpha.average_level) == (3, 1, 1, 1, 1.333)
    assert (alpha.moved_up, alpha.moved_down, alpha.weakened, alpha.strengthened) == (1, 1, 1, 1)
    assert alpha.first_framework_published_on == date(2024, 10, 1) and alpha.deadlines == "paris: met"
    assert "v" + str(scenario.versions["a2"].id) in alpha.documents
    assert companies["gamma"].assessed == 1 and companies["gamma"].first_framework_published_on is None
    documents = {(d.company_id, d.version_id): d.why for d in stocktake.documents}
    assert documents[("alpha", scenario.versions["a2"].id)] == "in force, cited"
    assert documents[("beta", scenario.versions["b1"].id)] == "in force, cited"
    # Before the deadline nobody can have missed it; someone who signs after it is not held to it.
    early = build_stocktake(session, FRAMEWORK, date(2025, 1, 1), date(2024, 6, 1))
    assert {d.company_id: d.status for d in early.deadlines}["gamma"] == "not due yet"


def test_bad_dates_and_unknown_framework_are_clear_errors(world):
    session, _ = world
    with pytest.raises(ValidationError, match="must not be after"):
        build_stocktake(session, FRAMEWORK, SINCE, AS_OF)
    with pytest.raises(NotFoundError, match=r"unknown framework 'nope'.*fw-test"):
        build_stocktake(session, "nope", AS_OF, SINCE)


def test_every_column_is_documented():
    for table, row_type in TABLES.items():
        docs = column_docs(table)
        assert docs and all(text.strip() for text in docs.values()), (table, row_type)


def test_empty_framework_gives_empty_tables(schema_engine):
    from tests.stocktake_scenario import _catalog

    with Session(schema_engine) as session:
        _catalog(session)
        stocktake = build_stocktake(session, FRAMEWORK, AS_OF, SINCE)
    assert [c.not_assessed for c in stocktake.commitments] == [3, 3, 3]
    assert stocktake.changes and {c.kind for c in stocktake.changes} == {"deadline_missed"}
    assert all(r.evidence_quote == "" and r.level is None for r in stocktake.levels)


def test_stocktake_page_shows_the_numbers_and_offers_downloads(world, use_database):
    from streamlit.testing.v1 import AppTest

    session, _ = world
    use_database(session.get_bind())
    app = AppTest.from_file(str(PAGE), default_timeout=60)
    app.query_params.update({"framework": FRAMEWORK, "as_of": AS_OF.isoformat(), "since": SINCE.isoformat()})
    app.run()
    assert not app.exception, app.exception
    metrics = {metric.label: metric.value for metric in app.metric}
    assert metrics == {"Signatories": "3", "Weakened passages": "1", "Strengthened passages": "1",
                       "Levels up or new": "3", "Levels down": "1"}
    assert any("met by 1 of 3 signatories held to it; 1 late, 1 missed" in m.value for m in app.markdown)
    assert len(app.get("download_button")) == 4
    commitments = app.dataframe[0].value
    assert list(commitments["level_3"]) == [1, 0, 0] and list(commitments["not_assessed"]) == [1, 1, 1]
    assert app.query_params["since"] == [SINCE.isoformat()] or app.query_params["since"] == SINCE.isoformat()


def test_stocktake_page_explains_a_bad_date_range(world, use_database):
    from streamlit.testing.v1 import AppTest

    session, _ = world
    use_database(session.get_bind())
    app = AppTest.from_file(str(PAGE), default_timeout=60)
    app.query_params.update({"framework": FRAMEWORK, "as_of": "2025-01-01", "since": "2025-02-10"})
    app.run()
    assert not app.exception
    assert "must not be after" in app.error[0].value


def test_shipped_data_adds_up(seeded_engine):
    """On the shipped catalog and seed: the counts add up, and every positive level is cited."""
    with Session(seeded_engine) as session:
        stocktake = build_stocktake(session, "seoul-2024", date(2026, 9, 1), date(2025, 2, 10))
    assert [c.commitment for c in stocktake.commitments] == ["I", "II", "III", "IV", "V", "VI", "VII", "VIII"]
    for row in stocktake.commitments:
        total = row.level_0 + row.level_1 + row.level_2 + row.level_3 + row.not_applicable + row.not_assessed
        assert total == row.signatories == len(stocktake.companies)
    positive = [row for row in stocktake.levels if row.level]
    assert positive
    for row in positive:
        assert row.source_url.startswith("http") and len(row.text_sha256) == 64 and row.retrieved_at, row
        assert row.evidence_quote or row.rationale, row
    assert sum(1 for row in positive if row.evidence_quote) >= 0.9 * len(positive)
    assert len(stocktake.deadlines) == len(stocktake.companies)  # Seoul has one deadline: Paris
    assert {c.kind for c in stocktake.changes} <= {"new_framework", "new_version", "weakened", "strengthened",
                                                   "removed", "level_up", "level_down", "level_new",
                                                   "deadline_met", "deadline_missed"}


@pytest.mark.parametrize("as_of, since", [(AS_OF, SINCE), (date(2026, 6, 1), SINCE), (AS_OF, date(2020, 1, 1))])
def test_page_figures_agree_with_the_full_stocktake(world, as_of, since):
    """The page's figures (no citations, new versions only counted) give the full stocktake's numbers."""
    from dataclasses import asdict

    from tracker.publish.stocktake import stocktake_figures

    session, _ = world
    full = build_stocktake(session, FRAMEWORK, as_of, since)
    figures = stocktake_figures(session, FRAMEWORK, as_of, since)
    assert figures.commitments == full.commitments
    assert [{**asdict(c), "documents": ""} for c in full.companies] == [asdict(c) for c in figures.companies]
    assert figures.deadlines == full.deadlines
    documents = [c for c in full.changes if c.kind in ("new_version", "new_framework")]
    citation = ("new_quote", "source_id", "source_url", "version_id", "text_sha256")  # level rows: downloads only

    def plain(row):
        return {k: v for k, v in asdict(row).items() if not (row.kind.startswith("level_") and k in citation)}

    assert [plain(c) for c in figures.changes] == [plain(c) for c in full.changes if c not in documents]
    assert any(c.kind.startswith("level_") for c in figures.changes) or as_of != AS_OF
    assert figures.new_documents == len(documents)
    moves = ("level", "level_since", "moved", "basis", "valid_from", "assessment_id")
    assert [[getattr(r, k) for k in moves] for r in figures.levels] == \
           [[getattr(r, k) for k in moves] for r in full.levels]
