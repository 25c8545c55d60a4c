"""Private until approved: a company's uploads (versions of `<company>-self-reports`) reach no public reader
while their submission is pending, rejected or withdrawn; once approved they are public like any document."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

import pytest
from sqlmodel import Session

from tests.factories import add_change, add_version
from tracker.accounts import auth
from tracker.accounts import selfreports as sr
from tracker.core.errors import NotFoundError
from tracker.publish.exports import export_all
from tracker.publish.feeds import feed_entries
from tracker.publish.stocktake import build_stocktake
from tracker.read import queries
from tracker.store import models as m
from tracker.store.search import search_versions

SECRET = "Zanzibarquux draft wording we may still change"
PUBLIC_WORDS = "Zanzibarquux published framework wording"
SOURCE = "openai-self-reports"


@pytest.fixture
def drafts(session: Session) -> dict:
    """A public framework version, and two uploads of OpenAI's self-reports with a change event between them."""
    cli = auth.command_line_actor()
    rep = auth.create_user(session, cli, "rep-openai", "representative", company_id="openai",
                           password="correct horse battery")
    sr.self_report_source(session, "openai")
    public = add_version(session, "openai-preparedness-framework", PUBLIC_WORDS, published_on=date(2025, 4, 15))
    first = add_version(session, SOURCE, SECRET + " (first)", origin="submitted",
                        fetched_at=datetime(2026, 2, 1, tzinfo=UTC))
    second = add_version(session, SOURCE, SECRET + " (second)", origin="submitted", previous=first,
                         fetched_at=datetime(2026, 2, 2, tzinfo=UTC))
    change = add_change(session, first, second, "weakened", old_quote=SECRET + " (first)",
                        new_quote=SECRET + " (second)", commitments=["seoul-2024/I"])
    reports = []
    for version in (first, second):
        report = m.SelfReport(company_id="openai", commitment_id="seoul-2024/I", submitted_by=rep.id,
                              claimed_level=2, statement="Draft.", upload_version_id=version.id,
                              upload_filename="draft.html", upload_status="read")
        session.add(report)
        reports.append(report)
    session.commit()
    return {"public": public, "first": first, "second": second, "change": change, "reports": reports}


def _set_status(session: Session, drafts: dict, status: str) -> None:
    for report in drafts["reports"]:
        report.status = status
        session.add(report)
    session.commit()


def _exported(engine, tmp_path, table: str) -> list[dict]:
    out = tmp_path / "export"
    export_all(engine, out)
    return list(csv.DictReader(io.StringIO((out / "csv" / f"{table}.csv").read_text(encoding="utf-8"))))


@pytest.mark.parametrize("status", ["submitted", "rejected", "withdrawn", "changes_requested"])
def test_undecided_or_refused_uploads_reach_no_public_reader(session, engine, tmp_path, drafts, status):
    _set_status(session, drafts, status)
    private_ids = {drafts["first"].id, drafts["second"].id}

    documents = queries.documents(session)
    assert SOURCE not in {d.source.id for d in documents}, "the Documents page lists the self-report source"
    assert not private_ids & {v.id for d in documents for v in d.versions}
    assert drafts["public"].id in {v.id for d in documents for v in d.versions}
    assert SOURCE not in {d.source.id for d in queries.company_view(session, "openai", date(2026, 3, 1)).documents}
    for version_id in private_ids:
        with pytest.raises(NotFoundError):
            queries.version_text(session, version_id)  # /documents?source=...&version=N
        assert queries.version_quotes(session, version_id) == []
    assert not private_ids & {i.version.id for i in queries.version_feed(session)}
    assert drafts["change"].id not in {c.id for c in queries.change_feed(session)}
    assert SOURCE not in {s.source_id for s in queries.sources_health(session).sources}

    hits = search_versions(session, "Zanzibarquux")
    assert [h.version_id for h in hits] == [drafts["public"].id]

    entries = feed_entries(session, company_id="openai", base_url="https://tracker.example")
    assert not any(SECRET in (e.title + e.content) or "self-reports" in e.id for e in entries)

    stocktake = build_stocktake(session, "seoul-2024", date(2026, 3, 1), date(2025, 1, 1))
    assert not private_ids & {row.version_id for row in stocktake.documents}
    assert drafts["change"].id not in {row.change_id for row in stocktake.changes}

    exported_versions = {int(r["id"]) for r in _exported(engine, tmp_path, "documentversion")}
    assert drafts["public"].id in exported_versions and not private_ids & exported_versions
    assert SOURCE not in {r["id"] for r in _exported(engine, tmp_path, "source")}
    assert str(drafts["change"].id) not in {r["id"] for r in _exported(engine, tmp_path, "changeevent")}
    assert _exported(engine, tmp_path, "selfreport") == []


def test_an_approved_upload_is_public_like_any_document(session, engine, tmp_path, drafts):
    report = drafts["reports"][1]
    report.status = "approved"
    session.add(report)
    session.commit()
    second, first = drafts["second"].id, drafts["first"].id

    versions = {v.id for d in queries.documents(session) if d.source.id == SOURCE for v in d.versions}
    assert versions == {second}
    assert queries.version_text(session, second).startswith(SECRET)
    with pytest.raises(NotFoundError):
        queries.version_text(session, first)
    assert drafts["change"].id not in {c.id for c in queries.change_feed(session)}  # compares with a draft
    assert {h.version_id for h in search_versions(session, "Zanzibarquux")} == {drafts["public"].id, second}
    exported = {int(r["id"]) for r in _exported(engine, tmp_path, "documentversion")}
    assert second in exported and first not in exported
