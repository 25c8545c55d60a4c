"""Full-text search over every stored version of every document.

Why a search index: a LIKE scan reads every version's whole text on every query, which grows with years of
weekly versions. SQLite uses an FTS5 external-content table (`documentversion_fts`, kept in step by triggers)
and PostgreSQL a GIN index on `to_tsvector('english', text)`; both are created by migration 0002. The query is
taken as plain words (all must occur, stemmed), never as search syntax, so a user's punctuation cannot break it.
Search is public: a company's self-report material not yet approved is never found (`private_version_ids`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session

from tracker.core.errors import ValidationError
from tracker.store.versions import private_version_ids

# Schema objects made by migration 0002 that the models do not describe: comparisons must skip them.
FTS_TABLE = "documentversion_fts"
FTS_INDEX = "ix_documentversion_text_fts"
_WORD = re.compile(r"\w+", re.UNICODE)
SNIPPET_START, SNIPPET_END = "[", "]"


def is_search_object(name: str | None) -> bool:
    """True for the FTS table, its shadow tables and the PostgreSQL expression index."""
    return bool(name) and (name == FTS_INDEX or name.startswith(FTS_TABLE))  # type: ignore[union-attr]


def include_object(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    """Alembic `include_object` hook: leave the hand-written search objects out of schema comparisons."""
    return not is_search_object(name)


@dataclass(frozen=True)
class Hit:
    version_id: int
    source_id: str
    company_id: str
    snippet: str  # matched words between SNIPPET_START and SNIPPET_END
    rank: float  # higher is better; comparable within one result list only


def query_words(query: str) -> list[str]:
    words = _WORD.findall(query or "")
    if not words:
        raise ValidationError("the search needs at least one word (letters or digits)")
    return words


# The privacy rule as SQL with named parameters, so the hand-written queries below share it with every reader.
_PRIVATE = private_version_ids().compile()
_PRIVATE_SQL, _PRIVATE_PARAMS = str(_PRIVATE), dict(_PRIVATE.params)

_SQLITE = sa.text(f"""
    SELECT dv.id AS version_id, dv.source_id, s.company_id,
           snippet({FTS_TABLE}, 0, :start, :end, '…', 16) AS snippet, -bm25({FTS_TABLE}) AS rank
    FROM {FTS_TABLE}
    JOIN documentversion dv ON dv.id = {FTS_TABLE}.rowid
    JOIN source s ON s.id = dv.source_id
    WHERE {FTS_TABLE} MATCH :match AND dv.id NOT IN ({_PRIVATE_SQL})
    ORDER BY bm25({FTS_TABLE}), dv.id DESC
    LIMIT :limit
""")

# Rank only the matching rows, and build headlines only for the rows returned (ts_headline re-parses text).
_POSTGRES = sa.text(f"""
    WITH q AS (SELECT plainto_tsquery('english', :query) AS query),
    top AS (
        SELECT dv.id, dv.source_id, dv.text, ts_rank(to_tsvector('english', coalesce(dv.text, '')), q.query) AS rank
        FROM documentversion dv, q
        WHERE to_tsvector('english', coalesce(dv.text, '')) @@ q.query AND dv.id NOT IN ({_PRIVATE_SQL})
        ORDER BY rank DESC, dv.id DESC
        LIMIT :limit
    )
    SELECT top.id AS version_id, top.source_id, s.company_id, top.rank,
           ts_headline('english', top.text, q.query,
                       'StartSel=' || :start || ', StopSel=' || :end || ', MaxWords=30, MinWords=10') AS snippet
    FROM top JOIN source s ON s.id = top.source_id, q
    ORDER BY top.rank DESC, top.id DESC
""")


def search_versions(session: Session, query: str, limit: int = 20) -> list[Hit]:
    """Versions whose text contains every word of `query` (stemmed), best match first, with a snippet."""
    words = query_words(query)
    if limit < 1:
        raise ValidationError(f"limit must be at least 1, not {limit}")
    dialect = session.get_bind().dialect.name
    params = {"limit": limit, "start": SNIPPET_START, "end": SNIPPET_END, **_PRIVATE_PARAMS}
    if dialect == "sqlite":
        statement = _SQLITE.bindparams(match=" ".join('"' + w.replace('"', "") + '"' for w in words), **params)
    elif dialect == "postgresql":
        statement = _POSTGRES.bindparams(query=" ".join(words), **params)
    else:
        raise ValidationError(f"full-text search is not supported on {dialect}")
    return [Hit(row.version_id, row.source_id, row.company_id, row.snippet or "", float(row.rank))
            for row in session.execute(statement)]
