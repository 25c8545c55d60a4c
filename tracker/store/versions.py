"""Version facts, worked out in one place: the date a version speaks for, its display label, and the order of a
lineage. Every reader, writer and export goes through these, so two screens never disagree about which version
came first or what it is called.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Protocol

from sqlmodel import Session, select

from tracker.store import models as m


class VersionLike(Protocol):
    """Anything with the stored version columns: an ORM row, a read-model row or a seed record."""

    published_on: date | None
    fetched_at: datetime


def effective_date(version: VersionLike) -> date:
    """The date a version speaks for.

    Its stated publication date, else the day we first saw it; a silent re-upload (a changed file under an
    unchanged label and date) speaks for the day it was first seen, since it replaced the earlier file only then.
    """
    if getattr(version, "silent_reupload", False) and getattr(version, "first_seen_on", None):
        return version.first_seen_on  # type: ignore[attr-defined,no-any-return]
    return version.published_on or version.fetched_at.date()


def order_key(version: VersionLike) -> tuple:
    """Lineage order: effective date, then when we first saw it, then the row id (stable for ties)."""
    return (effective_date(version), version.fetched_at, getattr(version, "id", None) or 0)


def version_label(version: VersionLike) -> str:
    """What a reader calls this version: its stated label, else its date."""
    label = getattr(version, "version_label", None)
    return label or effective_date(version).isoformat()


def display_label(version: VersionLike) -> str:
    """Label and date for lists: 'v2.1 (2025-03-31)', a re-upload marked as such, or the date alone."""
    label = getattr(version, "version_label", None)
    name = f"v{label}" if label and label[:1].isdigit() else (label or "")
    when = effective_date(version).isoformat()
    if getattr(version, "silent_reupload", False):
        when = f"re-uploaded {when}"
    return f"{name} ({when})" if name else when


def versions_in_order(session: Session, source_id: str) -> list[m.DocumentVersion]:
    """Every stored version of one source, oldest first (`order_key`)."""
    versions = list(session.exec(select(m.DocumentVersion).where(m.DocumentVersion.source_id == source_id)))
    return sorted(versions, key=order_key)


def lineage_ids(session: Session, source: m.Source) -> list[str]:
    """The source, the ones it superseded (renames), and the ones that supersede it: one document's history."""
    chain, current = [source.id], source
    while current.supersedes and current.supersedes not in chain:
        found = session.get(m.Source, current.supersedes)
        if found is None:
            break
        chain.append(found.id)
        current = found
    successors = [source.id]
    while True:
        nxt = session.exec(select(m.Source.id).where(m.Source.supersedes == successors[-1])).first()
        if nxt is None or nxt in chain or nxt in successors:
            break
        successors.append(nxt)
    return list(reversed(chain)) + successors[1:]


def lineage_versions(session: Session, source: m.Source) -> list[m.DocumentVersion]:
    """Every stored version of a document across renames, oldest first: what change analysis compares in turn."""
    versions = list(session.exec(select(m.DocumentVersion).where(
        m.DocumentVersion.source_id.in_(lineage_ids(session, source)))))
    return sorted(versions, key=order_key)
