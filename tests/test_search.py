"""Full-text search over versions: one function, FTS5 on SQLite and tsvector/GIN on PostgreSQL."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from tests.factories import add_version
from tracker.core.errors import ValidationError
from tracker.store import models as m
from tracker.store.search import SNIPPET_START, include_object, search_versions

SOURCE = "anthropic-rsp"
OTHER = "openai-preparedness-framework"


def test_finds_every_word_stemmed_with_snippet_and_company(session):
    wanted = add_version(session, SOURCE, "## Security\n\nWe will pause training when thresholds are crossed.")
    add_version(session, SOURCE, "## Security\n\nWe may publish reports about evaluations.")
    add_version(session, OTHER, "Training is paused only at the board's discretion.")
    session.commit()
    hits = search_versions(session, "pausing training")
    assert {h.version_id for h in hits} >= {wanted.id}
    assert all(h.source_id in (SOURCE, OTHER) for h in hits)
    first = next(h for h in hits if h.version_id == wanted.id)
    assert first.company_id == "anthropic"
    assert SNIPPET_START in first.snippet and "pause" in first.snippet.lower()
    assert search_versions(session, "publish reports")[0].source_id == SOURCE
    assert search_versions(session, "nonexistentword") == []


def test_better_match_ranks_first_and_limit_applies(session):
    weak = add_version(session, SOURCE, "Evaluation happens. " + "Other words fill this text. " * 30)
    strong = add_version(session, OTHER, "Evaluation, evaluation and more evaluation of every model.")
    session.commit()
    hits = search_versions(session, "evaluation")
    assert [h.version_id for h in hits][:2] == [strong.id, weak.id]
    assert hits[0].rank >= hits[1].rank
    assert len(search_versions(session, "evaluation", limit=1)) == 1


def test_index_follows_updates_and_deletes(session):
    version = add_version(session, SOURCE, "The original wording mentions watermarks.")
    session.commit()
    assert [h.version_id for h in search_versions(session, "watermarks")] == [version.id]
    version.text = "The new wording mentions provenance instead."
    session.commit()
    assert search_versions(session, "watermarks") == []
    assert [h.version_id for h in search_versions(session, "provenance")] == [version.id]
    session.execute(sa.delete(m.DocumentVersion).where(m.DocumentVersion.id == version.id))
    session.commit()
    assert search_versions(session, "provenance") == []


def test_versions_without_text_are_ignored(session):
    session.add(m.DocumentVersion(source_id=SOURCE, url="https://example.org", text_sha256="0" * 64, text=None))
    session.commit()
    assert search_versions(session, "anything") == []


@pytest.mark.parametrize("query", ['"unbalanced', "NEAR(a b)", "a* OR -b", "col:thing", "AND"])
def test_search_syntax_in_the_query_is_taken_as_words(session, query):
    add_version(session, SOURCE, "A thing near a col with unbalanced quotes and b.")
    session.commit()
    assert isinstance(search_versions(session, query), list)


@pytest.mark.parametrize("query", ["", "   ", "?!"])
def test_a_query_without_words_is_refused(session, query):
    with pytest.raises(ValidationError, match="at least one word"):
        search_versions(session, query)


def test_existing_versions_are_indexed_by_the_migration(engine):
    """A database that had versions before 0002 ran gets them indexed (rebuild on SQLite, index on PG)."""
    with Session(engine) as session:
        version = add_version(session, SOURCE, "Preexisting governance text.")
        session.commit()
        assert [h.version_id for h in search_versions(session, "governance")] == [version.id]


def test_search_objects_are_left_out_of_schema_comparisons():
    assert include_object(None, "documentversion_fts_data", "table", True, None) is False
    assert include_object(None, "ix_documentversion_text_fts", "index", True, None) is False
    assert include_object(None, "documentversion", "table", True, None) is True
