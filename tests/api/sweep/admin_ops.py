"""Sweep checks for every family outside `/dags` and `/auth`: assets, backfills, connections, variables,
pools, config, event logs, import errors, jobs, plugins, providers, DAG stats/tags/warnings, parsing, health."""

from __future__ import annotations

import datetime as dt
import json
import os
import threading

import airflow_client.client as af
from airflow_client.client import models as m

from tests.api.sweep import SCRATCH, op

# The lite server under test is started after the checks are collected and inherits this, so the
# connection-test endpoint (off by default, as in Airflow) answers there; unit tests unset it.
os.environ.setdefault("LEOFLOW_TEST_CONNECTION", "Enabled")

BACKFILL_DAG = "example_bash"  # @daily from 2026-01-01, in the repo's dags/
_state: dict = {}
_lock = threading.Lock()


def _seed_once(ctx, key, make):
    with _lock:
        if key not in _state:
            _state[key] = make()
        return _state[key]


# --- variables ----------------------------------------------------------------------------------

def variables(ctx):
    return af.VariableApi(ctx.client)


def _variable(ctx) -> str:
    key = ctx.unique("sweep_var")
    assert ctx.api("POST", "/api/v2/variables", json={"key": key, "value": "v"}).status_code == 201
    return key


@op("get_variables")
def get_variables(ctx):
    _variable(ctx)
    return variables(ctx).get_variables_without_preload_content(limit=10, order_by=["-key"],
                                                               variable_key_pattern="sweep")


@op("get_variable")
def get_variable(ctx):
    return variables(ctx).get_variable_without_preload_content(_variable(ctx))


@op("post_variable")
def post_variable(ctx):
    body = m.VariableBody(key=ctx.unique("sweep_api_key"), value={"nested": True}, description="from the client")
    return variables(ctx).post_variable_without_preload_content(body)


@op("patch_variable")
def patch_variable(ctx):
    key = _variable(ctx)
    return variables(ctx).patch_variable_without_preload_content(
        key, m.VariableBody(key=key, value="changed", description="d"), update_mask=["value"])


@op("delete_variable")
def delete_variable(ctx):
    return variables(ctx).delete_variable_without_preload_content(_variable(ctx))


@op("bulk_variables")
def bulk_variables(ctx):
    existing = _variable(ctx)
    body = m.BulkBodyVariableBody(actions=[
        m.ActionsInner3(m.BulkCreateActionVariableBody(
            action="create", action_on_existence=m.BulkActionOnExistence.OVERWRITE,
            entities=[m.VariableBody(key=ctx.unique("sweep_bulk"), value="1"), m.VariableBody(key=existing, value="2")])),
        m.ActionsInner3(m.BulkDeleteActionVariableBody(action="delete", entities=[m.EntitiesInner3(existing)])),
    ])
    return variables(ctx).bulk_variables_without_preload_content(body)


# --- connections --------------------------------------------------------------------------------

def connections(ctx):
    return af.ConnectionApi(ctx.client)


def _conn_body(conn_id: str) -> m.ConnectionBody:
    return m.ConnectionBody(connection_id=conn_id, conn_type="postgres", host="db.example", login="me",
                            password="s3cret-pw", port=5432, extra='{"sslmode": "require", "api_token": "t0k3n"}')


def _connection(ctx) -> str:
    conn_id = ctx.unique("sweep_conn")
    body = _conn_body(conn_id).to_dict()
    assert ctx.api("POST", "/api/v2/connections", json=body).status_code == 201
    return conn_id


@op("get_connections")
def get_connections(ctx):
    _connection(ctx)
    return connections(ctx).get_connections_without_preload_content(limit=10, connection_id_pattern="sweep",
                                                                     order_by=["connection_id"])


@op("get_connection")
def get_connection(ctx):
    return connections(ctx).get_connection_without_preload_content(_connection(ctx))


@op("post_connection")
def post_connection(ctx):
    return connections(ctx).post_connection_without_preload_content(_conn_body(ctx.unique("sweep_conn")))


@op("patch_connection")
def patch_connection(ctx):
    conn_id = _connection(ctx)
    body = _conn_body(conn_id)
    body.host = "db2.example"
    return connections(ctx).patch_connection_without_preload_content(conn_id, body, update_mask=["host"])


