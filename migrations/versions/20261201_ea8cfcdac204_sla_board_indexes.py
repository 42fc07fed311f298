"""SLA board indexes: the counts from one index, the tickets nearest breach in deadline order

Revision ID: ea8cfcdac204
Revises: 5876cefd450d
Create Date: 2026-12-01 17:10:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = 'ea8cfcdac204'
down_revision: str | Sequence[str] | None = '5876cefd450d'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # readmodel/models.py:Ticket.__table_args__ (bench/console_board.py measures what they save).
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.create_index('ix_ticket_board', ['team', 'status', 'priority', 'breached', 'first_response_outcome',
                                                  'first_response_due', 'resolution_outcome', 'resolution_due'],
                              unique=False)
        batch_op.create_index('ix_ticket_first_response_due', ['first_response_due'], unique=False)
        batch_op.create_index('ix_ticket_resolution_due', ['resolution_due'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.drop_index('ix_ticket_resolution_due')
        batch_op.drop_index('ix_ticket_first_response_due')
        batch_op.drop_index('ix_ticket_board')
