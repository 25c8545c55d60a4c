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
EMPTY_DICT = sa.text("'{}'")


def upgrade() -> None:
    # Plain ADD COLUMN (no batch copy): on SQLite a copy would drop the full-text triggers of 0002 on documentversion
    # and trip the foreign keys that point at commitment. The server defaults fill the rows that exist and stay, as
    # in the models, so rows inserted without these columns get the same values.
    op.add_column('commitment', sa.Column('legal_basis', sa.Text(), nullable=True))
    op.add_column('commitment', sa.Column('parts', sa.JSON(), nullable=False, server_default=EMPTY_LIST))
    op.add_column('commitmentlink', sa.Column('reviewed', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column('documentversion', sa.Column('update_record', sa.JSON(), nullable=False,
                                               server_default=EMPTY_DICT))
    op.add_column('framework', sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(), nullable=False,
                                         server_default='voluntary'))
    op.add_column('framework', sa.Column('applies_from', sa.Date(), nullable=True))
    op.add_column('framework', sa.Column('applies_to', sa.Text(), nullable=False, server_default=''))
    op.add_column('framework', sa.Column('scopes', sa.JSON(), nullable=False, server_default=EMPTY_LIST))
    op.add_column('signature', sa.Column('status', sqlmodel.sql.sqltypes.AutoString(), nullable=False,
                                         server_default='signed'))
    op.add_column('signature', sa.Column('status_confidence', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
    op.add_column('signature', sa.Column('scope', sqlmodel.sql.sqltypes.AutoString(), nullable=True))


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35 and later), for the same reason as above.
    for table, columns in (('documentversion', ['update_record']),
                           ('signature', ['scope', 'status_confidence', 'status']),
                           ('framework', ['scopes', 'applies_to', 'applies_from', 'kind']),
                           ('commitmentlink', ['reviewed']), ('commitment', ['parts', 'legal_basis'])):
        for column in columns:
            op.drop_column(table, column)
