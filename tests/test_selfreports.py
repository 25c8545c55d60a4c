"""Self-reports: company-bound submissions, uploads checked by content, evidence fetching, review decisions."""

from __future__ import annotations

from datetime import date

import pytest
from fpdf import FPDF
from sqlmodel import Session, select

from tests.factories import add_assessment, add_evidence, add_version
from tests.fakeweb import FakeWeb, Reply
from tracker.accounts import auth
from tracker.accounts import selfreports as sr
from tracker.accounts.audit import audit_entries
from tracker.core.config import get_settings
from tracker.core.errors import NotFoundError, PermissionDenied, ValidationError
from tracker.core.rawstore import RawStore
from tracker.read.asof import latest_assessments
from tracker.store import models as m

PASSWORD = "correct horse battery"
HTML = b"<html><body><main><h1>Our safety work</h1><p>We publish red-team results every quarter.</p></main></body></html>"
COMMITMENT = "seoul-2024/I"


def pdf_bytes(text: str = "Safety framework summary. We will evaluate every frontier model.") -> bytes:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=11)
    pdf.multi_cell(0, 6, text)
    return bytes(pdf.output())


@pytest.fixture
def people(session: Session) -> dict[str, m.User]:
    cli = auth.command_line_actor()
    return {
        "admin": auth.create_user(session, cli, "admin1", "admin", password=PASSWORD),
        "reviewer": auth.create_user(session, cli, "rev1", "reviewer", password=PASSWORD),
        "openai": auth.create_user(session, cli, "rep-openai", "representative", company_id="openai",
                                   password=PASSWORD),
        "meta": auth.create_user(session, cli, "rep-meta", "representative", company_id="meta", password=PASSWORD),
    }


@pytest.fixture
def store(tmp_path) -> RawStore:
    return RawStore(tmp_path / "raw")


def _submit(session, actor, **kw) -> m.SelfReport:
    kw.setdefault("evidence_urls", [])
    return sr.submit(session, actor, kw.pop("commitment_id", COMMITMENT), kw.pop("level", 2),
                     kw.pop("statement", "We run pre-deployment evaluations."), **kw)


def test_representative_cannot_read_or_write_another_companys_submissions(session, people):
    report = _submit(session, people["openai"])
    assert report.company_id == "openai" and report.status == "submitted"
    meta = people["meta"]
    with pytest.raises(PermissionDenied, match="another company"):
        sr.get_submission(session, meta, report.id)
    with pytest.raises(PermissionDenied):
        sr.list_submissions(session, meta, company_id="openai")
    assert sr.list_submissions(session, meta) == []
    with pytest.raises(PermissionDenied):
        _submit(session, meta, company_id="openai")
    with pytest.raises(PermissionDenied):
        sr.withdraw(session, meta, report.id)
    with pytest.raises(PermissionDenied):
        sr.fetch_evidence(session, meta, report.id)
    assert [r.id for r in sr.list_submissions(session, people["openai"])] == [report.id]
    assert [r.id for r in sr.list_submissions(session, people["reviewer"])] == [report.id]
    with pytest.raises(PermissionDenied, match="sign in"):
        sr.list_submissions(session, None)
    with pytest.raises(PermissionDenied):
        _submit(session, people["reviewer"])


def test_representative_cannot_approve(session, people):
    report = _submit(session, people["openai"])
    with pytest.raises(PermissionDenied, match="decide"):
        sr.decide(session, people["openai"], report.id, "approve", "looks right")
    with pytest.raises(PermissionDenied):
        sr.review_context(session, people["openai"], report.id)
    assert session.get(m.SelfReport, report.id).status == "submitted"
    assert session.exec(select(m.Assessment)).all() == []


