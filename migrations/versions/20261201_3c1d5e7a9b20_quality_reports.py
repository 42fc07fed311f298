"""quality reports (monthly public report, rule 16)

Revision ID: 3c1d5e7a9b20
Revises: 3c1d8e5f7a20
Create Date: 2026-12-01 13:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # noqa: F401 - autogenerate renders SQLModel column types through it
from alembic import op

revision: str = '3c1d5e7a9b20'
down_revision: str | Sequence[str] | None = '3c1d8e5f7a20'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('qualityreport',
    sa.Column('month', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
    sa.Column('report', sa.Text(), nullable=False),
    sa.Column('report_hash', sqlmodel.sql.sqltypes.AutoString(length=66), nullable=False),
    sa.Column('record_hash', sqlmodel.sql.sqltypes.AutoString(length=66), nullable=False),
    sa.Column('milestone_leaf', sqlmodel.sql.sqltypes.AutoString(length=66), nullable=False),
    sa.Column('built_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('month')
    )
    op.create_table('qualityreportfile',
    sa.Column('month', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('month', 'name')
    )
    # The month's tickets read from the index alone (readmodel/report_models.py).
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.create_index('ix_ticket_report', ['created_at', 'team', 'category', 'status', 'first_response_outcome',
                                                   'resolution_outcome', 'rating', 'repeat_of', 'root_cause', 'id'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.drop_index('ix_ticket_report')
    op.drop_table('qualityreportfile')
    op.drop_table('qualityreport')
