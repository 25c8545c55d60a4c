"""The crosswalked union: how links are followed and counted (pure), then the grid and the equivalents from a
database with the real catalog and crosswalk."""

from __future__ import annotations

from datetime import date

from sqlmodel import Session

from tests import factories as f
from tracker.read import union
from tracker.read.queries import Cell
from tracker.read.union import Link, best_cell, routes_from

AS_OF = date(2026, 9, 1)


def _by_id(routes):
    return {r.commitment_id: r for r in routes}


def test_routes_follow_same_links_and_at_most_one_other():
    links = [
        Link("ca/fw-2", "seoul/II", "same"),
        Link("ny/fw-b", "ca/fw-2", "same"),
        Link("eu/4", "seoul/II", "overlaps"),
        Link("eu/4", "seoul/IV", "same"),
        Link("eu/9", "eu/4", "overlaps"),  # a second "overlaps" after eu/4: never followed from Seoul II
    ]
    found = _by_id(routes_from(links, "seoul/II"))
    assert found["ca/fw-2"].coverage == "same" and found["ca/fw-2"].path == ("ca/fw-2",)
    assert found["ny/fw-b"].coverage == "same" and found["ny/fw-b"].path == ("ca/fw-2", "ny/fw-b")
    assert found["eu/4"].coverage == "overlaps"
    assert found["seoul/IV"].coverage == "overlaps"  # may end in the start's framework (pages filter it)
    assert "eu/9" not in found
    # never on through the start's own framework: from SB 53 fw-2, Seoul II is reached but not passed
    from_sb53 = _by_id(routes_from(links, "ca/fw-2"))
    assert from_sb53["seoul/II"].coverage == "same" and "eu/4" in from_sb53
    assert "seoul/IV" not in from_sb53  # would take three links
    assert "seoul/IV" in _by_id(routes_from(links, "ca/fw-2", max_steps=3))


def test_part_of_is_a_part_from_the_whole_and_a_whole_from_the_part():
    links = [Link("eu/6", "seoul/III", "part-of"), Link("seoul/V", "ca/fw-1", "part-of"),
             Link("ny/fw-g", "eu/6", "same")]
    from_iii = _by_id(routes_from(links, "seoul/III"))
    assert from_iii["eu/6"].coverage == "part" and from_iii["eu/6"].capped
    assert from_iii["ny/fw-g"].coverage == "part"  # the part's "same" twin is a part too
    from_v = _by_id(routes_from(links, "seoul/V"))
    assert from_v["ca/fw-1"].coverage == "whole" and not from_v["ca/fw-1"].capped
    assert _by_id(routes_from(links, "eu/6"))["seoul/III"].coverage == "whole"


def test_a_route_is_reviewed_only_when_every_link_is():
    links = [Link("ca/fw-2", "seoul/II", "same", reviewed=True), Link("ny/fw-b", "ca/fw-2", "same")]
    found = _by_id(routes_from(links, "seoul/II"))
    assert found["ca/fw-2"].reviewed and not found["ny/fw-b"].reviewed


def _cell(commitment: str, level: int | None, basis: str = "automatic") -> Cell:
    return Cell("acme", commitment, level, basis, date(2026, 1, 1), 1, None, None)


def test_best_cell_takes_the_best_candidate_caps_parts_and_prefers_the_own_level_on_a_tie():
    links = [Link("eu-cop-ss-2025/6", "seoul-2024/III", "part-of"), Link("ca-sb53-2025/fw-3", "seoul-2024/III", "same")]
    routes = _by_id(routes_from(links, "seoul-2024/III"))
    part, same = routes["eu-cop-ss-2025/6"], routes["ca-sb53-2025/fw-3"]
    capped = best_cell("acme", "seoul-2024/III", _cell("seoul-2024/III", 1), [(part, _cell("eu-cop-ss-2025/6", 3))], {})
    assert (capped.level, capped.via_label, capped.source_commitment_id) == (2, "EU 6", "eu-cop-ss-2025/6")
    assert [c.counted for c in capped.candidates] == [1, 2] and capped.candidates[1].level == 3
    tie = best_cell("acme", "seoul-2024/III", _cell("seoul-2024/III", 2, "reviewed"),
                    [(part, _cell("eu-cop-ss-2025/6", 3)), (same, _cell("ca-sb53-2025/fw-3", 2))], {})
    assert (tie.level, tie.basis, tie.via_label, tie.from_regime) == (2, "reviewed", "", False)
    only_regime = best_cell("acme", "seoul-2024/III", None, [(same, _cell("ca-sb53-2025/fw-3", 3))], {})
    assert (only_regime.level, only_regime.via_label) == (3, "SB 53 fw-3")
    not_applicable = best_cell("acme", "seoul-2024/III", _cell("seoul-2024/III", None),
                               [(same, _cell("ca-sb53-2025/fw-3", 0))], {})
    assert not_applicable.level == 0  # a level, even 0, says more than "not applicable"
    assert best_cell("acme", "seoul-2024/III", None, [], {}) is None


