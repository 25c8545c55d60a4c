"""The review workbench page through AppTest: a reviewer clears 20 queued items in place, each decision is
confirmed on the page and shows at once in the public change feed and the corrections page."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import Session, select
from streamlit.testing.v1 import AppTest

from app_pages._account import TOKEN_KEY
from tests.factories import add_change, add_version
from tracker.accounts import auth
from tracker.core.config import PROJECT_ROOT
from tracker.read import queries
from tracker.store import models as m

PASSWORD = "correct horse battery"
DIRECTIONS = ("weakened", "removed", "strengthened", "added")


@pytest.fixture
def workbench_db(engine, use_database):
    use_database(engine)
    with Session(engine, expire_on_commit=False) as session:
        cli = auth.command_line_actor()
        auth.create_user(session, cli, "rev1", "reviewer", password=PASSWORD)
        auth.create_user(session, cli, "rep", "representative", company_id="openai", password=PASSWORD)
        old = add_version(session, "openai-preparedness-framework", "We will pause. We will publish.",
                          published_on=date(2025, 1, 1))
        new = add_version(session, "openai-preparedness-framework", "We may pause. We may publish.",
                          published_on=date(2025, 6, 1), previous=old)
        for i in range(20):
            add_change(session, old, new, DIRECTIONS[i % 4], old_quote=f"We will do thing {i}.",
                       new_quote=f"We may do <b>thing</b> {i}.", commitments=["seoul-2024/IV"],
                       announced="partly")
        session.commit()
    return engine


def run_review(token: str) -> AppTest:
    app = AppTest.from_file(str(PROJECT_ROOT / "app_pages" / "review.py"), default_timeout=60)
    app.session_state[TOKEN_KEY] = token
    return app.run()


def test_reviewer_clears_twenty_items_without_leaving_the_page(workbench_db):
    with Session(workbench_db) as session:
        rep_token = auth.start_session(session, auth.get_user(session, "rep"))
        token = auth.start_session(session, auth.get_user(session, "rev1"))
        session.commit()
    denied = run_review(rep_token)
    assert "for reviewers" in denied.warning[0].value and not denied.text_area

    app = run_review(token)
    assert not app.exception
    assert "20 item(s)" in app.caption[0].value
    assert not any("<b>" in md.value for md in app.markdown)  # quotes are shown as inert text
    for n in range(20):
        if n % 5 == 4:
            app.radio[0].set_value("dismiss")
        app.text_area[0].input(f"decision {n}")
        app.button[0].click().run()
        assert not app.exception and not app.error, [e.value for e in app.error]
        assert app.success and app.success[0].value.startswith("change-")
    assert "Nothing is waiting for review." in [md.value for md in app.markdown]

    with Session(workbench_db) as session:
        reviews = session.exec(select(m.ChangeReview)).all()
        assert len(reviews) == 20 and {r.reviewer for r in reviews} == {"rev1"}
        assert sum(r.dismissed for r in reviews) == 4
        assert len(session.exec(select(m.AuditLog).where(m.AuditLog.action.like("review.%"))).all()) == 20
        feed = queries.change_feed(session, include_dismissed=True)
    statuses = {c.direction: c.review_status for c in feed if not c.dismissed}
    # weakenings wait for a second reviewer; one reviewer settles the others at once
    assert statuses["weakened"] == statuses["removed"] == "awaiting-second"
    assert statuses["strengthened"] == statuses["added"] == "reviewed"

    corrections = AppTest.from_file(str(PROJECT_ROOT / "app_pages" / "corrections.py"), default_timeout=60).run()
    assert not corrections.exception
    shown = corrections.dataframe[0].value
    assert set(shown["after"]) == {"not a change (dismissed)"}  # the non-weakenings dismissed by one reviewer


def test_corrections_and_methodology_pages_show_reviewer_agreement(workbench_db):
    page = PROJECT_ROOT / "app_pages"
    empty = AppTest.from_file(str(page / "corrections.py"), default_timeout=60).run()
    assert not empty.exception and "No corrections yet" in " ".join(i.value for i in empty.info)
    before = AppTest.from_file(str(page / "methodology.py"), default_timeout=60).run()
    assert not before.exception
    assert "No change has been decided by two reviewers yet." in [i.value for i in before.info]
    from tracker.accounts import reviews as rv

    with Session(workbench_db, expire_on_commit=False) as session:
        auth.create_user(session, auth.command_line_actor(), "rev2", "reviewer", password=PASSWORD)
        weakened = session.exec(select(m.ChangeEvent).where(m.ChangeEvent.direction == "weakened")).all()
        for change, second in zip(weakened[:2], ({"confirm": True}, {"direction": "reworded"}), strict=True):
            rv.decide(session, auth.get_user(session, "rev1"), f"change-{change.id}", confirm=True, reason="softer")
            rv.decide(session, auth.get_user(session, "rev2"), f"change-{change.id}", reason="second", **second)
        session.commit()
    after = AppTest.from_file(str(page / "methodology.py"), default_timeout=60).run()
    rate = next(metric for metric in after.metric if metric.label == "Agreement rate")
    assert rate.value == "50%"
