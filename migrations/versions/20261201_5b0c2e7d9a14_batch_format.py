"""batch format: how a batch's tree leaves are made from its milestone leaves

Revision ID: 5b0c2e7d9a14
Revises: 217899f9b33f
Create Date: 2026-12-01 10:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '5b0c2e7d9a14'
down_revision: str | Sequence[str] | None = '217899f9b33f'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Every batch anchored before this revision is format 1 (raw milestone leaves).
    with op.batch_alter_table('anchorbatch', schema=None) as batch_op:
        batch_op.add_column(sa.Column('format', sa.Integer(), server_default='1', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('anchorbatch', schema=None) as batch_op:
        batch_op.drop_column('format')
