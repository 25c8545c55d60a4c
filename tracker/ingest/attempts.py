"""One FetchAttempt from one fetch outcome: refresh, fetched evidence links and the store-side failure path all
record attempts the same way, so the Sources health page reads the same columns whatever made the attempt.
"""

from __future__ import annotations

from scrapers.capture import Capture, FetchError
from tracker.store import models as m


def attempt_from(outcome: Capture | FetchError, source_id: str, *, run_id: int | None = None,
                 url: str | None = None) -> m.FetchAttempt:
    """The attempt row for a capture (outcome `not_modified` until the caller knows better) or a failure."""
    if isinstance(outcome, FetchError):
        return m.FetchAttempt(
            source_id=source_id, run_id=run_id, url=outcome.url or url or "", http_status=outcome.status,
            bytes_received=outcome.bytes_received, duration_ms=outcome.duration_ms, outcome="failed",
            reason=outcome.reason, error=outcome.message,
        )
    return m.FetchAttempt(
        source_id=source_id, run_id=run_id, started_at=outcome.fetched_at, url=url or outcome.requested_url,
        final_url=outcome.final_url, http_status=outcome.status, bytes_received=len(outcome.body),
        duration_ms=outcome.duration_ms, content_type=outcome.content_type, outcome="not_modified",
    )


def internal_failure(source_id: str, url: str, message: str, *, run_id: int | None = None) -> m.FetchAttempt:
    """The attempt row when storing a fetched source failed inside the tracker (reported, never fatal)."""
    return m.FetchAttempt(source_id=source_id, run_id=run_id, url=url, outcome="failed", reason="internal_error",
                          error=message)
