"""What reviewers decided, as the public sees it: the review state of each change, the corrections log and the
agreement rate between reviewers.

Rules (DESIGN: "the machine proposes, a person decides"): a change whose automatic or reviewed direction is a
weakening (weakened or removed) is published as reviewed only when two different reviewers agree on it; one
decision alone leaves it "awaiting-second" and the automatic call stays public. Two reviewers who disagree put
it on the adjudication list until an admin decides. Anything else is final after one reviewer. The automatic
call is never overwritten: `ChangeEvent` keeps it, `ChangeReview` rows sit beside it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Session, select

from tracker.store import models as m
from tracker.store.reviewfiles import split_rationale
from tracker.store.vocabulary import WEAKENING_DIRECTIONS, ReviewStatus, level_label

Outcome = tuple[bool, str | None, str | None]  # (dismissed, direction, announced)


@dataclass(frozen=True)
class ChangeReviewState:
    """Where one change stands: its status and the call that is published now (the automatic one until final)."""

    change_id: int
    status: str
    direction: str | None  # published direction (None when dismissed as not a change)
    announced: str | None
    dismissed: bool
    automatic_direction: str
    automatic_announced: str
    reviewers: tuple[str, ...] = ()
    decided_at: datetime | None = None  # when the published decision became final
    reasons: tuple[str, ...] = ()


def outcome(review: m.ChangeReview) -> Outcome:
    return (review.dismissed, None if review.dismissed else review.direction,
            None if review.dismissed else review.announced)


def needs_two(automatic_direction: str, reviews: Iterable[m.ChangeReview]) -> bool:
    """A change is judged by two when a weakening is on the table, automatic or proposed by a reviewer."""
    return automatic_direction in WEAKENING_DIRECTIONS or any(
        r.direction in WEAKENING_DIRECTIONS and not r.dismissed for r in reviews)


def state_of(change_id: int, automatic_direction: str, automatic_announced: str,
             reviews: list[m.ChangeReview]) -> ChangeReviewState:
    """Apply the two-reviewer rule to one change's decisions (oldest first)."""
    automatic = ChangeReviewState(change_id, ReviewStatus.AUTOMATIC, automatic_direction, automatic_announced,
                                  False, automatic_direction, automatic_announced)
    if not reviews:
        return automatic
    reviews = sorted(reviews, key=lambda r: (r.decided_at, r.id or 0))
    adjudications = [r for r in reviews if r.decision == "adjudicate"]
    if adjudications:
        final = adjudications[-1]
        dismissed, direction, announced = outcome(final)
        return ChangeReviewState(change_id, ReviewStatus.REVIEWED_BY_TWO, direction, announced, dismissed,
                                 automatic_direction, automatic_announced,
                                 tuple(dict.fromkeys(r.reviewer for r in reviews)), final.decided_at,
                                 (final.reason,))
    outcomes = {outcome(r) for r in reviews}
    reviewers = tuple(dict.fromkeys(r.reviewer for r in reviews))
    if len(outcomes) > 1:
        return ChangeReviewState(change_id, ReviewStatus.ADJUDICATION, automatic_direction, automatic_announced,
                                 False, automatic_direction, automatic_announced, reviewers)
    dismissed, direction, announced = outcomes.pop()
    if len(reviewers) >= 2:
        status = ReviewStatus.REVIEWED_BY_TWO
        decided_at = reviews[1].decided_at
    elif needs_two(automatic_direction, reviews):
        return ChangeReviewState(change_id, ReviewStatus.AWAITING_SECOND, automatic_direction,
                                 automatic_announced, False, automatic_direction, automatic_announced, reviewers)
    else:
        status, decided_at = ReviewStatus.REVIEWED, reviews[0].decided_at
    return ChangeReviewState(change_id, status, direction, announced, dismissed, automatic_direction,
                             automatic_announced, reviewers, decided_at, tuple(r.reason for r in reviews))


def reviews_by_change(session: Session, change_ids: Iterable[int] | None = None) -> dict[int, list[m.ChangeReview]]:
    query = select(m.ChangeReview).order_by(m.ChangeReview.decided_at, m.ChangeReview.id)
    if change_ids is not None:
        ids = list(change_ids)
        if not ids:
            return {}
        query = query.where(m.ChangeReview.change_id.in_(ids))
    grouped: dict[int, list[m.ChangeReview]] = defaultdict(list)
    for review in session.exec(query):
        grouped[review.change_id].append(review)
    return grouped


def change_states(session: Session, changes: Iterable[tuple[int, str, str]]) -> dict[int, ChangeReviewState]:
    """{change id: state} for (id, automatic direction, automatic announcement) triples, in one query."""
    changes = list(changes)
    grouped = reviews_by_change(session, [c[0] for c in changes]) if changes else {}
    return {cid: state_of(cid, direction, announced, grouped.get(cid, [])) for cid, direction, announced in changes}


def reviewed_change_states(session: Session) -> dict[int, ChangeReviewState]:
    """States of every change a person has decided on (few: human decisions), for filters inside SQL queries."""
    grouped = reviews_by_change(session)
    if not grouped:
        return {}
    rows = session.execute(sa.select(m.ChangeEvent.id, m.ChangeEvent.direction, m.ChangeEvent.announced)
                           .where(m.ChangeEvent.id.in_(list(grouped)))).all()
    return {cid: state_of(cid, direction, announced, grouped[cid]) for cid, direction, announced in rows}


# --------------------------------------------------------------------------------------------- corrections


