"""Audit log: who changed which assessment, submission or account, when, and what it looked like before/after.

Every write in `tracker.accounts.auth` and `tracker.accounts.selfreports` calls `record` in the same transaction as the change,
so the log cannot miss a change that was committed. Secrets (password and token hashes) never enter the log.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, SQLModel

from tracker.core.errors import PermissionDenied, ValidationError
from tracker.store import models as m

SECRET_FIELDS = frozenset({"password_hash", "invite_token_hash", "token_hash"})
EXPORT_FORMATS = ("csv", "json")
CSV_COLUMNS = ("id", "at", "actor", "actor_id", "action", "entity_type", "entity_id", "before", "after")


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def snapshot(row: SQLModel) -> dict[str, Any]:
    """A JSON-safe copy of a row's columns without secrets (for `before` / `after`)."""
    return {key: _plain(value) for key, value in row.model_dump().items() if key not in SECRET_FIELDS}


def actor_name(actor: m.User | None) -> str:
    return actor.username if actor is not None else "system"


def record(
    session: Session,
    actor: m.User | None,
    action: str,
    entity_type: str,
    entity_id: object,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> m.AuditLog:
    """Append one entry; `before`/`after` are snapshots (see `snapshot`). Only changed keys are kept."""
    if before is not None and after is not None:
        changed = {key for key in before.keys() | after.keys() if before.get(key) != after.get(key)}
        before = {key: before.get(key) for key in sorted(changed)}
        after = {key: after.get(key) for key in sorted(changed)}
    entry = m.AuditLog(
        actor_id=actor.id if actor is not None else None, actor=actor_name(actor), action=action,
        entity_type=entity_type, entity_id=str(entity_id), before=before, after=after,
    )
    session.add(entry)
    session.flush()
    return entry


def _require_admin(actor: m.User | None) -> m.User:
    if actor is None:
        raise PermissionDenied("sign in as an admin to read the audit log")
    if actor.role != "admin":
        raise PermissionDenied(f"only admins may read the audit log; '{actor.username}' is a {actor.role}")
    return actor


def audit_entries(
    session: Session,
    actor: m.User | None,
    *,
    entity_type: str | None = None,
    since: datetime | None = None,
    limit: int | None = None,
) -> list[m.AuditLog]:
    """Entries newest first; admins only."""
    _require_admin(actor)
    query = sa.select(m.AuditLog).order_by(m.AuditLog.at.desc(), m.AuditLog.id.desc())
    if entity_type:
        query = query.where(m.AuditLog.entity_type == entity_type)
    if since is not None:
        query = query.where(m.AuditLog.at >= since)
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))


def entry_dict(entry: m.AuditLog) -> dict[str, Any]:
    return {column: _plain(getattr(entry, column)) for column in CSV_COLUMNS}


def export_audit(session: Session, actor: m.User | None, fmt: str = "csv", **filters: Any) -> str:
    """The log as CSV (before/after as JSON strings) or a JSON array; admins only."""
    if fmt not in EXPORT_FORMATS:
        raise ValidationError(f"unknown export format '{fmt}'; use one of {', '.join(EXPORT_FORMATS)}")
    rows = [entry_dict(entry) for entry in audit_entries(session, actor, **filters)]
    if fmt == "json":
        return json.dumps(rows, ensure_ascii=False, indent=1, default=str) + "\n"
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        for key in ("before", "after"):
            row[key] = "" if row[key] is None else json.dumps(row[key], ensure_ascii=False, sort_keys=True)
        writer.writerow(row)
    return buffer.getvalue()
