"""The crosswalked union: each Seoul commitment at the best level a company reaches on it or on any regime
commitment the crosswalk links to it, with where that level comes from.

Why a read model of its own: a reader who asks "does company X have thresholds?" should not have to open the
Seoul grid, the EU Code grid and the SB 53 grid and compare them by hand; the regimes ask much the same of a
framework in other words (`data/crosswalk.yaml`). The union answers on the Seoul grid (any target framework
works), so the overview draws it with the same grid.

How a link counts (documented for readers in `data/methodology/crosswalk.md`, shown on the methodology page):

* ``same`` and ``overlaps``: the regime commitment's level counts as it is.
* ``part-of`` where the regime commitment asks for a *part* of the Seoul commitment (EU Code 6, security, is part
  of Seoul III): it counts, but at most as level 2 (partial), since meeting a part in full is not meeting the
  whole. Where the Seoul commitment is the part (the regime asks for more), the level counts as it is.
* Chains: a link may be followed through any number of ``same`` links (RAISE §1421(1)(b) is the same as SB 53
  §22757.12(a)(2), which is the same as Seoul II), with at most one link that is not ``same``; the route then
  counts as that link does. Two ``overlaps`` in a row are never followed: they may share nothing.

A cell's level is the best of these candidates; on a tie the Seoul cell wins, then the first route in catalog
order. Which regimes: frameworks of the kinds in `vocabulary.REGIME_KINDS` (the EU Code, SB 53, RAISE).
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa
from sqlmodel import Session

from tracker.core.errors import NotFoundError
from tracker.read.asof import levels_in_force
from tracker.read.queries import (
    Cell,
    EvidenceItem,
    Overview,
    evidence_for,
    framework_commitments,
    grid_companies,
)
from tracker.store import models as m
from tracker.store.vocabulary import BINDING_STATUSES, REGIME_KINDS

TARGET = "seoul-2024"
MAX_STEPS = 2  # RAISE -> SB 53 -> Seoul; longer chains drift from what the start asks
PART_CAP = 2  # a regime commitment that is only a part of the target counts at most as partial
SHORT_LABELS = {"eu-cop-ss-2025": "EU", "ca-sb53-2025": "SB 53", "ny-raise-2025": "RAISE"}

# How a linked commitment covers the one we start from, from the start's side.
SAME, OVERLAPS, PART, WHOLE = "same", "overlaps", "part", "whole"
RELATION_WORDS = {SAME: "asks for the same", OVERLAPS: "overlaps", PART: "asks for a part of it",
                  WHOLE: "asks for more, including all of it"}


@dataclass(frozen=True)
class Link:
    """One crosswalk row, as stored: `from_id` relation `to_id` (part-of: `from_id` asks for a part of `to_id`)."""

    from_id: str
    to_id: str
    relation: str
    reviewed: bool = False


@dataclass(frozen=True)
class Route:
    """How commitment `commitment_id` is reached from a start commitment through the crosswalk."""

    commitment_id: str
    coverage: str  # same | overlaps | part | whole, from the start commitment's side
    path: tuple[str, ...]  # the commitments passed on the way, start excluded, this one last
    reviewed: bool  # every link on the way was checked by a reviewer

    @property
    def framework_id(self) -> str:
        return self.commitment_id.split("/")[0]

    @property
    def capped(self) -> bool:
        return self.coverage == PART

    @property
    def words(self) -> str:
        return RELATION_WORDS[self.coverage]


def _oriented(link: Link, start: str) -> str:
    """The link's relation as seen from `start`, one of its ends."""
    if link.relation == "part-of":
        return PART if link.to_id == start else WHOLE  # the other end is the part / the whole
    return SAME if link.relation == "same" else OVERLAPS


