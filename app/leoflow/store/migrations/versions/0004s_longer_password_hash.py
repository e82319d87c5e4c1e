"""a user's password hash holds up to 256 characters: FAB's werkzeug hash of a user imported from Airflow
(`scrypt:32768:8:1$SALT$` and 128 hex digits) is kept until their first login re-hashes it

Revision ID: 0004s
Revises: 0004r
"""

import sqlalchemy as sa
from alembic import op

revision = '0004s'
down_revision = '0004r'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('leoflow_user', schema=None) as batch_op:
        batch_op.alter_column('password_hash', existing_type=sa.String(length=128), type_=sa.String(length=256),
                              existing_nullable=False)


def downgrade() -> None:
    with op.batch_alter_table('leoflow_user', schema=None) as batch_op:
        batch_op.alter_column('password_hash', existing_type=sa.String(length=256), type_=sa.String(length=128),
                              existing_nullable=False)
