"""Search over every evidence quote and every stored version's text, with marked snippets and filters.

Quotes are matched word by word (every word of the query, as a prefix, case-insensitive), so they work on the
shipped seed that carries quotes but no texts. Full texts go through the store's index (FTS5 or tsvector,
`tracker.store.search`), then each matching version is cut into paragraphs and the paragraphs holding every
word become hits, so each hit points at a passage, not a whole document.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlmodel import Session

from tracker.read.queries import VERSION_META, VersionInfo, version_info
from tracker.store import models as m
from tracker.store.search import query_words, search_versions

_PARAGRAPH = re.compile(r"\n\s*\n")
SNIPPET_CHARS = 320


@dataclass(frozen=True)
class SearchHit:
    """One matching quote or passage; `snippet` alternates plain and matched runs: [(matched, text), ...]."""

    kind: str  # quote | text
    company_id: str
    company_name: str
    source_id: str
    source_title: str
    version: VersionInfo
    snippet: tuple[tuple[bool, str], ...]
    passage: str  # the whole quote or paragraph (for citations and text fragments)
    commitment_id: str | None = None
    section: str | None = None
    evidence_id: int | None = None

    @property
    def framework_id(self) -> str | None:
        return self.commitment_id.split("/")[0] if self.commitment_id else None


@dataclass
class SearchResult:
    query: str
    words: list[str]
    hits: list[SearchHit]
    truncated: bool  # more matched than `limit`


def _pattern(words: list[str]) -> re.Pattern[str]:
    return re.compile("|".join(rf"\b{re.escape(w)}\w*" for w in sorted(words, key=len, reverse=True)), re.I)


def _matches_all(text: str, words: list[str]) -> bool:
    return all(re.search(rf"\b{re.escape(w)}", text, re.I) for w in words)


def mark(text: str, words: list[str], limit: int = SNIPPET_CHARS) -> tuple[tuple[bool, str], ...]:
    """The part of `text` around the first match, cut to about `limit` characters, split into marked runs."""
    text = re.sub(r"\s+", " ", text).strip()
    pattern = _pattern(words)
    first = pattern.search(text)
    start = 0
    if first and len(text) > limit:
        start = max(0, first.start() - limit // 3)
    piece = text[start:start + limit]
    prefix = "…" if start > 0 else ""
    suffix = "…" if start + limit < len(text) else ""
    runs: list[tuple[bool, str]] = []
    position = 0
    for match in pattern.finditer(piece):
        if match.start() > position:
            runs.append((False, piece[position:match.start()]))
        runs.append((True, match.group(0)))
        position = match.end()
    if position < len(piece):
        runs.append((False, piece[position:]))
    if prefix:
        runs.insert(0, (False, prefix))
    if suffix:
        runs.append((False, suffix))
    return tuple(runs)


def search(
    session: Session,
    query: str,
    *,
    company_ids: list[str] | None = None,
    framework_id: str | None = None,
    source_id: str | None = None,
    since: date | None = None,
    until: date | None = None,
    limit: int = 200,
) -> SearchResult:
    """Quotes and passages containing every word of `query`, filtered; quotes first, best scored first.

    A framework filters quotes by the commitment they support and texts by the frameworks their source maps to.
    """
    words = query_words(query)  # raises ValidationError for a query without words
    like = [sa.func.lower(m.Evidence.quote).like(f"%{w.lower()}%") for w in words]
    statement = (
        sa.select(m.Evidence.id, m.Evidence.quote, m.Evidence.commitment_id, m.Evidence.section, *VERSION_META,
                  m.Source.title.label("source_title"), m.Source.company_id.label("company_id"),
                  m.Company.name.label("company_name"))
        .join(m.DocumentVersion, m.DocumentVersion.id == m.Evidence.version_id)
        .join(m.Source, m.Source.id == m.DocumentVersion.source_id)
        .join(m.Company, m.Company.id == m.Source.company_id)
        .where(*like)
        .order_by(m.Evidence.score.desc(), m.Evidence.id)
    )
    if company_ids:
        statement = statement.where(m.Source.company_id.in_(company_ids))
    if framework_id:
        statement = statement.where(m.Evidence.commitment_id.like(f"{framework_id}/%"))
    if source_id:
        statement = statement.where(m.Source.id == source_id)

    def in_range(version: VersionInfo) -> bool:
        day = version.effective_date
        return (since is None or day >= since) and (until is None or day <= until)

    hits: list[SearchHit] = []
    seen_quotes: set[tuple[int, str]] = set()
    truncated = False
    for row in session.execute(statement):
        version = version_info(row)
        if not in_range(version) or not _matches_all(row.quote, words):
            continue
        key = (version.id, row.quote)
        if key in seen_quotes:  # one quote often supports several commitments: list it once
            continue
        seen_quotes.add(key)
        if len(hits) >= limit:
            truncated = True
            break
        hits.append(SearchHit("quote", row.company_id, row.company_name, version.source_id, row.source_title,
                              version, mark(row.quote, words), row.quote, row.commitment_id, row.section, row.id))

    text_hits = _text_hits(session, words, company_ids, framework_id, source_id, in_range, limit)
    truncated = truncated or len(text_hits) > limit
    hits.extend(text_hits[:limit])
    return SearchResult(query, words, hits, truncated)


def _text_hits(session: Session, words: list[str], company_ids: list[str] | None, framework_id: str | None,
               source_id: str | None, in_range, limit: int) -> list[SearchHit]:
    ranked = search_versions(session, " ".join(words), limit=100)
    if not ranked:
        return []
    rows = session.execute(
        sa.select(*VERSION_META, m.DocumentVersion.text, m.Source.title.label("source_title"),
                  m.Source.frameworks.label("frameworks"), m.Source.company_id.label("company_id"),
                  m.Company.name.label("company_name"))
        .join(m.Source, m.Source.id == m.DocumentVersion.source_id)
        .join(m.Company, m.Company.id == m.Source.company_id)
        .where(m.DocumentVersion.id.in_([h.version_id for h in ranked]))
    ).all()
    order = {h.version_id: i for i, h in enumerate(ranked)}
    hits: list[SearchHit] = []
    for row in sorted(rows, key=lambda r: order[r.id]):
        version = version_info(row)
        if company_ids and row.company_id not in company_ids:
            continue
        if source_id and version.source_id != source_id:
            continue
        if framework_id and framework_id not in (row.frameworks or []):
            continue
        if not in_range(version):
            continue
        for paragraph in _PARAGRAPH.split(row.text or ""):
            if _matches_all(paragraph, words):
                hits.append(SearchHit("text", row.company_id, row.company_name, version.source_id, row.source_title,
                                      version, mark(paragraph, words), re.sub(r"\s+", " ", paragraph).strip()))
                if len(hits) > limit:
                    return hits
    return hits
