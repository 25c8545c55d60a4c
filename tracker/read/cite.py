"""Citations a journalist can paste: a permalink into the tracker, the document link (with a text fragment where
the source is HTML), an archived copy, the retrieval date and a ready citation line.

Pure functions of read-model values, so pages, the CLI and exports build the same fields the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from urllib.parse import quote as url_quote
from urllib.parse import urlencode

WAYBACK = "https://web.archive.org/web"
_FRAGMENT_WORDS = 6  # words at each end of a long quote (textStart,textEnd): short enough to survive reflows


@dataclass(frozen=True)
class Citation:
    """Everything needed to cite one level, quote or change."""

    permalink: str  # into the tracker, with the as-of date
    document_url: str  # the live document; for HTML with `#:~:text=` pointing at the quote
    archived_url: str  # the archived copy nearest to the retrieval date
    retrieved: date | None
    quote: str | None
    line: str  # a ready citation line


def archived_url(url: str, retrieved: date | None) -> str:
    """The Internet Archive's copy of `url` nearest to the retrieval date (it redirects to the closest snapshot).

    The store keeps no per-version archive address yet, so this is derived from what it has: URL and date.
    """
    stamp = retrieved.strftime("%Y%m%d") if retrieved else "2"
    return f"{WAYBACK}/{stamp}/{url}"


def _fragment_part(words: list[str]) -> str:
    # Text fragments reserve '-', ',' and '&'; quote() leaves '-' alone, so encode it by hand.
    return url_quote(" ".join(words), safe="").replace("-", "%2D")


def text_fragment_url(url: str, quote: str | None, document_format: str | None) -> str:
    """`url#:~:text=...` for HTML sources (browsers scroll to and highlight the quote); PDFs get the plain URL."""
    if not quote or (document_format or "").lower() not in {"html", "htm"}:
        return url
    words = quote.replace("…", " ").split()
    if not words:
        return url
    base = url.split("#", 1)[0]
    if len(words) <= 2 * _FRAGMENT_WORDS:
        return f"{base}#:~:text={_fragment_part(words)}"
    return (f"{base}#:~:text={_fragment_part(words[:_FRAGMENT_WORDS])},"
            f"{_fragment_part(words[-_FRAGMENT_WORDS:])}")


def permalink(public_url: str, page: str, **params: object) -> str:
    """An absolute link into the tracker: `{public_url}/{page}?...` with the given (non-empty) parameters."""
    query = urlencode({k: (v.isoformat() if isinstance(v, date) else str(v)) for k, v in params.items()
                       if v not in (None, "")})
    return f"{public_url.rstrip('/')}/{page}" + (f"?{query}" if query else "")


def cite(
    *,
    public_url: str,
    page: str,
    params: dict[str, object],
    company_name: str,
    source_title: str,
    version_label: str,
    url: str,
    document_format: str | None,
    retrieved: date | None,
    quote: str | None = None,
    claim: str | None = None,
    as_of: date | None = None,
    archived: str | None = None,
) -> Citation:
    """One citation: `claim` is what the tracker says (a level, a change), `quote` the document's words.

    `archived` is the version's own archived copy (from the catalog's Wayback captures); without one, the
    Internet Archive's snapshot nearest the retrieval date.
    """
    link = permalink(public_url, page, **params)
    live = text_fragment_url(url, quote, document_format)
    archive = archived or archived_url(url, retrieved)
    parts = [f"{company_name}, “{source_title}”, {version_label}"]
    if quote:
        short = quote if len(quote) <= 300 else quote[:297].rstrip() + "…"
        parts.append(f"“{short}”")
    parts.append(f"{url} (retrieved {retrieved.isoformat() if retrieved else 'unknown'}; archived copy: {archive})")
    tail = "Commitment Tracker"
    if claim:
        tail += f": {claim}"
    if as_of:
        tail += f", as of {as_of.isoformat()}"
    parts.append(f"{tail}, {link}")
    return Citation(link, live, archive, retrieved, quote, ". ".join(parts) + ".")
