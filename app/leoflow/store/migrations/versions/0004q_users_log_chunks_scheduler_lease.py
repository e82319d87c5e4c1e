"""users in the database (every server replica shares them), task log chunks and the scheduler lease

Revision ID: 0004q
Revises: 0004p
"""

import sqlalchemy as sa
from alembic import op

from leoflow.store.types import UtcDateTime

revision = '0004q'
down_revision = '0004p'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'leoflow_user',
        sa.Column('username', sa.String(length=256), nullable=False),
        sa.Column('role', sa.String(length=16), nullable=False),
        sa.Column('password_hash', sa.String(length=128), nullable=False),
        sa.Column('first_name', sa.String(length=256), nullable=True),
        sa.Column('last_name', sa.String(length=256), nullable=True),
        sa.Column('email', sa.String(length=320), nullable=True),
        sa.Column('created_at', UtcDateTime(), nullable=False),
        sa.Column('changed_at', UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('username', name=op.f('leoflow_user_pkey')),
    )
    op.create_table(
        'scheduler_lease',
        sa.Column('name', sa.String(length=50), nullable=False),
        sa.Column('holder_job_id', sa.Integer(), nullable=True),
        sa.Column('holder_hostname', sa.String(length=500), nullable=True),
        sa.Column('expires_at', UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint('name', name=op.f('scheduler_lease_pkey')),
    )
    op.create_table(
        'task_log_chunk',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('dag_id', sa.String(length=250), nullable=False),
        sa.Column('run_id', sa.String(length=250), nullable=False),
        sa.Column('task_id', sa.String(length=250), nullable=False),
        sa.Column('map_index', sa.Integer(), nullable=False),
        sa.Column('try_number', sa.Integer(), nullable=False),
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.Column('lines', sa.Text(), nullable=False),
        sa.Column('created_at', UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('task_log_chunk_pkey')),
        sa.UniqueConstraint('dag_id', 'run_id', 'task_id', 'map_index', 'try_number', 'seq',
                            name=op.f('task_log_chunk_dag_id_run_id_task_id_map_index_try_number_seq_uq')),
    )


def downgrade() -> None:
    op.drop_table('task_log_chunk')
    op.drop_table('scheduler_lease')
    op.drop_table('leoflow_user')