def routes_from(links: Iterable[Link], start: str, *, max_steps: int = MAX_STEPS) -> list[Route]:
    """Every commitment reachable from `start` through `same` links and at most one other link, in at most
    `max_steps` links, nearest first.

    Pure (no database), so the rule is tested on its own; a commitment reached twice keeps its best coverage
    (same, whole, overlaps, part) and then its shortest path. A route may end at, but never pass through, a
    commitment of the start's own framework (Seoul IV is not "like" Seoul II because both touch EU Code 4).
    """
    by_end: dict[str, list[Link]] = defaultdict(list)
    for link in links:
        by_end[link.from_id].append(link)
        by_end[link.to_id].append(link)
    rank = {SAME: 0, WHOLE: 1, OVERLAPS: 2, PART: 3}
    home = start.split("/")[0]
    best: dict[str, Route] = {}
    queue: deque[tuple[str, str, tuple[str, ...], bool]] = deque([(start, SAME, (), True)])
    while queue:
        here, coverage, path, reviewed = queue.popleft()
        if len(path) >= max_steps:
            continue
        for link in by_end.get(here, []):
            other = link.to_id if link.from_id == here else link.from_id
            if other == start or other in path or (here != start and here.split("/")[0] == home):
                continue  # never back, never round in a circle, never on through the start's own framework
            step = _oriented(link, here)
            if step != SAME and coverage != SAME:
                continue  # at most one link that is not "same"
            new = step if step != SAME else coverage
            route = Route(other, new, (*path, other), reviewed and link.reviewed)
            known = best.get(other)
            if known is None or (rank[new], len(route.path)) < (rank[known.coverage], len(known.path)):
                best[other] = route
                queue.append((other, new, route.path, route.reviewed))
    return sorted(best.values(), key=lambda r: (len(r.path), r.commitment_id))


def load_links(session: Session) -> list[Link]:
    return [Link(a, b, rel, bool(rev)) for a, b, rel, rev in session.execute(
        sa.select(m.CommitmentLink.from_commitment_id, m.CommitmentLink.to_commitment_id,
                  m.CommitmentLink.relation, m.CommitmentLink.reviewed))]


def regime_ids(session: Session) -> list[str]:
    """The frameworks the union draws on: the codes of practice and laws in the catalog."""
    return list(session.scalars(sa.select(m.Framework.id).where(m.Framework.kind.in_(REGIME_KINDS))
                                .order_by(m.Framework.announced, m.Framework.id)))


def union_routes(session: Session, target: str = TARGET, regimes: Sequence[str] | None = None
                 ) -> dict[str, list[Route]]:
    """Per commitment of `target`, the routes to regime commitments (only those of `regimes`)."""
    chosen = set(regime_ids(session) if regimes is None else regimes) - {target}
    links = load_links(session)
    return {c.id: [r for r in routes_from(links, c.id) if r.framework_id in chosen]
            for c in framework_commitments(session, target)}


@dataclass(frozen=True)
class Candidate:
    """One level that competes for a union cell: the target's own cell, or a regime commitment's."""

    commitment_id: str
    level: int | None
    counted: int | None  # the level as it counts for the target (capped for a part)
    basis: str
    route: Route | None  # None: the target commitment itself


@dataclass(slots=True)
class UnionCell(Cell):
    """A union cell: the winning candidate's level, basis and version, with where it comes from."""

    source_commitment_id: str = ""  # the commitment whose level this is (the target's own, or a regime's)
    via_label: str = ""  # short "EU 4" / "SB 53 fw-2" when a regime's level wins, else ""
    candidates: tuple[Candidate, ...] = field(default_factory=tuple)

    @property
    def from_regime(self) -> bool:
        return bool(self.via_label)


def short_label(commitment_id: str, short_names: dict[str, str]) -> str:
    """ "EU 4", "SB 53 fw-2": what a grid cell has room for."""
    framework, _, number = commitment_id.partition("/")
    return f"{SHORT_LABELS.get(framework, short_names.get(framework, framework))} {number}"


def _order(level: int | None) -> int:
    return -1 if level is None else level


def best_cell(company_id: str, commitment_id: str, own: Cell | None, regime_cells: list[tuple[Route, Cell]],
              short_names: dict[str, str]) -> UnionCell | None:
    """The union cell of one company on one target commitment, or None when nothing is assessed."""
    candidates: list[tuple[Candidate, Cell]] = []
    if own is not None:
        candidates.append((Candidate(commitment_id, own.level, own.level, own.basis, None), own))
    for route, cell in regime_cells:
        counted = min(cell.level, PART_CAP) if cell.level is not None and route.capped else cell.level
        candidates.append((Candidate(route.commitment_id, cell.level, counted, cell.basis, route), cell))
    if not candidates:
        return None
    winner, cell = max(candidates, key=lambda pair: _order(pair[0].counted))  # max keeps the first of a tie
    return UnionCell(company_id, commitment_id, winner.counted, cell.basis, cell.valid_from, cell.assessment_id,
                     cell.version_id, cell.score, winner.commitment_id,
                     "" if winner.route is None else short_label(winner.commitment_id, short_names),
                     tuple(c for c, _ in candidates))