def _levels(session: Session) -> None:
    version = f.add_version(session, "anthropic-rsp", "We will define thresholds.", published_on=date(2026, 2, 24))
    f.add_evidence(session, version, "ca-sb53-2025/fw-2", "We will define thresholds.", indicator_id="thresholds")
    f.add_assessment(session, "anthropic", "seoul-2024/II", 1, date(2026, 2, 24), version=version)
    f.add_assessment(session, "anthropic", "ca-sb53-2025/fw-2", 3, date(2026, 2, 24), version=version,
                     basis="reviewed")
    f.add_assessment(session, "anthropic", "seoul-2024/III", 1, date(2026, 2, 24), version=version)
    f.add_assessment(session, "anthropic", "eu-cop-ss-2025/6", 3, date(2026, 2, 24), version=version)
    f.add_assessment(session, "anthropic", "seoul-2024/VI", 3, date(2026, 2, 24), version=version)
    f.add_assessment(session, "anthropic", "eu-cop-ss-2025/8", 2, date(2026, 2, 24), version=version)
    f.add_assessment(session, "anthropic", "eu-cop-ss-2025/4", 2, date(2026, 2, 24), version=version)
    session.commit()


def test_crosswalked_overview_on_the_real_crosswalk(engine):
    with Session(engine, expire_on_commit=False) as session:
        _levels(session)
        routes = union.union_routes(session)
        assert {r.framework_id for rs in routes.values() for r in rs} == {
            "eu-cop-ss-2025", "ca-sb53-2025", "ny-raise-2025"}
        assert "ny-raise-2025/fw-b" in {r.commitment_id for r in routes["seoul-2024/II"]}  # through SB 53
        view = union.crosswalked_overview(session, AS_OF)
        assert view.framework.id == "seoul-2024" and [c.number for c in view.commitments][:2] == ["I", "II"]
        thresholds = view.cells["anthropic", "seoul-2024/II"]
        assert (thresholds.level, thresholds.basis, thresholds.via_label) == (3, "reviewed", "SB 53 fw-2")
        security = view.cells["anthropic", "seoul-2024/III"]
        assert (security.level, security.via_label) == (2, "EU 6")  # EU 6 is a part of Seoul III: capped
        governance = view.cells["anthropic", "seoul-2024/VI"]
        assert (governance.level, governance.via_label) == (3, "")  # its own level is the best
        process = view.cells["anthropic", "seoul-2024/IV"]
        assert (process.level, process.via_label) == (2, "EU 4")  # no Seoul IV level: the regime's alone
        assert view.headline["cells_from_regimes"] == 3
        assert view.headline["average_level"]["seoul-2024/II"] == 3
        # companies bound only by a regime count as signatories here; declining (Meta, EU Code) does not
        assert {"anthropic", "meta", "ibm", "mistral"} <= {c.id for c in view.companies}
        sources = union.union_sources(session, AS_OF)
        assert [(s.company_id, s.number, s.source_label, s.level, s.source_level, s.own_level) for s in sources] == [
            ("anthropic", "II", "SB 53 fw-2", 3, 3, 1), ("anthropic", "III", "EU 6", 2, 3, 1),
            ("anthropic", "IV", "EU 4", 2, 2, None)]
        grouped = union.crosswalked_overview(session, AS_OF, groups=["no-such-group"])
        assert grouped.companies == [] and grouped.cells == {}


def test_equivalent_evidence_shows_one_company_on_every_equivalent(engine):
    with Session(engine, expire_on_commit=False) as session:
        _levels(session)
        found = union.equivalent_evidence(session, "ca-sb53-2025/fw-2", "anthropic", AS_OF)
        ids = [e.commitment.id for e in found]
        assert ids[0] == "ca-sb53-2025/fw-2" and found[0].route is None
        assert {"seoul-2024/II", "ny-raise-2025/fw-b", "eu-cop-ss-2025/4"} <= set(ids)
        assert not any(i.startswith("ca-sb53-2025/") for i in ids[1:])  # never its own framework's commitments
        own = found[0]
        assert own.cell.level == 3 and [q.quote for q in own.evidence] == ["We will define thresholds."]
        assert own.signature == "bound"
        seoul = next(e for e in found if e.commitment.id == "seoul-2024/II")
        assert seoul.cell.level == 1 and seoul.route.coverage == "same" and seoul.signature == "signed"
        raise_ = next(e for e in found if e.commitment.id == "ny-raise-2025/fw-b")
        assert raise_.cell is None and raise_.evidence == []
        assert raise_.signature is None  # RAISE binds from 2027
        meta = union.equivalent_evidence(session, "eu-cop-ss-2025/4", "meta", AS_OF)
        assert meta[0].signature == "declined"
