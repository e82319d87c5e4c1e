"""dag_priority_parsing_request: files asked to be parsed again (PUT parseDagFile)

Revision ID: 0004p
Revises: 0003g
"""

from alembic import op
import sqlalchemy as sa


revision = '0004p'
down_revision = '0003g'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('dag_priority_parsing_request',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('bundle_name', sa.String(length=250), nullable=False),
    sa.Column('relative_fileloc', sa.String(length=2000), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('dag_priority_parsing_request_pkey'))
    )


def downgrade() -> None:
    op.drop_table('dag_priority_parsing_request')
