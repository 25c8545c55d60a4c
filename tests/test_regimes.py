"""The new regimes' clocks and change flags: pure rules on texts we wrote, then deadline rows from a database."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import Session

from tests import factories as f
from tracker.analysis.clocks import (
    ChangeFact,
    ClockVersion,
    UpdateRecord,
    add_months,
    clock_status,
    material_change_flags,
    update_flags,
)
from tracker.analysis.regimes import current_entry, find_justification, update_record
from tracker.ingest.pipeline import record_update, record_updates
from tracker.read.deadlines import deadline_statuses, upcoming
from tracker.store import models as m

# Our own texts, shaped like a compliance framework with a changelog table as PDF text has it.
UPDATED = """Frontier Framework
Version 2.1
Effective: March 2, 2026

1. Thresholds
We will evaluate every model against our capability thresholds before deployment.

Changelog

v2.1   March 2, 2026      Update. Raised the cyber threshold in Section 1 to better reflect the threat model
                          of concern.
v2.0   December 19, 2025  Initial version
"""
NO_REASON = UPDATED.replace("to better reflect the threat model\n                          of concern", "")
NO_LOG = """Frontier Framework

1. Thresholds
We will evaluate every model against our capability thresholds before deployment.
"""
MATERIAL = (ChangeFact("weakened", "announced"),)


def test_update_record_finds_changelog_version_date_and_reason():
    record = update_record(UPDATED)
    assert record.version == "2.1" and record.changed_on == date(2026, 3, 2)
    assert record.changelog is not None
    assert record.changelog.startswith("v2.1 March 2, 2026 Update.")  # its own entry, whitespace folded
    assert "to better reflect the threat model" in record.justification
    assert record.missing() == () and update_flags(record) == []


def test_the_reason_is_read_from_the_versions_own_entry_whichever_way_the_log_runs():
    oldest_first = ("## Changelog\n\n## May 1, 2024\nFirst version, written because the board asked.\n\n"
                    "## June 3, 2025\nRenamed the security levels.\n")
    assert current_entry(oldest_first)[0] == date(2025, 6, 3)
    assert find_justification(oldest_first) is None  # the older entry's reason does not count
    assert find_justification(oldest_first.replace("levels.", "levels to align with ISO/IEC 42001."))


def test_update_without_changelog_or_version_is_flagged():
    record = update_record(NO_LOG)
    assert record.changelog is None and record.version is None and record.changed_on is None
    assert [flag.code for flag in update_flags(record)] == [
        "update_without_changelog", "update_without_version", "update_without_date"]
    assert record.missing(["changelog"]) == ("changelog",)
    with pytest.raises(ValueError, match="unknown update-record parts"):
        record.missing(["signature"])


def test_material_change_flags():
    justified, unjustified = update_record(UPDATED), update_record(NO_REASON)
    assert unjustified.justification is None
    assert material_change_flags(justified, MATERIAL, published_on=date(2026, 3, 10)) == []
    codes = [flag.code for flag in material_change_flags(unjustified, MATERIAL, published_on=date(2026, 3, 10))]
    assert codes == ["material_change_without_justification"]
    # rewording is not a material change; a silent change is not covered by the changelog's reason
    assert material_change_flags(unjustified, (ChangeFact("reworded", "silent"),), published_on=None) == []
    silent = material_change_flags(justified, (ChangeFact("removed", "silent"), *MATERIAL), published_on=None)
    assert [flag.code for flag in silent] == ["material_change_not_in_changelog"]
    late = material_change_flags(justified, MATERIAL, published_on=date(2026, 4, 20), within_days=30)
    assert [flag.code for flag in late] == ["material_change_published_late"] and "49 days" in late[0].detail


def _v(vid: int, day: date, *, text: str | None = UPDATED, changes=MATERIAL, update: bool = True) -> ClockVersion:
    return ClockVersion(vid, f"v{vid} ({day})", day, update, update_record(text) if text else None, tuple(changes))


PUBLISH = {"id": "p", "kind": "publish-by", "date": "2026-01-01"}
REVIEW = {"id": "r", "kind": "review-every", "date": "2026-01-01", "every_months": 12}
CHANGE = {"id": "c", "kind": "change-within", "date": "2026-01-01", "within_days": 30, "requires": ["justification"]}
RECORD = {"id": "u", "kind": "update-record", "date": "2025-08-02", "requires": ["changelog", "version", "date"]}


def test_publish_by_generalises_the_paris_deadline():
    bound = date(2025, 6, 1)
    early, late = _v(1, date(2025, 9, 22), update=False), _v(2, date(2026, 2, 1))
    assert clock_status(PUBLISH, bound, [early, late], date(2026, 6, 1)).status == "met"
    assert clock_status(PUBLISH, bound, [early, late], date(2026, 6, 1)).version == early
    assert clock_status(PUBLISH, bound, [late], date(2026, 6, 1)).status == "late"
    assert clock_status(PUBLISH, bound, [], date(2026, 6, 1)).status == "missed"
    assert clock_status(PUBLISH, bound, [], date(2025, 12, 1)).status == "not due yet"
    assert clock_status(PUBLISH, date(2026, 3, 1), [], date(2026, 6, 1)).status == "signed after"


def test_review_every_twelve_months():
    assert add_months(date(2024, 2, 29), 12) == date(2025, 2, 28)
    first = _v(1, date(2025, 9, 22), update=False)
    assert clock_status(REVIEW, date(2026, 1, 1), [first], date(2026, 6, 1)).status == "not due yet"
    missed = clock_status(REVIEW, date(2026, 1, 1), [first], date(2027, 1, 2))
    assert (missed.status, missed.due, missed.version) == ("missed", date(2027, 1, 1), first)
    on_time = clock_status(REVIEW, date(2026, 1, 1), [first, _v(2, date(2026, 11, 1))], date(2027, 1, 2))
    assert (on_time.status, on_time.due) == ("met", date(2027, 11, 1))
    late = clock_status(REVIEW, date(2026, 1, 1), [first, _v(2, date(2027, 2, 1))], date(2027, 3, 1))
    assert late.status == "late" and "1 review(s) late" in late.detail
    assert clock_status(REVIEW, date(2027, 1, 1), [first], date(2026, 6, 1)).status == "not due yet"


def test_change_within_thirty_days_with_justification():
    bound, as_of = date(2026, 1, 1), date(2026, 9, 1)
    first = _v(1, date(2025, 9, 22), update=False)
    assert clock_status(CHANGE, bound, [first, _v(2, date(2026, 3, 5), changes=())], as_of).status == "not due yet"
    met = clock_status(CHANGE, bound, [first, _v(2, date(2026, 3, 5))], as_of)
    assert (met.status, met.due, met.version.id) == ("met", date(2026, 4, 1), 2)
    missed = clock_status(CHANGE, bound, [first, _v(2, date(2026, 3, 5), text=NO_REASON)], as_of)
    assert missed.status == "missed" and missed.flags[0].code == "material_change_without_justification"
    assert clock_status(CHANGE, bound, [first, _v(2, date(2026, 4, 20))], as_of).status == "late"
    assert clock_status(CHANGE, bound, [first, _v(2, date(2026, 3, 5), text=None)], as_of).status == "unknown"


def test_update_record_clock():
    bound, as_of = date(2025, 8, 1), date(2026, 9, 1)
    first = _v(1, date(2025, 2, 1), update=False)
    assert clock_status(RECORD, bound, [first], as_of).status == "not due yet"
    assert clock_status(RECORD, bound, [first, _v(2, date(2026, 3, 2))], as_of).status == "met"
    missed = clock_status(RECORD, bound, [first, _v(2, date(2026, 3, 2), text=NO_LOG)], as_of)
    assert missed.status == "missed" and "no changelog, version, date" in missed.detail
    assert {flag.code for flag in missed.flags} == {
        "update_without_changelog", "update_without_version", "update_without_date"}


def test_deadline_rows_for_sb53_rest_on_versions_and_skip_declined(engine):
    with Session(engine, expire_on_commit=False) as session:
        first = f.add_version(session, "anthropic-rsp", NO_LOG + "\nfirst", published_on=date(2025, 9, 22))
        second = f.add_version(session, "anthropic-rsp", NO_REASON, published_on=date(2026, 3, 5), previous=first,
                               version_label="2.1")
        f.add_change(session, first, second, "weakened", announced="announced")
        assert record_update(second) and record_updates(session) == 1  # the first is backfilled
        assert UpdateRecord.from_json(second.update_record).version == "2.1"
        session.commit()
        rows = deadline_statuses(session, "ca-sb53-2025", date(2026, 9, 1))
        mine = {r.deadline_id: r for r in rows if r.company_id == "anthropic"}
        assert mine["sb53-framework-by-2026"].status == "met"
        assert mine["sb53-framework-by-2026"].version_id == first.id
        assert mine["sb53-annual-review"].status == "met" and mine["sb53-annual-review"].version_id == second.id
        change = mine["sb53-material-change-30d"]
        assert (change.status, change.version_id) == ("missed", second.id)
        assert change.flags[0].code == "material_change_without_justification"
        assert mine["sb53-framework-by-2026"].coverage == "bound"
        assert mine["sb53-framework-by-2026"].coverage_confidence == "V"
        covered = {r.company_id for r in rows}
        assert covered == {"anthropic", "openai", "xai", "microsoft", "google", "meta"}
        assert {r.coverage_confidence for r in rows if r.company_id in ("google", "meta")} == {"ours"}

        eu = deadline_statuses(session, "eu-cop-ss-2025", date(2026, 9, 1))
        assert "meta" not in {r.company_id for r in eu}  # declined: shown from the signature, not as a clock
        assert {r.scope for r in eu if r.company_id == "xai"} == {"safety-and-security"}
        record = next(r for r in eu if r.company_id == "anthropic" and r.deadline_id == "eu-update-changelog")
        assert record.status == "met" and record.version_id == second.id

        assert deadline_statuses(session, "ny-raise-2025", date(2026, 9, 1)) == []  # nobody bound yet
        assert upcoming(session.get(m.Framework, "ny-raise-2025"), date(2026, 12, 31))
        assert not upcoming(session.get(m.Framework, "ny-raise-2025"), date(2027, 1, 1))
        from_2027 = deadline_statuses(session, "ny-raise-2025", date(2027, 1, 1))
        assert {r.status for r in from_2027 if r.deadline_id == "raise-annual-review"} == {"not due yet"}


def test_paris_statuses_match_the_stocktake(engine):
    from tracker.publish.stocktake import build_stocktake

    with Session(engine, expire_on_commit=False) as session:
        f.add_version(session, "anthropic-rsp", NO_LOG, published_on=date(2024, 10, 15))
        f.add_version(session, "openai-preparedness-framework", NO_LOG + "x", published_on=date(2025, 4, 15))
        session.commit()
        as_of = date(2025, 6, 1)
        ours = {(r.company_id, r.status) for r in deadline_statuses(session, "seoul-2024", as_of)}
        stocktake = build_stocktake(session, "seoul-2024", as_of, date(2025, 1, 1))
        theirs = {(r.company_id, r.status) for r in stocktake.deadlines}
        assert ours == theirs
        assert ("anthropic", "met") in ours and ("openai", "late") in ours
        assert session.get(m.Framework, "seoul-2024").deadlines[0]["id"] == "paris-2025"


def test_declined_companies_are_not_signatories_on_any_screen(engine):
    from tracker.publish.stocktake import build_stocktake
    from tracker.read import queries as q

    with Session(engine, expire_on_commit=False) as session:
        as_of = date(2026, 9, 1)
        view = q.overview(session, "eu-cop-ss-2025", as_of)
        assert "meta" not in {c.id for c in view.companies} and view.declined == {"meta": date(2025, 7, 18)}
        assert view.headline["deadline"]["label"].startswith("Safety and Security Framework in place")
        sb53 = q.overview(session, "ca-sb53-2025", as_of).headline["deadline"]  # the one-off clock, not the 30 days
        assert sb53["label"].startswith("Frontier AI framework published") and sb53["due"] == 6
        assert "meta" not in {c.id for c in q.commitment_view(session, "eu-cop-ss-2025/1", as_of).companies}
        signatures = {s.framework_id: s for s in q.company_view(session, "meta", as_of).signatures}
        assert signatures["eu-cop-ss-2025"].status == "declined" and signatures["ca-sb53-2025"].status == "bound"
        assert q.company_view(session, "xai", as_of).signatures[-1].status in ("signed", "bound")
        links = q.crosswalk(session, "eu-cop-ss-2025/8")
        assert [(x.commitment.id, x.relation, x.reviewed) for x in links] == [("seoul-2024/VI", "same", False)]

        stocktake = build_stocktake(session, "ca-sb53-2025", as_of, date(2026, 1, 1))
        assert {c.company_id for c in stocktake.companies} == {"anthropic", "openai", "xai", "microsoft", "google",
                                                               "meta"}
        kinds = {(d.deadline_id, d.kind) for d in stocktake.deadlines}
        assert ("sb53-annual-review", "review-every") in kinds and ("sb53-material-change-30d", "change-within") in kinds
        assert len(stocktake.deadlines) == 3 * 6
        eu = build_stocktake(session, "eu-cop-ss-2025", as_of, date(2025, 8, 1))
        assert "meta" not in {c.company_id for c in eu.companies} and len(eu.companies) == 9
