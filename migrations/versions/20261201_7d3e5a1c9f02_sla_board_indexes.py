"""SLA board indexes: the open tickets' counts and teams, and the nearest breach in deadline order

Revision ID: 7d3e5a1c9f02
Revises: 5876cefd450d
Create Date: 2026-12-01 18:45:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '7d3e5a1c9f02'
down_revision: str | Sequence[str] | None = '5876cefd450d'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # readmodel/models.py:Ticket.__table_args__, decision 030 (bench/console_board.py measures it).
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.create_index('ix_ticket_board', ['status', 'team', 'priority', 'breached', 'first_response_outcome',
                                                  'first_response_due', 'resolution_outcome', 'resolution_due', 'id'],
                              unique=False)
        batch_op.create_index('ix_ticket_board_first', ['status', 'breached', 'first_response_outcome',
                                                        'first_response_due', 'id', 'priority', 'resolution_outcome',
                                                        'resolution_due', 'team'], unique=False)
        batch_op.create_index('ix_ticket_board_resolution', ['status', 'breached', 'resolution_due', 'id',
                                                             'first_response_outcome', 'first_response_due',
                                                             'priority', 'resolution_outcome', 'team'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.drop_index('ix_ticket_board_resolution')
        batch_op.drop_index('ix_ticket_board_first')
        batch_op.drop_index('ix_ticket_board')