def test_submission_input_is_checked(session, people):
    rep = people["openai"]
    with pytest.raises(NotFoundError):
        _submit(session, rep, commitment_id="seoul-2024/XX")
    with pytest.raises(ValidationError, match="claimed level"):
        _submit(session, rep, level=7)
    with pytest.raises(ValidationError, match="statement"):
        _submit(session, rep, statement="   ")
    with pytest.raises(ValidationError, match="http"):
        _submit(session, rep, evidence_urls=["javascript:alert(1)"])
    with pytest.raises(ValidationError, match="at most"):
        _submit(session, rep, evidence_urls=[f"https://example.org/{i}" for i in range(sr.MAX_EVIDENCE_URLS + 1)])
    assert session.exec(select(m.SelfReport)).all() == []


def test_approval_creates_a_self_reported_assessment_and_is_logged(session, people):
    payload = "Done. <script>alert('x')</script> [click](https://evil.example) **bold**"
    report = _submit(session, people["openai"], level=3, statement=payload)
    add_assessment(session, "openai", COMMITMENT, 1, date(2025, 1, 1))
    decided = sr.decide(session, people["reviewer"], report.id, "approve", "Matches the published framework.",
                        valid_from=date(2026, 2, 1))
    assert decided.status == "approved" and decided.statement == payload  # kept verbatim
    assessment = session.get(m.Assessment, decided.assessment_id)
    assert (assessment.level, assessment.basis, assessment.self_report_id) == (3, "self-reported", report.id)
    current = latest_assessments(session, date(2026, 3, 1), company_ids=["openai"], commitment_ids=[COMMITMENT])
    assert [a.id for a in current] == [assessment.id]

    log = audit_entries(session, people["admin"])
    approve = next(e for e in log if e.action == "selfreport.approve")
    assert approve.actor == "rev1" and approve.actor_id == people["reviewer"].id
    assert approve.before["status"] == "submitted" and approve.after["status"] == "approved"
    created = next(e for e in log if e.action == "assessment.create")
    assert created.entity_id == str(assessment.id) and created.after["basis"] == "self-reported"

    public = sr.public_submission(session, report.id)
    assert public.statement == payload and public.basis == "self-reported" and public.claimed_level == 3
    assert public.decision_reason == "Matches the published framework."
    assert sr.submission_links(session, [assessment.id]) == {assessment.id: f"submission?id={report.id}"}
    with pytest.raises(ValidationError, match="not awaiting review"):
        sr.decide(session, people["reviewer"], report.id, "reject", "changed my mind")


def test_verified_approval_is_reviewed_and_other_decisions_make_no_assessment(session, people):
    first = _submit(session, people["openai"])
    second = _submit(session, people["openai"], commitment_id="seoul-2024/II")
    third = _submit(session, people["meta"])
    sr.decide(session, people["admin"], first.id, "approve", "Checked against the framework PDF.", verified=True)
    assert session.get(m.Assessment, first.assessment_id).basis == "reviewed"
    sr.decide(session, people["reviewer"], second.id, "request_changes", "Link the thresholds section.")
    sr.decide(session, people["reviewer"], third.id, "reject", "No evidence given.")
    assert [a.self_report_id for a in session.exec(select(m.Assessment)).all()] == [first.id]
    assert sr.public_submission(session, second.id) is None and sr.public_submission(session, third.id) is None
    assert [p.id for p in sr.public_submissions(session)] == [first.id]
    with pytest.raises(ValidationError, match="reason"):
        sr.decide(session, people["reviewer"], _submit(session, people["meta"]).id, "approve", " ")
    assert sr.withdraw(session, people["openai"], second.id).status == "withdrawn"


def test_review_context_shows_the_trackers_own_evidence(session, people):
    text = "## Evaluations\n\nWe will evaluate models before deployment against our thresholds."
    old = add_version(session, "openai-preparedness-framework", "old text about evaluations",
                      published_on=date(2024, 1, 1))
    add_evidence(session, old, COMMITMENT, "old text about evaluations")
    new = add_version(session, "openai-preparedness-framework", text, published_on=date(2025, 4, 15))
    add_evidence(session, new, COMMITMENT, "We will evaluate models before deployment", score=0.9)
    add_assessment(session, "openai", COMMITMENT, 2, date(2025, 4, 15), version=new)
    report = _submit(session, people["openai"])
    context = sr.review_context(session, people["reviewer"], report.id)
    assert context.current.level == 2 and context.company.id == "openai"
    assert [item.quote for item in context.evidence] == ["We will evaluate models before deployment"]


