"""Review workbench (domain and CLI): authorization of every action, audit entries, the two-reviewer rule, the
adjudication list, public labels, the corrections log and feed, and export then import of the shipped reviews."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import date
from pathlib import Path

import pytest
from sqlmodel import Session, select

from tests.factories import add_assessment, add_change, add_evidence, add_version
from tracker.accounts import auth
from tracker.accounts import reviews as rv
from tracker.accounts import selfreports as sr
from tracker.cli import main
from tracker.core.config import PROJECT_ROOT
from tracker.core.errors import NotFoundError, PermissionDenied, ValidationError
from tracker.core.yamlfile import load_model
from tracker.publish.feeds import company_feed, corrections_feed
from tracker.read import queries
from tracker.read.reviews import corrections, reviewer_agreement
from tracker.store import models as m
from tracker.store.reviewfiles import ReviewFile, import_rows, load_review_files, write_review_files

PASSWORD = "correct horse battery"
SOURCE = "openai-preparedness-framework"
OLD = "We will halt deployment when a threshold is crossed. We publish scorecards."
NEW = "We may halt deployment when a threshold is crossed. We publish scorecards."


@pytest.fixture
def people(session: Session) -> dict[str, m.User]:
    cli = auth.command_line_actor()
    users = {name: auth.create_user(session, cli, name, role, password=PASSWORD, company_id=company)
             for name, role, company in (("rev1", "reviewer", None), ("rev2", "reviewer", None),
                                         ("admin1", "admin", None), ("rep", "representative", "openai"))}
    session.commit()
    return users


@pytest.fixture
def changes(session: Session) -> dict[str, m.ChangeEvent]:
    old = add_version(session, SOURCE, OLD, published_on=date(2025, 1, 1))
    new = add_version(session, SOURCE, NEW, published_on=date(2025, 6, 1), previous=old)
    made = {
        "weakened": add_change(session, old, new, "weakened", old_quote=OLD, new_quote=NEW,
                               commitments=["seoul-2024/IV"], reasons=[{"code": "modal_weakened", "detail": "will → may"}]),
        "removed": add_change(session, old, new, "removed", old_quote="We publish scorecards.",
                              commitments=["seoul-2024/VII"]),
        "strengthened": add_change(session, old, new, "strengthened", new_quote="We publish scorecards.",
                                   commitments=["seoul-2024/VII"], announced="announced"),
    }
    add_evidence(session, new, "seoul-2024/IV", "We may halt deployment when a threshold is crossed.")
    add_assessment(session, "openai", "seoul-2024/IV", 3, date(2025, 1, 1), version=old)
    made["level"] = add_assessment(session, "openai", "seoul-2024/IV", 2, date(2025, 6, 1), version=new,
                                   confidence=0.4)
    session.commit()
    return made


def audit_actions(session: Session) -> list[str]:
    return [e.action for e in session.exec(select(m.AuditLog).order_by(m.AuditLog.id))]


def test_queue_ranks_weakenings_first_and_is_for_reviewers_only(session, people, changes):
    items = rv.queue(session, people["rev1"])
    # the first level of a pair has nothing in force before it, so it is queued too
    assert [i.kind for i in items] == ["change", "change", "level", "level", "announcement"]
    assert items[0].id == f"change-{changes['weakened'].id}" and items[0].direction == "weakened"
    assert items[0].old_quote == OLD and items[0].new_quote == NEW and items[0].reasons
    assert items[0].live_url and items[0].archived.startswith("documents?source=")
    assert items[0].web_archive == f"https://web.archive.org/web/20250601/{items[0].version_url}"
    level = next(i for i in items if i.id == f"level-{changes['level'].id}")
    assert (level.level, level.level_in_force, level.confidence) == (2, 3, 0.4)
    assert level.evidence == ["We may halt deployment when a threshold is crossed."]
    for actor in (people["rep"], None):
        with pytest.raises(PermissionDenied):
            rv.queue(session, actor)
    with pytest.raises(PermissionDenied):
        rv.decide(session, people["rep"], items[0].id, confirm=True, reason="representatives cannot")
    with pytest.raises(PermissionDenied):
        rv.adjudication_list(session, people["rev1"])
    for function, arg in ((rv.export_reviews, Path("/tmp/none")), (rv.import_reviews, Path("/tmp/none"))):
        with pytest.raises(PermissionDenied):
            function(session, people["rep"], arg)


def test_weakening_needs_a_second_different_reviewer(session, people, changes):
    item = f"change-{changes['weakened'].id}"
    result = rv.decide(session, people["rev1"], item, confirm=True, reason="modal softened from will to may")
    assert result.status == "awaiting-second"
    feed = {c.id: c for c in queries.change_feed(session)}
    assert feed[changes["weakened"].id].review_status == "awaiting-second"
    assert feed[changes["weakened"].id].review_label == "automatic (not reviewed)"
    with pytest.raises(ValidationError, match="already decided"):
        rv.decide(session, people["rev1"], item, confirm=True, reason="again")
    assert item not in {i.id for i in rv.queue(session, people["rev1"])}
    second = next(i for i in rv.queue(session, people["rev2"]) if i.id == item)
    assert second.status == "awaiting-second" and second.reviewers == ["rev1"]
    assert rv.decide(session, people["rev2"], item, confirm=True, reason="agree").status == "reviewed-by-two"
    session.commit()
    published = {c.id: c for c in queries.change_feed(session, hide_unreviewed=True)}
    assert list(published) == [changes["weakened"].id]
    assert published[changes["weakened"].id].review_label == "reviewed by two"
    assert reviewer_agreement(session).rate == 1.0
    entries = session.exec(select(m.AuditLog).where(m.AuditLog.action == "review.confirm")).all()
    assert [(e.actor, e.entity_type, e.entity_id) for e in entries] == [("rev1", "change", str(changes["weakened"].id)),
                                                                          ("rev2", "change", str(changes["weakened"].id))]
    assert entries[1].before["status"] == "awaiting-second" and entries[1].after["status"] == "reviewed-by-two"
    assert entries[1].after["reason"] == "agree"


def test_disagreement_goes_to_adjudication_and_the_correction_is_public(session, people, changes):
    item = f"change-{changes['removed'].id}"
    rv.decide(session, people["rev1"], item, dismiss=True, reason="extraction artefact")
    # confirming agrees with the call on the table (rev1's); disagreeing means naming another call
    result = rv.decide(session, people["rev2"], item, direction="removed", reason="it was removed")
    assert result.status == "adjudication"
    assert item not in {i.id for i in rv.queue(session, people["rev1"])}
    assert [i.id for i in rv.adjudication_list(session, people["admin1"])] == [item]
    with pytest.raises(PermissionDenied):
        rv.decide(session, people["rev1"], item, confirm=True, reason="not mine to settle")
    assert rv.decide(session, people["admin1"], item, dismiss=True, reason="re-split passage").status == \
        "reviewed-by-two"
    session.commit()
    assert changes["removed"].id not in {c.id for c in queries.change_feed(session)}
    assert changes["removed"].id in {c.id for c in queries.change_feed(session, include_dismissed=True)}
    feed = company_feed(session, "openai", base_url="https://tracker.example").decode()
    assert "commitment removed" not in feed and "commitment weakened" in feed  # dismissed: left out of the feed
    assert "Review: automatic (not reviewed)." in feed
    stored = session.get(m.ChangeEvent, changes["removed"].id)
    assert stored.direction == "removed"  # the automatic call is kept, never overwritten
    log = corrections(session)
    assert [(c.kind, c.before, c.after, c.reason) for c in log] == [
        ("change", "removed, silent", "not a change (dismissed)", "re-split passage")]
    assert reviewer_agreement(session).rate == 0.0 and reviewer_agreement(session).adjudicated == 1
    assert "review.adjudicate" in audit_actions(session)


def test_an_admin_who_disagreed_may_adjudicate_and_pages_see_each_decision_at_once(session, people, changes):
    item = f"change-{changes['weakened'].id}"
    version = queries.data_version(session)
    rv.decide(session, people["rev1"], item, confirm=True, reason="softened")
    assert queries.data_version(session) != version  # cached page reads miss at once
    assert rv.decide(session, people["admin1"], item, direction="reworded", reason="same duty").status == \
        "adjudication"
    assert rv.decide(session, people["admin1"], item, direction="reworded", reason="settled").status == \
        "reviewed-by-two"
    session.commit()
    change = next(c for c in queries.change_feed(session) if c.id == changes["weakened"].id)
    assert (change.direction, change.automatic_direction, change.review_label) == (
        "reworded", "weakened", "reviewed by two")


def test_one_reviewer_is_enough_for_an_announcement_and_a_level(session, people, changes):
    item = f"change-{changes['strengthened'].id}"
    assert rv.decide(session, people["rev1"], item, announced="silent", reason="not in the changelog").status == \
        "reviewed"
    with pytest.raises(ValidationError, match="final"):
        rv.decide(session, people["rev2"], item, confirm=True, reason="late")
    level = f"level-{changes['level'].id}"
    with pytest.raises(ValidationError, match="not in"):
        rv.decide(session, people["rev1"], level, level=1, quote="words the document never says", reason="x")
    with pytest.raises(ValidationError, match="exactly one"):
        rv.decide(session, people["rev1"], level, confirm=True, level=1, reason="both")
    with pytest.raises(ValidationError, match="is a level"):
        rv.decide(session, people["rev1"], level, dismiss=True, reason="no")
    rv.decide(session, people["rev1"], level, level=1, quote="We may halt deployment when a threshold is crossed.",
              reason="The halt is only a possibility.")
    session.commit()
    cell = queries.overview(session, "seoul-2024", date(2025, 7, 1)).cells[("openai", "seoul-2024/IV")]
    assert (cell.level, cell.review_label) == (1, "reviewed")
    reviewed = session.exec(select(m.Assessment).where(m.Assessment.basis == "reviewed")).one()
    assert (reviewed.level, reviewed.assessor, reviewed.version_id) == (1, "rev1", changes["level"].version_id)
    assert level not in {i.id for i in rv.queue(session, people["rev2"])}
    kinds = {c.kind: c for c in corrections(session)}
    assert kinds["level"].before.startswith("2") and kinds["level"].after.startswith("1")
    assert kinds["change"].after == "strengthened, silent"
    assert {"review.correct", "assessment.create"} <= set(audit_actions(session))
    with pytest.raises(NotFoundError):
        rv.decide(session, people["rev1"], "change-99999", confirm=True, reason="x")
    with pytest.raises(NotFoundError):
        rv.decide(session, people["rev1"], "bogus", confirm=True, reason="x")
    with pytest.raises(ValidationError, match="reason"):
        rv.decide(session, people["rev2"], f"change-{changes['removed'].id}", confirm=True, reason=" ")


def test_self_reports_are_queued_and_decided_through_selfreports(session, people, changes):
    report = sr.submit(session, people["rep"], "seoul-2024/I", 2, "We evaluate before every release.")
    item = f"selfreport-{report.id}"
    assert item in {i.id for i in rv.queue(session, people["rev1"], kinds=["self-report"])}
    with pytest.raises(ValidationError, match="self-report"):
        rv.decide(session, people["rev1"], item, level=3, reason="no")
    assert rv.decide(session, people["rev1"], item, confirm=True, reason="Matches the framework").status == \
        "approved"
    assert "selfreport.approve" in audit_actions(session)


def test_corrections_feed_parses(session, people, changes):
    rv.decide(session, people["rev1"], f"change-{changes['strengthened'].id}", direction="reworded",
              reason="only the wording changed")
    session.commit()
    root = ET.fromstring(corrections_feed(session, base_url="https://tracker.example"))
    ns = {"a": "http://www.w3.org/2005/Atom"}
    entries = root.findall("a:entry", ns)
    assert len(entries) == 1
    content = entries[0].find("a:content", ns).text
    assert "Before: strengthened, announced" in content and "After: reworded, announced" in content
    assert "only the wording changed" in content
    assert entries[0].find("a:id", ns).text.startswith("tag:tracker.example,2024:correction/change/")


def test_export_then_import_reproduces_the_shipped_reviews(session, tmp_path):
    shipped_dir = PROJECT_ROOT / "data" / "reviews"
    files = load_review_files(shipped_dir, session)
    added = import_rows(session, files)
    assert len(added) == sum(len(f.reviews) for f, _ in files) > 100
    assert import_rows(session, files) == []  # idempotent
    session.commit()
    written = write_review_files(session, tmp_path)
    assert sorted(p.name for p in written) == sorted(p.name for p in shipped_dir.glob("*.yaml"))
    for path in sorted(shipped_dir.glob("*.yaml")):
        shipped, _ = load_model(path, ReviewFile)
        exported, _ = load_model(tmp_path / path.name, ReviewFile)
        assert exported == shipped, path.name
    reviewed = session.exec(select(m.Assessment).where(m.Assessment.basis == "reviewed")).all()
    assert {(a.assessor, a.recorded_at.date()) for a in reviewed} == {
        (f.reviewer, f.reviewed_on) for f, _ in files}


def test_cli_review_commands(engine, use_database, tmp_path, capsys, people, changes):
    use_database(engine)
    assert main(["review", "queue", "--json"]) == 0
    items = json.loads(capsys.readouterr().out)
    assert {"id", "kind", "company", "commitment", "direction", "level", "confidence"} <= set(items[0])
    assert items[0]["kind"] == "change"
    weakened = f"change-{changes['weakened'].id}"
    assert main(["review", "decide", weakened, "--as", "rev1", "--confirm", "--reason", "will → may"]) == 0
    assert "second" in capsys.readouterr().out
    assert main(["review", "decide", weakened, "--as", "rev1", "--confirm", "--reason", "again"]) == 2
    assert "already decided" in capsys.readouterr().err
    assert main(["review", "decide", weakened, "--as", "nobody", "--confirm", "--reason", "x"]) == 2
    assert "no user named" in capsys.readouterr().err
    assert main(["review", "decide", weakened, "--as", "rep", "--confirm", "--reason", "x"]) == 2
    assert "representative may not" in capsys.readouterr().err
    assert main(["review", "decide", "change-424242", "--as", "rev2", "--confirm", "--reason", "x"]) == 2
    assert "no change" in capsys.readouterr().err
    assert main(["review", "queue", "--as", "rep"]) == 2
    capsys.readouterr()
    assert main(["review", "decide", f"level-{changes['level'].id}", "--as", "rev2", "--level", "1", "--quote",
                 "We may halt deployment when a threshold is crossed.", "--reason", "only a possibility"]) == 0
    out = tmp_path / "reviews"
    assert main(["review", "export", "--out", str(out)]) == 0
    exported, _ = load_model(out / "openai.yaml", ReviewFile)
    assert [(r.level, r.source, r.quote) for r in exported.reviews] == [
        (1, SOURCE, "We may halt deployment when a threshold is crossed.")]
    assert exported.reviewer == "rev2"
    assert main(["review", "import", str(out)]) == 0
    assert "imported 0" in capsys.readouterr().out.splitlines()[-1]
    feed = tmp_path / "corrections.xml"
    assert main(["feed", "--corrections", "--out", str(feed)]) == 0
    assert ET.parse(feed).getroot().tag == "{http://www.w3.org/2005/Atom}feed"
