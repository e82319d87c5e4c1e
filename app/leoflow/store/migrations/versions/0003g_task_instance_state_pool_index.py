"""task_instance (state, pool) index for the scheduler's queueing window

Revision ID: 0003g
Revises: 0003d
"""

from alembic import op

revision = '0003g'
down_revision = '0003d'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('task_instance', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('idx_task_instance_state_pool'), ['state', 'pool'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('task_instance', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('idx_task_instance_state_pool'))
