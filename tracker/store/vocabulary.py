"""The tracker's vocabulary, defined once: directions of change (in display order), the sets of directions each
feature flags (named for what they are for), levels with their labels and colours, bases, announcement states,
statuses and source kinds.

Models, analysis, read models, pages, exports, feeds and alerts all import from here, so a new direction or
status is added in one place. Pure constants: importing this module loads nothing else of the tracker.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class Direction(StrEnum):
    """What happened to a commitment passage between a version and its predecessor; ordered by how much a reader
    needs to see it (weakenings first)."""

    WEAKENED = "weakened"
    REMOVED = "removed"
    STRENGTHENED = "strengthened"
    ADDED = "added"
    REWORDED = "reworded"


#: Display order: weakenings first, rewordings last (Changes page, company page, stocktake, feeds).
DIRECTION_ORDER: Final[dict[str, int]] = {d.value: i for i, d in enumerate(Direction)}
DIRECTIONS: Final[tuple[str, ...]] = tuple(d.value for d in Direction)

#: Changes that lower what a company commits to: alerts fire on these, the review queue ranks them first, and
#: they are the positive class of the weakened-or-removed score.
WEAKENING_DIRECTIONS: Final[frozenset[str]] = frozenset({Direction.WEAKENED, Direction.REMOVED})
#: Changes a stocktake lists as moving a level (either way); additions and rewordings do not move a level alone.
LEVEL_MOVING_DIRECTIONS: Final[tuple[str, ...]] = (Direction.WEAKENED, Direction.STRENGTHENED, Direction.REMOVED)

DIRECTION_LABELS: Final[dict[str, str]] = {
    "weakened": "Weakened", "removed": "Removed", "strengthened": "Strengthened", "added": "Added",
    "reworded": "Reworded",
}
#: Material icons (ship with Streamlit, render without an emoji font).
DIRECTION_ICONS: Final[dict[str, str]] = {
    "weakened": ":material/trending_down:", "removed": ":material/remove_circle:",
    "strengthened": ":material/trending_up:", "added": ":material/add_circle:", "reworded": ":material/edit:",
}


class Announcement(StrEnum):
    """Whether the company's own account of a revision (changelog, version history, announcement) mentions it."""

    ANNOUNCED = "announced"
    PARTLY = "partly"
    SILENT = "silent"
    NO_CHANGELOG = "no-changelog"


ANNOUNCEMENT_STATES: Final[tuple[str, ...]] = tuple(a.value for a in Announcement)
ANNOUNCEMENT_LABELS: Final[dict[str, str]] = {
    "announced": "announced in the company's own account of the revision",
    "partly": "partly announced",
    "silent": "not announced (silent)",
    "no-changelog": "the company published no account of this revision",
}

LEVELS: Final[dict[int, str]] = {0: "No public evidence", 1: "Mentioned", 2: "Partial", 3: "Comprehensive"}
#: Colour-blind-safe sequential blues; every cell also carries its level as text, so colour is never needed.
LEVEL_COLOURS: Final[dict[int, str]] = {0: "#f1eef6", 1: "#bdc9e1", 2: "#74a9cf", 3: "#0570b0"}
NOT_ASSESSED_COLOUR: Final[str] = "#ffffff"
#: The part of the 0-100 cell score each level may take, so that ordering by score never contradicts the level
#: (the lower bound of 3 is `tracker.analysis.cellscore.LEVEL3_MIN_SCORE`: level 3 needs a score of 70).
LEVEL_SCORE_BANDS: Final[dict[int, tuple[float, float]]] = {0: (0.0, 24.9), 1: (25.0, 49.9), 2: (50.0, 69.9),
                                                            3: (70.0, 100.0)}


def score_in_band(level: int | None, score: float | None) -> float | None:
    """The cell score kept inside its level's band (None when there is no level or no score).

    Why: the mapping scores how much and how firmly the evidence commits, while the level may be capped by the
    rubric or set by a reviewer; clamping keeps "sort by score" consistent with the levels people read.
    """
    if level is None or score is None:
        return None
    low, high = LEVEL_SCORE_BANDS[level]
    return round(min(max(float(score), low), high), 1)


