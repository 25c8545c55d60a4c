"""The one Capture builder: a fetch, an archived file, a self-report upload and `score-document` all turn bytes
into a Capture here, so hashes, extraction bounds, label and date detection are the same on every path.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from scrapers.bounded import DEFAULT_LIMITS, ExtractLimits, extract_bounded
from scrapers.capture import Capture
from scrapers.dating import detect_publication_date, detect_version_label
from scrapers.extract import extract


def build_capture(
    body: bytes,
    content_type: str,
    url: str,
    *,
    source_id: str = "",
    requested_url: str | None = None,
    fetched_at: datetime | None = None,
    status: int | None = None,
    headers: dict[str, str] | None = None,
    etag: str | None = None,
    last_modified: str | None = None,
    duration_ms: int = 0,
    warnings: list[str] | None = None,
    index_url: str | None = None,
    limits: ExtractLimits | None = DEFAULT_LIMITS,
) -> Capture:
    """Extract `body` (in the bounded worker unless `limits` is None) and describe it as a Capture.

    `raw_sha256` hashes the bytes as received, `text_sha256` the canonical text the tracker versions on. Raises
    FetchError with a stable reason code when the body cannot be read within the limits.
    """
    extracted = extract(body, content_type, url) if limits is None else extract_bounded(
        body, content_type, url, limits)
    published_on, evidence = detect_publication_date(extracted.text)
    return Capture(
        source_id=source_id, requested_url=requested_url or url, final_url=url,
        fetched_at=fetched_at or datetime.now(UTC), status=status, headers=headers or {},
        content_type=content_type, format=extracted.format, body=body,
        raw_sha256=hashlib.sha256(body).hexdigest(), text=extracted.text,
        text_sha256=hashlib.sha256(extracted.text.encode("utf-8")).hexdigest(), sections=extracted.sections,
        page_count=extracted.page_count, version_label=detect_version_label(extracted.text),
        published_on=published_on, published_on_evidence=evidence, etag=etag, last_modified=last_modified,
        duration_ms=duration_ms, warnings=(warnings or []) + extracted.warnings, index_url=index_url,
    )
