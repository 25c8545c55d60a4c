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
    """The date a version speaks for: its stated publication date, else the day we first saw it."""
    return version.published_on or version.fetched_at.date()


def order_key(version: VersionLike) -> tuple:
    """Lineage order: effective date, then when we first saw it, then the row id (stable for ties)."""
    return (effective_date(version), version.fetched_at, getattr(version, "id", None) or 0)


def version_label(version: VersionLike) -> str:
    """What a reader calls this version: its stated label, else its date."""
    label = getattr(version, "version_label", None)
    return label or effective_date(version).isoformat()


def versions_in_order(session: Session, source_id: str) -> list[m.DocumentVersion]:
    """Every stored version of one source, oldest first (`order_key`)."""
    versions = list(session.exec(select(m.DocumentVersion).where(m.DocumentVersion.source_id == source_id)))
    return sorted(versions, key=order_key)