@op("delete_connection")
def delete_connection(ctx):
    return connections(ctx).delete_connection_without_preload_content(_connection(ctx))


@op("bulk_connections")
def bulk_connections(ctx):
    existing = _connection(ctx)
    body = m.BulkBodyConnectionBody(actions=[
        m.ActionsInner1(m.BulkCreateActionConnectionBody(
            action="create", action_on_existence=m.BulkActionOnExistence.SKIP,
            entities=[_conn_body(ctx.unique("sweep_bulk_conn")), _conn_body(existing)])),
        m.ActionsInner1(m.BulkUpdateActionConnectionBody(action="update", entities=[_conn_body(existing)])),
    ])
    return connections(ctx).bulk_connections_without_preload_content(body)


@op("test_connection")
def test_connection(ctx):
    host, port = ctx.base_url.rsplit("//", 1)[1].split(":")
    body = m.ConnectionBody(connection_id="sweep_test", conn_type="http", host=host, port=int(port))
    return connections(ctx).test_connection_without_preload_content(body)


@op("create_default_connections")
def create_default_connections(ctx):
    return connections(ctx).create_default_connections_without_preload_content()


# --- pools --------------------------------------------------------------------------------------

def pools(ctx):
    return af.PoolApi(ctx.client)


def _pool(ctx) -> str:
    name = ctx.unique("sweep_pool")
    assert ctx.api("POST", "/api/v2/pools", json={"name": name, "slots": 3}).status_code == 201
    return name


@op("get_pools")
def get_pools(ctx):
    return pools(ctx).get_pools_without_preload_content(limit=10, order_by=["-id"])


@op("get_pool")
def get_pool(ctx):
    return pools(ctx).get_pool_without_preload_content("default_pool")


@op("post_pool")
def post_pool(ctx):
    return pools(ctx).post_pool_without_preload_content(
        m.PoolBody(name=ctx.unique("sweep_pool"), slots=4, description="gpu", include_deferred=True))


@op("patch_pool")
def patch_pool(ctx):
    return pools(ctx).patch_pool_without_preload_content(_pool(ctx), m.PoolPatchBody(slots=9, description="more"))


@op("delete_pool")
def delete_pool(ctx):
    return pools(ctx).delete_pool_without_preload_content(_pool(ctx))


@op("bulk_pools")
def bulk_pools(ctx):
    existing = _pool(ctx)
    body = m.BulkBodyPoolBody(actions=[
        m.ActionsInner2(m.BulkCreateActionPoolBody(action="create",
                                                   entities=[m.PoolBody(name=ctx.unique("sweep_pool"), slots=1)])),
        m.ActionsInner2(m.BulkUpdateActionPoolBody(action="update", entities=[m.PoolBody(name=existing, slots=7)])),
        m.ActionsInner2(m.BulkDeleteActionPoolBody(action="delete", entities=[m.EntitiesInner2(existing)])),
    ])
    return pools(ctx).bulk_pools_without_preload_content(body)


# --- assets -------------------------------------------------------------------------------------

def assets(ctx):
    return af.AssetApi(ctx.client)


def _produced_asset(ctx) -> int:
    """An asset that the scratch DAG's `first` task produces, with an alias (rows the DAG processor makes)."""

    def make():
        from sqlalchemy import select

        from leoflow.store.tables import asset, asset_active, asset_alias, asset_alias_asset
        from leoflow.store.tables import task_outlet_asset_reference as outlet

        now = dt.datetime.now(dt.timezone.utc)
        with ctx.engine.begin() as conn:
            asset_id = conn.execute(asset.insert().values(
                name="sweep_produced", uri="s3://sweep/produced", group="asset", extra={"owner": "sweep"},
                created_at=now, updated_at=now)).inserted_primary_key[0]
            conn.execute(asset_active.insert().values(name="sweep_produced", uri="s3://sweep/produced"))
            conn.execute(outlet.insert().values(asset_id=asset_id, dag_id=SCRATCH, task_id="first", created_at=now,
                                                updated_at=now))
            alias = conn.execute(asset_alias.insert().values(name="sweep_alias", group="asset")).inserted_primary_key[0]
            conn.execute(asset_alias_asset.insert().values(alias_id=alias, asset_id=asset_id))
            assert conn.execute(select(asset.c.id).where(asset.c.id == asset_id)).first()
        return asset_id, alias

    return _seed_once(ctx, "asset", make)


