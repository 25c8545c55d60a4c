"""full-text search over document versions (hand-written: autogenerate cannot express it)

SQLite: an FTS5 external-content table over documentversion.text, kept in step by triggers.
PostgreSQL: a GIN index on to_tsvector('english', text). `tracker.store.search` queries both; the objects are
named in `tracker.store.search.FTS_OBJECTS` so `alembic check` and the schema test leave them alone.

When 0001 is regenerated, move this file aside first (Alembic refuses a missing down_revision), then put it
back: it does not depend on anything 0001 autogenerates except the documentversion table.

Revision ID: 0002
Revises: 0001
"""
from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_UP = [
    "CREATE VIRTUAL TABLE documentversion_fts USING fts5("
    "text, content='documentversion', content_rowid='id', tokenize='porter unicode61')",
    "CREATE TRIGGER documentversion_fts_insert AFTER INSERT ON documentversion BEGIN "
    "INSERT INTO documentversion_fts(rowid, text) VALUES (new.id, new.text); END",
    "CREATE TRIGGER documentversion_fts_delete AFTER DELETE ON documentversion BEGIN "
    "INSERT INTO documentversion_fts(documentversion_fts, rowid, text) VALUES ('delete', old.id, old.text); END",
    "CREATE TRIGGER documentversion_fts_update AFTER UPDATE OF text ON documentversion BEGIN "
    "INSERT INTO documentversion_fts(documentversion_fts, rowid, text) VALUES ('delete', old.id, old.text); "
    "INSERT INTO documentversion_fts(rowid, text) VALUES (new.id, new.text); END",
    "INSERT INTO documentversion_fts(documentversion_fts) VALUES ('rebuild')",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS documentversion_fts_update",
    "DROP TRIGGER IF EXISTS documentversion_fts_delete",
    "DROP TRIGGER IF EXISTS documentversion_fts_insert",
    "DROP TABLE IF EXISTS documentversion_fts",
]
POSTGRES_UP = [
    "CREATE INDEX ix_documentversion_text_fts ON documentversion "
    "USING gin (to_tsvector('english', coalesce(text, '')))",
]
POSTGRES_DOWN = ["DROP INDEX IF EXISTS ix_documentversion_text_fts"]


def _run(statements: dict[str, list[str]]) -> None:
    dialect = op.get_bind().dialect.name
    for statement in statements.get(dialect, []):
        op.execute(statement)


def upgrade() -> None:
    _run({"sqlite": SQLITE_UP, "postgresql": POSTGRES_UP})


def downgrade() -> None:
    _run({"sqlite": SQLITE_DOWN, "postgresql": POSTGRES_DOWN})