def _read(session, engine, store, report: m.SelfReport) -> m.SelfReport:
    """Commit the form's transaction, then read the upload as the background reader does."""
    session.commit()
    sr.read_upload(report.id, engine=engine, raw_store=store)
    session.expire_all()
    return session.get(m.SelfReport, report.id)


def test_html_and_pdf_uploads_become_submitted_versions_that_feed_no_automatic_level(session, engine, people, store):
    report = _submit(session, people["openai"], upload=sr.Upload("policy.html", HTML), raw_store=store)
    assert report.upload_status == "received" and report.upload_version_id is None
    report = _read(session, engine, store, report)
    assert report.upload_status == "read" and sr.upload_state(report) == "read"
    version = session.get(m.DocumentVersion, report.upload_version_id)
    assert version.origin == "submitted" and version.source_id == "openai-self-reports"
    assert "red-team results" in version.text and store.has(report.upload_sha256)
    source = session.get(m.Source, "openai-self-reports")
    assert source.kind == "policy-page" and source.frameworks == [] and not source.fetchable
    assert session.exec(select(m.Evidence).where(m.Evidence.version_id == version.id)).all() == []
    pdf = _read(session, engine, store,
                _submit(session, people["openai"], upload=sr.Upload("summary.PDF", pdf_bytes()), raw_store=store))
    assert pdf.upload_content_type == "application/pdf" and store.has(pdf.upload_sha256)
    assert "evaluate every frontier model" in session.get(m.DocumentVersion, pdf.upload_version_id).text
    assert session.exec(select(m.Assessment)).all() == []


@pytest.mark.parametrize(("upload", "message"), [
    (sr.Upload("framework.pdf", b"This is plain text pretending to be a PDF.\n" * 10), "not a PDF or HTML"),
    (sr.Upload("framework.pdf", HTML), "named as PDF but its content is HTML"),
    (sr.Upload("evil.exe", b"MZ\x90\x00\x03\x00\x00\x00" * 20), "not a PDF or HTML"),
    (sr.Upload("empty.pdf", b""), "empty"),
])
def test_bad_uploads_are_refused_and_nothing_is_stored(session, people, store, upload, message):
    with pytest.raises(ValidationError, match=message):
        _submit(session, people["openai"], upload=upload, raw_store=store)
    assert session.exec(select(m.SelfReport)).all() == []
    assert session.get(m.Source, "openai-self-reports") is None
    assert store.digests() == []


def test_submitting_does_not_extract_on_the_request(session, people, store, monkeypatch):
    """Extraction is slow and depends on what was sent: the form only checks size and type and keeps the bytes."""
    from tracker.ingest import pipeline

    def no_extraction(*args, **kwargs):
        raise AssertionError("extraction ran on the request path")

    monkeypatch.setattr(pipeline, "extract_upload", no_extraction, raising=False)
    monkeypatch.setattr("scrapers.build.extract_bounded", no_extraction)  # where every Capture is extracted
    monkeypatch.setattr(sr, "extract", no_extraction, raising=False)  # where submit used to call it
    report = _submit(session, people["openai"], upload=sr.Upload("policy.html", HTML), raw_store=store)
    assert report.upload_status == "received" and sr.upload_state(report) == "being read"
    assert report.upload_version_id is None and store.has(report.upload_sha256)
    assert session.get(m.Source, "openai-self-reports") is None  # no version until it has been read


