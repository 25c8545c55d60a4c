"""Source adapters: how to get from a catalog entry (`SourceSpec`) to a `Capture`.

- "document": the URL is the document.
- "index": the URL is a landing page; the current document is the first link whose href matches
  `link_pattern` and whose text matches `link_text_pattern` (companies change PDF URLs with every version,
  but the landing page stays).

`fetch_many` runs sources on different hosts concurrently and sources on one host one after another, so
no host sees more than one request at a time from us (and FetchContext spaces them out as well).
"""

from __future__ import annotations

import queue
import re
import threading
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urljoin

from bs4 import BeautifulSoup

from scrapers.bounded import DEFAULT_LIMITS, ExtractLimits
from scrapers.build import build_capture
from scrapers.capture import Capture, FetchError
from scrapers.challenge import challenge_reason
from scrapers.extract import (
    MAX_HTML_ELEMENTS,
    count_html_elements,
    decode_text,
    sniff_format,
)
from scrapers.http import FetchContext, HttpResult, host_key

ADAPTERS = ("document", "index")
FORMATS = ("pdf", "html", "text")


@dataclass
class SourceSpec:
    """What the fetcher needs from a catalog source (data/sources/*.yaml)."""

    id: str
    url: str
    format: str
    adapter: str = "document"
    link_pattern: str | None = None
    link_text_pattern: str | None = None
    # When set ("pdf", "html", "text"), a document of another format is a failed attempt
    # (`format_mismatch`), never a capture: a PDF source answered with an HTML page is not a new version.
    # None keeps `format` a hint (a mismatch is only a warning), for links of unknown format.
    expected_format: str | None = None


def find_document_link(html: str, page_url: str, spec: SourceSpec) -> str | None:
    """Absolute URL of the first link matching the spec's href and link-text patterns, or None.
    Relative links are resolved against <base href> when present, else the page's final URL."""
    soup = BeautifulSoup(html, "lxml")
    base_tag = soup.find("base", href=True)
    base = urljoin(page_url, base_tag["href"]) if base_tag else page_url
    href_re = re.compile(spec.link_pattern) if spec.link_pattern else None
    text_re = re.compile(spec.link_text_pattern) if spec.link_text_pattern else None
    for anchor in soup.find_all("a", href=True):
        href = anchor["href"].strip()
        if not href or href.startswith(("#", "javascript:", "mailto:")):
            continue
        absolute = urljoin(base, href)
        if href_re and not (href_re.search(absolute) or href_re.search(href)):
            continue
        label = " ".join(anchor.get_text(" ").split()) or anchor.get("title", "") or anchor.get("aria-label", "")
        if text_re and not text_re.search(label):
            continue
        return absolute
    return None


def fetch_source(
    ctx: FetchContext,
    spec: SourceSpec,
    etag: str | None = None,
    last_modified: str | None = None,
    limits: ExtractLimits | None = DEFAULT_LIMITS,
) -> Capture:
    """Fetch one source and extract its text. Validators apply to the document, never to a landing page
    (the landing page is always read in full to find the current link). Raises FetchError; a bot-check
    page is `bot_challenge`, a format other than `spec.expected_format` is `format_mismatch`. Text is
    extracted under `limits` (time and memory, in a worker process); `limits=None` extracts in-process
    without bounds (only for trusted bytes)."""
    if spec.expected_format is not None and spec.expected_format not in FORMATS:
        raise FetchError(
            "internal_error",
            f"Source {spec.id} expects format {spec.expected_format!r}; use one of {', '.join(FORMATS)}.",
            url=spec.url,
        )
    started = time.monotonic()
    fetched_at = datetime.now(UTC)
    warnings: list[str] = []
    index_url: str | None = None
    if spec.adapter == "document":
        result = ctx.get(spec.url, etag=etag, last_modified=last_modified)
    elif spec.adapter == "index":
        if not (spec.link_pattern or spec.link_text_pattern):
            raise FetchError(
                "index_link_not_found",
                f"Source {spec.id} uses the index adapter but sets neither link_pattern nor link_text_pattern.",
                url=spec.url,
            )
        landing = ctx.get(spec.url)
        index_url = landing.final_url
        if sniff_format(landing.body, landing.content_type, landing.final_url) == "pdf":
            # The landing URL now serves the document itself: use it rather than fail.
            warnings.append(f"index page {spec.url} served a PDF directly; used it as the document")
            result = landing
        else:
            _refuse_challenge(landing, started)
            max_elements = limits.max_html_elements if limits is not None else MAX_HTML_ELEMENTS
            if max_elements is not None and count_html_elements(landing.body) > max_elements:
                raise FetchError(
                    "too_complex",
                    f"{landing.final_url}: the landing page has more than {max_elements:,} HTML elements; it "
                    "is refused rather than parsed.",
                    url=landing.final_url, status=landing.status, bytes_received=len(landing.body),
                    duration_ms=_ms(started),
                )
            html, _ = decode_text(landing.body, landing.content_type, landing.final_url, is_html=True)
            link = find_document_link(html, landing.final_url, spec)
            if link is None:
                raise FetchError(
                    "index_link_not_found",
                    f"{landing.final_url} has no link matching href /{spec.link_pattern or '.*'}/ and text "
                    f"/{spec.link_text_pattern or '.*'}/; the page layout changed, update the source's patterns.",
                    url=landing.final_url,
                    status=landing.status,
                    bytes_received=len(landing.body),
                    duration_ms=_ms(started),
                )
            result = ctx.get(link, etag=etag, last_modified=last_modified)
    else:
        raise FetchError(
            "internal_error",
            f"Source {spec.id} names unknown adapter {spec.adapter!r}; use one of {', '.join(ADAPTERS)}.",
            url=spec.url,
        )
    return _capture(spec, result, fetched_at, started, warnings, index_url, limits)


