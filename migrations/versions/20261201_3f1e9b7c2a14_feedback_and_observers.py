"""feedback from every channel and the observer panel

Revision ID: 3f1e9b7c2a14
Revises: b40d71fe8141
Create Date: 2026-12-01 13:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # noqa: F401 - the column types below are SQLModel's
from alembic import op

revision: str = '3f1e9b7c2a14'
down_revision: str | Sequence[str] | None = 'b40d71fe8141'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table('feedback',
    sa.Column('ref', S(length=64), nullable=False),
    sa.Column('channel', S(length=16), nullable=False),
    sa.Column('kind_asked', S(length=16), nullable=False),
    sa.Column('language', S(length=8), nullable=False),
    sa.Column('customer_key', S(length=80), nullable=False),
    sa.Column('dedupe_key', S(length=64), nullable=False),
    sa.Column('duplicate_of', S(length=64), nullable=True),
    sa.Column('text_hash', S(length=66), nullable=False),
    sa.Column('key_id', S(length=32), nullable=False),
    sa.Column('sealed', sa.Text(), nullable=False),
    sa.Column('spam_score', sa.Integer(), nullable=False),
    sa.Column('status', S(length=16), nullable=False),
    sa.Column('outcome', S(length=16), nullable=True),
    sa.Column('rule', S(length=80), nullable=True),
    sa.Column('ticket_id', S(length=64), nullable=False),
    sa.Column('attached_to', S(length=64), nullable=True),
    sa.Column('category', S(length=64), nullable=True),
    sa.Column('priority', S(length=8), nullable=True),
    sa.Column('team', S(length=64), nullable=True),
    sa.Column('submitted_by', S(length=128), nullable=False),
    sa.Column('observer_id', S(length=64), nullable=True),
    sa.Column('received_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('triaged_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('ref')
    )
    for column in ('channel', 'customer_key', 'dedupe_key', 'status', 'observer_id', 'received_at'):
        op.create_index(op.f(f'ix_feedback_{column}'), 'feedback', [column], unique=False)
    op.create_table('observer',
    sa.Column('id', S(length=64), nullable=False),
    sa.Column('customer_key', S(length=80), nullable=False),
    sa.Column('name', S(length=128), nullable=False),
    sa.Column('enrolled_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('term_ends_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    for column in ('customer_key', 'term_ends_at', 'active'):
        op.create_index(op.f(f'ix_observer_{column}'), 'observer', [column], unique=False)
    op.create_table('observerround',
    sa.Column('quarter', S(length=8), nullable=False),
    sa.Column('status', S(length=16), nullable=False),
    sa.Column('invited', sa.Text(), nullable=False),
    sa.Column('reminders', sa.Integer(), nullable=False),
    sa.Column('meeting', sa.Text(), nullable=True),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('quarter')
    )
    op.create_table('observerreview',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('quarter', S(length=8), nullable=False),
    sa.Column('observer_id', S(length=64), nullable=False),
    sa.Column('process', S(length=64), nullable=False),
    sa.Column('score', sa.Integer(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('quarter', 'observer_id', 'process', name='uq_observerreview')
    )
    op.create_index(op.f('ix_observerreview_quarter'), 'observerreview', ['quarter'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_observerreview_quarter'), table_name='observerreview')
    op.drop_table('observerreview')
    op.drop_table('observerround')
    for column in ('customer_key', 'term_ends_at', 'active'):
        op.drop_index(op.f(f'ix_observer_{column}'), table_name='observer')
    op.drop_table('observer')
    for column in ('channel', 'customer_key', 'dedupe_key', 'status', 'observer_id', 'received_at'):
        op.drop_index(op.f(f'ix_feedback_{column}'), table_name='feedback')
    op.drop_table('feedback')
