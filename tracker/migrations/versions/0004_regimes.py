"""regimes: framework kind, applies_from/applies_to, scopes; signature status, scope; parts; update records

Laws (California SB 53, New York RAISE) and the EU Code of Practice join the voluntary frameworks. A framework
now says what kind it is, from when it binds and whom, and which parts can be signed on their own (the EU
Code's chapters). A signature row also records a refusal ("declined", shown as such) or that a law binds the
company ("bound"), how sure that status is, and the scope signed. Commitments keep their official sub-items
(the EU Code's Measures) and legal basis; crosswalk links say whether a reviewer checked them; a document version
keeps what it states about its own update (changelog, version, date of change, justification), read at ingest so
the deadline statuses never load document texts. Existing rows get the values they had implicitly: voluntary
frameworks, signed signatures, unreviewed links, versions not yet read ({}).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 11:53:45.499709
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EMPTY_LIST = sa.text("'[]'")


def upgrade() -> None:
    # Server defaults fill the rows that exist; they are dropped afterwards so the columns match the models,
    # which set every value themselves.
    with op.batch_alter_table('commitment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('legal_basis', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('parts', sa.JSON(), nullable=False, server_default=EMPTY_LIST))

    with op.batch_alter_table('commitmentlink', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reviewed', sa.Boolean(), nullable=False, server_default=sa.false()))

    with op.batch_alter_table('framework', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(), nullable=False,
                                      server_default='voluntary'))
        batch_op.add_column(sa.Column('applies_from', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('applies_to', sa.Text(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('scopes', sa.JSON(), nullable=False, server_default=EMPTY_LIST))

    with op.batch_alter_table('signature', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status', sqlmodel.sql.sqltypes.AutoString(), nullable=False,
                                      server_default='signed'))
        batch_op.add_column(sa.Column('status_confidence', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch_op.add_column(sa.Column('scope', sqlmodel.sql.sqltypes.AutoString(), nullable=True))

    with op.batch_alter_table('documentversion', schema=None) as batch_op:
        batch_op.add_column(sa.Column('update_record', sa.JSON(), nullable=False, server_default=sa.text("'{}'")))

    for table, columns in (('commitment', ['parts']), ('commitmentlink', ['reviewed']),
                           ('documentversion', ['update_record']),
                           ('framework', ['kind', 'applies_to', 'scopes']), ('signature', ['status'])):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in columns:
                batch_op.alter_column(column, server_default=None)


def downgrade() -> None:
    with op.batch_alter_table('documentversion', schema=None) as batch_op:
        batch_op.drop_column('update_record')

    with op.batch_alter_table('signature', schema=None) as batch_op:
        batch_op.drop_column('scope')
        batch_op.drop_column('status_confidence')
        batch_op.drop_column('status')

    with op.batch_alter_table('framework', schema=None) as batch_op:
        batch_op.drop_column('scopes')
        batch_op.drop_column('applies_to')
        batch_op.drop_column('applies_from')
        batch_op.drop_column('kind')

    with op.batch_alter_table('commitmentlink', schema=None) as batch_op:
        batch_op.drop_column('reviewed')

    with op.batch_alter_table('commitment', schema=None) as batch_op:
        batch_op.drop_column('parts')
        batch_op.drop_column('legal_basis')
