"""A company's legal and regime obligations (signed, bound, declined, upcoming), the overview's deadline summary
and the regime flags on published updates, from the real catalog and versions we write here."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import Session

from tests import factories as f
from tracker.core.errors import NotFoundError
from tracker.ingest.pipeline import record_updates
from tracker.read import obligations
from tracker.store.vocabulary import DEADLINE_STATUSES, REGIME_FLAGS

AS_OF = date(2026, 9, 1)
LOGGED = """Frontier Framework
Version {v}
Effective: {day}

1. Thresholds
We will evaluate every model against our capability thresholds before deployment.

Changelog

v{v}   {day}      Update. Raised the cyber threshold to better reflect the threat model of concern.
"""
BARE = """Frontier Framework

1. Thresholds
We will evaluate every model against our capability thresholds before deployment. {extra}
"""


def _history(session: Session, source_id: str) -> dict[str, int]:
    """A first version, an update before the EU Code applies, one after it without a changelog, and one
    after SB 53 applies with a material change and no justification."""
    first = f.add_version(session, source_id, BARE.format(extra="one"), published_on=date(2025, 2, 1))
    early = f.add_version(session, source_id, BARE.format(extra="two"), published_on=date(2025, 6, 1),
                          previous=first)
    eu = f.add_version(session, source_id, BARE.format(extra="three"), published_on=date(2025, 10, 1),
                       previous=early)
    sb53 = f.add_version(session, source_id, BARE.format(extra="four"), published_on=date(2026, 3, 5),
                         previous=eu)
    f.add_change(session, eu, sb53, "weakened", announced="silent")
    logged = f.add_version(session, source_id, LOGGED.format(v="2.1", day="May 4, 2026"),
                           published_on=date(2026, 5, 4), previous=sb53, version_label="2.1")
    f.add_change(session, sb53, logged, "strengthened", announced="announced")
    record_updates(session)
    session.commit()
    return {"first": first.id, "early": early.id, "eu": eu.id, "sb53": sb53.id, "logged": logged.id}


def test_version_flags_follow_each_regime_from_the_day_it_binds(engine):
    with Session(engine, expire_on_commit=False) as session:
        ids = _history(session, "anthropic-rsp")
        meta = _history(session, "meta-advanced-ai-scaling-framework")
        flags = obligations.version_flags(session, [*ids.values(), *meta.values()])
        assert ids["first"] not in flags  # a first version is not an update
        assert ids["early"] not in flags  # before the EU Code's obligations applied (2 Aug 2025)
        assert {(x.framework_id, x.code) for x in flags[ids["eu"]]} == {
            ("eu-cop-ss-2025", "update_without_changelog"), ("eu-cop-ss-2025", "update_without_version"),
            ("eu-cop-ss-2025", "update_without_date")}
        sb53 = {(x.framework_id, x.code) for x in flags[ids["sb53"]]}
        assert ("ca-sb53-2025", "material_change_without_justification") in sb53
        assert ("eu-cop-ss-2025", "update_without_changelog") in sb53
        assert ids["logged"] not in flags  # changelog, version, date and a reason: nothing to flag
        # Meta declined the EU Code: only SB 53 judges its updates
        assert {x.framework_id for v in meta.values() for x in flags.get(v, [])} == {"ca-sb53-2025"}
        flag = flags[ids["sb53"]][0]
        assert flag.company_id == "anthropic" and flag.source_id == "anthropic-rsp"
        assert flag.version_label == "2026-03-05" and flag.meaning == REGIME_FLAGS[flag.code]
        assert obligations.version_flags(session, []) == {}


def test_company_obligations_signed_bound_declined_and_upcoming(engine):
    with Session(engine, expire_on_commit=False) as session:
        meta_ids = _history(session, "meta-advanced-ai-scaling-framework")
        view = obligations.company_obligations(session, "meta", AS_OF)
        regimes = {r.framework_id: r for r in view.regimes}
        assert list(regimes) == ["eu-cop-ss-2025", "ca-sb53-2025", "ny-raise-2025"]
        eu = regimes["eu-cop-ss-2025"]
        assert eu.declined and not eu.in_force and eu.since == date(2025, 7, 18)
        assert eu.deadlines == [] and eu.flags == []  # a refusal binds nothing
        assert "won’t be signing" in eu.note
        sb53 = regimes["ca-sb53-2025"]
        assert sb53.status == "bound" and sb53.in_force and sb53.status_confidence == "ours"
        assert {d.deadline_id for d in sb53.deadlines} == {
            "sb53-framework-by-2026", "sb53-annual-review", "sb53-material-change-30d"}
        publish = next(d for d in sb53.deadlines if d.deadline_id == "sb53-framework-by-2026")
        assert publish.status == "met" and publish.version_id == meta_ids["eu"]  # in force on 1 Jan 2026
        assert view.version_sources[publish.version_id] == "meta-advanced-ai-scaling-framework"
        assert [f.code for f in sb53.flags] == ["material_change_without_justification"]
        assert all(d.status in DEADLINE_STATUSES for d in sb53.deadlines)
        raise_ = regimes["ny-raise-2025"]
        assert raise_.upcoming and not raise_.in_force and raise_.deadlines == []
        # before Meta declined, the EU Code is not on its page at all; RAISE and SB 53 are laws ahead
        before = {r.framework_id: r for r in obligations.company_obligations(session, "meta", date(2025, 7, 1)).regimes}
        assert "eu-cop-ss-2025" not in before and not before["ca-sb53-2025"].in_force

        xai = {r.framework_id: r for r in obligations.company_obligations(session, "xai", AS_OF).regimes}
        assert xai["eu-cop-ss-2025"].scope == "safety-and-security"
        assert xai["eu-cop-ss-2025"].scope_title == "Safety and Security chapter only"
        assert xai["eu-cop-ss-2025"].date_precision == "intent" and xai["eu-cop-ss-2025"].in_force
        missed = {d.deadline_id: d.status for d in xai["eu-cop-ss-2025"].deadlines}
        assert missed["eu-framework-before-market"] == "missed"  # no xAI version stored in this test
        assert obligations.company_obligations(session, "zhipu", AS_OF).regimes == []
        with pytest.raises(NotFoundError):
            obligations.company_obligations(session, "nobody", AS_OF)


def test_deadline_summary_counts_every_bound_company_and_lists_refusals(engine):
    with Session(engine, expire_on_commit=False) as session:
        _history(session, "anthropic-rsp")
        summary = obligations.deadline_summary(session, "eu-cop-ss-2025", AS_OF)
        assert [d.id for d in summary.deadlines] == [
            "eu-framework-before-market", "eu-framework-assessment", "eu-update-changelog"]
        companies = summary.companies()
        assert companies == 9 and "meta" not in {r.company_id for r in summary.rows}
        for deadline in summary.deadlines:
            assert sum(summary.counts[deadline.id].values()) == companies
        assert summary.counts["eu-framework-before-market"] == {"met": 1, "missed": 8}
        assert summary.counts["eu-update-changelog"]["met"] == 1  # anthropic's newest update is complete
        assert [(cid, day) for cid, _, day in summary.declined] == [("meta", date(2025, 7, 18))]
        rested = {r.version_id for r in summary.rows if r.version_id}
        assert rested and all(summary.version_sources[v] == "anthropic-rsp" for v in rested)
        raise_ = obligations.deadline_summary(session, "ny-raise-2025", AS_OF)
        assert raise_.upcoming and raise_.applies_from == date(2027, 1, 1) and raise_.rows == []
        with pytest.raises(NotFoundError):
            obligations.deadline_summary(session, "nope", AS_OF)
