"""A document's history: every version of one lineage (across renames), in order, with what changed at each step.

What `python -m tracker history SOURCE` prints and what a reader checks a citation against: each version's
date (a re-upload: the day it was first seen), label, own document and archived copy, the publisher's file hash,
and the change events between it and its immediate predecessor with how many the company announced. Versions the
catalog knows of but the tracker never stored (never retrieved) are listed in their place, marked as such.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date

from sqlmodel import Session, select

from tracker.core.errors import NotFoundError
from tracker.store import models as m
from tracker.store.versions import display_label, effective_date, lineage_ids, lineage_versions


@dataclass
class HistoryStep:
    """One version of the lineage (stored, or known from the catalog only)."""

    source_id: str
    version_label: str | None
    effective_date: date
    published_on: date | None
    silent_reupload: bool
    first_seen_on: date | None
    url: str | None
    archived_url: str | None
    publisher_sha256: str | None
    text_sha256: str | None
    version_id: int | None  # None: known from the catalog, not stored
    previous_version_id: int | None = None
    changes: dict[str, int] = field(default_factory=dict)  # direction -> count, against the step before
    announced: dict[str, int] = field(default_factory=dict)  # announced / partly / silent / no-changelog -> count
    note: str = ""

    @property
    def display(self) -> str:
        return display_label(self)  # type: ignore[arg-type]


@dataclass
class SourceHistory:
    source_id: str
    title: str
    company_id: str
    lineage: list[str]
    steps: list[HistoryStep]

    def as_dict(self) -> dict:
        return {"source_id": self.source_id, "title": self.title, "company_id": self.company_id,
                "lineage": self.lineage,
                "steps": [{**{k: (v.isoformat() if isinstance(v, date) else v) for k, v in step.__dict__.items()},
                           "label_shown": step.display} for step in self.steps]}


def _known_key(source_id: str, label: str | None, first_seen: date | None) -> tuple:
    return (source_id, label, first_seen)


def source_history(session: Session, source_id: str) -> SourceHistory:
    """The lineage of `source_id` (its predecessors and successors by `supersedes`), oldest version first."""
    source = session.get(m.Source, source_id)
    if source is None:
        raise NotFoundError(f"unknown source '{source_id}'; see data/sources/*.yaml for source ids")
    ids = lineage_ids(session, source)
    versions = lineage_versions(session, source)
    events = session.exec(select(m.ChangeEvent).where(
        m.ChangeEvent.new_version_id.in_([v.id for v in versions]))).all() if versions else []
    by_new: dict[int, list[m.ChangeEvent]] = {}
    for event in events:
        by_new.setdefault(event.new_version_id, []).append(event)
    steps: list[HistoryStep] = []
    stored_keys = set()
    for version in versions:
        stored_keys.add(_known_key(version.source_id, version.version_label,
                                   version.first_seen_on if version.silent_reupload else None))
        own = by_new.get(version.id or 0, [])
        steps.append(HistoryStep(
            source_id=version.source_id, version_label=version.version_label, effective_date=effective_date(version),
            published_on=version.published_on, silent_reupload=version.silent_reupload,
            first_seen_on=version.first_seen_on, url=version.url, archived_url=version.archived_url,
            publisher_sha256=version.publisher_sha256, text_sha256=version.text_sha256, version_id=version.id,
            previous_version_id=version.previous_version_id,
            changes=dict(Counter(e.direction for e in own)), announced=dict(Counter(e.announced for e in own)),
        ))
    sources = {s.id: s for s in session.exec(select(m.Source).where(m.Source.id.in_(ids)))}
    for sid in ids:
        for known in sources[sid].known_versions:
            first_seen = date.fromisoformat(known["first_seen"]) if known.get("first_seen") else None
            if _known_key(sid, known.get("label"), first_seen) in stored_keys:
                continue
            published = date.fromisoformat(known["published_on"])
            steps.append(HistoryStep(
                source_id=sid, version_label=known.get("label"), effective_date=first_seen or published,
                published_on=published, silent_reupload=bool(known.get("silent_reupload")), first_seen_on=first_seen,
                url=known.get("url"), archived_url=known.get("archived_url"),
                publisher_sha256=known.get("publisher_sha256"), text_sha256=None, version_id=None,
                note="never retrieved (known from a later changelog)" if known.get("retrieved") is False
                else "not stored in this database",
            ))
    steps.sort(key=lambda s: (s.effective_date, s.version_id is None, s.version_id or 0))
    return SourceHistory(source.id, source.title, source.company_id, ids, steps)


def format_history(history: SourceHistory) -> str:
    """The lineage as plain text: one block per version, oldest first."""
    title = f"History of {history.title} ({history.company_id})"
    lines = [title, "=" * len(title)]
    if len(history.lineage) > 1:
        lines.append("Lineage (renames): " + " → ".join(history.lineage))
    lines.append("")
    for number, step in enumerate(history.steps, 1):
        head = f"{number:>2}. {step.effective_date}  {step.display}"
        if step.source_id != history.source_id and len(history.lineage) > 1:
            head += f"  [{step.source_id}]"
        if step.silent_reupload:
            head += f"  SILENT RE-UPLOAD (states {step.published_on}; first seen {step.first_seen_on})"
        elif step.published_on and step.published_on != step.effective_date:
            head += f"  (states {step.published_on})"
        lines.append(head)
        if step.version_id is None:
            lines.append(f"    {step.note}")
        elif number == 1 or step.previous_version_id is None:
            lines.append("    first version stored")
        elif step.changes:
            counts = ", ".join(f"{k} {v}" for k, v in sorted(step.changes.items()))
            told = ", ".join(f"{k} {v}" for k, v in sorted(step.announced.items()))
            lines.append(f"    changes since the version before: {counts}; company's account: {told}")
        else:
            lines.append("    no commitment passage changed since the version before")
        if step.url:
            lines.append(f"    document: {step.url}")
        if step.archived_url:
            lines.append(f"    archived: {step.archived_url}")
        if step.publisher_sha256:
            lines.append(f"    publisher's file SHA-256: {step.publisher_sha256}")
        if step.text_sha256:
            lines.append(f"    stored text SHA-256:      {step.text_sha256}")
    if not history.steps:
        lines.append("No version stored or known yet.")
    return "\n".join(lines) + "\n"
