"""milestone kind and time index (a month's supervision work reads one month, not the whole table)

Revision ID: 3c1d8e5f7a20
Revises: 9ab441922f4d
Create Date: 2026-12-01 13:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '3c1d8e5f7a20'
down_revision: str | Sequence[str] | None = '9ab441922f4d'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_milestone_kind_at', 'milestone', ['kind', 'at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_milestone_kind_at', table_name='milestone')