def level_label(level: int | None) -> str:
    """A level in words ('Not applicable' for a cell with no level)."""
    return "Not applicable" if level is None else LEVELS.get(level, str(level))


class Basis(StrEnum):
    """Who stands behind an assessment."""

    AUTOMATIC = "automatic"
    REVIEWED = "reviewed"
    SELF_REPORTED = "self-reported"


BASES: Final[tuple[str, ...]] = tuple(b.value for b in Basis)
#: Precedence on the same date: a reviewer's level outranks the company's claim, which outranks the software's.
BASIS_RANK: Final[dict[str, int]] = {"automatic": 0, "self-reported": 1, "reviewed": 2}
BASIS_SYMBOLS: Final[dict[str, str]] = {"automatic": "·", "reviewed": "✓", "self-reported": "✎"}
BASIS_MEANINGS: Final[dict[str, str]] = {
    "automatic": "suggested by the software from the company's documents (not reviewed)",
    "reviewed": "confirmed or set by a reviewer",
    "self-reported": "claimed by the company and accepted by a reviewer",
}

#: Self-report submissions.
SUBMISSION_STATUSES: Final[tuple[str, ...]] = ("submitted", "approved", "rejected", "changes_requested", "withdrawn")
#: One try at a source.
FETCH_OUTCOMES: Final[tuple[str, ...]] = ("new_version", "unchanged", "not_modified", "failed")
#: A refresh run.
RUN_STATUSES: Final[tuple[str, ...]] = ("running", "finished", "failed", "interrupted")
#: Alert deliveries.
DELIVERY_STATUSES: Final[tuple[str, ...]] = ("pending", "sent", "failed")

SOURCE_KINDS: Final[tuple[str, ...]] = (
    "framework", "companion", "version-history", "policy-page", "transparency-hub", "system-cards", "haip-report",
)

#: How a company stands to a framework (`Signature.status`): only signed and bound rows make it a signatory.
SIGNATURE_STATUSES: Final[tuple[str, ...]] = ("signed", "declined", "bound")
BINDING_STATUSES: Final[tuple[str, ...]] = ("signed", "bound")
#: Kinds of framework (`Framework.kind`).
FRAMEWORK_KINDS: Final[tuple[str, ...]] = ("voluntary", "code-of-practice", "law")
#: The kinds that make a framework a regime (obligations with clocks, not a pledge): the EU Code, SB 53, RAISE.
REGIME_KINDS: Final[tuple[str, ...]] = ("code-of-practice", "law")
#: How a signature row reads on a page (`Signature.status`).
SIGNATURE_STATUS_LABELS: Final[dict[str, str]] = {"signed": "signed", "declined": "declined to sign",
                                                  "bound": "bound by law"}
#: Clocks a framework sets (`Framework.deadlines[].kind`); see tracker.analysis.clocks.
DEADLINE_KINDS: Final[tuple[str, ...]] = ("publish-by", "review-every", "change-within", "update-record")
#: Status of one clock for one company (Paris deadline and the regimes' clocks alike).
DEADLINE_STATUSES: Final[tuple[str, ...]] = ("met", "late", "missed", "not due yet", "signed after", "unknown")
DEADLINE_STATUS_MEANINGS: Final[dict[str, str]] = {
    "met": "done by the due date",
    "late": "done, but after the due date",
    "missed": "due and not shown in any published document as of the date",
    "not due yet": "the clock has not started, or nothing has triggered it yet",
    "signed after": "the date had passed when the company signed or was bound",
    "unknown": "the version it would rest on has not been read (its text is not stored)",
}
#: What the regimes ask of an update that a version may lack (tracker.analysis.clocks flags).
REGIME_FLAGS: Final[dict[str, str]] = {
    "update_without_changelog": "an update without a changelog (EU Code Measure 1.3)",
    "update_without_version": "an update without a version number (EU Code Measure 1.3)",
    "update_without_date": "an update without the date of change (EU Code Measure 1.3)",
    "material_change_without_justification": "a material change without a published justification (SB 53, RAISE)",
    "material_change_not_in_changelog": "a material change the changelog does not mention",
    "material_change_published_late": "a material change published more than 30 days after it was made",
}

