"""staffing roster, runs and plan (rule 7)

Revision ID: 498dd862b70d
Revises: 00821db4165f
Create Date: 2026-12-01 16:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # noqa: F401 - autogenerate renders SQLModel column types through it
from alembic import op

revision: str = '498dd862b70d'
down_revision: str | Sequence[str] | None = '00821db4165f'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('rosterday',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('team', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('agents', sa.Integer(), nullable=False),
    sa.Column('updated_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('day', 'team')
    )
    op.create_table('staffingrun',
    sa.Column('run_key', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('history_from', sa.Date(), nullable=False),
    sa.Column('history_to', sa.Date(), nullable=False),
    sa.Column('tickets', sa.Integer(), nullable=False),
    sa.Column('series', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('run_key')
    )
    with op.batch_alter_table('staffingrun', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staffingrun_created_at'), ['created_at'], unique=False)

    op.create_table('staffingplanday',
    sa.Column('run_key', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('team', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('volume', sa.Float(), nullable=False),
    sa.Column('agents_needed', sa.Integer(), nullable=False),
    sa.Column('on_shift', sa.Integer(), nullable=False),
    sa.Column('service_level', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('run_key', 'day', 'team')
    )


def downgrade() -> None:
    op.drop_table('staffingplanday')
    with op.batch_alter_table('staffingrun', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staffingrun_created_at'))

    op.drop_table('staffingrun')
    op.drop_table('rosterday')
