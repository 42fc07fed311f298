"""feedback erasure: feedback.erased_at and the feedbackerasure audit table

Revision ID: 5876cefd450d
Revises: 498dd862b70d
Create Date: 2026-12-01 16:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # noqa: F401 - autogenerate renders SQLModel column types through it
from alembic import op

revision: str = '5876cefd450d'
down_revision: str | Sequence[str] | None = '498dd862b70d'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('feedback', sa.Column('erased_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
    op.create_table('feedbackerasure',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ref', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('request_ref', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('erased_by', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('ticket_texts', sa.Integer(), nullable=False),
    sa.Column('at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_feedbackerasure_ref'), 'feedbackerasure', ['ref'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_feedbackerasure_ref'), table_name='feedbackerasure')
    op.drop_table('feedbackerasure')
    op.drop_column('feedback', 'erased_at')
