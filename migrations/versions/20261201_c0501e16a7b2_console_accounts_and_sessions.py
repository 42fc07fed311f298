"""console accounts and sessions

Revision ID: c0501e16a7b2
Revises: 3f1e9b7c2a14
Create Date: 2026-12-01 13:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # noqa: F401 - autogenerate renders SQLModel column types through it
from alembic import op

revision: str = 'c0501e16a7b2'
down_revision: str | Sequence[str] | None = '3f1e9b7c2a14'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('account',
    sa.Column('person_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('role', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('suppliers', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('password_hash', sqlmodel.sql.sqltypes.AutoString(length=256), nullable=False),
    sa.Column('invite_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('invite_expires_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('language', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('time_zone', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('failed_logins', sa.Integer(), nullable=False),
    sa.Column('locked_until', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('person_id')
    )
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_account_invite_hash'), ['invite_hash'], unique=False)

    op.create_table('consolesession',
    sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('person_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('csrf_token', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('expires_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('token_hash')
    )
    with op.batch_alter_table('consolesession', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consolesession_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_consolesession_person_id'), ['person_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('consolesession', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consolesession_person_id'))
        batch_op.drop_index(batch_op.f('ix_consolesession_expires_at'))
    op.drop_table('consolesession')
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_account_invite_hash'))
    op.drop_table('account')