def crosswalked_overview(
    session: Session,
    as_of: date,
    *,
    target: str = TARGET,
    regimes: Sequence[str] | None = None,
    signatories_only: bool = True,
    groups: list[str] | None = None,
) -> Overview:
    """The target's grid with each cell at the best level over the target and the crosswalked regimes.

    "Signatories only" keeps the companies that signed the target or signed or are bound by one of the regimes
    as of the date (a declined signature does not count). Reads each framework's levels in one range scan.
    """
    framework = session.get(m.Framework, target)
    if framework is None:
        raise NotFoundError(f"unknown framework '{target}'")
    chosen = regime_ids(session) if regimes is None else list(regimes)
    routes = union_routes(session, target, chosen)
    commitments = framework_commitments(session, target)
    frameworks = [target, *[r for r in chosen if r != target]]
    short_names = dict(session.execute(sa.select(m.Framework.id, m.Framework.short_name)
                                       .where(m.Framework.id.in_(frameworks))).all())
    signed_on: dict[str, date] = {}
    declined: dict[str, date] = {}
    for company_id, framework_id, day, status in session.execute(
            sa.select(m.Signature.company_id, m.Signature.framework_id, m.Signature.signed_on, m.Signature.status)
            .where(m.Signature.framework_id.in_(frameworks))):
        if status not in BINDING_STATUSES:
            if framework_id == target:
                declined[company_id] = day
            continue
        if company_id not in signed_on or day < signed_on[company_id]:
            signed_on[company_id] = day  # the first day any of these frameworks bound it
    companies = grid_companies(session, signed_on, as_of, signatories_only=signatories_only, groups=groups)
    shown = {c.id for c in companies}
    wanted = {r.commitment_id for rs in routes.values() for r in rs} | {c.id for c in commitments}
    levels: dict[tuple[str, str], Cell] = {}
    for framework_id in frameworks:
        for row in levels_in_force(session, as_of, framework_id=framework_id):
            if row[0] in shown and row[1] in wanted:
                levels[row[0], row[1]] = Cell(*row)
    cells: dict[tuple[str, str], Cell] = {}
    for company in companies:
        for commitment in commitments:
            regime_cells = [(route, levels[company.id, route.commitment_id]) for route in routes[commitment.id]
                            if (company.id, route.commitment_id) in levels]
            cell = best_cell(company.id, commitment.id, levels.get((company.id, commitment.id)), regime_cells,
                             short_names)
            if cell is not None:
                cells[company.id, commitment.id] = cell
    result = Overview(framework, as_of, commitments, companies, signed_on, cells,
                      declined={k: v for k, v in declined.items() if v <= as_of})
    result.headline = _headline(result, routes)
    return result


def _headline(view: Overview, routes: dict[str, list[Route]]) -> dict[str, object]:
    """The overview's headline keys for the union (no deadline: the union has no clock of its own)."""
    levels: dict[str, list[int]] = defaultdict(list)
    from_regimes = 0
    for (_, commitment_id), cell in view.cells.items():
        if cell.level is not None:
            levels[commitment_id].append(cell.level)
        from_regimes += isinstance(cell, UnionCell) and cell.from_regime
    return {
        "signatories": sum(1 for c in view.companies if c.id in view.signed_on),
        "companies": len(view.companies),
        "average_level": {c.id: (sum(levels[c.id]) / len(levels[c.id]) if levels[c.id] else None)
                          for c in view.commitments},
        "assessed_cells": len(view.cells),
        "cells_from_regimes": from_regimes,
        "routes": {cid: [r.commitment_id for r in rs] for cid, rs in routes.items()},
    }


# ----------------------------------------------------------------------------------------- commitment page


