"""Every page rendered with markup payloads in every outside field: the Markdown each element gets stays inert."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from tests.test_pages import build_dashboard_data, run_page
from tracker.store import models as m

PAYLOAD = "P ![img](https://x.test/i.png) [l](javascript:alert(1)) :red[r] $x$ <script>s</script> **b**"
RAW = ("![img]", "](javascript", ":red[r]", "$x$", "<script>", "**b**")
PAGES = {
    "app_pages/overview.py": {"date": "2025-06-01", "signatories": "0"},
    "app_pages/company.py": {"company": "anthropic", "commitment": "seoul-2024/II", "date": "2025-06-01"},
    "app_pages/commitment.py": {"commitment": "seoul-2024/II", "date": "2025-06-01", "compare": "anthropic"},
    "app_pages/changes.py": {},
    "app_pages/documents.py": {"source": "anthropic-rsp", "find": "pause"},
    "app_pages/search.py": {"q": "pause"},
    "app_pages/sources.py": {},
    "app_pages/methodology.py": {},
}


@pytest.fixture
def poisoned(engine, use_database):
    """The dashboard world with the payload in every catalog and document field a page shows."""
    use_database(engine)
    with Session(engine, expire_on_commit=False) as session:
        build_dashboard_data(session)
        anthropic = session.get(m.Company, "anthropic")
        anthropic.name = "Anthropic " + PAYLOAD
        anthropic.website = "javascript:alert(1)"
        anthropic.group = PAYLOAD
        for source in session.scalars(sa.select(m.Source).where(m.Source.company_id == "anthropic")):
            source.title = PAYLOAD
            source.notes = PAYLOAD
        commitment = session.get(m.Commitment, "seoul-2024/II")
        commitment.title, commitment.text, commitment.note = PAYLOAD, PAYLOAD, PAYLOAD
        framework = session.get(m.Framework, "seoul-2024")
        framework.name = framework.short_name = "Seoul " + PAYLOAD
        for version in session.scalars(sa.select(m.DocumentVersion)):
            version.version_label = PAYLOAD
        for evidence in session.scalars(sa.select(m.Evidence)):
            evidence.section = PAYLOAD
        for change in session.scalars(sa.select(m.ChangeEvent)):
            change.old_section = change.new_section = PAYLOAD
            change.reasons = [{"code": "modal_weakened", "detail": PAYLOAD}, {"code": "x", "text": PAYLOAD}]
            change.old_quote = (change.old_quote or "") + " " + PAYLOAD if change.old_quote else None
        session.commit()


def _rendered(app) -> list[str]:
    """The Markdown source of every element that renders Markdown (including labels)."""
    values = [str(e.value) for kind in ("markdown", "caption", "info", "warning", "success", "error", "title",
                                        "subheader", "header") for e in getattr(app, kind)]
    values += [e.label for e in app.expander] + [e.label for e in app.metric] + [e.label for e in app.tabs]
    values += [link.label for link in app.get("page_link")]
    return values


@pytest.mark.parametrize("page", list(PAGES))
def test_page_keeps_payloads_inert(poisoned, page):
    app = run_page(page, PAGES[page])
    rendered = _rendered(app)
    assert rendered, "the page rendered something"
    leaks = [(raw, value[:200]) for value in rendered for raw in RAW if raw in value]
    assert not leaks, leaks
    if page not in ("app_pages/sources.py", "app_pages/methodology.py", "app_pages/search.py"):
        assert any("\\!\\[img\\]" in value for value in rendered), "the payload is shown, as text"
    assert not [b for b in app.get("link_button") if "javascript" in str(getattr(b.proto, "url", ""))]
