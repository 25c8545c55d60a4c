"""What one fetch of one source produced (`Capture`) or why it failed (`FetchError`).

These two types are the whole contract between the scrapers and the store: the store never sees
requests, sockets or pypdf, only these plain values.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime


@dataclass
class Section:
    """A `## ` heading of `Capture.text` and the span it governs (up to the next heading of the same or
    a higher level). `page` is the PDF page the heading is on, None for HTML and text."""

    heading: str
    level: int
    start: int
    end: int
    page: int | None = None


@dataclass
class Capture:
    """One successful fetch: raw bytes for provenance plus the canonical text used for versioning.

    `not_modified` is True when the server answered 304 to our validators: then `body` and `text` are
    empty and `raw_sha256`/`text_sha256` are "" (the previous version still stands).
    """

    source_id: str
    requested_url: str
    final_url: str
    fetched_at: datetime
    status: int | None
    headers: dict[str, str]
    content_type: str
    format: str
    body: bytes
    raw_sha256: str
    text: str
    text_sha256: str
    sections: list[Section] = field(default_factory=list)
    page_count: int | None = None
    version_label: str | None = None
    published_on: date | None = None
    published_on_evidence: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False
    duration_ms: int = 0
    warnings: list[str] = field(default_factory=list)
    index_url: str | None = None  # landing page the document link was found on (index adapter only)


class FetchError(Exception):
    """A fetch or extraction that failed for a known reason.

    `reason` is a stable code for machines (see REASONS), `message` a sentence a person can act on.
    """

    def __init__(
        self,
        reason: str,
        message: str,
        *,
        url: str = "",
        status: int | None = None,
        bytes_received: int = 0,
        duration_ms: int = 0,
    ) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message
        self.url = url
        self.status = status
        self.bytes_received = bytes_received
        self.duration_ms = duration_ms

    def as_dict(self) -> dict[str, object]:
        return {
            "reason": self.reason,
            "message": self.message,
            "url": self.url,
            "status": self.status,
            "bytes_received": self.bytes_received,
            "duration_ms": self.duration_ms,
        }


# Stable reason codes. Stored in FetchAttempt rows, so never rename one; add new ones instead.
REASONS: dict[str, str] = {
    "http_401": "the server requires a login",
    "http_403": "the server refused access (often bot protection)",
    "http_404": "the document is not at this URL any more",
    "http_410": "the server says the document was removed for good",
    "http_429": "the server kept rate-limiting us after all retries",
    "http_4xx": "the server rejected the request (other 4xx)",
    "http_5xx": "the server kept failing (5xx) after all retries",
    "http_other": "the server answered with a status we do not handle (1xx/3xx without Location)",
    "timeout": "connecting or reading took longer than the timeout",
    "connection_error": "could not connect (DNS, refused, TLS)",
    "connection_reset": "the connection broke while the body was being read",
    "redirect_loop": "redirects loop or exceed the redirect limit",
    "too_large": "the body exceeds the size cap",
    "empty_body": "the server answered 200 with no bytes",
    "robots_disallowed": "robots.txt disallows this URL for our user agent",
    "robots_unavailable": "robots.txt could not be read (5xx or unreachable), so crawling is not allowed",
    "private_address": "the URL resolves to a private, loopback or link-local address",
    "invalid_url": "the URL is not an absolute http(s) URL",
    "unsupported_content": "the body is neither PDF, HTML nor text",
    "invalid_encoding": "the text is not valid in its declared (or any detectable) character set",
    "pdf_encrypted": "the PDF is password-protected",
    "pdf_corrupt": "the PDF cannot be parsed",
    "no_text": "the document contains no extractable text (scanned PDF, script-only page)",
    "index_link_not_found": "the landing page has no link matching the source's patterns",
    "internal_error": "an unexpected error in the scraper (a bug): see the message",
    "too_complex": "the document is too complex to read safely (too many elements or nested too deeply)",
    "extraction_timeout": "extracting the text took longer than the time limit (e.g. a PDF decompression bomb)",
    "extraction_memory": "extracting the text needed more memory than the limit",
    "extraction_failed": "the extraction worker process ended unexpectedly (crashed or was killed)",
    "format_mismatch": "the server sent a different format than the source is catalogued with",
    "bot_challenge": "the server answered with a bot-check / challenge or access-denied page, not the document",
}


def capture_summary(capture: Capture) -> dict[str, object]:
    """A JSON-friendly view of a capture without the body (for logs and the CLI)."""
    data = asdict(capture)
    data.pop("body")
    data["text"] = capture.text[:200]
    return data