@op("get_assets")
def get_assets(ctx):
    _produced_asset(ctx)
    return assets(ctx).get_assets_without_preload_content(limit=10, only_active=False, order_by=["name"])


@op("get_asset")
def get_asset(ctx):
    return assets(ctx).get_asset_without_preload_content(_produced_asset(ctx)[0])


@op("get_asset_aliases")
def get_asset_aliases(ctx):
    _produced_asset(ctx)
    return assets(ctx).get_asset_aliases_without_preload_content(name_pattern="sweep")


@op("get_asset_alias")
def get_asset_alias(ctx):
    return assets(ctx).get_asset_alias_without_preload_content(_produced_asset(ctx)[1])


@op("create_asset_event")
def create_asset_event(ctx):
    body = m.CreateAssetEventsBody(asset_id=_produced_asset(ctx)[0], extra={"rows": 3})
    return assets(ctx).create_asset_event_without_preload_content(body)


@op("get_asset_events")
def get_asset_events(ctx):
    asset_id = _produced_asset(ctx)[0]
    assert ctx.api("POST", "/api/v2/assets/events", json={"asset_id": asset_id}).status_code == 200
    return assets(ctx).get_asset_events_without_preload_content(asset_id=asset_id, order_by=["-timestamp"])


@op("get_asset_queued_events")
def get_asset_queued_events(ctx):
    ctx.queue_asset_event()
    return assets(ctx).get_asset_queued_events_without_preload_content(ctx.asset_id)


@op("delete_asset_queued_events")
def delete_asset_queued_events(ctx):
    ctx.queue_asset_event()
    response = assets(ctx).delete_asset_queued_events_without_preload_content(ctx.asset_id)
    ctx.queue_asset_event()  # put it back for the checks of a DAG's queued events
    return response


@op("materialize_asset")
def materialize_asset(ctx):
    return assets(ctx).materialize_asset_without_preload_content(_produced_asset(ctx)[0])


# --- backfills ----------------------------------------------------------------------------------

def backfills(ctx):
    return af.BackfillApi(ctx.client)


def _backfill_body(ctx) -> m.BackfillPostBody:
    """Two days of the backfilled DAG no earlier backfill of the sweep covered."""

    def pause():
        assert ctx.api("PATCH", f"/api/v2/dags/{BACKFILL_DAG}", json={"is_paused": True}).status_code == 200
        return True

    _seed_once(ctx, "paused", pause)  # its runs stay queued: the sweep needs no task to run
    n = int(ctx.unique("backfill").rsplit("_", 1)[1])
    start = dt.datetime(2026, 1, 2, tzinfo=dt.timezone.utc) + dt.timedelta(days=3 * n)
    return m.BackfillPostBody(dag_id=BACKFILL_DAG, from_date=start, to_date=start + dt.timedelta(days=1),
                              dag_run_conf={"sweep": True}, max_active_runs=2)


def _running_backfill(ctx) -> int:
    with _lock:
        current = _state.get("backfill")
    if current is None:
        r = ctx.api("POST", "/api/v2/backfills", json=json.loads(_backfill_body(ctx).to_json()))
        assert r.status_code == 200, r.text
        current = r.json()["id"]
        with _lock:
            _state["backfill"] = current
    return current


@op("create_backfill")
def create_backfill(ctx):
    _cancel_running(ctx)
    response = backfills(ctx).create_backfill_without_preload_content(_backfill_body(ctx))
    if response.status == 200:
        with _lock:
            _state["backfill"] = json.loads(response.data)["id"]
    return response


def _cancel_running(ctx):
    with _lock:
        current = _state.pop("backfill", None)
    if current is not None:
        ctx.api("PUT", f"/api/v2/backfills/{current}/cancel")


@op("create_backfill_dry_run")
def create_backfill_dry_run(ctx):
    return backfills(ctx).create_backfill_dry_run_without_preload_content(_backfill_body(ctx))


@op("list_backfills")
def list_backfills(ctx):
    _running_backfill(ctx)
    return backfills(ctx).list_backfills_without_preload_content(dag_id=BACKFILL_DAG, order_by=["-id"])


