"""Version facts, worked out in one place: the date a version speaks for, its display label, the order of a
lineage, and who may read it. Every reader, writer and export goes through these, so two screens never disagree
about which version came first, what it is called, or whether it is public.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.orm import aliased
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


# ---------------------------------------------------------------------------------------------- privacy
#
# The one rule for who may read a version: documents a company uploads or links with a self-report (versions
# of its `<company>-self-reports` source) belong to the company and the reviewers until a reviewer approves
# the submission. Every public reader (read models, pages, feeds, search, stocktake, exports, alerts) filters
# with these conditions; only the review screens in tracker.accounts read the others.

SELF_REPORT_SOURCE_SUFFIX = "-self-reports"
_SELF_REPORT_PATTERN = "%" + SELF_REPORT_SOURCE_SUFFIX


def self_report_source_id(company_id: str) -> str:
    """The per-company source that holds a company's own uploads and linked evidence."""
    return f"{company_id}{SELF_REPORT_SOURCE_SUFFIX}"


def is_self_report_source(source_id: str) -> bool:
    return source_id.endswith(SELF_REPORT_SOURCE_SUFFIX)


def _approved_upload(version_id: sa.ColumnElement) -> sa.Exists:
    return (sa.exists().where(m.SelfReport.upload_version_id == version_id, m.SelfReport.status == "approved")
            .correlate_except(m.SelfReport))


def public_version(version: Any = m.DocumentVersion) -> sa.ColumnElement[bool]:
    """SQL condition on a version row (the model, an alias or a Table): may anyone read it?

    Yes for every watched source; for a self-report source only when the version is the upload of an approved
    submission. Copies of a submission's evidence links stay with the reviewers (readers get the links).
    """
    columns = getattr(version, "c", version)
    return sa.or_(columns.source_id.not_like(_SELF_REPORT_PATTERN), _approved_upload(columns.id))


def private_version_ids() -> sa.Select:
    """Ids of versions readers may not see (few: only self-report material), for `x.not_in(...)` filters."""
    return sa.select(m.DocumentVersion.id).where(
        m.DocumentVersion.source_id.like(_SELF_REPORT_PATTERN), ~_approved_upload(m.DocumentVersion.id))


def public_source(source: Any = m.Source) -> sa.ColumnElement[bool]:
    """SQL condition on a source row: a self-report source is listed only once it holds a public version."""
    columns = getattr(source, "c", source)
    version = aliased(m.DocumentVersion)
    return sa.or_(columns.id.not_like(_SELF_REPORT_PATTERN),
                  sa.exists().where(version.source_id == columns.id, _approved_upload(version.id)))


def watched_source(source_id: Any = m.Source.id) -> sa.ColumnElement[bool]:
    """SQL condition on a source id column: a source the tracker watches (not a company's self-report material)."""
    return source_id.not_like(_SELF_REPORT_PATTERN)


def public_change(change: Any = m.ChangeEvent) -> sa.ColumnElement[bool]:
    """SQL condition on a change-event row: both versions it compares are public."""
    columns = getattr(change, "c", change)
    private = private_version_ids()
    return sa.and_(columns.new_version_id.not_in(private),
                   sa.or_(columns.old_version_id.is_(None), columns.old_version_id.not_in(private)))


def is_public_version(session: Session, version_id: int) -> bool:
    """The same rule for one version id (for readers that fetch a version by id from a link)."""
    return session.execute(sa.select(sa.literal(True)).where(
        m.DocumentVersion.id == version_id, public_version())).first() is not None
