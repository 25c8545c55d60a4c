"""Cell scores and change probabilities: stored, kept inside the level's band, copied to the spans the grids read,
shipped in the seed, and used to rank the review queue."""

from __future__ import annotations

from datetime import date
from itertools import pairwise

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from tests.factories import add_assessment, add_change, add_version
from tracker.accounts import auth
from tracker.accounts import reviews as rv
from tracker.read import queries
from tracker.read.asof import levels_in_force
from tracker.store import models as m
from tracker.store.vocabulary import LEVEL_SCORE_BANDS, score_in_band

SOURCE = "openai-preparedness-framework"


def test_score_in_band_keeps_level_order_and_score_order_in_agreement():
    assert score_in_band(None, 80.0) is None and score_in_band(2, None) is None
    assert score_in_band(3, 40.0) == 70.0  # a reviewed 3 on thin evidence still sorts above every 2
    assert score_in_band(2, 95.0) == 69.9  # a capped 2 never outranks a 3
    assert score_in_band(1, 30.04) == 30.0
    bands = [LEVEL_SCORE_BANDS[level] for level in sorted(LEVEL_SCORE_BANDS)]
    assert all(high < next_low for (_, high), (next_low, _) in pairwise(bands))


def test_the_span_and_the_as_of_read_carry_the_score(session: Session):
    version = add_version(session, SOURCE, "We will evaluate every model.", published_on=date(2025, 1, 1))
    assessment = add_assessment(session, "openai", "seoul-2024/I", 3, date(2025, 1, 1), version=version)
    assessment.score = 84.5
    session.add(assessment)
    session.flush()
    from tracker.store.spans import refresh_spans
    refresh_spans(session.connection(), ["openai"])
    span = session.get(m.AssessmentSpan, assessment.id)
    assert span.score == 84.5
    rows = levels_in_force(session, date(2025, 2, 1), framework_id="seoul-2024")
    cell = queries._cell(next(r for r in rows if r.company_id == "openai" and r.commitment_id == "seoul-2024/I"))
    assert cell.score == 84.5 and cell.level == 3


def test_the_review_queue_ranks_changes_by_their_stored_probability(session: Session):
    reviewer = auth.create_user(session, auth.command_line_actor(), "rev1", "reviewer",
                                password="correct horse battery")
    old = add_version(session, SOURCE, "We will halt. We publish.", published_on=date(2025, 1, 1))
    new = add_version(session, SOURCE, "We may halt. We publish.", published_on=date(2025, 6, 1), previous=old)
    sure = add_change(session, old, new, "weakened", old_quote="We will halt.", new_quote="We may halt.")
    unsure = add_change(session, old, new, "weakened", old_quote="We publish.", new_quote="We publish.")
    sure.probability, unsure.probability = 0.93, 0.41
    session.add_all([sure, unsure])
    session.commit()
    changes = [i for i in rv.queue(session, reviewer) if i.kind == "change"]
    assert [i.probability for i in changes[:2]] == [0.93, 0.41]


@pytest.fixture
def seeded_session(seeded_engine):
    with Session(seeded_engine) as session:
        yield session


def test_the_shipped_seed_carries_scores_that_order_the_levels(seeded_session: Session):
    rows = seeded_session.exec(select(m.Assessment.level, m.Assessment.score)
                               .where(m.Assessment.method != "no-framework",
                                      m.Assessment.level.is_not(None))).all()
    scored = [(level, score) for level, score in rows if score is not None]
    assert len(scored) >= 0.9 * len(rows), "most mapped and reviewed cells carry a score"
    for level, score in scored:
        low, high = LEVEL_SCORE_BANDS[level]
        assert low <= score <= high, (level, score)
    threes = [s for level, s in scored if level == 3]
    twos = [s for level, s in scored if level == 2]
    assert threes and twos and min(threes) > max(twos)  # level-3 cells are ordered by their scores, above the 2s
    assert len(set(threes)) >= 8  # the score tells level-3 cells apart (15 distinct values in the seed of 2026-12-03)


def test_the_shipped_seed_carries_change_probabilities(seeded_session: Session):
    total = seeded_session.scalar(sa.select(sa.func.count()).select_from(m.ChangeEvent))
    with_probability = seeded_session.scalar(sa.select(sa.func.count()).select_from(m.ChangeEvent)
                                             .where(m.ChangeEvent.probability.is_not(None)))
    assert total and with_probability == total


def test_the_grid_shows_the_independent_level_with_the_company_claim_beside_it(session: Session):
    from app_pages._grid import _company_table

    version = add_version(session, SOURCE, "We will evaluate every model.", published_on=date(2025, 1, 1))
    automatic = add_assessment(session, "openai", "seoul-2024/I", 2, date(2025, 1, 1), version=version)
    automatic.score = 61.0
    add_assessment(session, "openai", "seoul-2024/I", 3, date(2025, 3, 1), basis="self-reported")
    session.commit()
    view = queries.overview(session, "seoul-2024", date(2025, 4, 1))
    assert view.cells["openai", "seoul-2024/I"].basis == "self-reported"  # the spans rank the accepted claim first
    assert view.independent["openai", "seoul-2024/I"].level == 2
    row = _company_table(view).set_index("_id").loc["openai"]
    assert row["I"].startswith("2 ") and "(61)" in row["I"] and row["I"].endswith("· claims 3 ✎")
    assert row["Average"] == 2.0  # the company's own claim never counts as the tracker's level