def _refuse_challenge(result: HttpResult, started: float) -> None:
    """Raise `bot_challenge` when the body is a bot-check / challenge / access-denied page."""
    found = challenge_reason(result.body, result.headers)
    if found:
        raise FetchError(
            "bot_challenge",
            f"{result.final_url} answered with {found} instead of the document (HTTP {result.status}); the site "
            "is blocking automated access: try again later, ask the site owner, or use `import-file`.",
            url=result.final_url, status=result.status, bytes_received=len(result.body), duration_ms=_ms(started),
        )


def _capture(
    spec: SourceSpec,
    result: HttpResult,
    fetched_at: datetime,
    started: float,
    warnings: list[str],
    index_url: str | None,
    limits: ExtractLimits | None = DEFAULT_LIMITS,
) -> Capture:
    headers = result.headers
    common = {
        "source_id": spec.id,
        "requested_url": result.url,
        "final_url": result.final_url,
        "fetched_at": fetched_at,
        "status": result.status,
        "headers": headers,
        "content_type": headers.get("content-type", ""),
        "etag": headers.get("etag"),
        "last_modified": headers.get("last-modified"),
        "index_url": index_url,
    }
    if result.status == 304:
        return Capture(
            **common, format=spec.format, body=b"", raw_sha256="", text="", text_sha256="",
            not_modified=True, duration_ms=_ms(started), warnings=warnings,
        )
    sniffed = sniff_format(result.body, common["content_type"], result.final_url)
    if sniffed == "html":
        _refuse_challenge(result, started)
    if spec.expected_format and sniffed != spec.expected_format:
        raise FetchError(
            "format_mismatch",
            f"{result.final_url} sent {sniffed.upper()} ({common['content_type'] or 'no content type'}) but source "
            f"{spec.id} is catalogued as {spec.expected_format.upper()}; the attempt is not stored as a version. "
            "If the publisher really changed the format, update the source's `format`.",
            url=result.final_url, status=result.status, bytes_received=len(result.body), duration_ms=_ms(started),
        )
    try:
        capture = build_capture(
            result.body, common["content_type"], result.final_url, source_id=spec.id, requested_url=result.url,
            fetched_at=fetched_at, status=result.status, headers=headers, etag=common["etag"],
            last_modified=common["last_modified"], duration_ms=_ms(started), warnings=warnings,
            index_url=index_url, limits=limits,
        )
    except FetchError as exc:
        exc.status = exc.status or result.status
        exc.bytes_received = exc.bytes_received or len(result.body)
        exc.duration_ms = _ms(started)
        exc.url = exc.url or result.final_url
        raise
    if spec.format and capture.format != spec.format:
        capture.warnings.append(
            f"expected {spec.format} but the server sent {capture.format} "
            f"({common['content_type'] or 'no content type'})"
        )
    return capture


def fetch_many(
    ctx: FetchContext,
    specs: Iterable[SourceSpec],
    validators: dict[str, tuple[str | None, str | None]] | None = None,
    max_workers: int = 8,
    limits: ExtractLimits | None = DEFAULT_LIMITS,
) -> Iterator[tuple[SourceSpec, Capture | FetchError]]:
    """Yield (spec, capture or error) as each source finishes. One worker per host group: hosts run in
    parallel, a host's sources run in order. One source's failure, even a bug, never stops the others."""
    validators = validators or {}
    groups: dict[str, list[SourceSpec]] = {}
    for spec in specs:
        groups.setdefault(host_key(spec.url), []).append(spec)
    if not groups:
        return
    results: queue.Queue[tuple[SourceSpec, Capture | FetchError]] = queue.Queue()
    stop = threading.Event()

    def run_group(group: list[SourceSpec]) -> None:
        for spec in group:
            if stop.is_set():
                return
            try:
                etag, last_modified = validators.get(spec.id) or (None, None)
                outcome: Capture | FetchError = fetch_source(ctx, spec, etag, last_modified, limits)
            except FetchError as exc:
                outcome = exc
            except Exception as exc:  # a bug in one source must not take the batch down
                outcome = FetchError(
                    "internal_error", f"Unexpected {type(exc).__name__} while fetching {spec.id}: {exc}", url=spec.url
                )
            results.put((spec, outcome))

    total = sum(len(group) for group in groups.values())
    executor = ThreadPoolExecutor(max_workers=max(1, min(max_workers, len(groups))), thread_name_prefix="fetch")
    try:
        for group in groups.values():
            executor.submit(run_group, group)
        for _ in range(total):
            yield results.get()
    finally:
        stop.set()
        executor.shutdown(wait=False, cancel_futures=True)


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
