"""The review workbench: what awaits a person's judgement, and the decisions that make automatic calls reviewed.

Authorization and the audit log live here, as in `tracker.accounts.selfreports`: every function takes the
acting `User`; reviewers and admins may read the queue and decide, representatives never see it, only admins
settle disagreements. Every decision is recorded (who, when, why, before and after) in the same transaction.

The queue, ranked by what matters:
1. `change`: every weakened or removed change (by its probability when the analysis gives one, else weakened
   before removed, newest first), including those one reviewer decided and a second must confirm;
2. `level`: automatic levels of a new version that differ from the level in force before it;
3. `announcement`: the announced/silent call on strengthened and added changes;
4. `self-report`: submitted company claims (decided through `tracker.accounts.selfreports.decide`).

A change decision is a `ChangeReview` row beside the automatic call (never overwriting it); the public state
follows the two-reviewer rule of `tracker.read.reviews`. A level decision appends a `reviewed` assessment via
`tracker.store.spans.add_assessment`, with the quote in its rationale, so `review export` writes it out.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from tracker.accounts import selfreports as sr
from tracker.accounts.audit import record, snapshot
from tracker.accounts.auth import require_role
from tracker.core.errors import NotFoundError, PermissionDenied, ValidationError
from tracker.read.reviews import ChangeReviewState, change_states, outcome, reviews_by_change
from tracker.store import models as m
from tracker.store.reviewfiles import (
    QUOTE_MARK,
    REVIEW_METHOD,
    import_rows,
    load_review_files,
    quote_in,
    write_review_files,
)
from tracker.store.spans import add_assessment
from tracker.store.versions import effective_date
from tracker.store.vocabulary import (
    ANNOUNCEMENT_STATES,
    BASIS_RANK,
    DIRECTION_ORDER,
    DIRECTIONS,
    LEVELS,
    WEAKENING_DIRECTIONS,
    ReviewStatus,
    score_in_band,
)

REVIEWERS = ("reviewer", "admin")
ANNOUNCEMENT_DIRECTIONS = ("strengthened", "added")  # their announced/silent call is queued on its own
KIND_RANK = {"change": 0, "level": 1, "announcement": 2, "self-report": 3}
PREFIX = {"change": "change", "announcement": "change", "level": "level", "self-report": "selfreport"}


@dataclass
class QueueItem:
    """One thing awaiting a decision, with what a reviewer needs to decide it on one screen."""

    id: str  # change-<id> | level-<assessment id> | selfreport-<id>
    kind: str  # change | level | announcement | self-report
    company: str
    company_name: str
    commitment: str | None
    commitments: list[str]
    status: str  # automatic | awaiting-second | adjudication
    direction: str | None = None  # suggested (the call on the table)
    announced: str | None = None
    level: int | None = None  # suggested level (level items) or claimed level (self-reports)
    level_in_force: int | None = None
    confidence: float | None = None
    probability: float | None = None
    on: date | None = None  # the date the judgement speaks for
    old_quote: str | None = None
    new_quote: str | None = None
    evidence: list[str] = field(default_factory=list)  # quotes from the document (level items)
    reasons: list[str] = field(default_factory=list)
    live_url: str | None = None  # the address the source is watched at (what is online today)
    version_url: str | None = None  # where this version was published
    archived: str | None = None  # the stored copy in the app: documents?source=...&version=...
    web_archive: str | None = None  # the Internet Archive's capture of that address nearest the version's date
    old_archived: str | None = None
    reviewers: list[str] = field(default_factory=list)  # who decided already (awaiting a second / adjudication)
    rationale: str = ""

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class DecisionResult:
    item_id: str
    kind: str
    status: str  # the item's review status after the decision
    message: str


def _archived(version: m.DocumentVersion | None) -> str | None:
    return f"documents?source={version.source_id}&version={version.id}" if version else None


def _source_urls(session: Session) -> dict[str, str]:
    return dict(session.exec(select(m.Source.id, m.Source.url)).all())


def _versions(session: Session, ids: set[int]) -> dict[int, m.DocumentVersion]:
    """Versions by id without their texts (a queue lists hundreds; quotes are on the items already)."""
    if not ids:
        return {}
    return {v.id: v for v in session.exec(select(m.DocumentVersion).options(sa.orm.defer(m.DocumentVersion.text))
                                          .where(m.DocumentVersion.id.in_(list(ids))))}


def _links(sources: dict[str, str], version: m.DocumentVersion | None) -> dict[str, str | None]:
    """Live, version, stored and web-archive addresses of the document a judgement rests on."""
    if version is None:
        return {}
    source_url = sources.get(version.source_id)
    live = source_url if source_url and source_url.startswith("http") else None
    web = (f"https://web.archive.org/web/{effective_date(version):%Y%m%d}/{version.url}"
           if version.url.startswith("http") else None)
    return {"live_url": live, "version_url": version.url if version.url.startswith("http") else None,
            "archived": _archived(version), "web_archive": web}


def _probability(change: m.ChangeEvent) -> float | None:
    """How sure the analysis is of its call (None for rows written before probabilities were stored)."""
    return float(change.probability) if change.probability is not None else None


# ------------------------------------------------------------------------------------------------- queue


def _change_items(session: Session, actor: m.User) -> list[QueueItem]:
    changes = list(session.exec(select(m.ChangeEvent).where(
        m.ChangeEvent.direction.in_([*WEAKENING_DIRECTIONS, *ANNOUNCEMENT_DIRECTIONS]))))
    states = change_states(session, [(c.id, c.direction, c.announced) for c in changes])
    grouped = reviews_by_change(session, [c.id for c in changes if states[c.id].reviewers])
    names = dict(session.exec(select(m.Company.id, m.Company.name)).all())
    versions = _versions(session, {c.new_version_id for c in changes}
                         | {c.old_version_id for c in changes if c.old_version_id})
    sources = _source_urls(session)
    items = []
    for change in changes:
        state = states[change.id]
        reviews = grouped.get(change.id, [])
        if state.status in (ReviewStatus.REVIEWED, ReviewStatus.REVIEWED_BY_TWO):
            continue
        if state.status == ReviewStatus.ADJUDICATION and actor.role != "admin":
            continue
        if state.status != ReviewStatus.ADJUDICATION and actor.username in state.reviewers:
            continue  # already decided by this reviewer: it waits for someone else
        weakening = change.direction in WEAKENING_DIRECTIONS or state.status != ReviewStatus.AUTOMATIC
        if not weakening and change.announced == "no-changelog":
            continue
        call = outcome(reviews[0]) if state.status == ReviewStatus.AWAITING_SECOND else (
            False, change.direction, change.announced)
        new, old = versions.get(change.new_version_id), versions.get(change.old_version_id)
        items.append(QueueItem(
            id=f"change-{change.id}", kind="change" if weakening else "announcement", company=change.company_id,
            company_name=names.get(change.company_id, change.company_id),
            commitment=change.commitments[0] if change.commitments else None, commitments=list(change.commitments),
            status=state.status, direction=call[1] if not call[0] else None, announced=call[2] if not call[0] else None,
            confidence=_probability(change), probability=_probability(change),
            on=change.published_on or (effective_date(new) if new else None),
            old_quote=change.old_quote, new_quote=change.new_quote,
            reasons=[f"{r.get('code', '')}: {r.get('detail', '')}".strip(": ") for r in change.reasons or []],
            **_links(sources, new), old_archived=_archived(old),
            reviewers=list(state.reviewers),
            rationale="; ".join(f"{r.reviewer}: {r.reason}" for r in reviews),
        ))
    return items


def _cells(session: Session) -> dict[tuple[str, str], list[m.Assessment]]:
    cells: dict[tuple[str, str], list[m.Assessment]] = {}
    for a in session.exec(select(m.Assessment).order_by(m.Assessment.valid_from, m.Assessment.recorded_at,
                                                        m.Assessment.id)):
        cells.setdefault((a.company_id, a.commitment_id), []).append(a)
    return cells


def _in_force(rows: list[m.Assessment], before: date) -> m.Assessment | None:
    earlier = [a for a in rows if a.valid_from < before]
    return max(earlier, key=lambda a: (a.valid_from, BASIS_RANK.get(a.basis, 0), a.recorded_at, a.id or 0),
               default=None)


def _level_candidates(session: Session) -> list[tuple[m.Assessment, m.Assessment | None]]:
    """Automatic levels of a version, not yet reviewed for that date, that differ from the level before them."""
    out = []
    for rows in _cells(session).values():
        by_day: dict[date, list[m.Assessment]] = {}
        for a in rows:
            by_day.setdefault(a.valid_from, []).append(a)
        for day, same_day in by_day.items():
            if any(a.basis != "automatic" for a in same_day):
                continue
            newest = same_day[-1]
            if newest.version_id is None:
                continue
            previous = _in_force(rows, day)
            if previous is not None and previous.level == newest.level:
                continue
            out.append((newest, previous))
    return out


def _level_items(session: Session) -> list[QueueItem]:
    candidates = _level_candidates(session)
    if not candidates:
        return []
    names = dict(session.exec(select(m.Company.id, m.Company.name)).all())
    versions = _versions(session, {a.version_id for a, _ in candidates})
    sources = _source_urls(session)
    quotes: dict[tuple[int, str], list[str]] = {}
    for e in session.exec(select(m.Evidence).where(m.Evidence.version_id.in_(list(versions)))
                          .order_by(m.Evidence.score.desc())):
        quotes.setdefault((e.version_id, e.commitment_id), []).append(e.quote)
    items = []
    for a, previous in candidates:
        version = versions.get(a.version_id)
        items.append(QueueItem(
            id=f"level-{a.id}", kind="level", company=a.company_id, company_name=names.get(a.company_id, a.company_id),
            commitment=a.commitment_id, commitments=[a.commitment_id], status=ReviewStatus.AUTOMATIC, level=a.level,
            level_in_force=previous.level if previous else None, confidence=a.confidence, on=a.valid_from,
            evidence=quotes.get((a.version_id, a.commitment_id), [])[:5], rationale=a.rationale,
            **_links(sources, version),
        ))
    return items


def _self_report_items(session: Session, actor: m.User) -> list[QueueItem]:
    names = dict(session.exec(select(m.Company.id, m.Company.name)).all())
    return [QueueItem(
        id=f"selfreport-{r.id}", kind="self-report", company=r.company_id,
        company_name=names.get(r.company_id, r.company_id), commitment=r.commitment_id, commitments=[r.commitment_id],
        status=ReviewStatus.AUTOMATIC, level=r.claimed_level, on=r.submitted_at.date(), rationale=r.statement,
        evidence=list(r.evidence_urls),
    ) for r in sr.list_submissions(session, actor, status="submitted")]


def _rank(item: QueueItem) -> tuple:
    on = -(item.on.toordinal() if item.on else 0)
    if item.kind == "change":
        return (0, -(item.probability if item.probability is not None else -1.0),
                DIRECTION_ORDER.get(item.direction or "", 9), on, item.id)
    if item.kind == "level":
        return (1, item.confidence if item.confidence is not None else 2.0, on, item.id)
    if item.kind == "self-report":
        return (3, -on, item.id)
    return (KIND_RANK[item.kind], on, item.id)


def queue(session: Session, actor: m.User | None, *, kinds: list[str] | None = None,
          company_id: str | None = None) -> list[QueueItem]:
    """Everything awaiting this reviewer's decision, ranked (see the module docstring); reviewers and admins only.

    Changes this reviewer already decided are left out (they wait for a second, different reviewer); changes on
    which reviewers disagree are listed only for admins, who adjudicate.
    """
    actor = require_role(actor, *REVIEWERS, doing="see the review queue")
    items = _change_items(session, actor) + _level_items(session) + _self_report_items(session, actor)
    if kinds:
        unknown = set(kinds) - set(KIND_RANK)
        if unknown:
            raise ValidationError(f"unknown kind(s) {', '.join(sorted(unknown))}; use {', '.join(KIND_RANK)}")
        items = [i for i in items if i.kind in kinds]
    if company_id:
        items = [i for i in items if i.company == company_id]
    return sorted(items, key=_rank)


def adjudication_list(session: Session, actor: m.User | None) -> list[QueueItem]:
    """Changes on which two reviewers disagree; admins only (they decide)."""
    actor = require_role(actor, "admin", doing="see the adjudication list")
    return [i for i in _change_items(session, actor) if i.status == ReviewStatus.ADJUDICATION]


def get_item(session: Session, actor: m.User | None, item_id: str) -> QueueItem:
    """One queued item by id (for the page's detail view and the CLI)."""
    actor = require_role(actor, *REVIEWERS, doing="see the review queue")
    for item in queue(session, actor):
        if item.id == item_id:
            return item
    raise NotFoundError(f"no queued item '{item_id}' awaits your decision; see `python -m tracker review queue`")


# --------------------------------------------------------------------------------------------- decisions


def _parse_id(item_id: str) -> tuple[str, int]:
    prefix, _, number = item_id.strip().partition("-")
    if prefix not in ("change", "level", "selfreport") or not number.isdigit():
        raise NotFoundError(f"unknown review item '{item_id}': ids look like change-12, level-345 or selfreport-3 "
                            "(see `python -m tracker review queue`)")
    return prefix, int(number)


def _one_action(confirm: bool, level: int | None, direction: str | None, announced: str | None,
                dismiss: bool) -> str:
    actions = [name for name, given in (("confirm", confirm), ("level", level is not None),
                                        ("correct", direction is not None or announced is not None),
                                        ("dismiss", dismiss)) if given]
    if len(actions) != 1:
        raise ValidationError("give exactly one decision: confirm, a level, a direction and/or announcement, "
                              "or dismiss")
    return actions[0]


def _state_dict(state: ChangeReviewState) -> dict[str, Any]:
    return {"status": state.status, "direction": state.direction, "announced": state.announced,
            "dismissed": state.dismissed}


def _decide_change(session: Session, actor: m.User, change_id: int, action: str, *, direction: str | None,
                   announced: str | None, reason: str, now: datetime) -> DecisionResult:
    item_id = f"change-{change_id}"
    change = session.get(m.ChangeEvent, change_id)
    if change is None:
        raise NotFoundError(f"no change '{item_id}'; see `python -m tracker review queue`")
    if action == "level":
        raise ValidationError(f"{item_id} is a change: decide it with confirm, a direction, an announcement or "
                              "dismiss, not a level")
    reviews = reviews_by_change(session, [change_id]).get(change_id, [])
    state = change_states(session, [(change.id, change.direction, change.announced)])[change.id]
    if state.status in (ReviewStatus.REVIEWED, ReviewStatus.REVIEWED_BY_TWO):
        raise ValidationError(f"{item_id} is already {state.status.replace('-', ' ')}; its decision is final")
    adjudicating = state.status == ReviewStatus.ADJUDICATION
    if adjudicating:
        require_role(actor, "admin", doing="adjudicate a disagreement between reviewers")
    elif any(r.reviewer == actor.username for r in reviews):
        raise ValidationError(f"'{actor.username}' has already decided {item_id}; a second, different reviewer "
                              "must confirm or disagree")
    if direction is not None and direction not in DIRECTIONS:
        raise ValidationError(f"unknown direction '{direction}'; use one of {', '.join(DIRECTIONS)}")
    if announced is not None and announced not in ANNOUNCEMENT_STATES:
        raise ValidationError(f"unknown announcement '{announced}'; use one of {', '.join(ANNOUNCEMENT_STATES)}")
    # The call on the table: a second reviewer who confirms agrees with the first reviewer's call.
    base = outcome(reviews[0]) if state.status == ReviewStatus.AWAITING_SECOND else (
        False, change.direction, change.announced)
    if action == "dismiss":
        call = (True, None, None)
    elif action == "confirm":
        call = base
    else:
        call = (False, direction or base[1] or change.direction, announced or base[2] or change.announced)
    review = m.ChangeReview(
        change_id=change.id, company_id=change.company_id, reviewer_id=actor.id, reviewer=actor.username,
        decided_at=now, decision="adjudicate" if adjudicating else action, dismissed=call[0], direction=call[1],
        announced=call[2], reason=reason, automatic_direction=change.direction,
        automatic_announced=change.announced,
    )
    session.add(review)
    session.flush()
    after = change_states(session, [(change.id, change.direction, change.announced)])[change.id]
    record(session, actor, f"review.{review.decision}", "change", change.id,
           before=_state_dict(state) | {"automatic": f"{change.direction}, {change.announced}"},
           after=_state_dict(after) | {"automatic": f"{change.direction}, {change.announced}",
                                       "call": "dismissed" if call[0] else f"{call[1]}, {call[2]}",
                                       "reason": reason, "review_id": review.id})
    messages = {
        ReviewStatus.AWAITING_SECOND: "recorded; it needs a second, different reviewer before it shows as reviewed",
        ReviewStatus.ADJUDICATION: "recorded; the two reviewers disagree, so it is on the adjudication list",
        ReviewStatus.REVIEWED: "recorded and published as reviewed",
        ReviewStatus.REVIEWED_BY_TWO: "recorded and published as reviewed by two",
    }
    return DecisionResult(item_id, "change", after.status, f"{item_id}: {messages.get(after.status, after.status)}")


def _check_quote(session: Session, version: m.DocumentVersion | None, commitment_id: str, quote: str) -> None:
    """A corrected level's quote must come from the document: its text, or the quotes shipped for it."""
    if version is None:
        raise ValidationError("this level has no document version to take a quote from")
    if version.text is not None:
        if not quote_in(quote, version.text):
            raise ValidationError(f"the quote is not in {version.source_id} as of {effective_date(version)}")
        return
    shipped = session.exec(select(m.Evidence.quote).where(m.Evidence.version_id == version.id)).all()
    if not any(quote_in(quote, text) or quote_in(text.rstrip(" …"), quote) for text in shipped):
        raise ValidationError("the quote is not among this version's passages (its text is not stored; choose one "
                              "of the quotes shown)")


def _decide_level(session: Session, actor: m.User, assessment_id: int, action: str, *, level: int | None,
                  quote: str | None, reason: str, now: datetime) -> DecisionResult:
    item_id = f"level-{assessment_id}"
    automatic = session.get(m.Assessment, assessment_id)
    if automatic is None or automatic.basis != "automatic":
        raise NotFoundError(f"no automatic level '{item_id}'; see `python -m tracker review queue`")
    if action not in ("confirm", "level"):
        raise ValidationError(f"{item_id} is a level: confirm it or give the level (0-3) with a quote")
    if not any(a.id == assessment_id for a, _ in _level_candidates(session)):
        raise ValidationError(f"{item_id} is not awaiting review (already reviewed, or superseded on its date)")
    new_level = automatic.level if action == "confirm" else level
    if new_level is not None and new_level not in LEVELS:
        raise ValidationError(f"the level must be one of {', '.join(map(str, LEVELS))}")
    version = session.get(m.DocumentVersion, automatic.version_id) if automatic.version_id else None
    if quote:
        quote = " ".join(quote.split())
        _check_quote(session, version, automatic.commitment_id, quote)
    reviewed = add_assessment(session, m.Assessment(
        company_id=automatic.company_id, commitment_id=automatic.commitment_id, level=new_level, basis="reviewed",
        valid_from=automatic.valid_from, recorded_at=now, assessor=actor.username,
        rationale=reason + (f'{QUOTE_MARK}{quote}"' if quote else ""), version_id=automatic.version_id,
        method=REVIEW_METHOD, origin="review", review_source_id=version.source_id if version else None,
        score=score_in_band(new_level, automatic.score),
    ))
    record(session, actor, "assessment.create", "assessment", reviewed.id, after=snapshot(reviewed))
    record(session, actor, "review.confirm" if action == "confirm" else "review.correct", "assessment",
           automatic.id, before={"level": automatic.level, "basis": "automatic"},
           after={"level": new_level, "basis": "reviewed", "reviewed_assessment_id": reviewed.id, "reason": reason,
                  "quote": quote})
    return DecisionResult(item_id, "level", ReviewStatus.REVIEWED,
                          f"{item_id}: level {new_level} recorded as reviewed for {automatic.company_id} "
                          f"{automatic.commitment_id} from {automatic.valid_from}")


def decide(
    session: Session,
    actor: m.User | None,
    item_id: str,
    *,
    reason: str,
    confirm: bool = False,
    level: int | None = None,
    quote: str | None = None,
    direction: str | None = None,
    announced: str | None = None,
    dismiss: bool = False,
    now: datetime | None = None,
) -> DecisionResult:
    """Record one decision on a queued item (reviewers and admins; adjudication: admins), with a reason.

    Changes: confirm, correct the direction and/or announcement, or dismiss as not a change. Levels: confirm,
    or set a level with an optional quote from the document. Self-reports: confirm approves, dismiss rejects.
    """
    actor = require_role(actor, *REVIEWERS, doing="decide on review items")
    if actor.id is None:
        raise PermissionDenied("decisions are made by a named reviewer: pass --as USER (an account in the database)")
    prefix, number = _parse_id(item_id)
    if not reason or not reason.strip():
        raise ValidationError("give a reason for the decision; it is shown in the corrections log")
    reason = reason.strip()
    action = _one_action(confirm, level, direction, announced, dismiss)
    now = now or datetime.now(UTC)
    if prefix == "change":
        return _decide_change(session, actor, number, action, direction=direction, announced=announced,
                              reason=reason, now=now)
    if prefix == "level":
        return _decide_level(session, actor, number, action, level=level, quote=quote, reason=reason, now=now)
    if action not in ("confirm", "dismiss"):
        raise ValidationError(f"{item_id} is a self-report: confirm approves it, dismiss rejects it (request "
                              "changes on the review page)")
    if session.get(m.SelfReport, number) is None:
        raise NotFoundError(f"no submission '{item_id}'")
    report = sr.decide(session, actor, number, "approve" if action == "confirm" else "reject", reason)
    return DecisionResult(item_id, "self-report", report.status, f"{item_id}: {report.status}")


# ------------------------------------------------------------------------------------------ files (YAML)


def export_reviews(session: Session, actor: m.User | None, out_dir: Path) -> list[Path]:
    """Write every reviewed level as `data/reviews/<company>.yaml` files; reviewers and admins."""
    require_role(actor, *REVIEWERS, doing="export reviews")
    return write_review_files(session, out_dir)


def import_reviews(session: Session, actor: m.User | None, reviews_dir: Path) -> list[m.Assessment]:
    """Read review files and add the rows not yet present (idempotent), each in the audit log; reviewers, admins."""
    actor = require_role(actor, *REVIEWERS, doing="import reviews")
    added = import_rows(session, load_review_files(reviews_dir, session))
    for assessment in added:
        record(session, actor, "review.import", "assessment", assessment.id, after=snapshot(assessment))
    return added