@op("get_backfill")
def get_backfill(ctx):
    return backfills(ctx).get_backfill_without_preload_content(_running_backfill(ctx))


@op("pause_backfill")
def pause_backfill(ctx):
    return backfills(ctx).pause_backfill_without_preload_content(_running_backfill(ctx))


@op("unpause_backfill")
def unpause_backfill(ctx):
    return backfills(ctx).unpause_backfill_without_preload_content(_running_backfill(ctx))


@op("cancel_backfill")
def cancel_backfill(ctx):
    backfill_id = _running_backfill(ctx)
    with _lock:
        _state.pop("backfill", None)
    return backfills(ctx).cancel_backfill_without_preload_content(backfill_id)


# --- everything read-only -----------------------------------------------------------------------

@op("get_config")
def get_config(ctx):
    return af.ConfigApi(ctx.client).get_config_without_preload_content(section="core")


@op("get_config_value")
def get_config_value(ctx):
    return af.ConfigApi(ctx.client).get_config_value_without_preload_content("core", "parallelism")


@op("get_event_logs")
def get_event_logs(ctx):
    return af.EventLogApi(ctx.client).get_event_logs_without_preload_content(
        limit=20, order_by=["-when"], excluded_events=["login"], dag_id_pattern="example")


@op("get_event_log")
def get_event_log(ctx):
    logs = ctx.api("GET", "/api/v2/eventLogs", params={"limit": 1}).json()["event_logs"]
    return af.EventLogApi(ctx.client).get_event_log_without_preload_content(logs[0]["event_log_id"])


def _import_error(ctx) -> int:
    def make():
        (ctx.lite.dags / "sweep_broken.py").write_text("from airflow.sdk import dag\n\nthis is not python\n")
        found = {}

        def appeared():
            errors = ctx.api("GET", "/api/v2/importErrors", params={"filename_pattern": "sweep_broken"}).json()
            if errors["import_errors"]:
                found["id"] = errors["import_errors"][0]["import_error_id"]
            return bool(found)

        ctx.lite.wait_for(appeared, timeout=60, interval=0.2)
        return found["id"]

    return _seed_once(ctx, "import_error", make)


@op("get_import_errors")
def get_import_errors(ctx):
    _import_error(ctx)
    return af.ImportErrorApi(ctx.client).get_import_errors_without_preload_content(order_by=["-timestamp"])


@op("get_import_error")
def get_import_error(ctx):
    return af.ImportErrorApi(ctx.client).get_import_error_without_preload_content(_import_error(ctx))


@op("get_jobs")
def get_jobs(ctx):
    return af.JobApi(ctx.client).get_jobs_without_preload_content(is_alive=True, order_by=["-latest_heartbeat"])


@op("get_plugins")
def get_plugins(ctx):
    return af.PluginApi(ctx.client).get_plugins_without_preload_content()


@op("import_errors")
def plugin_import_errors(ctx):
    return af.PluginApi(ctx.client).import_errors_without_preload_content()


@op("get_providers")
def get_providers(ctx):
    return af.ProviderApi(ctx.client).get_providers_without_preload_content()


@op("get_version")
def get_version(ctx):
    return af.VersionApi(ctx.client).get_version_without_preload_content()


@op("get_health")
def get_health(ctx):
    return af.MonitorApi(ctx.client).get_health_without_preload_content()


@op("get_dag_stats")
def get_dag_stats(ctx):
    return af.DagStatsApi(ctx.client).get_dag_stats_without_preload_content(dag_ids=[ctx.dag_id])


@op("get_dag_tags")
def get_dag_tags(ctx):
    return af.DAGApi(ctx.client).get_dag_tags_without_preload_content(order_by=["name"])


@op("list_dag_warnings")
def list_dag_warnings(ctx):
    return af.DagWarningApi(ctx.client).list_dag_warnings_without_preload_content(dag_id=ctx.dag_id)


@op("reparse_dag_file")
def reparse_dag_file(ctx):
    token = ctx.api("GET", f"/api/v2/dags/{ctx.dag_id}").json()["file_token"]
    return af.DAGParsingApi(ctx.client).reparse_dag_file_without_preload_content(token)
