"""agents on other hosts: enrollments, agents, their job table and the DAG bundles they fetch

Revision ID: 0004r
Revises: 0004q
"""

import sqlalchemy as sa
from alembic import op

from leoflow.store.types import UtcDateTime

revision = '0004r'
down_revision = '0004q'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'agent_enrollment',
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('agent_name', sa.String(length=250), nullable=False),
        sa.Column('queues', sa.Text(), nullable=True),
        sa.Column('created_by', sa.String(length=256), nullable=True),
        sa.Column('created_at', UtcDateTime(), nullable=False),
        sa.Column('expires_at', UtcDateTime(), nullable=False),
        sa.Column('used_at', UtcDateTime(), nullable=True),
        sa.Column('max_uses', sa.Integer(), nullable=True),
        sa.Column('uses', sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint('token_hash', name=op.f('agent_enrollment_pkey')),
    )
    op.create_table(
        'agent',
        sa.Column('name', sa.String(length=250), nullable=False),
        sa.Column('state', sa.String(length=20), nullable=False),
        sa.Column('queues', sa.Text(), nullable=False),
        sa.Column('credential_hash', sa.String(length=64), nullable=True),
        sa.Column('version', sa.String(length=50), nullable=True),
        sa.Column('hostname', sa.String(length=500), nullable=True),
        sa.Column('concurrency', sa.Integer(), nullable=False),
        sa.Column('free_slots', sa.Integer(), nullable=False),
        sa.Column('running', sa.Integer(), nullable=False),
        sa.Column('registered_at', UtcDateTime(), nullable=False),
        sa.Column('last_heartbeat', UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint('name', name=op.f('agent_pkey')),
    )
    op.create_index(op.f('idx_agent_credential_hash'), 'agent', ['credential_hash'], unique=False)
    op.create_table(
        'agent_job',
        sa.Column('id', sa.String(length=300), nullable=False),
        sa.Column('ti_id', sa.String(length=36), nullable=False),
        sa.Column('try_number', sa.Integer(), nullable=False),
        sa.Column('attempt', sa.String(length=64), nullable=True),
        sa.Column('queue', sa.String(length=256), nullable=False),
        sa.Column('workload', sa.Text(), nullable=False),
        sa.Column('bundle_sha', sa.String(length=64), nullable=True),
        sa.Column('state', sa.String(length=20), nullable=False),
        sa.Column('agent_name', sa.String(length=250), nullable=True),
        sa.Column('claim_token_hash', sa.String(length=64), nullable=True),
        sa.Column('lease_expires', UtcDateTime(), nullable=True),
        sa.Column('cancel_reason', sa.Text(), nullable=True),
        sa.Column('exit_code', sa.Integer(), nullable=True),
        sa.Column('reason', sa.Text(), nullable=True),
        sa.Column('created_at', UtcDateTime(), nullable=False),
        sa.Column('updated_at', UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('agent_job_pkey')),
    )
    op.create_index(op.f('idx_agent_job_state_queue'), 'agent_job', ['state', 'queue'], unique=False)
    op.create_index(op.f('idx_agent_job_ti_id'), 'agent_job', ['ti_id'], unique=False)
    op.create_table(
        'dag_bundle',
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('data', sa.LargeBinary(), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('created_at', UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('sha256', name=op.f('dag_bundle_pkey')),
    )


def downgrade() -> None:
    op.drop_table('dag_bundle')
    op.drop_index(op.f('idx_agent_job_ti_id'), table_name='agent_job')
    op.drop_index(op.f('idx_agent_job_state_queue'), table_name='agent_job')
    op.drop_table('agent_job')
    op.drop_index(op.f('idx_agent_credential_hash'), table_name='agent')
    op.drop_table('agent')
    op.drop_table('agent_enrollment')