def test_an_unreadable_upload_is_refused_with_the_reason_in_the_background(session, engine, people, store):
    report = _submit(session, people["openai"], upload=sr.Upload("broken.pdf", b"%PDF-1.7\n garbage, no PDF body"),
                     raw_store=store)
    with pytest.raises(ValidationError, match="still being read"):
        sr.decide(session, people["reviewer"], report.id, "approve", "Looks right.")
    report = _read(session, engine, store, report)
    assert report.upload_status == "refused" and report.upload_version_id is None
    assert sr.upload_state(report).startswith("refused: broken.pdf")
    assert sr.read_upload(report.id, engine=engine, raw_store=store) is None  # read once, not again
    assert session.exec(select(m.DocumentVersion).where(m.DocumentVersion.origin == "submitted")).all() == []
    actions = [e.action for e in audit_entries(session, people["admin"])]
    assert "selfreport.upload_refused" in actions
    sr.decide(session, people["reviewer"], report.id, "reject", "The document cannot be read.")


def test_the_background_pool_reads_uploads_and_fetches_links(session, engine, people, store, monkeypatch):
    import time

    monkeypatch.setenv("TRACKER_RAW_STORE", str(store.root))
    get_settings.cache_clear()
    try:
        with FakeWeb() as web:
            web.route("/safety", Reply(body=HTML))
            report = _submit(session, people["openai"], upload=sr.Upload("policy.html", HTML),
                             evidence_urls=[web.url("/safety")], raw_store=store)
            session.commit()
            assert session.exec(select(m.SelfReport.id)).all() == [report.id]
            assert sr.pending_readings(session) == [report.id]
            assert sr.schedule_reading([report.id, report.id], engine=engine) == 1
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                session.expire_all()
                report = session.get(m.SelfReport, report.id)
                if report.upload_status == "read" and report.evidence_fetches:
                    break
                time.sleep(0.2)
    finally:
        get_settings.cache_clear()
    assert report.upload_status == "read" and report.evidence_fetches[0]["outcome"] in ("new_version", "unchanged")
    assert sr.pending_readings(session) == []


def test_oversized_upload_is_refused_with_the_limit(session, people, store, monkeypatch):
    monkeypatch.setenv("TRACKER_MAX_UPLOAD_BYTES", "1000")
    get_settings.cache_clear()
    try:
        with pytest.raises(ValidationError, match=r"at most 1,000 bytes \(TRACKER_MAX_UPLOAD_BYTES\)"):
            _submit(session, people["openai"], upload=sr.Upload("big.pdf", pdf_bytes("x " * 2000)), raw_store=store)
    finally:
        get_settings.cache_clear()
    assert session.exec(select(m.SelfReport)).all() == [] and store.digests() == []


def test_evidence_links_are_fetched_and_failures_recorded(session, people, store):
    with FakeWeb() as web:
        web.route("/safety", Reply(body=HTML))
        web.route("/gone", Reply(status=404))
        urls = [web.url("/safety"), web.url("/gone")]
        report = _submit(session, people["openai"], evidence_urls=urls)
        outcomes = sr.fetch_evidence(session, people["openai"], report.id, raw_store=store)
    by_url = {o["url"]: o for o in outcomes}
    assert by_url[urls[0]]["outcome"] == "new_version"
    version = session.get(m.DocumentVersion, by_url[urls[0]]["version_id"])
    assert version.origin == "submitted" and version.source_id == "openai-self-reports"
    assert by_url[urls[1]]["outcome"] == "failed" and by_url[urls[1]]["reason"] == "http_404"
    assert session.get(m.SelfReport, report.id).evidence_fetches == outcomes
    attempts = session.exec(select(m.FetchAttempt).where(m.FetchAttempt.source_id == "openai-self-reports")).all()
    assert sorted(a.outcome for a in attempts) == ["failed", "new_version"]


def test_production_never_fetches_private_addresses(session, people, store, monkeypatch):
    monkeypatch.setenv("TRACKER_ENV", "production")
    get_settings.cache_clear()
    try:
        with FakeWeb() as web:
            web.route("/safety", Reply(body=HTML))
            report = _submit(session, people["openai"], evidence_urls=[web.url("/safety")])
            outcomes = sr.fetch_evidence(session, people["openai"], report.id, raw_store=store)
            assert web.hits("/safety") == []
    finally:
        get_settings.cache_clear()
    assert outcomes[0]["outcome"] == "failed" and outcomes[0]["reason"] == "private_address"
