"""security: one account per e-mail address, uploads read off the request path

E-mail addresses are stored lower-case and unique (sign-in accepts a user name or an e-mail, so an address
must name one account). Self-reports get the status of reading their upload (received, reading, read,
refused) with the reason of a refusal; uploads already stored are marked read.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 12:30:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tracker.store.models

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    connection = op.get_bind()
    connection.execute(sa.text('UPDATE "user" SET email = lower(trim(email)) WHERE email IS NOT NULL'))
    connection.execute(sa.text('UPDATE "user" SET email = NULL WHERE email = \'\''))
    duplicates = connection.execute(sa.text(
        'SELECT email FROM "user" WHERE email IS NOT NULL GROUP BY email HAVING count(*) > 1')).scalars().all()
    if duplicates:
        raise RuntimeError("several accounts share the e-mail address(es) " + ", ".join(sorted(duplicates))
                           + "; give each account its own address (or none) before upgrading")
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.alter_column("email", existing_type=sa.String(), type_=sa.String(length=254), existing_nullable=True)
        batch_op.create_unique_constraint("uq_user_email", ["email"])
    with op.batch_alter_table("selfreport", schema=None) as batch_op:
        batch_op.add_column(sa.Column("upload_status", sa.String(), nullable=True))
        batch_op.add_column(sa.Column("upload_error", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("upload_claimed_at", tracker.store.models.UTCDateTime(), nullable=True))
    connection.execute(sa.text(
        "UPDATE selfreport SET upload_status = 'read' WHERE upload_version_id IS NOT NULL"))


def downgrade() -> None:
    with op.batch_alter_table("selfreport", schema=None) as batch_op:
        batch_op.drop_column("upload_claimed_at")
        batch_op.drop_column("upload_error")
        batch_op.drop_column("upload_status")
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.drop_constraint("uq_user_email", type_="unique")
        batch_op.alter_column("email", existing_type=sa.String(length=254), type_=sa.String(), existing_nullable=True)