class ReviewStatus(StrEnum):
    """Where a published judgement stands with reviewers (change events; levels use their basis)."""

    AUTOMATIC = "automatic"  # no person has decided yet
    AWAITING_SECOND = "awaiting-second"  # one reviewer decided a weakening; it needs a second, different one
    ADJUDICATION = "adjudication"  # reviewers disagree; an admin decides
    REVIEWED = "reviewed"  # one reviewer decided (enough for what is not published as a weakening)
    REVIEWED_BY_TWO = "reviewed-by-two"  # two reviewers agree, or an admin adjudicated a disagreement
    SELF_REPORTED = "self-reported"  # a company's claim accepted by a reviewer (levels only)


REVIEW_STATUSES: Final[tuple[str, ...]] = tuple(s.value for s in ReviewStatus)
#: Statuses whose decision is final and published; the others still show the automatic call.
FINAL_REVIEW_STATUSES: Final[frozenset[str]] = frozenset({ReviewStatus.REVIEWED, ReviewStatus.REVIEWED_BY_TWO})
#: The four labels public pages show (a change awaiting a second reviewer or adjudication is still automatic).
REVIEW_LABELS: Final[dict[str, str]] = {
    "automatic": "automatic (not reviewed)", "awaiting-second": "automatic (not reviewed)",
    "adjudication": "automatic (not reviewed)", "reviewed": "reviewed", "reviewed-by-two": "reviewed by two",
    "self-reported": "self-reported",
}
#: What the review queue holds, in the order it ranks them.
REVIEW_KINDS: Final[tuple[str, ...]] = ("change", "level", "announcement", "self-report")
#: A reviewer's decision on a queued item ("adjudicate": an admin settles a disagreement).
REVIEW_DECISIONS: Final[tuple[str, ...]] = ("confirm", "correct", "dismiss", "adjudicate")
#: Reasons offered for dismissing a change as not a change.
DISMISS_REASONS: Final[tuple[str, ...]] = ("re-split passage", "extraction artefact")


#: Reasons a change detector gives, in plain words (fallback when a reason carries no `text` of its own).
REASON_LABELS: Final[dict[str, str]] = {
    "modal_weakened": "The commitment verb got weaker (for example “will” became “may”)",
    "modal_strengthened": "The commitment verb got stronger (for example “may” became “will”)",
    "threshold_changed": "A number in the commitment (a threshold or an interval) was replaced",
    "threshold_removed": "A measurable threshold was dropped",
    "threshold_added": "A measurable threshold was added",
    "date_changed": "A date or deadline was replaced",
    "third_party_removed": "An outside party (an evaluator, a government) is no longer named",
    "third_party_added": "An outside party (an evaluator, a government) is newly named",
    "escape_clause_added": "A condition or way out was added (for example “unless” or “where feasible”)",
    "escape_clause_removed": "A condition or way out was removed",
    "scope_narrowed": "The commitment now covers less (fewer risks or models, or “all” became “some”)",
    "scope_broadened": "The commitment now covers more (more risks or models)",
    "disclosure_reduced": "Less is published (public reporting became sharing with a few, or summaries only)",
    "disclosure_increased": "More is published",
    "timing_later": "The step now happens later in a model's life (for example before deployment, not training)",
    "timing_earlier": "The step now happens earlier in a model's life",
    "consequence_removed": "A concrete consequence (pause, halt, not deploy) is no longer promised",
    "consequence_added": "A concrete consequence (pause, halt, not deploy) is newly promised",
    "moved_to_non_binding": "The matter was moved to a separate, non-binding document",
}


def reason_text(reason: dict) -> str:
    """One reason of a change in plain words: its own text, else its code's label, plus the words that changed."""
    code = str(reason.get("code") or "")
    own = reason.get("text")
    if own:
        return str(own)
    label = REASON_LABELS.get(code, code.replace("_", " ").capitalize())
    detail = reason.get("detail")
    return f"{label}: {detail}" if detail else label


#: Confidence tags of signature dates (as in REFERENCE.md), in words.
DATE_CONFIDENCE_LABELS: Final[dict[str, str]] = {
    "V": "seen in the primary source", "C": "corroborated by two or more independent secondary sources",
    "S": "a single secondary source only (provisional)", "M": "not confirmed in any source",
}
