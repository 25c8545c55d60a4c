"""`refresh`: fetch every watched source, keep what is new, record every attempt; one failure stops nothing.

Each source is handled in its own transaction (its FetchAttempt, version, evidence, levels and changes land
together or not at all), so a run killed half-way and started again leaves no duplicates and no half-written
rows. A lock makes a second concurrent run wait or exit cleanly.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from scrapers.adapters import SourceSpec, fetch_many
from scrapers.capture import Capture, FetchError
from scrapers.http import FetchContext
from tracker.core.config import get_settings
from tracker.core.db import session_scope
from tracker.core.errors import NotFoundError
from tracker.core.locks import LockBusy, refresh_lock
from tracker.core.rawstore import RawStore
from tracker.ingest.attempts import attempt_from, internal_failure
from tracker.ingest.pipeline import ingest_capture
from tracker.store import models as m


@dataclass
class SourceOutcome:
    source_id: str
    outcome: str  # new_version | unchanged | not_modified | failed
    reason: str | None = None
    message: str | None = None
    version_id: int | None = None
    changes: int = 0
    silent_reupload: bool = False


@dataclass
class RefreshSummary:
    run_id: int
    outcomes: list[SourceOutcome] = field(default_factory=list)
    interrupted_runs: list[int] = field(default_factory=list)  # earlier runs found dead and marked
    alerts: Any = None  # what `deliver_alerts` returned (publish.alerts.DeliveryReport from the CLI)
    alerts_error: str | None = None  # alert delivery broke: reported, never fatal to the refresh

    def count(self, outcome: str) -> int:
        return sum(1 for o in self.outcomes if o.outcome == outcome)

    @property
    def counts(self) -> dict[str, int]:
        return {k: self.count(k) for k in ("new_version", "unchanged", "not_modified", "failed")}


def select_sources(session: Session, company: str | None = None, source: str | None = None) -> list[m.Source]:
    query = select(m.Source).where(m.Source.active == True, m.Source.fetchable == True)  # noqa: E712
    if company:
        if session.get(m.Company, company) is None:
            raise NotFoundError(f"unknown company '{company}'")
        query = query.where(m.Source.company_id == company)
    if source:
        if session.get(m.Source, source) is None:
            raise NotFoundError(f"unknown source '{source}'; see data/sources/*.yaml for source ids")
        query = query.where(m.Source.id == source)
    sources = list(session.exec(query.order_by(m.Source.id)))
    if not sources:
        raise NotFoundError("no active, fetchable source matches the selection")
    return sources


def mark_interrupted_runs(session: Session) -> list[int]:
    """Runs still `running` while the caller holds the refresh lock belong to processes that died: mark them.

    Only call this with the lock held (as `refresh` does); `reconcile_runs` takes the lock itself.
    """
    stale = list(session.exec(select(m.RefreshRun).where(m.RefreshRun.status == "running")))
    for run in stale:
        last_attempt = session.exec(
            select(sa.func.max(m.FetchAttempt.started_at)).where(m.FetchAttempt.run_id == run.id)
        ).one()
        run.status = "interrupted"
        run.finished_at = last_attempt or run.started_at  # the last sign of life we have
        run.errors = [*run.errors, {"source_id": None, "reason": "interrupted",
                                    "message": "the process ended without finishing (killed or crashed); "
                                               "sources it did not reach are fetched by the next run"}]
    session.flush()
    return [run.id for run in stale if run.id is not None]


def reconcile_runs(engine: Engine) -> list[int]:
    """Mark dead `running` runs as interrupted, unless a refresh is running now (then nothing is stale)."""
    try:
        with refresh_lock(engine), session_scope(engine) as session:
            return mark_interrupted_runs(session)
    except LockBusy:
        return []


def default_context() -> FetchContext:
    settings = get_settings()
    agent = settings.user_agent + (f" contact: {settings.contact}" if settings.contact else "")
    return FetchContext(user_agent=agent, allow_private_addresses=not settings.is_production)


def _record(
    engine: Engine, run_id: int, source_id: str, outcome: Capture | FetchError, raw_store: RawStore
) -> SourceOutcome:
    with session_scope(engine) as session:
        source = session.get(m.Source, source_id)
        assert source is not None
        if isinstance(outcome, FetchError):
            session.add(attempt_from(outcome, source_id, run_id=run_id, url=source.url))
            return SourceOutcome(source_id, "failed", outcome.reason, outcome.message)
        attempt = attempt_from(outcome, source_id, run_id=run_id)
        if outcome.not_modified:
            session.add(attempt)
            return SourceOutcome(source_id, "not_modified")
        result = ingest_capture(session, source, outcome, raw_store=raw_store)
        attempt.outcome = result.outcome
        attempt.version_id = result.version.id
        source.etag, source.last_modified = outcome.etag, outcome.last_modified
        session.add(attempt)
        return SourceOutcome(
            source_id, result.outcome, version_id=result.version.id, changes=result.changes,
            silent_reupload=result.version.silent_reupload and result.outcome == "new_version",
            message="; ".join(result.notes) or None,
        )


def refresh(
    engine: Engine,
    *,
    company: str | None = None,
    source: str | None = None,
    context: FetchContext | None = None,
    raw_store: RawStore | None = None,
    on_result: Callable[[SourceOutcome], None] | None = None,
    on_start: Callable[[int], None] | None = None,
    wait: bool = False,
    trigger: str = "cli",
    deliver_alerts: Callable[[Engine], Any] | None = None,
) -> RefreshSummary:
    """Run one refresh, then `deliver_alerts(engine)` if given; raises LockBusy when another run holds the lock
    and `wait` is False. Delivery is passed in because publishing sits above ingest (DESIGN.md)."""
    raw_store = raw_store or RawStore()
    with refresh_lock(engine, wait=wait):
        with session_scope(engine) as session:
            interrupted = mark_interrupted_runs(session)
            sources = select_sources(session, company, source)
            specs = [SourceSpec(s.id, s.url, s.format, s.adapter, s.link_pattern, s.link_text_pattern,
                                expected_format=s.format)
                     for s in sources]
            has_versions = set(session.exec(select(m.DocumentVersion.source_id).distinct()))
            validators = {s.id: (s.etag, s.last_modified) for s in sources if s.id in has_versions}
            run = m.RefreshRun(trigger=trigger, host=f"{socket.gethostname()}:{os.getpid()}")
            session.add(run)
            session.flush()
            run_id = run.id
        assert run_id is not None
        summary = RefreshSummary(run_id, interrupted_runs=interrupted)
        if on_start:
            on_start(len(specs))
        context = context or default_context()
        status = "finished"
        try:
            for spec, outcome in fetch_many(context, specs, validators):
                try:
                    result = _record(engine, run_id, spec.id, outcome, raw_store)
                except Exception as exc:  # storing one source failed: report it, keep going
                    result = SourceOutcome(spec.id, "failed", "internal_error", f"{type(exc).__name__}: {exc}")
                    with session_scope(engine) as session:
                        session.add(internal_failure(spec.id, spec.url, result.message or "", run_id=run_id))
                summary.outcomes.append(result)
                if on_result:
                    on_result(result)
        except BaseException:
            status = "interrupted"
            raise
        finally:
            with session_scope(engine) as session:
                run = session.get(m.RefreshRun, run_id)
                assert run is not None
                run.finished_at = datetime.now(UTC)
                run.status = status
                run.counts = summary.counts
                run.errors = [{"source_id": o.source_id, "reason": o.reason, "message": o.message}
                              for o in summary.outcomes if o.outcome == "failed"]
    if deliver_alerts:
        try:
            summary.alerts = deliver_alerts(engine)
        except Exception as exc:  # alerts are a courtesy: a broken SMTP setting must not fail the refresh
            summary.alerts_error = f"{type(exc).__name__}: {exc}"
    return summary
