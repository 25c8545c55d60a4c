"""The regimes on the pages, driven with AppTest: the overview's deadline table and crosswalked union, the company
page's obligations (declined, chapter-only scope, clocks linked to their versions), a commitment's measures and
equivalents, and the regime flags in the change feed."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import Session

from tests import factories as f
from tests.test_obligations import _history
from tests.test_pages import run_page, texts
from tracker.core.escaping import escape_markdown
from tracker.store import models as m

DAY = "2026-09-01"


@pytest.fixture
def regimes_world(engine, use_database):
    use_database(engine)
    with Session(engine, expire_on_commit=False) as session:
        ids = _history(session, "anthropic-rsp")
        _history(session, "meta-advanced-ai-scaling-framework")
        latest = session.get(m.DocumentVersion, ids["logged"])
        f.add_evidence(session, latest, "ca-sb53-2025/fw-2",
                       "We will evaluate every model against our capability thresholds before deployment.",
                       indicator_id="thresholds")
        f.add_assessment(session, "anthropic", "seoul-2024/II", 1, date(2026, 5, 4), version=latest)
        f.add_assessment(session, "anthropic", "ca-sb53-2025/fw-2", 3, date(2026, 5, 4), version=latest,
                         basis="reviewed")
        f.add_assessment(session, "anthropic", "eu-cop-ss-2025/4", 2, date(2026, 5, 4), version=latest)
        session.commit()
    return ids


def _frames(app):
    return [d.value for d in app.dataframe]


def test_overview_of_a_regime_counts_its_clocks_and_pages_the_rows(regimes_world):
    app = run_page("app_pages/overview.py", {"framework": "eu-cop-ss-2025", "date": DAY})
    shown = texts(app)
    assert "#### Deadlines" in shown
    assert "Declined to sign, so not counted: Meta" in shown
    counts = next(frame for frame in _frames(app) if "Clock" in frame.columns and "What it checks" in frame.columns)
    assert len(counts) == 3
    before_market = counts[counts["Clock"].str.startswith("Safety and Security Framework in place")].iloc[0]
    assert before_market["met"] == 1 and before_market["missed"] == 8
    rows = next(frame for frame in _frames(app) if "Rests on" in frame.columns)
    assert len(rows) == 27 and set(rows["Company"]) >= {"Anthropic", "xAI"}
    anthropic = rows[(rows["Company"] == "Anthropic") & rows["Clock"].str.startswith("Every Framework update")]
    assert anthropic.iloc[0]["Status"] == "met" and anthropic.iloc[0]["Rests on"] == "v2.1 (2026-05-04)"
    assert anthropic.iloc[0]["Version"] == f"documents?source=anthropic-rsp&version={regimes_world['logged']}"


def test_overview_of_a_voluntary_framework_has_no_deadline_table(regimes_world):
    app = run_page("app_pages/overview.py", {"framework": "white-house-2023", "date": DAY})
    assert "#### Deadlines" not in texts(app)


def test_overview_crosswalked_union_names_the_regime_a_level_comes_from(regimes_world):
    app = run_page("app_pages/overview.py", {"framework": "crosswalked", "date": DAY})
    shown = texts(app)
    assert "crosswalked with every regime" in shown and "How the crosswalked levels are built" in shown
    assert "Levels that come from a regime" in {metric.label for metric in app.metric}
    grid = next(frame for frame in _frames(app) if "Company" in frame.columns and "II" in frame.columns)
    anthropic = grid[grid["Company"] == "Anthropic"].iloc[0]
    assert anthropic["II"].startswith("3 ") and anthropic["II"].endswith("SB 53 fw-2")
    assert anthropic["IV"].startswith("2 ") and anthropic["IV"].endswith("EU 4")
    sources = next(frame for frame in _frames(app) if "Seoul's own level" in frame.columns)
    assert list(sources["Seoul"]) == ["II", "IV"] and list(sources["Level shown"]) == [3, 2]
    assert app.query_params["framework"] == ["crosswalked"] or app.query_params["framework"] == "crosswalked"


def test_company_page_shows_declined_bound_and_upcoming_regimes(regimes_world):
    app = run_page("app_pages/company.py", {"company": "meta", "date": DAY})
    shown = texts(app)
    assert "Legal and regime obligations" in shown
    assert ":red[**Declined to sign**] on 18 Jul 2025" in shown and "no clock runs" in shown
    assert "**Bound by law from** 01 Jan 2026" in shown and "Will be bound by law from" in shown
    assert "Flags on its published updates" in shown and "without a published justification" in shown
    signed = next(frame for frame in _frames(app) if "Status" in frame.columns and "Framework" in frame.columns)
    assert "declined to sign" in set(signed["Status"])
    clocks = next(frame for frame in _frames(app) if "Rests on" in frame.columns)
    assert set(clocks["Clock"]) == {
        "Frontier AI framework published when the law takes effect (1 Jan 2026)",
        "Framework reviewed and, as appropriate, updated at least once per year",
        "A material modification published with its justification within 30 days"}
    assert all(str(url).startswith("documents?source=meta-") for url in clocks["Version"] if url)
    eu = run_page("app_pages/company.py", {"company": "meta", "date": DAY, "framework": "eu-cop-ss-2025"})
    assert any("declined to sign" in w.value for w in eu.warning)


def test_company_page_shows_a_chapter_only_signature(regimes_world):
    shown = texts(run_page("app_pages/company.py", {"company": "xai", "date": DAY}))
    assert "scope: **Safety and Security chapter only**" in shown
    assert "the day it announced it would sign" in shown


def test_commitment_page_lists_measures_and_one_company_on_every_equivalent(regimes_world):
    app = run_page("app_pages/commitment.py", {"commitment": "eu-cop-ss-2025/4", "date": DAY,
                                               "company": "anthropic"})
    shown = texts(app)
    assert "Measures" in shown and "**4\\.1**" in shown
    assert "One company on every equivalent commitment" in shown
    labels = [e.label for e in app.expander]
    assert labels[0].startswith("EU Code \\(Safety \\& Security\\) 4. Systemic risk acceptance determination — 2")
    assert any(label.startswith("Seoul 2024 IV.") and "not assessed" in label for label in labels)
    sb53 = next(label for label in labels if "fw\\-2" in label)
    assert "3 comprehensive" in sb53
    # quotes are rendered through the one escaping helper, so the page holds their escaped form
    assert escape_markdown("We will evaluate every model against our capability thresholds before deployment.") in shown


def test_change_feed_shows_the_regime_flags_of_each_update(regimes_world):
    app = run_page("app_pages/changes.py", {"company": "anthropic"})
    flags = [c.value for c in app.caption if str(c.value).startswith(":material/warning:")]
    assert any("This update" in text and "California SB 53" in text for text in flags)
    assert any("EU Code" in text and "without a changelog" in text for text in flags)


def test_methodology_documents_how_the_union_counts_a_link(regimes_world):
    from tracker.read import union

    shown = texts(run_page("app_pages/methodology.py"))
    assert "Regimes and the crosswalked union" in shown
    assert f"**at most as level {union.PART_CAP}**" in shown  # the note and the read model agree
    assert "in at most two steps" in shown and union.MAX_STEPS == 2