@dataclass(frozen=True)
class Correction:
    """A published judgement that a person changed: what it was, what it is now, and why."""

    on: date
    kind: str  # level | change
    company_id: str
    company_name: str
    subject: str  # commitment id (levels) or "<source title>: <commitments>" (changes)
    before: str
    after: str
    reason: str
    reviewers: tuple[str, ...]
    key: str  # stable id for feeds: "level/<assessment id>" or "change/<change id>"
    valid_from: date | None = None
    link_params: dict = field(default_factory=dict)


def _level_word(level: int | None) -> str:
    return f"{level} ({level_label(level).lower()})" if level is not None else level_label(None).lower()


def _call(direction: str | None, announced: str | None, dismissed: bool) -> str:
    return "not a change (dismissed)" if dismissed else f"{direction}, {announced}"


def level_corrections(session: Session) -> list[Correction]:
    """Reviewed levels that differ from the judgement they replaced for the same company, commitment and date.

    The first review of a cell and date is compared with the automatic level of that date (whenever either was
    recorded: a shipped review may predate the pipeline's row); a later review with the review before it.
    """
    names = dict(session.exec(select(m.Company.id, m.Company.name)).all())
    rows = session.exec(
        select(m.Assessment).where(m.Assessment.basis.in_(("automatic", "reviewed")))
        .order_by(m.Assessment.recorded_at, m.Assessment.id)
    ).all()
    by_cell: dict[tuple[str, str, date], list[m.Assessment]] = defaultdict(list)
    for a in rows:
        by_cell[(a.company_id, a.commitment_id, a.valid_from)].append(a)
    out = []
    for same_day in by_cell.values():
        automatic = [a for a in same_day if a.basis == "automatic"]
        previous = automatic[-1] if automatic else None
        for a in (r for r in same_day if r.basis == "reviewed"):
            if previous is not None and previous.level != a.level:
                rationale, quote = split_rationale(a.rationale)
                out.append(Correction(
                    on=a.recorded_at.date(), kind="level", company_id=a.company_id,
                    company_name=names.get(a.company_id, a.company_id), subject=a.commitment_id,
                    before=f"{_level_word(previous.level)}, {previous.basis}",
                    after=f"{_level_word(a.level)}, reviewed by {a.assessor}",
                    reason=rationale + (f' Quote: "{quote}"' if quote else ""), reviewers=(a.assessor,),
                    key=f"level/{a.id}", valid_from=a.valid_from,
                    link_params={"company": a.company_id, "commitment": a.commitment_id},
                ))
            previous = a
    return out


def change_corrections(session: Session) -> list[Correction]:
    """Changes whose final reviewed call differs from the automatic one (direction, announcement or dismissed)."""
    grouped = reviews_by_change(session)
    if not grouped:
        return []
    changes = {c.id: c for c in session.exec(select(m.ChangeEvent).where(m.ChangeEvent.id.in_(list(grouped))))}
    names = dict(session.exec(select(m.Company.id, m.Company.name)).all())
    titles = dict(session.exec(select(m.Source.id, m.Source.title)).all())
    out = []
    for change_id, reviews in grouped.items():
        first = reviews[0]
        state = state_of(change_id, first.automatic_direction, first.automatic_announced, reviews)
        if state.status not in (ReviewStatus.REVIEWED, ReviewStatus.REVIEWED_BY_TWO):
            continue
        if (state.dismissed, state.direction, state.announced) == (False, first.automatic_direction,
                                                                   first.automatic_announced):
            continue
        change = changes.get(change_id)
        subject = (f"{titles.get(change.source_id, change.source_id)}: {', '.join(change.commitments) or 'no commitment'}"
                   if change else f"change #{change_id} (since re-analysed)")
        out.append(Correction(
            on=state.decided_at.date() if state.decided_at else first.decided_at.date(), kind="change",
            company_id=first.company_id, company_name=names.get(first.company_id, first.company_id), subject=subject,
            before=_call(first.automatic_direction, first.automatic_announced, False),
            after=_call(state.direction, state.announced, state.dismissed), reason=" / ".join(state.reasons),
            reviewers=state.reviewers, key=f"change/{change_id}",
            link_params={"company": first.company_id},
        ))
    return out


def corrections(session: Session, *, company_id: str | None = None, limit: int | None = None) -> list[Correction]:
    """The public corrections log, newest first."""
    items = level_corrections(session) + change_corrections(session)
    if company_id:
        items = [c for c in items if c.company_id == company_id]
    items.sort(key=lambda c: (c.on, c.key), reverse=True)
    return items[:limit] if limit else items


# ---------------------------------------------------------------------------------------------- agreement


@dataclass(frozen=True)
class ReviewerAgreement:
    """How often the first two reviewers of a change reached the same call (for the methodology page)."""

    changes: int  # changes decided by at least two different reviewers
    agreed: int
    adjudicated: int

    @property
    def rate(self) -> float | None:
        return self.agreed / self.changes if self.changes else None


def reviewer_agreement(session: Session) -> ReviewerAgreement:
    changes = agreed = adjudicated = 0
    for reviews in reviews_by_change(session).values():
        if any(r.decision == "adjudicate" for r in reviews):
            adjudicated += 1
        first_two: list[m.ChangeReview] = []
        for review in reviews:
            if review.decision != "adjudicate" and review.reviewer not in {r.reviewer for r in first_two}:
                first_two.append(review)
        if len(first_two) >= 2:
            changes += 1
            agreed += outcome(first_two[0]) == outcome(first_two[1])
    return ReviewerAgreement(changes, agreed, adjudicated)
