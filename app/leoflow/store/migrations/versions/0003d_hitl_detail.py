"""human-in-the-loop requests (hitl_detail, hitl_detail_history)

Revision ID: 0003d
Revises: 0002
"""

from alembic import op
import sqlalchemy as sa
import leoflow.store.types


revision = '0003d'
down_revision = '0002'
branch_labels = None
depends_on = None


def _columns():
    json, when = leoflow.store.types.JsonText(), leoflow.store.types.UtcDateTime(timezone=True)
    return [
        sa.Column('options', json, nullable=False),
        sa.Column('subject', sa.Text(), nullable=False),
        sa.Column('body', sa.Text(), nullable=True),
        sa.Column('defaults', json, nullable=True),
        sa.Column('multiple', sa.Boolean(), nullable=True),
        sa.Column('params', json, nullable=False),
        sa.Column('assignees', json, nullable=True),
        sa.Column('created_at', when, nullable=False),
        sa.Column('responded_at', when, nullable=True),
        sa.Column('responded_by', json, nullable=True),
        sa.Column('chosen_options', json, nullable=True),
        sa.Column('params_input', json, nullable=False),
    ]


def upgrade() -> None:
    op.create_table('hitl_detail',
    sa.Column('ti_id', sa.String(length=36), nullable=False),
    *_columns(),
    sa.ForeignKeyConstraint(['ti_id'], ['task_instance.id'], name=op.f('hitl_detail_ti_id_fkey'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('ti_id', name=op.f('hitl_detail_pkey'))
    )
    op.create_table('hitl_detail_history',
    sa.Column('ti_history_id', sa.Integer(), nullable=False),
    *_columns(),
    sa.ForeignKeyConstraint(['ti_history_id'], ['task_instance_history.id'],
                            name=op.f('hitl_detail_history_ti_history_id_fkey'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('ti_history_id', name=op.f('hitl_detail_history_pkey'))
    )


def downgrade() -> None:
    op.drop_table('hitl_detail_history')
    op.drop_table('hitl_detail')
