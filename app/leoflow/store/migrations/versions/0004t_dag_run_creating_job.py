"""dag_run.creating_job_id (as Airflow's): the job of the `leoflow dags test` process that owns a test run, so
the home's scheduler leaves that run alone while the process lives

Revision ID: 0004t
Revises: 0004s
"""

import sqlalchemy as sa
from alembic import op

revision = '0004t'
down_revision = '0004s'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('dag_run', schema=None) as batch_op:
        batch_op.add_column(sa.Column('creating_job_id', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('dag_run', schema=None) as batch_op:
        batch_op.drop_column('creating_job_id')
