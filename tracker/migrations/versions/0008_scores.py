"""scores: the cell score on assessments and their spans, the change analysis' probabilities on change events

The score (0-100 within the level's band) ranks cells that share a level; the grids read it from the span, so it
joins the covering index of the as-of read. The probabilities rank the review queue. Rows written before have
None: they are filled when their versions are mapped or analysed again (or the seed is reloaded).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 17:45:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INDEX_COLUMNS = ["framework_id", "valid_until", "valid_from", "company_id", "commitment_id", "level", "basis",
                  "version_id", "assessment_id"]


def upgrade() -> None:
    with op.batch_alter_table("assessment") as batch:
        batch.add_column(sa.Column("score", sa.Float(), nullable=True))
    with op.batch_alter_table("assessmentspan") as batch:
        batch.add_column(sa.Column("score", sa.Float(), nullable=True))
    with op.batch_alter_table("changeevent") as batch:
        batch.add_column(sa.Column("probability", sa.Float(), nullable=True))
        batch.add_column(sa.Column("weakened_probability", sa.Float(), nullable=True))
    op.drop_index("ix_assessmentspan_framework_asof", table_name="assessmentspan")
    op.create_index("ix_assessmentspan_framework_asof", "assessmentspan", [*_INDEX_COLUMNS, "score"])
    # Spans copy the assessment's columns: fill the new one from the rows (all None until mapped again).
    op.execute("UPDATE assessmentspan SET score = (SELECT score FROM assessment WHERE assessment.id = "
               "assessmentspan.assessment_id)")


def downgrade() -> None:
    op.drop_index("ix_assessmentspan_framework_asof", table_name="assessmentspan")
    op.create_index("ix_assessmentspan_framework_asof", "assessmentspan", _INDEX_COLUMNS)
    with op.batch_alter_table("changeevent") as batch:
        batch.drop_column("weakened_probability")
        batch.drop_column("probability")
    with op.batch_alter_table("assessmentspan") as batch:
        batch.drop_column("score")
    with op.batch_alter_table("assessment") as batch:
        batch.drop_column("score")
