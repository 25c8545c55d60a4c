"""Search read model, citations and the Search page: hits from quotes and texts, marked and escaped snippets."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import Session

from tests.test_pages import INJECTION, build_dashboard_data, run_page, texts
from tracker.core.errors import ValidationError
from tracker.read.cite import archived_url, cite, text_fragment_url
from tracker.read.search import mark, search


@pytest.fixture
def world(engine, use_database):
    use_database(engine)
    with Session(engine, expire_on_commit=False) as session:
        ids = build_dashboard_data(session)
    return {**ids, "engine": engine}


def test_search_finds_quotes_and_passages_with_filters(world):
    with Session(world["engine"]) as session:
        result = search(session, "capability thresholds")
        kinds = {h.kind for h in result.hits}
        assert kinds == {"quote", "text"}, result.hits  # the v1 quote, and passages of both stored texts
        assert all(h.company_id == "anthropic" for h in result.hits)
        assert any(matched and text.lower().startswith("threshold") for h in result.hits for matched, text in h.snippet)
        assert search(session, "capability thresholds", company_ids=["openai"]).hits == []
        assert search(session, "capability thresholds", until=date(2024, 1, 1)).hits == []
        frontier = search(session, "frontier models", framework_id="seoul-2024")
        assert [h.company_id for h in frontier.hits] == ["openai"] and frontier.hits[0].kind == "quote"
        with pytest.raises(ValidationError):
            search(session, "  ** ")


def test_mark_cuts_around_the_first_match():
    runs = mark("a " * 400 + "third-party review of the policy " + "b " * 400, ["third", "party"], limit=100)
    text = "".join(t for _, t in runs)
    assert text.startswith("…") and text.endswith("…") and len(text) < 110
    assert [t for matched, t in runs if matched] == ["third", "party"]


def test_citation_fields():
    assert archived_url("https://x.test/a", date(2025, 3, 1)) == "https://web.archive.org/web/20250301/https://x.test/a"
    fragment = text_fragment_url("https://x.test/a#top", "We will commission a third-party review, yearly", "html")
    assert fragment == "https://x.test/a#:~:text=We%20will%20commission%20a%20third%2Dparty%20review%2C%20yearly"
    assert text_fragment_url("https://x.test/a.pdf", "We will", "pdf") == "https://x.test/a.pdf"
    long = text_fragment_url("https://x.test/a", " ".join(f"w{i}" for i in range(30)), "html")
    assert long.endswith("#:~:text=w0%20w1%20w2%20w3%20w4%20w5,w24%20w25%20w26%20w27%20w28%20w29")
    citation = cite(public_url="https://tracker.test", page="company", params={"company": "a", "date": date(2025, 6, 1)},
                    company_name="A", source_title="Policy", version_label="v2", url="https://x.test/a",
                    document_format="html", retrieved=date(2025, 3, 1), quote="We will pause.",
                    claim="level 2 partial", as_of=date(2025, 6, 1))
    assert citation.permalink == "https://tracker.test/company?company=a&date=2025-06-01"
    assert "retrieved 2025-03-01" in citation.line and citation.archived_url in citation.line
    assert "“We will pause.”" in citation.line and citation.permalink in citation.line


def test_search_page_escapes_payloads_and_links_each_hit(world):
    app = run_page("app_pages/search.py", {"q": "pause training"})
    shown = texts(app)
    assert "hits from 1 company" in shown
    assert ":orange-background[**pause**]" in shown
    links = [link for link in app.get("page_link") if link.label == "Passage in its version"]
    assert links, "each hit links to its passage"
    injected = run_page("app_pages/search.py", {"q": "training " + INJECTION})
    markdown = " ".join(e.value for e in injected.markdown)
    for raw in ("<script>", "](javascript", ":red[", "$x$"):
        assert raw not in markdown
