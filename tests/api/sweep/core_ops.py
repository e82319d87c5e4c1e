"""Sweep checks for the `/api/v2/dags/...` family and `dagSources`, through the official client."""

from __future__ import annotations

import airflow_client.client as af

from tests.api.sweep import op


def dags(ctx):
    return af.DAGApi(ctx.client)


def runs(ctx):
    return af.DagRunApi(ctx.client)


def tis(ctx):
    return af.TaskInstanceApi(ctx.client)


def xcoms(ctx):
    return af.XComApi(ctx.client)


@op("get_dags")
def get_dags(ctx):
    return dags(ctx).get_dags_without_preload_content(limit=50, order_by=["-dag_id"])


@op("get_dag")
def get_dag(ctx):
    return dags(ctx).get_dag_without_preload_content(ctx.dag_id)


@op("get_dag_details")
def get_dag_details(ctx):
    return dags(ctx).get_dag_details_without_preload_content(ctx.dag_id)


@op("get_dag_run")
def get_dag_run(ctx):
    return runs(ctx).get_dag_run_without_preload_content(ctx.dag_id, ctx.run_id)


@op("get_dag_runs")
def get_dag_runs(ctx):
    return runs(ctx).get_dag_runs_without_preload_content(ctx.dag_id, limit=10)


@op("get_task_instances")
def get_task_instances(ctx):
    return tis(ctx).get_task_instances_without_preload_content(ctx.dag_id, ctx.run_id)


@op("get_task_instance")
def get_task_instance(ctx):
    return tis(ctx).get_task_instance_without_preload_content(ctx.dag_id, ctx.run_id, ctx.task_id)


@op("get_xcom_entries")
def get_xcom_entries(ctx):
    return xcoms(ctx).get_xcom_entries_without_preload_content(ctx.dag_id, ctx.run_id, ctx.task_id)


@op("get_xcom_entry")
def get_xcom_entry(ctx):
    return xcoms(ctx).get_xcom_entry_without_preload_content(
        dag_id=ctx.dag_id, dag_run_id=ctx.run_id, task_id=ctx.task_id, xcom_key="return_value")


@op("get_log")
def get_log(ctx):
    return tis(ctx).get_log_without_preload_content(ctx.dag_id, ctx.run_id, ctx.task_id, 1)
