"""proposal rejection: who turned a proposed meeting down, when and why

Revision ID: 00821db4165f
Revises: c0501e16a7b2
Create Date: 2026-12-01 16:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # noqa: F401 - autogenerate renders SQLModel column types through it
from alembic import op

revision: str = '00821db4165f'
down_revision: str | Sequence[str] | None = 'c0501e16a7b2'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('meetingproposal', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rejected_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch_op.add_column(sa.Column('rejected_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('reject_reason', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('meetingproposal', schema=None) as batch_op:
        batch_op.drop_column('reject_reason')
        batch_op.drop_column('rejected_at')
        batch_op.drop_column('rejected_by')