@dataclass
class Equivalent:
    """A commitment equivalent to (or overlapping) the one on the page, with one company's level and quotes."""

    commitment: m.Commitment
    framework_name: str  # short name
    route: Route | None  # None: the page's own commitment
    cell: Cell | None
    evidence: list[EvidenceItem]
    signature: str | None  # how the company stands to that framework: signed | bound | declined | None


def equivalent_evidence(
    session: Session, commitment_id: str, company_id: str, as_of: date, *, per_commitment: int = 3,
) -> list[Equivalent]:
    """The page's commitment first, then every crosswalk equivalent in other frameworks (`routes_from`), each
    with the company's level in force and its best quotes: all in four queries."""
    commitment = session.get(m.Commitment, commitment_id)
    if commitment is None:
        raise NotFoundError(f"unknown commitment '{commitment_id}'")
    if session.get(m.Company, company_id) is None:
        raise NotFoundError(f"unknown company '{company_id}'")
    routes = [r for r in routes_from(load_links(session), commitment_id)
              if r.framework_id != commitment.framework_id]
    ids = [commitment_id, *[r.commitment_id for r in routes]]
    rows = session.execute(sa.select(m.Commitment, m.Framework.short_name)
                           .join(m.Framework, m.Framework.id == m.Commitment.framework_id)
                           .where(m.Commitment.id.in_(ids))).all()
    by_id = {c.id: (c, name) for c, name in rows}
    cells = {row[1]: Cell(*row) for row in levels_in_force(session, as_of, company_ids=[company_id],
                                                           commitment_ids=ids)}
    quotes = evidence_for(session, [(c.version_id, cid) for cid, c in cells.items() if c.version_id is not None],
                          per_commitment=per_commitment)
    status = dict(session.execute(sa.select(m.Signature.framework_id, m.Signature.status).where(
        m.Signature.company_id == company_id, m.Signature.signed_on <= as_of)).all())
    result = []
    for cid, route in [(commitment_id, None), *[(r.commitment_id, r) for r in routes]]:
        if cid not in by_id:
            continue
        found, name = by_id[cid]
        cell = cells.get(cid)
        evidence = quotes.get((cell.version_id, cid), []) if cell is not None and cell.version_id else []
        result.append(Equivalent(found, name, route, cell, evidence, status.get(found.framework_id)))
    return result


@dataclass(frozen=True)
class UnionSource:
    """Where one union cell's level comes from, when a regime's level beat the target's own."""

    company_id: str
    company: str
    commitment_id: str
    number: str
    level: int | None  # the level as it counts in the union
    own_level: int | None  # the target cell's own level (None: not assessed or n/a)
    own_assessed: bool
    source_commitment_id: str
    source_label: str  # "EU 4"
    source_level: int | None  # the regime commitment's level before any cap
    coverage: str
    basis: str


def union_sources(
    session: Session, as_of: date, *, target: str = TARGET, regimes: Sequence[str] | None = None,
    signatories_only: bool = True, groups: list[str] | None = None,
) -> list[UnionSource]:
    """Every union cell whose level comes from a regime rather than the target itself, by company: compact rows
    for the overview's "where the levels come from" table (the grid shows only the short label)."""
    view = crosswalked_overview(session, as_of, target=target, regimes=regimes, signatories_only=signatories_only,
                                groups=groups)
    names = {c.id: c.name for c in view.companies}
    numbers = {c.id: c.number for c in view.commitments}
    rows = []
    for (company_id, commitment_id), cell in view.cells.items():
        if not isinstance(cell, UnionCell) or not cell.from_regime:
            continue
        own = next((c for c in cell.candidates if c.route is None), None)
        won = next(c for c in cell.candidates if c.commitment_id == cell.source_commitment_id)
        rows.append(UnionSource(
            company_id, names[company_id], commitment_id, numbers[commitment_id], cell.level,
            own.level if own else None, own is not None, cell.source_commitment_id, cell.via_label, won.level,
            won.route.coverage if won.route else SAME, cell.basis))
    order = {c.id: i for i, c in enumerate(view.commitments)}
    return sorted(rows, key=lambda r: (r.company.lower(), order[r.commitment_id]))
