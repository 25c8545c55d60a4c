"""Deadline statuses: is a company's framework on time for each clock a framework sets?

Generalises the Paris deadline of the Seoul commitments (one date: a framework published by then) to the clocks of
the new regimes (`tracker.ingest.catalog.DeadlineSpec`): publish-by, review-every (a new version at most N months
after the previous one), change-within (a material change published with a justification within N days) and
update-record (every update with a changelog, version number and date). Everything here is pure and light (no
text parsing, no database): the read layer passes each version's stored update record and change facts.

Statuses (`tracker.store.vocabulary.DEADLINE_STATUSES`, the Paris rows' words): ``met``; ``late`` (done, but after
the due date); ``missed`` (due and not done); ``not due yet`` (the clock has not started, or nothing has
triggered it yet); ``signed after`` (a one-off date that had passed when
the company signed or was bound, as for Paris); ``unknown`` (the version the status would rest on has no update
record, e.g. its text is not stored, so its changelog cannot be read).

The change-analysis flags for the regimes are here too, as pure functions of an `UpdateRecord` (what a version
states about its own update; `tracker.analysis.regimes.update_record` reads it from the text):
`update_without_changelog`, `update_without_version`, `update_without_date` (EU Code Measure 1.3) and
`material_change_without_justification`, `material_change_not_in_changelog`, `material_change_published_late`
(SB 53 §22757.12(b)(2), RAISE §1421(2)(b)).
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta

from tracker.store.vocabulary import DEADLINE_STATUSES, Announcement, Direction

STATUSES = DEADLINE_STATUSES
RECORD_PARTS = ("changelog", "version", "date", "justification")
MATERIAL_DIRECTIONS = frozenset(d.value for d in Direction if d is not Direction.REWORDED)
UNANNOUNCED = frozenset({Announcement.SILENT.value, Announcement.NO_CHANGELOG.value})


# ----------------------------------------------------------------------------------------- update records


@dataclass(frozen=True)
class UpdateRecord:
    """What a version says about its own update; each part is the quoted evidence, or None when absent."""

    changelog: str | None = None  # the version's own changelog entry (or the changelog's start), quoted
    version: str | None = None
    changed_on: date | None = None
    changed_on_evidence: str | None = None
    justification: str | None = None  # the sentence that gives a reason for this version's changes

    def present(self) -> dict[str, bool]:
        return {"changelog": self.changelog is not None, "version": self.version is not None,
                "date": self.changed_on is not None, "justification": self.justification is not None}

    def missing(self, required: Iterable[str] = ("changelog", "version", "date")) -> tuple[str, ...]:
        """The required parts this version lacks, in the order asked."""
        have = self.present()
        required = list(required)
        unknown = [part for part in required if part not in have]
        if unknown:
            raise ValueError(f"unknown update-record parts {unknown}; known: {', '.join(RECORD_PARTS)}")
        return tuple(part for part in required if not have[part])

    def to_json(self) -> dict:
        """For `DocumentVersion.update_record` (JSON); `from_json` reads it back."""
        data = asdict(self)
        data["changed_on"] = self.changed_on.isoformat() if self.changed_on else None
        return data

    @classmethod
    def from_json(cls, data: Mapping | None) -> UpdateRecord | None:
        """None for an empty or missing record (the version was never read)."""
        if not data:
            return None
        changed = data.get("changed_on")
        return cls(data.get("changelog"), data.get("version"), date.fromisoformat(changed) if changed else None,
                   data.get("changed_on_evidence"), data.get("justification"))


@dataclass(frozen=True)
class RegimeFlag:
    """One thing a regime asks of an update that this version does not show, with what was (not) found."""

    code: str
    detail: str
    quote: str | None = None


@dataclass(frozen=True)
class ChangeFact:
    """What the change analysis found for one passage: its direction and whether the changelog mentions it."""

    direction: str
    announced: str


_UPDATE_CODES = {"changelog": "update_without_changelog", "version": "update_without_version",
                 "date": "update_without_date"}
_UPDATE_TEXT = {"changelog": "no changelog describing how and why the framework was updated",
                "version": "no version number", "date": "no date of change"}


def update_flags(record: UpdateRecord, required: Sequence[str] = ("changelog", "version", "date")) -> list[RegimeFlag]:
    """A flag for each required part of the update record (EU Code Measure 1.3) that the version lacks."""
    return [RegimeFlag(_UPDATE_CODES[part], f"update with {_UPDATE_TEXT[part]}")
            for part in record.missing([p for p in required if p in _UPDATE_CODES])]


def material_change_flags(
    record: UpdateRecord, changes: Sequence[ChangeFact], *, published_on: date | None, within_days: int = 30,
) -> list[RegimeFlag]:
    """Flags for a version with material changes (SB 53 and RAISE: the modified framework published "and a
    justification for that modification within 30 days"). Rewordings are not material and get no flag."""
    material = [c for c in changes if c.direction in MATERIAL_DIRECTIONS]
    if not material:
        return []
    unannounced = sum(1 for c in material if c.announced in UNANNOUNCED)
    flags = []
    if record.justification is None:
        where = " (no changelog)" if record.changelog is None else " (the changelog gives no reason)"
        mention = f"; {unannounced} of them not mentioned in any changelog" if unannounced else ""
        flags.append(RegimeFlag("material_change_without_justification",
                                f"{len(material)} material change(s) and no published justification{where}{mention}"))
    elif unannounced:
        flags.append(RegimeFlag(
            "material_change_not_in_changelog",
            f"{unannounced} of {len(material)} material change(s) not mentioned in the changelog, so its "
            "justification does not cover them", record.justification))
    if record.changed_on is not None and published_on is not None:
        lag = (published_on - record.changed_on).days
        if lag > within_days:
            flags.append(RegimeFlag(
                "material_change_published_late",
                f"published {published_on.isoformat()}, {lag} days after the stated date of change "
                f"{record.changed_on.isoformat()} (limit {within_days} days)", record.changed_on_evidence))
    return flags


# ----------------------------------------------------------------------------------------------- clocks


def add_months(day: date, months: int) -> date:
    """The same day `months` later (the month's last day when it is shorter)."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class ClockVersion:
    """One published version of a company's framework documents, as a clock sees it."""

    id: int
    label: str
    published_on: date
    is_update: bool = True  # False for the first version of its document
    record: UpdateRecord | None = None  # None when it was never read (no stored text)
    changes: tuple[ChangeFact, ...] = ()

    @property
    def material(self) -> bool:
        return any(c.direction in MATERIAL_DIRECTIONS for c in self.changes)


@dataclass(frozen=True)
class ClockResult:
    status: str
    due: date | None
    version: ClockVersion | None  # the version the status rests on
    detail: str
    flags: tuple[RegimeFlag, ...] = field(default_factory=tuple)


def clock_status(deadline: Mapping, bound_from: date, versions: Sequence[ClockVersion], as_of: date) -> ClockResult:
    """The status of one clock for one company as of a date.

    `deadline` is a stored deadline (a `Framework.deadlines` item); `bound_from` the day the company signed or a
    law began to bind it; `versions` its framework versions (those after `as_of` are ignored).
    """
    kind = deadline.get("kind", "publish-by")
    starts = date.fromisoformat(str(deadline["date"]))
    ordered = sorted((v for v in versions if v.published_on <= as_of), key=lambda v: (v.published_on, v.id))
    if kind == "publish-by":
        return _publish_by(starts, bound_from, ordered, as_of)
    start = max(starts, bound_from)
    if start > as_of:
        return ClockResult("not due yet", start, None, f"the clock starts on {start.isoformat()}")
    if kind == "review-every":
        return _review_every(int(deadline["every_months"]), start, ordered, as_of)
    if kind == "change-within":
        return _change_within(int(deadline["within_days"]), start, ordered)
    if kind == "update-record":
        return _update_record(list(deadline.get("requires", [])), start, ordered)
    raise ValueError(f"unknown deadline kind {kind!r}")


def _publish_by(due: date, bound_from: date, versions: list[ClockVersion], as_of: date) -> ClockResult:
    if bound_from > due:
        return ClockResult("signed after", due, None, f"signed or bound on {bound_from.isoformat()}, after the date")
    by_due = [v for v in versions if v.published_on <= due]
    if by_due:
        return ClockResult("met", due, by_due[-1], f"framework in force on {due.isoformat()}: {by_due[-1].label}")
    if versions:
        return ClockResult("late", due, versions[0], f"first framework published {versions[0].published_on}")
    if due > as_of:
        return ClockResult("not due yet", due, None, "no framework published yet")
    return ClockResult("missed", due, None, f"no framework published by {as_of.isoformat()}")


def _review_every(months: int, start: date, versions: list[ClockVersion], as_of: date) -> ClockResult:
    """A review shows as a new published version; each must come at most `months` after the previous one (the
    first, after the day the clock started)."""
    before = [v for v in versions if v.published_on <= start]
    current = before[-1] if before else None
    due = add_months(start, months)
    status, late = None, 0
    for version in (v for v in versions if v.published_on > start):
        status = "met" if version.published_on <= due else "late"
        late += status == "late"
        current, due = version, add_months(version.published_on, months)
    history = f"{late} review(s) late since {start.isoformat()}; " if late else ""
    if as_of > due:
        since = f"no new or re-dated version since {current.label}" if current else "no framework version"
        return ClockResult("missed", due, current, f"{history}{since}; a review was due by {due.isoformat()} (a "
                                                   "review that changed nothing and was not published is not seen)")
    if status is None or current is None:
        return ClockResult("not due yet", due, current, f"first review due by {due.isoformat()}")
    return ClockResult(status, due, current, f"{history}latest review {current.label}; next due by {due.isoformat()}")


def _change_within(days: int, start: date, versions: list[ClockVersion]) -> ClockResult:
    triggered = [v for v in versions if v.published_on >= start and v.is_update and v.material]
    if not triggered:
        return ClockResult("not due yet", None, versions[-1] if versions else None,
                           f"no material change detected since {start.isoformat()}")
    unjustified = sum(1 for v in triggered if v.record is not None and v.record.justification is None)
    readable = sum(1 for v in triggered if v.record is not None)
    history = (f"{unjustified} of {readable} version(s) with material changes since {start.isoformat()} without "
               "a justification; " if unjustified else "")
    latest = triggered[-1]
    if latest.record is None:
        return ClockResult("unknown", None, latest, f"{history}no update record for {latest.label} (text not stored)")
    flags = tuple(material_change_flags(latest.record, latest.changes, published_on=latest.published_on,
                                        within_days=days))
    codes = {f.code for f in flags}
    due = (latest.record.changed_on or latest.published_on) + timedelta(days=days)
    if "material_change_without_justification" in codes:
        return ClockResult("missed", due, latest, f"{history}{latest.label}: no published justification", flags)
    if "material_change_published_late" in codes:
        return ClockResult("late", due, latest, f"{history}{latest.label}: published after {days} days", flags)
    return ClockResult("met", due, latest, f"{history}{latest.label}: justification published", flags)


def _update_record(required: list[str], start: date, versions: list[ClockVersion]) -> ClockResult:
    updates = [v for v in versions if v.published_on >= start and v.is_update]
    if not updates:
        return ClockResult("not due yet", None, versions[-1] if versions else None,
                           f"no update published since {start.isoformat()}")
    incomplete = sum(1 for v in updates if v.record is not None and v.record.missing(required))
    readable = sum(1 for v in updates if v.record is not None)
    history = f"{incomplete} of {readable} update(s) since {start.isoformat()} incomplete; " if incomplete else ""
    latest = updates[-1]
    if latest.record is None:
        return ClockResult("unknown", None, latest, f"{history}no update record for {latest.label} (text not stored)")
    missing = latest.record.missing(required)
    flags = tuple(update_flags(latest.record, required))
    if missing:
        return ClockResult("missed", latest.published_on, latest,
                           f"{history}{latest.label} has no {', '.join(missing)}", flags)
    return ClockResult("met", latest.published_on, latest, f"{history}{latest.label} has {', '.join(required)}")
