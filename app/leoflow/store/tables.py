"""The metadata schema, modelled on Airflow 3.2's tables.

SQLAlchemy Core only: query functions live beside this file, one module per
table family. Change the schema only together with a migration in
`migrations/versions/`.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from .types import JsonText, UtcDateTime

ID = 250  # length of dag_id / task_id / run_id, as Airflow's

metadata = MetaData(
    naming_convention={
        "ix": "idx_%(table_name)s_%(column_0_N_name)s",
        "uq": "%(table_name)s_%(column_0_N_name)s_uq",
        "fk": "%(table_name)s_%(column_0_name)s_fkey",
        "pk": "%(table_name)s_pkey",
    }
)

dag = Table(
    "dag",
    metadata,
    Column("dag_id", String(ID), primary_key=True),
    Column("is_paused", Boolean, nullable=False, default=False),
    Column("is_stale", Boolean, nullable=False, default=False),
    Column("last_parsed_time", UtcDateTime),
    Column("last_expired", UtcDateTime),
    Column("fileloc", String(2000)),
    Column("relative_fileloc", String(2000)),
    Column("bundle_name", String(250)),
    Column("bundle_version", String(200)),
    Column("owners", String(2000)),
    Column("description", Text),
    Column("timetable_summary", Text),
    Column("timetable_description", String(1000)),
    Column("max_active_tasks", Integer, nullable=False, default=16),
    Column("max_active_runs", Integer),
    Column("max_consecutive_failed_dag_runs", Integer, nullable=False, default=0),
    Column("has_task_concurrency_limits", Boolean, nullable=False, default=False),
    Column("has_import_errors", Boolean, default=False),
    Column("next_dagrun", UtcDateTime),
    Column("next_dagrun_data_interval_start", UtcDateTime),
    Column("next_dagrun_data_interval_end", UtcDateTime),
    Column("next_dagrun_create_after", UtcDateTime),
    Column("dag_display_name", String(2000)),
    Column("asset_expression", JsonText),  # the schedule's asset condition, for asset-triggered DAGs
    Column("timetable_type", String(255)),
)

dag_tag = Table(
    "dag_tag",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("dag_id", String(ID), ForeignKey("dag.dag_id", ondelete="CASCADE"), primary_key=True),
)

dag_version = Table(
    "dag_version",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("version_number", Integer, nullable=False),
    Column("dag_id", String(ID), ForeignKey("dag.dag_id", ondelete="CASCADE"), nullable=False),
    Column("bundle_name", String(250)),
    Column("bundle_version", String(250)),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_updated", UtcDateTime, nullable=False),
    UniqueConstraint("dag_id", "version_number"),
)

dag_code = Table(
    "dag_code",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("dag_version_id", String(36), ForeignKey("dag_version.id", ondelete="CASCADE"), nullable=False),
    Column("dag_id", String(ID), nullable=False),
    Column("fileloc", String(2000), nullable=False),
    Column("source_code", Text, nullable=False),
    Column("source_code_hash", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_updated", UtcDateTime, nullable=False),
    UniqueConstraint("dag_version_id"),
)

serialized_dag = Table(
    "serialized_dag",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("dag_id", String(ID), nullable=False),
    Column("dag_version_id", String(36), ForeignKey("dag_version.id", ondelete="CASCADE"), nullable=False),
    Column("data", JsonText, nullable=False),
    Column("dag_hash", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_updated", UtcDateTime, nullable=False),
    UniqueConstraint("dag_version_id"),
    Index(None, "dag_id"),
)

dag_run = Table(
    "dag_run",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("dag_id", String(ID), nullable=False),
    Column("run_id", String(ID), nullable=False),
    Column("queued_at", UtcDateTime),
    Column("logical_date", UtcDateTime),
    Column("run_after", UtcDateTime, nullable=False),
    Column("start_date", UtcDateTime),
    Column("end_date", UtcDateTime),
    Column("state", String(50), nullable=False),
    Column("run_type", String(50), nullable=False),
    Column("triggered_by", String(50)),
    Column("triggering_user_name", String(512)),
    Column("conf", JsonText),
    Column("data_interval_start", UtcDateTime),
    Column("data_interval_end", UtcDateTime),
    Column("last_scheduling_decision", UtcDateTime),
    Column("created_dag_version_id", String(36), ForeignKey("dag_version.id", ondelete="SET NULL")),
    Column("bundle_version", String(250)),
    Column("clear_number", Integer, nullable=False, default=0),
    Column("note", Text),
    Column("updated_at", UtcDateTime),
    Column("backfill_id", Integer),
    Column("creating_job_id", Integer),  # a `dags test` run: its process's job (store/held_runs.py)
    UniqueConstraint("dag_id", "run_id"),
    UniqueConstraint("dag_id", "logical_date"),
    Index(None, "state", "dag_id"),
)

_TI_COLUMNS = lambda: [  # noqa: E731 - shared by task_instance and its history
    Column("dag_id", String(ID), nullable=False),
    Column("task_id", String(ID), nullable=False),
    Column("run_id", String(ID), nullable=False),
    Column("map_index", Integer, nullable=False, default=-1),
    Column("try_number", Integer, nullable=False, default=0),
    Column("max_tries", Integer, nullable=False, default=0),
    Column("state", String(20)),
    Column("start_date", UtcDateTime),
    Column("end_date", UtcDateTime),
    Column("duration", Float),
    Column("hostname", String(1000)),
    Column("unixname", String(1000)),
    Column("pid", Integer),
    Column("pool", String(256), nullable=False, default="default_pool"),
    Column("pool_slots", Integer, nullable=False, default=1),
    Column("queue", String(256)),
    Column("priority_weight", Integer, nullable=False, default=1),
    Column("operator", String(1000)),
    Column("custom_operator_name", String(1000)),
    Column("queued_dttm", UtcDateTime),
    Column("scheduled_dttm", UtcDateTime),
    Column("queued_by_job_id", Integer),
    Column("executor", String(1000)),
    Column("executor_config", JsonText),
    Column("last_heartbeat_at", UtcDateTime),
    Column("next_method", String(1000)),
    Column("next_kwargs", JsonText),
    Column("rendered_map_index", String(250)),
    Column("external_executor_id", String(250)),
    Column("trigger_id", Integer),
    Column("trigger_timeout", UtcDateTime),
    Column("dag_version_id", String(36)),
    Column("note", Text),
    Column("updated_at", UtcDateTime),
]

task_instance = Table(
    "task_instance",
    metadata,
    Column("id", String(36), primary_key=True),
    *_TI_COLUMNS(),
    UniqueConstraint("dag_id", "task_id", "run_id", "map_index"),
    ForeignKeyConstraint(
        ["dag_id", "run_id"], ["dag_run.dag_id", "dag_run.run_id"], ondelete="CASCADE"
    ),
    Index(None, "dag_id", "run_id", "state"),
    Index(None, "state"),
    # The scheduler's queueing window: scheduled task instances of the pools with a free slot,
    # found without reading the thousands that wait on a full pool.
    Index(None, "state", "pool"),
)

task_instance_history = Table(
    "task_instance_history",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("task_instance_id", String(36), nullable=False),
    *_TI_COLUMNS(),
    UniqueConstraint("dag_id", "task_id", "run_id", "map_index", "try_number"),
    ForeignKeyConstraint(
        ["dag_id", "run_id"], ["dag_run.dag_id", "dag_run.run_id"], ondelete="CASCADE"
    ),
)

rendered_task_instance_fields = Table(
    "rendered_task_instance_fields",
    metadata,
    Column("dag_id", String(ID), primary_key=True),
    Column("task_id", String(ID), primary_key=True),
    Column("run_id", String(ID), primary_key=True),
    Column("map_index", Integer, primary_key=True, default=-1),
    Column("rendered_fields", JsonText, nullable=False),
    ForeignKeyConstraint(
        ["dag_id", "run_id"], ["dag_run.dag_id", "dag_run.run_id"], ondelete="CASCADE"
    ),
)

xcom = Table(
    "xcom",
    metadata,
    Column("dag_run_id", Integer, ForeignKey("dag_run.id", ondelete="CASCADE"), primary_key=True),
    Column("task_id", String(ID), primary_key=True),
    Column("map_index", Integer, primary_key=True, default=-1),
    Column("key", String(512), primary_key=True),
    Column("dag_id", String(ID), nullable=False),
    Column("run_id", String(ID), nullable=False),
    Column("value", JsonText),
    Column("timestamp", UtcDateTime, nullable=False),
    Index(None, "dag_id", "run_id", "task_id"),
)

log = Table(  # the audit log (eventLogs in the REST API)
    "log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("dttm", UtcDateTime, nullable=False),
    Column("dag_id", String(ID)),
    Column("task_id", String(ID)),
    Column("map_index", Integer),
    Column("event", String(60), nullable=False),
    Column("logical_date", UtcDateTime),
    Column("run_id", String(ID)),
    Column("owner", String(500)),
    Column("owner_display_name", String(500)),
    Column("extra", Text),
    Column("try_number", Integer),
    Index(None, "dttm"),
    Index(None, "event"),
)

variable = Table(
    "variable",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(250), nullable=False, unique=True),
    Column("val", Text),
    Column("description", Text),
    Column("is_encrypted", Boolean, nullable=False, default=False),
)

connection = Table(
    "connection",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("conn_id", String(250), nullable=False, unique=True),
    Column("conn_type", String(500), nullable=False),
    Column("description", Text),
    Column("host", String(500)),
    Column("schema", String(500)),
    Column("login", Text),
    Column("password", Text),
    Column("port", Integer),
    Column("is_encrypted", Boolean, nullable=False, default=False),
    Column("is_extra_encrypted", Boolean, nullable=False, default=False),
    Column("extra", Text),
)

slot_pool = Table(
    "slot_pool",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("pool", String(256), nullable=False, unique=True),
    Column("slots", Integer, nullable=False, default=128),
    Column("description", Text),
    Column("include_deferred", Boolean, nullable=False, default=False),
)

import_error = Table(
    "import_error",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("timestamp", UtcDateTime, nullable=False),
    Column("filename", String(1024), nullable=False),
    Column("bundle_name", String(250)),
    Column("stacktrace", Text, nullable=False),
)

job = Table(  # one row per running component, heart-beating (scheduler, dag processor, agent)
    "job",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("dag_id", String(ID)),
    Column("state", String(20)),
    Column("job_type", String(30), nullable=False),
    Column("start_date", UtcDateTime),
    Column("end_date", UtcDateTime),
    Column("latest_heartbeat", UtcDateTime),
    Column("executor_class", String(500)),
    Column("hostname", String(500)),
    Column("unixname", String(1000)),
    Index(None, "job_type", "latest_heartbeat"),
)


# --- Assets (Airflow 3.2's asset tables, trimmed to what Leoflow reads) -------------------------

asset = Table(
    "asset",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(1500), nullable=False),
    Column("uri", String(1500), nullable=False),
    Column("group", String(1500), nullable=False, default="asset"),
    Column("extra", JsonText, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint("name", "uri"),
)

asset_active = Table(  # the one asset a name and a uri each resolve to
    "asset_active",
    metadata,
    Column("name", String(1500), primary_key=True),
    Column("uri", String(1500), primary_key=True),
)

asset_alias = Table(
    "asset_alias",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(1500), nullable=False, unique=True),
    Column("group", String(1500), nullable=False, default="asset"),
)

asset_alias_asset = Table(
    "asset_alias_asset",
    metadata,
    Column("alias_id", Integer, ForeignKey("asset_alias.id", ondelete="CASCADE"), primary_key=True),
    Column("asset_id", Integer, ForeignKey("asset.id", ondelete="CASCADE"), primary_key=True),
)

asset_event = Table(
    "asset_event",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("asset_id", Integer, nullable=False),
    Column("extra", JsonText, nullable=False),
    Column("source_task_id", String(ID)),
    Column("source_dag_id", String(ID)),
    Column("source_run_id", String(ID)),
    Column("source_map_index", Integer, default=-1),
    Column("timestamp", UtcDateTime, nullable=False),
    Index(None, "asset_id", "timestamp"),
)

asset_alias_asset_event = Table(
    "asset_alias_asset_event",
    metadata,
    Column("alias_id", Integer, ForeignKey("asset_alias.id", ondelete="CASCADE"), primary_key=True),
    Column("event_id", Integer, ForeignKey("asset_event.id", ondelete="CASCADE"), primary_key=True),
)

dag_schedule_asset_reference = Table(  # DAG scheduled on an asset
    "dag_schedule_asset_reference",
    metadata,
    Column("asset_id", Integer, ForeignKey("asset.id", ondelete="CASCADE"), primary_key=True),
    Column("dag_id", String(ID), ForeignKey("dag.dag_id", ondelete="CASCADE"), primary_key=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

dag_schedule_asset_alias_reference = Table(
    "dag_schedule_asset_alias_reference",
    metadata,
    Column("alias_id", Integer, ForeignKey("asset_alias.id", ondelete="CASCADE"), primary_key=True),
    Column("dag_id", String(ID), ForeignKey("dag.dag_id", ondelete="CASCADE"), primary_key=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

task_outlet_asset_reference = Table(
    "task_outlet_asset_reference",
    metadata,
    Column("asset_id", Integer, ForeignKey("asset.id", ondelete="CASCADE"), primary_key=True),
    Column("dag_id", String(ID), ForeignKey("dag.dag_id", ondelete="CASCADE"), primary_key=True),
    Column("task_id", String(ID), primary_key=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

task_inlet_asset_reference = Table(
    "task_inlet_asset_reference",
    metadata,
    Column("asset_id", Integer, ForeignKey("asset.id", ondelete="CASCADE"), primary_key=True),
    Column("dag_id", String(ID), ForeignKey("dag.dag_id", ondelete="CASCADE"), primary_key=True),
    Column("task_id", String(ID), primary_key=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

asset_dag_run_queue = Table(  # asset updates a scheduled DAG has not yet consumed
    "asset_dag_run_queue",
    metadata,
    Column("asset_id", Integer, ForeignKey("asset.id", ondelete="CASCADE"), primary_key=True),
    Column("target_dag_id", String(ID), ForeignKey("dag.dag_id", ondelete="CASCADE"), primary_key=True),
    Column("created_at", UtcDateTime, nullable=False),
)

dagrun_asset_event = Table(  # the asset events that triggered a run
    "dagrun_asset_event",
    metadata,
    Column("dag_run_id", Integer, ForeignKey("dag_run.id", ondelete="CASCADE"), primary_key=True),
    Column("event_id", Integer, ForeignKey("asset_event.id", ondelete="CASCADE"), primary_key=True),
)

# --- Deferral and rescheduling ------------------------------------------------------------------

trigger = Table(
    "trigger",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("classpath", String(1000), nullable=False),
    Column("kwargs", JsonText, nullable=False),
    Column("created_date", UtcDateTime, nullable=False),
    Column("triggerer_id", Integer),
)

task_reschedule = Table(
    "task_reschedule",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ti_id", String(36), ForeignKey("task_instance.id", ondelete="CASCADE"), nullable=False),
    Column("start_date", UtcDateTime, nullable=False),
    Column("end_date", UtcDateTime, nullable=False),
    Column("duration", Integer, nullable=False),
    Column("reschedule_date", UtcDateTime, nullable=False),
    Index(None, "ti_id"),
)

# --- DAG warnings, backfills, favourites, revoked login tokens ----------------------------------

dag_warning = Table(
    "dag_warning",
    metadata,
    Column("dag_id", String(ID), ForeignKey("dag.dag_id", ondelete="CASCADE"), primary_key=True),
    Column("warning_type", String(50), primary_key=True),
    Column("message", Text, nullable=False),
    Column("timestamp", UtcDateTime, nullable=False),
)

backfill = Table(
    "backfill",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("dag_id", String(ID), nullable=False),
    Column("from_date", UtcDateTime, nullable=False),
    Column("to_date", UtcDateTime, nullable=False),
    Column("dag_run_conf", JsonText, nullable=False),
    Column("is_paused", Boolean, nullable=False, default=False),
    Column("reprocess_behavior", String(250), nullable=False, default="none"),
    Column("max_active_runs", Integer, nullable=False, default=10),
    Column("created_at", UtcDateTime, nullable=False),
    Column("completed_at", UtcDateTime),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("triggering_user_name", String(512)),
)

backfill_dag_run = Table(
    "backfill_dag_run",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("backfill_id", Integer, ForeignKey("backfill.id", ondelete="CASCADE"), nullable=False),
    Column("dag_run_id", Integer, ForeignKey("dag_run.id", ondelete="SET NULL")),
    Column("exception_reason", String(250)),
    Column("logical_date", UtcDateTime, nullable=False),
    Column("sort_ordinal", Integer, nullable=False),
    UniqueConstraint("backfill_id", "dag_run_id"),
)

dag_favorite = Table(
    "dag_favorite",
    metadata,
    Column("user_id", String(250), primary_key=True),
    Column("dag_id", String(ID), ForeignKey("dag.dag_id", ondelete="CASCADE"), primary_key=True),
)

revoked_token = Table(  # logged-out login tokens, kept until they would have expired
    "revoked_token",
    metadata,
    Column("jti", String(32), primary_key=True),
    Column("exp", UtcDateTime, nullable=False),
)

user = Table(  # login users and their roles, shared by every process on this database
    "leoflow_user",
    metadata,
    Column("username", String(256), primary_key=True),
    Column("role", String(16), nullable=False),
    # hex of salt + scrypt(password), or FAB's werkzeug hash of a user imported from Airflow until they log in
    Column("password_hash", String(256), nullable=False),
    Column("first_name", String(256)),
    Column("last_name", String(256)),
    Column("email", String(320)),
    Column("created_at", UtcDateTime, nullable=False),
    Column("changed_at", UtcDateTime, nullable=False),
)

scheduler_lease = Table(  # which scheduler may commit decisions, until when (see scheduler/leadership.py)
    "scheduler_lease",
    metadata,
    Column("name", String(50), primary_key=True),
    Column("holder_job_id", Integer),
    Column("holder_hostname", String(500)),
    Column("expires_at", UtcDateTime),
)

task_log_chunk = Table(  # task log lines shipped from wherever the try ran, readable through any server
    "task_log_chunk",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("dag_id", String(ID), nullable=False),
    Column("run_id", String(ID), nullable=False),
    Column("task_id", String(ID), nullable=False),
    Column("map_index", Integer, nullable=False),
    Column("try_number", Integer, nullable=False),
    Column("seq", Integer, nullable=False),  # 0, 1, 2 ... per try: a re-sent chunk is refused, not doubled
    Column("lines", Text, nullable=False),  # whole JSON-lines records, newline-terminated
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("dag_id", "run_id", "task_id", "map_index", "try_number", "seq"),
)

task_map = Table(  # how many items a finished task's XCom result holds, for tasks mapped over it
    "task_map",
    metadata,
    Column("dag_id", String(ID), primary_key=True),
    Column("task_id", String(ID), primary_key=True),
    Column("run_id", String(ID), primary_key=True),
    Column("map_index", Integer, primary_key=True),
    Column("length", Integer, nullable=False),
    Column("keys", JsonText),
    ForeignKeyConstraint(
        ["dag_id", "run_id"], ["dag_run.dag_id", "dag_run.run_id"], ondelete="CASCADE"
    ),
)

_HITL_COLUMNS = (  # a human-in-the-loop request and its answer (Airflow's hitl_detail)
    ("options", JsonText, False), ("subject", Text, False), ("body", Text, True), ("defaults", JsonText, True),
    ("multiple", Boolean, True), ("params", JsonText, False), ("assignees", JsonText, True),
    ("created_at", UtcDateTime, False), ("responded_at", UtcDateTime, True), ("responded_by", JsonText, True),
    ("chosen_options", JsonText, True), ("params_input", JsonText, False),
)

hitl_detail = Table(  # the request of a task instance's current try
    "hitl_detail",
    metadata,
    Column("ti_id", String(36), ForeignKey("task_instance.id", ondelete="CASCADE"), primary_key=True),
    *(Column(name, kind, nullable=nullable) for name, kind, nullable in _HITL_COLUMNS),
)

hitl_detail_history = Table(  # requests of earlier tries, kept with the try's history row
    "hitl_detail_history",
    metadata,
    Column("ti_history_id", Integer, ForeignKey("task_instance_history.id", ondelete="CASCADE"), primary_key=True),
    *(Column(name, kind, nullable=nullable) for name, kind, nullable in _HITL_COLUMNS),
)

dag_priority_parsing_request = Table(  # "parse this file again now" (PUT parseDagFile), taken by the DAG processor
    "dag_priority_parsing_request",
    metadata,
    Column("id", String(32), primary_key=True),  # md5 of bundle and file: one pending request per file
    Column("bundle_name", String(ID), nullable=False),
    Column("relative_fileloc", String(2000), nullable=False),
)

# --- agents (`leoflow agent` on other hosts; see agents/ and ADR 26) ---------------------------------

agent_enrollment = Table(  # a one-time token an admin made for an agent's first start
    "agent_enrollment",
    metadata,
    Column("token_hash", String(64), primary_key=True),  # sha256 of the token: the token itself is never kept
    Column("agent_name", String(ID), nullable=False),
    Column("queues", Text),  # comma list the agent serves; NULL: what the agent asks for
    Column("created_by", String(256)),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("used_at", UtcDateTime),  # its first use
    Column("max_uses", Integer),  # NULL: one; more for a fleet (an agent_name ending in `*` is a name prefix)
    Column("uses", Integer),  # NULL: none yet
)

agent = Table(  # an enrolled agent, its credential and what its last heartbeat said
    "agent",
    metadata,
    Column("name", String(ID), primary_key=True),
    Column("state", String(20), nullable=False),  # active, draining, removed
    Column("queues", Text, nullable=False),  # comma list
    Column("credential_hash", String(64)),  # sha256 of its credential; NULL once removed (revoked)
    Column("version", String(50)),
    Column("hostname", String(500)),
    Column("concurrency", Integer, nullable=False),
    Column("free_slots", Integer, nullable=False),
    Column("running", Integer, nullable=False),
    Column("registered_at", UtcDateTime, nullable=False),
    Column("last_heartbeat", UtcDateTime),
    Index(None, "credential_hash"),
)

agent_job = Table(  # a try handed to the agents: its ExecuteTask workload, who claimed it, how it ended
    "agent_job",
    metadata,
    Column("id", String(300), primary_key=True),  # ti_id#try_number[@attempt], as the local executor's
    Column("ti_id", String(36), nullable=False),
    Column("try_number", Integer, nullable=False),
    Column("attempt", String(64)),
    Column("queue", String(256), nullable=False),
    Column("workload", Text, nullable=False),  # the ExecuteTask document (JSON)
    Column("bundle_sha", String(64)),  # the DAG bundle it runs with
    # queued -> claimed (lease) -> running (acknowledged) -> done (exit known) -> recorded (by a scheduler)
    Column("state", String(20), nullable=False),
    Column("agent_name", String(ID)),
    Column("claim_token_hash", String(64)),
    Column("lease_expires", UtcDateTime),
    Column("cancel_reason", Text),  # set: the agent is told to kill it (heartbeat answer)
    Column("exit_code", Integer),
    Column("reason", Text),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Index(None, "state", "queue"),
    Index(None, "ti_id"),
)

dag_bundle = Table(  # the DAG folder as a tar, by the sha256 of that tar: what an agent fetches to run a try
    "dag_bundle",
    metadata,
    Column("sha256", String(64), primary_key=True),
    Column("data", LargeBinary, nullable=False),
    Column("size", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)
