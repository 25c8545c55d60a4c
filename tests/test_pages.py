"""Every page driven with Streamlit's AppTest against fixture data: no exceptions, the right numbers, safe text."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
from sqlmodel import Session
from streamlit.testing.v1 import AppTest

from tests import factories as f
from tracker.core.config import PROJECT_ROOT
from tracker.read.text import changed_words, diff_markdown, escape_markdown, passage_diff, word_diff
from tracker.store import models as m
from tracker.store.vocabulary import DIRECTION_ICONS

APP = str(PROJECT_ROOT / "app.py")
PAGES = ["app_pages/overview.py", "app_pages/company.py", "app_pages/commitment.py", "app_pages/changes.py", "app_pages/documents.py",
         "app_pages/sources.py", "app_pages/methodology.py"]
INJECTION = "We **will** [pause](javascript:alert(1)) <script>alert(1)</script> $x$ :red[training]"
AS_OF = date(2025, 6, 1)


def build_dashboard_data(session: Session) -> dict[str, object]:
    """A small, fully known world: two companies, three versions, four assessments, one weakened change."""
    v1_text = ("## Thresholds\n\nWe will define capability thresholds for biological risks.\n\n"
               "We will pause training if a threshold is crossed.\n")
    v2_text = ("## Thresholds\n\nWe will define capability thresholds for biological risks.\n\n"
               "We may pause training if a threshold is crossed, unless a competitor proceeds.\n\n"
               "## New section\n\n" + INJECTION + "\n")
    v1 = f.add_version(session, "anthropic-rsp", v1_text, published_on=date(2024, 10, 15), version_label="2.0",
                       fetched_at=datetime(2024, 10, 16, tzinfo=UTC))
    v2 = f.add_version(session, "anthropic-rsp", v2_text, published_on=date(2025, 3, 31), version_label="2.1",
                       fetched_at=datetime(2025, 4, 1, tzinfo=UTC), previous=v1)
    seed = f.add_version(session, "openai-preparedness-framework", "seed text", published_on=date(2023, 12, 18),
                         version_label="beta", origin="seed")
    seed.text = None
    f.add_evidence(session, v1, "seoul-2024/II", "We will define capability thresholds for biological risks.",
                   indicator_id="thresholds", section="Thresholds")
    f.add_evidence(session, v2, "seoul-2024/II", INJECTION, indicator_id="examples", section="New section")
    f.add_evidence(session, seed, "seoul-2024/I", "We evaluate frontier models before deployment.",
                   indicator_id="lifecycle", section="Evaluations")
    f.add_assessment(session, "anthropic", "seoul-2024/II", 2, date(2024, 10, 15), version=v1,
                     rationale="Thresholds defined")
    f.add_assessment(session, "anthropic", "seoul-2024/II", 3, date(2025, 4, 2), version=v2, basis="reviewed",
                     rationale="Reviewer: examples given")
    f.add_assessment(session, "anthropic", "seoul-2024/IV", 1, date(2024, 10, 15), version=v1)
    f.add_assessment(session, "openai", "seoul-2024/I", 3, date(2023, 12, 18), version=seed, basis="self-reported")
    f.add_change(session, v1, v2, "weakened", old_quote="We will pause training if a threshold is crossed.",
                 new_quote="We may pause training if a threshold is crossed, unless a competitor proceeds.",
                 commitments=["seoul-2024/IV"], reasons=[{"code": "modal_weakened", "detail": "'will' → 'may'"}])
    f.add_change(session, v1, v2, "added", new_quote=INJECTION, commitments=["seoul-2024/II"])
    session.commit()
    return {"v1": v1.id, "v2": v2.id, "seed": seed.id}


def run_page(page: str, params: dict[str, str] | None = None) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=60)
    for key, value in (params or {}).items():
        app.query_params[key] = value
    if page != "app_pages/overview.py":
        app.switch_page(page)
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def metrics(app: AppTest) -> dict[str, str]:
    return {metric.label: metric.value for metric in app.metric}


def texts(app: AppTest) -> str:
    """Everything a reader sees as text (markdown, captions, info boxes, expander labels), joined."""
    parts = [e.value for kind in ("markdown", "caption", "info", "warning", "success", "title", "subheader")
             for e in getattr(app, kind)]
    parts += [e.label for e in app.expander]
    return "\n".join(str(p) for p in parts)


@pytest.fixture
def world(engine, use_database):
    use_database(engine)
    with Session(engine, expire_on_commit=False) as session:
        ids = build_dashboard_data(session)
        signatories = session.scalar(sa.select(sa.func.count()).select_from(m.Signature).where(
            m.Signature.framework_id == "seoul-2024", m.Signature.signed_on <= AS_OF))
        framework = session.get(m.Framework, "seoul-2024")
        deadline = date.fromisoformat(framework.deadlines[0]["date"]) if framework.deadlines else None
        due = session.scalar(sa.select(sa.func.count()).select_from(m.Signature).where(
            m.Signature.framework_id == "seoul-2024", m.Signature.signed_on <= deadline)) if deadline else None
        commitments = session.scalar(sa.select(sa.func.count()).select_from(m.Commitment).where(
            m.Commitment.framework_id == "seoul-2024"))
    return {**ids, "engine": engine, "signatories": signatories, "due": due, "commitments": commitments}


# ------------------------------------------------------------------------------------------- empty state


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_on_an_empty_database(engine, use_database, page):
    use_database(engine)
    params = {"company": "anthropic"} if page == "app_pages/company.py" else {}
    app = run_page(page, params)
    assert not app.error
    shown = texts(app)
    if page in ("app_pages/overview.py", "app_pages/company.py"):
        assert "No evidence yet" in shown
    if page == "app_pages/changes.py":
        assert "No flagged changes" in shown
    if page == "app_pages/documents.py":
        assert "No version stored yet" in shown
    if page == "app_pages/sources.py":
        assert "No refresh has run yet" in shown


# ------------------------------------------------------------------------------------------------ overview


def test_overview_headline_numbers_and_links(world):
    app = run_page("app_pages/overview.py", {"date": AS_OF.isoformat()})
    values = metrics(app)
    assert values["Companies shown"] == str(world["signatories"])
    assert values["Cells assessed"] == f"3 of {world['signatories'] * world['commitments']}"
    if world["due"] is not None:
        label = next(k for k in values if k.startswith("Published a framework by"))
        # Anthropic (2024-10-15) and OpenAI (2023-12-18) published framework documents before the deadline.
        assert values[label] == f"2 of {world['due']}"
    assert app.get("plotly_chart"), "the at-a-glance summary is drawn"
    grid = app.dataframe[1].value  # the Styler of one page of companies
    grid = getattr(grid, "data", grid)
    assert {"Company", "I", "II", "Average"} <= set(grid.columns)
    row = grid.index[grid["Company"] == "Anthropic"][0]
    assert grid.loc[row, "II"].startswith("3 ") and grid.loc[row, "IV"].startswith("1 ")
    links = {link.label for link in app.get("page_link")}
    assert {"Anthropic", "OpenAI"} <= links
    assert "reviewed" in texts(app) and "self-reported" in texts(app)


def test_overview_replays_history_and_writes_the_url(world):
    app = run_page("app_pages/overview.py", {"date": "2024-12-01", "framework": "seoul-2024"})
    assert metrics(app)["Cells assessed"].startswith("3 of")  # II (level 2), IV, and OpenAI I
    frame = app.dataframe[0].value
    average_ii = frame.loc[frame["No."] == "II", "Average level"].item()
    assert average_ii == 2.0
    later = run_page("app_pages/overview.py", {"date": AS_OF.isoformat()})
    frame = later.dataframe[0].value
    assert frame.loc[frame["No."] == "II", "Average level"].item() == 3.0  # the reviewed level from 2025-04-02
    before = run_page("app_pages/overview.py", {"date": "2023-06-01", "signatories": "0"})
    assert metrics(before)["Cells assessed"].startswith("0 of")
    # Before the first framework of the catalog (White House, 21 Jul 2023): clamped to it, with a note.
    assert before.query_params["date"] in (["2023-07-21"], "2023-07-21")
    assert any("2023-06-01" in i.value for i in before.info)
    inside = run_page("app_pages/overview.py", {"date": "2023-08-01", "signatories": "0"})
    assert inside.query_params["date"] in (["2023-08-01"], "2023-08-01")


def test_overview_grid_search_and_cell_click_open_the_company(world):
    app = run_page("app_pages/overview.py", {"date": AS_OF.isoformat(), "find": "anthr"})
    grid = app.dataframe[1].value
    grid = getattr(grid, "data", grid)
    assert list(grid["Company"]) == ["Anthropic"]
    # A click on a cell is a single-cell selection of the grid: it opens the company at that commitment.
    app.session_state["grid"] = {"selection": {"rows": [], "columns": [], "cells": [[0, "II"]]}}
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    assert any(t.value == "Anthropic" for t in app.title)
    assert app.query_params.get("commitment") in ("seoul-2024/II", ["seoul-2024/II"])


def test_overview_opens_dates_before_2023(world):
    app = run_page("app_pages/overview.py", {"date": "2021-03-01", "signatories": "0"})
    assert metrics(app)["Cells assessed"].startswith("0 of")
    assert not app.warning


def test_overview_filters_by_company_group(world):
    app = run_page("app_pages/overview.py", {"date": AS_OF.isoformat(), "groups": "no-such-group"})
    assert metrics(app)["Companies shown"] == str(world["signatories"])  # unknown group ignored, not an error
    with Session(world["engine"]) as session:
        group = session.get(m.Company, "anthropic").group
        in_group = session.scalar(sa.select(sa.func.count()).select_from(m.Signature).join(
            m.Company, m.Company.id == m.Signature.company_id).where(
            m.Signature.framework_id == "seoul-2024", m.Signature.signed_on <= AS_OF, m.Company.group == group))
    app = run_page("app_pages/overview.py", {"date": AS_OF.isoformat(), "groups": group})
    assert metrics(app)["Companies shown"] == str(in_group)


# ------------------------------------------------------------------------------------------------- company


def test_company_page_levels_quotes_timeline_documents_changes(world):
    app = run_page("app_pages/company.py", {"company": "anthropic", "commitment": "seoul-2024/II",
                                        "date": AS_OF.isoformat()})
    assert app.title[0].value == "Anthropic"
    labels = [e.label for e in app.expander]
    assert labels[0].startswith("II.") and labels[0].endswith("3 comprehensive ✓")  # focused commitment first
    assert any(label.startswith("IV.") and label.endswith("1 mentioned ·") for label in labels)
    shown = texts(app)
    assert escape_markdown(INJECTION) in shown  # the v2 quote behind the reviewed level, escaped
    assert "Seoul" in shown or "Frontier" in shown
    assert f"{DIRECTION_ICONS['weakened']} **Weakened** · Responsible Scaling Policy v2\\.0" in shown  # flagged change, escaped labels
    assert len(app.get("plotly_chart")) == 1  # timeline
    assert any(link.label == "Stored version" for link in app.get("page_link"))
    # As of before the review, the automatic level and the v1 quote are shown instead.
    earlier = run_page("app_pages/company.py", {"company": "anthropic", "commitment": "seoul-2024/II",
                                            "date": "2025-01-01"})
    assert earlier.expander[0].label.endswith("2 partial ·")
    assert "capability thresholds for biological risks" in texts(earlier)
    assert "weakened" not in " ".join(m.value for m in earlier.markdown)  # the change came later


def test_company_page_labels_a_self_reported_level_and_links_its_submission(world):
    with Session(world["engine"]) as session:
        rep = m.User(username="rep", role="representative", company_id="openai")
        session.add(rep)
        session.flush()
        report = m.SelfReport(company_id="openai", commitment_id="seoul-2024/VII", submitted_by=rep.id,
                              claimed_level=2, statement="We publish system cards.", status="approved")
        session.add(report)
        session.flush()
        f.add_assessment(session, "openai", "seoul-2024/VII", 2, date(2024, 1, 1), basis="self-reported",
                         rationale="Company claim").self_report_id = report.id
        session.commit()
        report_id = report.id
    app = run_page("app_pages/company.py", {"company": "openai", "commitment": "seoul-2024/VII",
                                        "date": AS_OF.isoformat()})
    # The company's claim is shown beside the tracker's own reading, labelled, never instead of it.
    assert app.expander[0].label.endswith("tracker: not assessed · company's claim: 2 partial ✎")
    notes = [i.value for i in app.info]
    assert any("Company's own claim" in n and f"submission?id={report_id}" in n for n in notes), notes
    assert "Tracker's level: not assessed" in texts(app)


def test_company_page_without_a_company_lists_companies_and_unknown_is_explained(world):
    app = run_page("app_pages/company.py")
    assert "Choose a company" in texts(app)
    assert len(app.get("page_link")) >= 2
    unknown = run_page("app_pages/company.py", {"company": "nobody"})
    assert any("Unknown company" in w.value for w in unknown.info)


# ---------------------------------------------------------------------------------------------- commitment


def test_commitment_page_counts_quotes_crosswalk_and_unconfirmed_flag(world):
    with Session(world["engine"]) as session:
        commitment = session.get(m.Commitment, "seoul-2024/II")
        commitment.text_confirmed = False
        session.add(commitment)
        session.commit()
    app = run_page("app_pages/commitment.py", {"commitment": "seoul-2024/II", "date": AS_OF.isoformat()})
    values = metrics(app)
    assert values["3 comprehensive"] == "1"
    assert values["not assessed"] == str(world["signatories"] - 1)
    assert any("not yet confirmed" in w.value for w in app.warning)
    assert escape_markdown(INJECTION) in texts(app)
    table = app.dataframe[0].value
    assert table.loc[table["Company"] == "Anthropic", "Level"].item() == "3 comprehensive ✓"


def test_commitment_link_to_another_framework_switches_framework(world):
    app = run_page("app_pages/commitment.py", {"commitment": "white-house-2023/1"})
    assert app.title[0].value.startswith("1.")
    assert app.selectbox[0].value == "white-house-2023"


# ------------------------------------------------------------------------------------------------- changes


def test_changes_feed_weakened_first_with_a_safe_diff(world):
    app = run_page("app_pages/changes.py")
    values = metrics(app)
    assert values[f"{DIRECTION_ICONS['weakened']} Weakened"] == "1" and values[f"{DIRECTION_ICONS['added']} Added"] == "1"
    markdown = [e.value for e in app.markdown]
    headers = [v for v in markdown if "**WEAKENED**" in v or "**ADDED**" in v]
    assert "WEAKENED" in headers[0]
    diff = diff_markdown("We will pause training if a threshold is crossed.",
                         "We may pause training if a threshold is crossed, unless a competitor proceeds.")
    assert diff in markdown
    assert not any("<script>" in v for v in markdown), "scraped text reaches Markdown only escaped"
    only_openai = run_page("app_pages/changes.py", {"company": "openai"})
    assert "No flagged changes" in texts(only_openai)
    later = run_page("app_pages/changes.py", {"since": "2025-05-01"})
    assert metrics(later)[f"{DIRECTION_ICONS['weakened']} Weakened"] == "0"


# ----------------------------------------------------------------------------------------------- documents


def test_documents_side_by_side_diff_and_seed_versions(world):
    app = run_page("app_pages/documents.py", {"source": "anthropic-rsp", "version": str(world["v2"]),
                                          "compare": str(world["v1"])})
    markdown = [e.value for e in app.markdown]
    assert any(":red-background[~~will~~]" in v for v in markdown)
    assert any(":green-background[may]" in v for v in markdown)
    assert "1 passages changed" in texts(app) and "added" in texts(app)
    seed = run_page("app_pages/documents.py", {"source": "openai-preparedness-framework"})
    shown = texts(seed)
    assert "quotes only" in shown
    assert "We evaluate frontier models before deployment" in shown.replace("\\", "")


# ------------------------------------------------------------------------------------------ sources health


def test_sources_health_counts_failures_and_runs(world):
    with Session(world["engine"]) as session:
        run = m.RefreshRun(status="finished", finished_at=datetime(2026, 1, 2, tzinfo=UTC), counts={"sources": 2})
        session.add(run)
        session.flush()
        session.add(m.FetchAttempt(source_id="anthropic-rsp", run_id=run.id, url="https://x.test/a",
                                   outcome="unchanged", http_status=200, started_at=datetime(2026, 1, 2, tzinfo=UTC)))
        session.add(m.FetchAttempt(source_id="openai-preparedness-framework", run_id=run.id,
                                   url="https://x.test/b", outcome="failed", http_status=404, reason="http_404",
                                   error="Not Found", started_at=datetime(2026, 1, 2, tzinfo=UTC)))
        session.commit()
    app = run_page("app_pages/sources.py")
    values = metrics(app)
    assert values["OK"] == "1" and values["Failing"] == "1"
    failing = app.dataframe[0].value
    assert list(failing["Reason"]) == ["http_404"]
    runs = app.dataframe[2].value
    assert list(runs["Status"]) == ["finished"]


# --------------------------------------------------------------------------------------------- methodology


def test_methodology_shows_rubrics_and_measured_agreement(world):
    app = run_page("app_pages/methodology.py")
    mapping = json.loads((PROJECT_ROOT / "data" / "metrics" / "mapping.json").read_text())
    assert metrics(app)["Top-1 agreement"] == f"{mapping['top1_accuracy']:.0%}"
    assert any(len(frame.value) > 0 and "indicator" in frame.value.columns for frame in app.dataframe)


# ------------------------------------------------------------------------------------ safe text rendering


def test_escape_markdown_neutralises_markup():
    escaped = escape_markdown(INJECTION)
    for raw in ("**will**", "[pause](", "<script>", "$x$", ":red["):
        assert raw not in escaped
    assert escape_markdown("a\n\n    b") == "a b"
    assert escape_markdown("3.5 * 2") == "3\\.5 \\* 2"


def test_word_diff_marks_removed_and_added_words():
    parts = word_diff("we will pause", "we may pause now")
    assert [(p.kind, p.text) for p in parts] == [
        ("equal", "we"), ("removed", "will"), ("added", "may"), ("equal", "pause"), ("added", "now")]
    assert changed_words("a b c", "a c d") == (["b"], ["d"])
    assert diff_markdown("x <b>", "x <i>") == "x :red-background[~~\\<b\\>~~] :green-background[\\<i\\>]"


def test_passage_diff_collapses_unchanged_runs():
    old = "\n\n".join(f"Paragraph number {i} says something long enough to be a passage." for i in range(6))
    new = old.replace("number 3 says", "number 3 now says") + "\n\nA new closing paragraph that is long enough."
    rows = passage_diff(old, new)
    assert [r.kind for r in rows] == ["equal", "changed", "equal", "added"]
    assert rows[0].unchanged == 3 and rows[2].unchanged == 2


# ------------------------------------------------------------------------------------ journeys in one session


def _goto(app: AppTest, page: str, params: dict[str, str]) -> AppTest:
    """Follow a link in the same session: the URL changes, session state (widget values) stays."""
    for key in list(app.query_params):
        del app.query_params[key]
    for key, value in params.items():
        app.query_params[key] = value
    app.switch_page(page)
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def test_links_between_pages_keep_each_pages_own_state(world):
    """The three crashes readers hit: pages shared the widget keys `company` and `compare` with other types."""
    app = run_page("app_pages/changes.py", {"company": "anthropic"})  # a list of companies here...
    _goto(app, "app_pages/company.py", {"company": "anthropic"})  # ...one company there
    assert app.title[0].value == "Anthropic"
    _goto(app, "app_pages/commitment.py", {"commitment": "seoul-2024/II", "date": AS_OF.isoformat()})
    # "Stored version" on a Commitment page: `compare` is a list of companies there, a version id on Documents.
    _goto(app, "app_pages/documents.py", {"source": "anthropic-rsp", "version": str(world["v2"])})
    assert any("passages changed" in c.value for c in app.caption)
    _goto(app, "app_pages/commitment.py", {})  # the sidebar from Documents to Commitment
    assert app.title[0].value.startswith("I")


def test_bad_link_values_fall_back_with_a_note(world):
    app = run_page("app_pages/company.py", {"company": "anthropic", "date": "1999-01-01", "commitment": "nope/1"})
    notes = " ".join(i.value for i in app.info)
    assert "1999-01-01" in notes and "Unknown commitment" in notes
    assert app.date_input[0].value >= date(2023, 7, 21)
    app = run_page("app_pages/changes.py", {"since": "1900-01-01", "until": "2999-01-01", "direction": "sideways"})
    notes = " ".join(i.value for i in app.info)
    assert "1900-01-01" in notes and "2999-01-01" in notes and "sideways" in notes
    app = run_page("app_pages/documents.py", {"source": "anthropic-rsp", "version": "99999999999999999999"})
    assert any("not valid" in i.value for i in app.info)


def test_company_changes_link_keeps_filters_and_counts_agree(world):
    app = run_page("app_pages/company.py", {"company": "anthropic", "date": AS_OF.isoformat(),
                                             "changes_commitment": "seoul-2024/IV"})
    link = next(link for link in app.get("page_link") if "changes with their diffs" in link.label)
    assert link.label.startswith("All 1 changes")
    changes = run_page("app_pages/changes.py", {"company": "anthropic", "commitment": "seoul-2024/IV",
                                                "until": AS_OF.isoformat()})
    assert sum(int(v) for v in metrics(changes).values()) == 1
    assert any("The commitment verb got weaker" in e.value for e in changes.markdown)  # the reason in plain words
