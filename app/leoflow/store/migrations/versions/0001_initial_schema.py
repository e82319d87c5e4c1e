"""initial schema

Revision ID: 0001
Revises: 
"""

from alembic import op
import sqlalchemy as sa
import leoflow.store.types


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('connection',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('conn_id', sa.String(length=250), nullable=False),
    sa.Column('conn_type', sa.String(length=500), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('host', sa.String(length=500), nullable=True),
    sa.Column('schema', sa.String(length=500), nullable=True),
    sa.Column('login', sa.Text(), nullable=True),
    sa.Column('password', sa.Text(), nullable=True),
    sa.Column('port', sa.Integer(), nullable=True),
    sa.Column('is_encrypted', sa.Boolean(), nullable=False),
    sa.Column('is_extra_encrypted', sa.Boolean(), nullable=False),
    sa.Column('extra', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('connection_pkey')),
    sa.UniqueConstraint('conn_id', name=op.f('connection_conn_id_uq'))
    )
    op.create_table('dag',
    sa.Column('dag_id', sa.String(length=250), nullable=False),
    sa.Column('is_paused', sa.Boolean(), nullable=False),
    sa.Column('is_stale', sa.Boolean(), nullable=False),
    sa.Column('last_parsed_time', leoflow.store.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('last_expired', leoflow.store.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('fileloc', sa.String(length=2000), nullable=True),
    sa.Column('relative_fileloc', sa.String(length=2000), nullable=True),
    sa.Column('bundle_name', sa.String(length=250), nullable=True),
    sa.Column('bundle_version', sa.String(length=200), nullable=True),
    sa.Column('owners', sa.String(length=2000), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('timetable_summary', sa.Text(), nullable=True),
    sa.Column('timetable_description', sa.String(length=1000), nullable=True),
    sa.Column('max_active_tasks', sa.Integer(), nullable=False),
    sa.Column('max_active_runs', sa.Integer(), nullable=True),
    sa.Column('max_consecutive_failed_dag_runs', sa.Integer(), nullable=False),
    sa.Column('has_task_concurrency_limits', sa.Boolean(), nullable=False),
    sa.Column('has_import_errors', sa.Boolean(), nullable=True),
    sa.Column('next_dagrun', leoflow.store.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('next_dagrun_data_interval_start', leoflow.store.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('next_dagrun_data_interval_end', leoflow.store.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('next_dagrun_create_after', leoflow.store.types.UtcDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('dag_id', name=op.f('dag_pkey'))
    )
    op.create_table('import_error',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('timestamp', leoflow.store.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('filename', sa.String(length=1024), nullable=False),
    sa.Column('bundle_name', sa.String(length=250), nullable=True),
    sa.Column('stacktrace', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('import_error_pkey'))
    )
    op.create_table('job',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('dag_id', sa.String(length=250), nullable=True),
    sa.Column('state', sa.String(length=20), nullable=True),
    sa.Column('job_type', sa.String(length=30), nullable=False),
    sa.Column('start_date', leoflow.store.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('end_date', leoflow.store.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('latest_heartbeat', leoflow.store.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('executor_class', sa.String(length=500), nullable=True),
    sa.Column('hostname', sa.String(length=500), nullable=True),
    sa.Column('unixname', sa.String(length=1000), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('job_pkey'))
    )
    with op.batch_alter_table('job', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('idx_job_job_type_latest_heartbeat'), ['job_type', 'latest_heartbeat'], unique=False)

    op.create_table('log',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('dttm', leoflow.store.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('dag_id', sa.String(length=250), nullable=True),
    sa.Column('task_id', sa.String(length=250), nullable=True),
    sa.Column('map_index', sa.Integer(), nullable=True),
    sa.Column('event', sa.String(length=60), nullable=False),
    sa.Column('logical_date', leoflow.store.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('run_id', sa.String(length=250), nullable=True),
    sa.Column('owner', sa.String(length=500), nullable=True),
    sa.Column('owner_display_name', sa.String(length=500), nullable=True),
    sa.Column('extra', sa.Text(), nullable=True),
    sa.Column('try_number', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('log_pkey'))
    )
    with op.batch_alter_table('log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('idx_log_dttm'), ['dttm'], unique=False)
        batch_op.create_index(batch_op.f('idx_log_event'), ['event'], unique=False)

    op.create_table('slot_pool',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('pool', sa.String(length=256), nullable=False),
    sa.Column('slots', sa.Integer(), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('include_deferred', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('slot_pool_pkey')),
    sa.UniqueConstraint('pool', name=op.f('slot_pool_pool_uq'))
    )
    op.create_table('variable',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('key', sa.String(length=250), nullable=False),
    sa.Column('val', sa.Text(), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('is_encrypted', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('variable_pkey')),
    sa.UniqueConstraint('key', name=op.f('variable_key_uq'))
    )
    op.create_table('dag_tag',
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('dag_id', sa.String(length=250), nullable=False),
    sa.ForeignKeyConstraint(['dag_id'], ['dag.dag_id'], name=op.f('dag_tag_dag_id_fkey'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('name', 'dag_id', name=op.f('dag_tag_pkey'))
    )
    op.create_table('dag_version',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('version_number', sa.Integer(), nullable=False),
    sa.Column('dag_id', sa.String(length=250), nullable=False),
    sa.Column('bundle_name', sa.String(length=250), nullable=True),
    sa.Column('bundle_version', sa.String(length=250), nullable=True),
    sa.Column('created_at', leoflow.store.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('last_updated', leoflow.store.types.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['dag_id'], ['dag.dag_id'], name=op.f('dag_version_dag_id_fkey'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('dag_version_pkey')),
    sa.UniqueConstraint('dag_id', 'version_number', name=op.f('dag_version_dag_id_version_number_uq'))
    )
    op.create_table('dag_code',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('dag_version_id', sa.String(length=36), nullable=False),
    sa.Column('dag_id', sa.String(length=250), nullable=False),
    sa.Column('fileloc', sa.String(length=2000), nullable=False),
    sa.Column('source_code', sa.Text(), nullable=False),
    sa.Column('source_code_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', leoflow.store.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('last_updated', leoflow.store.types.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['dag_version_id'], ['dag_version.id'], name=op.f('dag_code_dag_version_id_fkey'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('dag_code_pkey')),
    sa.UniqueConstraint('dag_version_id', name=op.f('dag_code_dag_version_id_uq'))
    )
    op.create_table('dag_run',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('dag_id', sa.String(length=250), nullable=False),
    sa.Column('run_id', sa.String(length=250), nullable=False),
    sa.Column('queued_at', leoflow.store.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('logical_date', leoflow.store.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('run_after', leoflow.store.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('start_date', leoflow.store.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('end_date', leoflow.store.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('state', sa.String(length=50), nullable=False),
    sa.Column('run_type', sa.String(length=50), nullable=False),
    sa.Column('triggered_by', sa.String(length=50), nullable=True),
    sa.Column('triggering_user_name', sa.String(length=512), nullable=True),
    sa.Column('conf', leoflow.store.types.JsonText(), nullable=True),
    sa.Column('data_interval_start', leoflow.store.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('data_interval_end', leoflow.store.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('last_scheduling_decision', leoflow.store.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('created_dag_version_id', sa.String(length=36), nullable=True),
    sa.Column('bundle_version', sa.String(length=250), nullable=True),
    sa.Column('clear_number', sa.Integer(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('updated_at', leoflow.store.types.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_dag_version_id'], ['dag_version.id'], name=op.f('dag_run_created_dag_version_id_fkey'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('dag_run_pkey')),
    sa.UniqueConstraint('dag_id', 'logical_date', name=op.f('dag_run_dag_id_logical_date_uq')),
    sa.UniqueConstraint('dag_id', 'run_id', name=op.f('dag_run_dag_id_run_id_uq'))
    )
    with op.batch_alter_table('dag_run', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('idx_dag_run_state_dag_id'), ['state', 'dag_id'], unique=False)

    op.create_table('serialized_dag',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('dag_id', sa.String(length=250), nullable=False),
    sa.Column('dag_version_id', sa.String(length=36), nullable=False),
    sa.Column('data', leoflow.store.types.JsonText(), nullable=False),
    sa.Column('dag_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', leoflow.store.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('last_updated', leoflow.store.types.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['dag_version_id'], ['dag_version.id'], name=op.f('serialized_dag_dag_version_id_fkey'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('serialized_dag_pkey')),
    sa.UniqueConstraint('dag_version_id', name=op.f('serialized_dag_dag_version_id_uq'))
    )
    with op.batch_alter_table('serialized_dag', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('idx_serialized_dag_dag_id'), ['dag_id'], unique=False)

    op.create_table('rendered_task_instance_fields',
    sa.Column('dag_id', sa.String(length=250), nullable=False),
    sa.Column('task_id', sa.String(length=250), nullable=False),
    sa.Column('run_id', sa.String(length=250), nullable=False),
    sa.Column('map_index', sa.Integer(), nullable=False),
    sa.Column('rendered_fields', leoflow.store.types.JsonText(), nullable=False),
    sa.ForeignKeyConstraint(['dag_id', 'run_id'], ['dag_run.dag_id', 'dag_run.run_id'], name=op.f('rendered_task_instance_fields_dag_id_fkey'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('dag_id', 'task_id', 'run_id', 'map_index', name=op.f('rendered_task_instance_fields_pkey'))
    )
    op.create_table('task_instance',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('dag_id', sa.String(length=250), nullable=False),
    sa.Column('task_id', sa.String(length=250), nullable=False),
    sa.Column('run_id', sa.String(length=250), nullable=False),
    sa.Column('map_index', sa.Integer(), nullable=False),
    sa.Column('try_number', sa.Integer(), nullable=False),
    sa.Column('max_tries', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=True),
    sa.Column('start_date', leoflow.store.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('end_date', leoflow.store.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('duration', sa.Float(), nullable=True),
    sa.Column('hostname', sa.String(length=1000), nullable=True),
    sa.Column('unixname', sa.String(length=1000), nullable=True),
    sa.Column('pid', sa.Integer(), nullable=True),
    sa.Column('pool', sa.String(length=256), nullable=False),
    sa.Column('pool_slots', sa.Integer(), nullable=False),
    sa.Column('queue', sa.String(length=256), nullable=True),
    sa.Column('priority_weight', sa.Integer(), nullable=False),
    sa.Column('operator', sa.String(length=1000), nullable=True),
    sa.Column('custom_operator_name', sa.String(length=1000), nullable=True),
    sa.Column('queued_dttm', leoflow.store.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('scheduled_dttm', leoflow.store.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('queued_by_job_id', sa.Integer(), nullable=True),
    sa.Column('executor', sa.String(length=1000), nullable=True),
    sa.Column('executor_config', leoflow.store.types.JsonText(), nullable=True),
    sa.Column('last_heartbeat_at', leoflow.store.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('next_method', sa.String(length=1000), nullable=True),
    sa.Column('next_kwargs', leoflow.store.types.JsonText(), nullable=True),
    sa.Column('rendered_map_index', sa.String(length=250), nullable=True),
    sa.Column('external_executor_id', sa.String(length=250), nullable=True),
    sa.Column('trigger_id', sa.Integer(), nullable=True),
    sa.Column('trigger_timeout', leoflow.store.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('dag_version_id', sa.String(length=36), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('updated_at', leoflow.store.types.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['dag_id', 'run_id'], ['dag_run.dag_id', 'dag_run.run_id'], name=op.f('task_instance_dag_id_fkey'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('task_instance_pkey')),
    sa.UniqueConstraint('dag_id', 'task_id', 'run_id', 'map_index', name=op.f('task_instance_dag_id_task_id_run_id_map_index_uq'))
    )
    with op.batch_alter_table('task_instance', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('idx_task_instance_dag_id_run_id_state'), ['dag_id', 'run_id', 'state'], unique=False)
        batch_op.create_index(batch_op.f('idx_task_instance_state'), ['state'], unique=False)

    op.create_table('task_instance_history',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('task_instance_id', sa.String(length=36), nullable=False),
    sa.Column('dag_id', sa.String(length=250), nullable=False),
    sa.Column('task_id', sa.String(length=250), nullable=False),
    sa.Column('run_id', sa.String(length=250), nullable=False),
    sa.Column('map_index', sa.Integer(), nullable=False),
    sa.Column('try_number', sa.Integer(), nullable=False),
    sa.Column('max_tries', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=True),
    sa.Column('start_date', leoflow.store.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('end_date', leoflow.store.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('duration', sa.Float(), nullable=True),
    sa.Column('hostname', sa.String(length=1000), nullable=True),
    sa.Column('unixname', sa.String(length=1000), nullable=True),
    sa.Column('pid', sa.Integer(), nullable=True),
    sa.Column('pool', sa.String(length=256), nullable=False),
    sa.Column('pool_slots', sa.Integer(), nullable=False),
    sa.Column('queue', sa.String(length=256), nullable=True),
    sa.Column('priority_weight', sa.Integer(), nullable=False),
    sa.Column('operator', sa.String(length=1000), nullable=True),
    sa.Column('custom_operator_name', sa.String(length=1000), nullable=True),
    sa.Column('queued_dttm', leoflow.store.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('scheduled_dttm', leoflow.store.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('queued_by_job_id', sa.Integer(), nullable=True),
    sa.Column('executor', sa.String(length=1000), nullable=True),
    sa.Column('executor_config', leoflow.store.types.JsonText(), nullable=True),
    sa.Column('last_heartbeat_at', leoflow.store.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('next_method', sa.String(length=1000), nullable=True),
    sa.Column('next_kwargs', leoflow.store.types.JsonText(), nullable=True),
    sa.Column('rendered_map_index', sa.String(length=250), nullable=True),
    sa.Column('external_executor_id', sa.String(length=250), nullable=True),
    sa.Column('trigger_id', sa.Integer(), nullable=True),
    sa.Column('trigger_timeout', leoflow.store.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('dag_version_id', sa.String(length=36), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('updated_at', leoflow.store.types.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['dag_id', 'run_id'], ['dag_run.dag_id', 'dag_run.run_id'], name=op.f('task_instance_history_dag_id_fkey'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('task_instance_history_pkey')),
    sa.UniqueConstraint('dag_id', 'task_id', 'run_id', 'map_index', 'try_number', name=op.f('task_instance_history_dag_id_task_id_run_id_map_index_try_number_uq'))
    )
    op.create_table('xcom',
    sa.Column('dag_run_id', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.String(length=250), nullable=False),
    sa.Column('map_index', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=512), nullable=False),
    sa.Column('dag_id', sa.String(length=250), nullable=False),
    sa.Column('run_id', sa.String(length=250), nullable=False),
    sa.Column('value', leoflow.store.types.JsonText(), nullable=True),
    sa.Column('timestamp', leoflow.store.types.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['dag_run_id'], ['dag_run.id'], name=op.f('xcom_dag_run_id_fkey'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('dag_run_id', 'task_id', 'map_index', 'key', name=op.f('xcom_pkey'))
    )
    with op.batch_alter_table('xcom', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('idx_xcom_dag_id_run_id_task_id'), ['dag_id', 'run_id', 'task_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('xcom', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('idx_xcom_dag_id_run_id_task_id'))

    op.drop_table('xcom')
    op.drop_table('task_instance_history')
    with op.batch_alter_table('task_instance', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('idx_task_instance_state'))
        batch_op.drop_index(batch_op.f('idx_task_instance_dag_id_run_id_state'))

    op.drop_table('task_instance')
    op.drop_table('rendered_task_instance_fields')
    with op.batch_alter_table('serialized_dag', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('idx_serialized_dag_dag_id'))

    op.drop_table('serialized_dag')
    with op.batch_alter_table('dag_run', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('idx_dag_run_state_dag_id'))

    op.drop_table('dag_run')
    op.drop_table('dag_code')
    op.drop_table('dag_version')
    op.drop_table('dag_tag')
    op.drop_table('variable')
    op.drop_table('slot_pool')
    with op.batch_alter_table('log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('idx_log_event'))
        batch_op.drop_index(batch_op.f('idx_log_dttm'))

    op.drop_table('log')
    with op.batch_alter_table('job', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('idx_job_job_type_latest_heartbeat'))

    op.drop_table('job')
    op.drop_table('import_error')
    op.drop_table('dag')
    op.drop_table('connection')
