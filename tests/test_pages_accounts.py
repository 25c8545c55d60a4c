"""Account pages through Streamlit's AppTest: sign-in, invitations, submitting, reviewing, audit, public view."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select
from streamlit.testing.v1 import AppTest

from app_pages._account import TOKEN_KEY, page_files_for
from tracker.accounts import auth
from tracker.accounts import selfreports as sr
from tracker.core.config import PROJECT_ROOT
from tracker.store import models as m

PASSWORD = "correct horse battery"
PAYLOAD = "We did it. <script>alert('x')</script> [click me](https://evil.example) **bold** :red[alarm]"


@pytest.fixture
def app_db(engine, use_database):
    use_database(engine)
    with Session(engine, expire_on_commit=False) as session:
        cli = auth.command_line_actor()
        auth.create_user(session, cli, "admin1", "admin", password=PASSWORD)
        auth.create_user(session, cli, "rev1", "reviewer", password=PASSWORD)
        auth.create_user(session, cli, "rep-openai", "representative", company_id="openai", password=PASSWORD)
        session.commit()
    return engine


def token_for(engine, username: str, **kw) -> str:
    with Session(engine) as session:
        token = auth.start_session(session, auth.get_user(session, username), **kw)
        session.commit()
    return token


def user(engine, username: str) -> m.User:
    with Session(engine, expire_on_commit=False) as session:
        return auth.get_user(session, username)


def run_page(name: str, token: str | None = None, **query: str) -> AppTest:
    app = AppTest.from_file(str(PROJECT_ROOT / "app_pages" / name), default_timeout=60)
    if token:
        app.session_state[TOKEN_KEY] = token
    for key, value in query.items():
        app.query_params[key] = value
    return app.run()


def approved_report(engine, statement: str = PAYLOAD) -> int:
    with Session(engine, expire_on_commit=False) as session:
        report = sr.submit(session, auth.get_user(session, "rep-openai"), "seoul-2024/I", 2, statement,
                           evidence_urls=["https://openai.example/safety"])
        sr.decide(session, auth.get_user(session, "rev1"), report.id, "approve", "Matches [their](x) page.")
        session.commit()
        return report.id


def test_pages_by_role():
    assert page_files_for(None) == ["app_pages/submission.py", "app_pages/login.py"]
    assert "app_pages/submit.py" in page_files_for("representative")
    assert "app_pages/review.py" not in page_files_for("representative")
    assert "app_pages/review.py" in page_files_for("reviewer") and "app_pages/audit.py" not in page_files_for("reviewer")
    assert {"app_pages/review.py", "app_pages/audit.py"} <= set(page_files_for("admin"))


def test_sign_in_page_message_does_not_reveal_whether_the_user_exists(app_db):
    messages = []
    for username in ("rev1", "no-such-user"):
        app = run_page("login.py")
        app.text_input[0].input(username)
        app.text_input[1].input("wrong password!")
        app.button[0].click().run()
        messages.append([e.value for e in app.error])
        assert TOKEN_KEY not in app.session_state
    assert messages[0] == messages[1] == [auth.LOGIN_FAILED_MESSAGE]

    app = run_page("login.py")
    app.text_input[0].input("rev1")
    app.text_input[1].input(PASSWORD)
    app.button[0].click().run()
    assert not app.exception and not app.error
    assert "rev1" in app.markdown[0].value and "Signed in as" in app.markdown[0].value
    with Session(app_db) as session:
        assert auth.user_for_token(session, app.session_state[TOKEN_KEY]).username == "rev1"


def test_expired_session_is_signed_out(app_db):
    token = token_for(app_db, "rev1", now=datetime.now(UTC) - timedelta(days=2))
    app = run_page("review.py", token)
    assert [i.value for i in app.info] == ["Sign in first (Accounts → Sign in)."]
    assert TOKEN_KEY not in app.session_state


def test_invitation_link_sets_the_password_once(app_db):
    with Session(app_db) as session:
        invitation = auth.invite_representative(session, user(app_db, "admin1"), "meta", "trust@meta.example")
        session.commit()
    app = run_page("login.py", invite=invitation.token)
    app.text_input[0].input("a new long password")
    app.text_input[1].input("a new long password")
    app.button[0].click().run()
    assert not app.error and not app.exception
    with Session(app_db) as session:
        assert auth.user_for_token(session, app.session_state[TOKEN_KEY]).company_id == "meta"
    again = run_page("login.py", invite=invitation.token)
    again.text_input[0].input("another password!")
    again.text_input[1].input("another password!")
    again.button[0].click().run()
    assert "not valid" in again.error[0].value


def test_representative_submits_and_sees_only_their_company(app_db):
    with Session(app_db, expire_on_commit=False) as session:
        auth.create_user(session, auth.command_line_actor(), "rep-meta", "representative", company_id="meta",
                         password=PASSWORD)
        sr.submit(session, auth.get_user(session, "rep-meta"), "seoul-2024/II", 1, "Meta's own claim")
        session.commit()
    app = run_page("submit.py", token_for(app_db, "rep-openai"))
    assert not app.exception
    app.text_area[0].input(PAYLOAD)
    app.button[0].click().run()
    assert not app.error and "Received as submission" in app.success[0].value
    with Session(app_db) as session:
        reports = session.exec(select(m.SelfReport).where(m.SelfReport.company_id == "openai")).all()
    assert [r.statement for r in reports] == [PAYLOAD]
    shown = app.dataframe[0].value
    assert list(shown["id"]) == [r.id for r in reports]  # Meta's submission is not listed

    reviewer_view = run_page("submit.py", token_for(app_db, "rev1"))
    assert "for representatives" in reviewer_view.warning[0].value


def test_review_page_shows_the_claim_inert_and_records_the_decision(app_db):
    with Session(app_db) as session:
        report = sr.submit(session, auth.get_user(session, "rep-openai"), "seoul-2024/I", 3, PAYLOAD)
        session.commit()
        report_id = report.id
    assert "for reviewers" in run_page("review.py", token_for(app_db, "rep-openai")).warning[0].value
    app = run_page("review.py", token_for(app_db, "rev1"))
    assert not app.exception
    assert PAYLOAD in [t.value for t in app.text]
    assert not any("<script>" in md.value or "](https://evil" in md.value for md in app.markdown)
    app.text_area[0].input("Consistent with the published framework.")
    app.button[0].click().run()
    assert not app.exception
    with Session(app_db) as session:
        decided = session.get(m.SelfReport, report_id)
        assert decided.status == "approved" and decided.decided_by == user(app_db, "rev1").id
        entry = session.exec(select(m.AuditLog).where(m.AuditLog.action == "selfreport.approve")).one()
        assert entry.actor == "rev1"


def test_public_submission_page_labels_the_claim_and_shows_text_inert(app_db):
    report_id = approved_report(app_db)
    app = run_page("submission.py", id=str(report_id))
    assert not app.exception
    texts = [t.value for t in app.text]
    assert PAYLOAD in texts and "Matches [their](x) page." in texts
    assert not any("<script>" in md.value or "evil.example" in md.value for md in app.markdown)
    assert app.info[0].value.startswith("Company-reported")
    listing = run_page("submission.py")
    assert list(listing.dataframe[0].value["link"]) == [f"submission?id={report_id}"]
    with Session(app_db) as session:
        pending = sr.submit(session, auth.get_user(session, "rep-openai"), "seoul-2024/II", 1, "pending claim")
        session.commit()
        pending_id = pending.id
    hidden = run_page("submission.py", id=str(pending_id))
    assert "no approved submission" in hidden.warning[0].value and "pending claim" not in str(hidden)


def test_audit_page_is_for_admins_and_lists_changes(app_db):
    approved_report(app_db)
    assert "for admins" in run_page("audit.py", token_for(app_db, "rev1")).warning[0].value
    app = run_page("audit.py", token_for(app_db, "admin1"))
    assert not app.exception
    actions = set(app.dataframe[0].value["action"])
    assert {"user.create", "selfreport.submit", "selfreport.approve", "assessment.create"} <= actions


def test_app_navigation_runs_for_a_signed_in_reviewer(app_db):
    app = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=120)
    app.session_state[TOKEN_KEY] = token_for(app_db, "rev1")
    app.run()
    assert not app.exception


def test_sign_in_page_takes_an_e_mail_and_hands_the_browser_a_one_time_cookie_code(app_db, monkeypatch):
    from app_pages import _cookie

    with Session(app_db) as session:
        auth.create_user(session, auth.command_line_actor(), "rev2", "reviewer", password=PASSWORD,
                         email="rev2@tracker.example")
        session.commit()
    monkeypatch.setattr(_cookie, "_installed", True)  # as under serve.py
    app = run_page("login.py")
    app.text_input[0].input("Rev2@Tracker.example")
    app.text_input[1].input(PASSWORD)
    app.button[0].click().run()
    assert not app.exception and not app.error and "rev2" in app.markdown[0].value
    html = "\n".join(str(h.proto.body) for h in app.get("html"))
    code = html.split("code=")[1].split("&")[0]
    assert auth.redeem_cookie_handoff(code) == app.session_state[TOKEN_KEY]  # the route sets this token's cookie


def test_submit_page_says_the_document_is_being_read_then_read(app_db):
    from tests.test_selfreports import HTML

    with Session(app_db, expire_on_commit=False) as session:  # the form's upload, as the page passes it
        report = sr.submit(session, auth.get_user(session, "rep-openai"), "seoul-2024/I", 2, "Statement",
                           upload=sr.Upload("policy.html", HTML))
        session.commit()
    app = run_page("submit.py", token_for(app_db, "rep-openai"))
    shown = app.dataframe[0].value
    document = shown.loc[shown["id"] == report.id, "document"].iloc[0]
    assert document in ("policy.html: being read", "policy.html: read")  # the page also queued it
    sr.read_upload(report.id, engine=app_db)  # None if the page's background reader took it first
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with Session(app_db) as session:
            if session.get(m.SelfReport, report.id).upload_status == "read":
                break
        time.sleep(0.2)
    app = run_page("submit.py", token_for(app_db, "rep-openai"))
    shown = app.dataframe[0].value
    assert shown.loc[shown["id"] == report.id, "document"].iloc[0] == "policy.html: read"
