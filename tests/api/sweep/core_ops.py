"""Sweep checks for the `/api/v2/dags/...` family and `dagSources`, through the official client.

Reads use the finished `example_etl` run (ctx.run_id); checks that change or delete things make
their own runs (ctx.new_run) or use the paused scratch DAG with its seeded mapped instances.
"""

from __future__ import annotations

import airflow_client.client as af

from tests.api.sweep import SCRATCH, op

M = af.models


def dags(ctx):
    return af.DAGApi(ctx.client)


def runs(ctx):
    return af.DagRunApi(ctx.client)


def tis(ctx):
    return af.TaskInstanceApi(ctx.client)


def xcoms(ctx):
    return af.XComApi(ctx.client)


def assets(ctx):
    return af.AssetApi(ctx.client)


def _ti(ctx, **kw):
    return dict(dag_id=ctx.dag_id, dag_run_id=ctx.run_id, task_id=ctx.task_id, **kw)


def _mapped(ctx, **kw):
    return dict(dag_id=SCRATCH, dag_run_id=ctx.scratch_run, task_id="mapped", **kw)


# --- DAGs ---------------------------------------------------------------------------------------

@op("get_dags")
def get_dags(ctx):
    return dags(ctx).get_dags_without_preload_content(limit=50, order_by=["-dag_id"], dag_id_pattern="example",
                                                      tags=["example"], exclude_stale=True)


@op("get_dag")
def get_dag(ctx):
    return dags(ctx).get_dag_without_preload_content(dag_id=ctx.dag_id)


@op("get_dag_details")
def get_dag_details(ctx):
    return dags(ctx).get_dag_details_without_preload_content(dag_id=ctx.dag_id)


@op("patch_dag")
def patch_dag(ctx):
    return dags(ctx).patch_dag_without_preload_content(dag_id=SCRATCH, dag_patch_body=M.DAGPatchBody(is_paused=True),
                                                       update_mask=["is_paused"])


@op("patch_dags")
def patch_dags(ctx):
    return dags(ctx).patch_dags_without_preload_content(dag_patch_body=M.DAGPatchBody(is_paused=True),
                                                        dag_id_pattern="sweep_scratch")


@op("delete_dag")
def delete_dag(ctx):
    return dags(ctx).delete_dag_without_preload_content(dag_id="sweep_victim")


@op("favorite_dag")
def favorite_dag(ctx):
    return dags(ctx).favorite_dag_without_preload_content(dag_id=ctx.dag_id)


@op("unfavorite_dag")
def unfavorite_dag(ctx):
    ctx.api("POST", f"/api/v2/dags/{SCRATCH}/favorite")
    return dags(ctx).unfavorite_dag_without_preload_content(dag_id=SCRATCH)


# --- tasks, versions, sources ----------------------------------------------------------------------

@op("get_tasks")
def get_tasks(ctx):
    return af.TaskApi(ctx.client).get_tasks_without_preload_content(dag_id=ctx.dag_id, order_by="task_id")


@op("get_task")
def get_task(ctx):
    return af.TaskApi(ctx.client).get_task_without_preload_content(dag_id=ctx.dag_id, task_id=ctx.task_id)


@op("get_dag_versions")
def get_dag_versions(ctx):
    return af.DagVersionApi(ctx.client).get_dag_versions_without_preload_content(dag_id=ctx.dag_id)


@op("get_dag_version")
def get_dag_version(ctx):
    return af.DagVersionApi(ctx.client).get_dag_version_without_preload_content(dag_id=ctx.dag_id, version_number=1)


@op("get_dag_source")
def get_dag_source(ctx):
    return af.DagSourceApi(ctx.client).get_dag_source_without_preload_content(dag_id=ctx.dag_id)


# --- DAG runs ----------------------------------------------------------------------------------------

@op("get_dag_run")
def get_dag_run(ctx):
    return runs(ctx).get_dag_run_without_preload_content(dag_id=ctx.dag_id, dag_run_id=ctx.run_id)


@op("get_dag_runs")
def get_dag_runs(ctx):
    return runs(ctx).get_dag_runs_without_preload_content(dag_id="~", limit=10, state=["success", "queued"],
                                                          order_by=["-run_after"])


@op("trigger_dag_run")
def trigger_dag_run(ctx):
    body = M.TriggerDAGRunPostBody(dag_run_id=ctx.unique("triggered"), logical_date=None, conf={"source": "sweep"},
                                   note="from the client sweep")
    return runs(ctx).trigger_dag_run_without_preload_content(dag_id=SCRATCH, trigger_dag_run_post_body=body)


@op("patch_dag_run")
def patch_dag_run(ctx):
    run_id = ctx.new_run(SCRATCH)
    return runs(ctx).patch_dag_run_without_preload_content(
        dag_id=SCRATCH, dag_run_id=run_id, dag_run_patch_body=M.DAGRunPatchBody(state="failed", note="stopped"))


@op("delete_dag_run")
def delete_dag_run(ctx):
    run_id = ctx.new_run(SCRATCH)
    return runs(ctx).delete_dag_run_without_preload_content(dag_id=SCRATCH, dag_run_id=run_id)


@op("clear_dag_run")
def clear_dag_run(ctx):
    run_id = ctx.new_run(SCRATCH)
    return runs(ctx).clear_dag_run_without_preload_content(
        dag_id=SCRATCH, dag_run_id=run_id, dag_run_clear_body=M.DAGRunClearBody(dry_run=False))


@op("get_list_dag_runs_batch")
def get_list_dag_runs_batch(ctx):
    body = M.DAGRunsBatchBody(dag_ids=[ctx.dag_id, SCRATCH], states=["success", "queued"], page_limit=20,
                              order_by="-id")
    return runs(ctx).get_list_dag_runs_batch_without_preload_content(dag_id="~", dag_runs_batch_body=body)


@op("get_upstream_asset_events")
def get_upstream_asset_events(ctx):
    return runs(ctx).get_upstream_asset_events_without_preload_content(dag_id=ctx.dag_id, dag_run_id=ctx.run_id)


@op("wait_dag_run_until_finished")
def wait_dag_run_until_finished(ctx):
    return runs(ctx).wait_dag_run_until_finished_without_preload_content(
        dag_id=ctx.dag_id, dag_run_id=ctx.run_id, interval=0.1, result=["transform"])


# --- task instances -----------------------------------------------------------------------------------

@op("get_task_instances")
def get_task_instances(ctx):
    return tis(ctx).get_task_instances_without_preload_content(dag_id=ctx.dag_id, dag_run_id="~",
                                                               state=["success"], order_by=["-start_date"])


@op("get_task_instance")
def get_task_instance(ctx):
    return tis(ctx).get_task_instance_without_preload_content(**_ti(ctx))


@op("get_task_instances_batch")
def get_task_instances_batch(ctx):
    body = M.TaskInstancesBatchBody(dag_ids=[ctx.dag_id], task_ids=["extract", "transform"], state=["success"])
    return tis(ctx).get_task_instances_batch_without_preload_content(dag_id="~", dag_run_id="~",
                                                                     task_instances_batch_body=body)


@op("get_mapped_task_instances")
def get_mapped_task_instances(ctx):
    return tis(ctx).get_mapped_task_instances_without_preload_content(**_mapped(ctx), order_by=["-map_index"])


@op("get_mapped_task_instance")
def get_mapped_task_instance(ctx):
    return tis(ctx).get_mapped_task_instance_without_preload_content(**_mapped(ctx, map_index=1))


@op("get_task_instance_tries")
def get_task_instance_tries(ctx):
    return tis(ctx).get_task_instance_tries_without_preload_content(**_ti(ctx))


@op("get_task_instance_try_details")
def get_task_instance_try_details(ctx):
    return tis(ctx).get_task_instance_try_details_without_preload_content(**_ti(ctx), task_try_number=1)


@op("get_mapped_task_instance_tries")
def get_mapped_task_instance_tries(ctx):
    return tis(ctx).get_mapped_task_instance_tries_without_preload_content(**_mapped(ctx, map_index=0))


@op("get_mapped_task_instance_try_details")
def get_mapped_task_instance_try_details(ctx):
    return tis(ctx).get_mapped_task_instance_try_details_without_preload_content(**_mapped(ctx, map_index=0),
                                                                                 task_try_number=1)


@op("get_task_instance_dependencies")
def get_task_instance_dependencies(ctx):
    return tis(ctx).get_task_instance_dependencies_without_preload_content(**_ti(ctx))


@op("get_task_instance_dependencies_by_map_index")
def get_task_instance_dependencies_by_map_index(ctx):
    return tis(ctx).get_task_instance_dependencies_by_map_index_without_preload_content(**_mapped(ctx, map_index=2))


@op("get_extra_links")
def get_extra_links(ctx):
    return af.ExtraLinksApi(ctx.client).get_extra_links_without_preload_content(**_ti(ctx))


@op("get_external_log_url")
def get_external_log_url(ctx):
    return tis(ctx).get_external_log_url_without_preload_content(**_ti(ctx), try_number=1)


@op("get_hitl_details")
def get_hitl_details(ctx):
    return tis(ctx).get_hitl_details_without_preload_content(dag_id="~", dag_run_id="~", subject_search="Ship")


@op("get_hitl_detail")
def get_hitl_detail(ctx):
    return tis(ctx).get_hitl_detail_without_preload_content(**_mapped(ctx, map_index=0))


@op("get_hitl_detail_try_detail")
def get_hitl_detail_try_detail(ctx):
    return tis(ctx).get_hitl_detail_try_detail_without_preload_content(**_mapped(ctx, map_index=0), try_number=1)


@op("update_hitl_detail")
def update_hitl_detail(ctx):
    body = M.UpdateHITLDetailPayload(chosen_options=["Approve"], params_input={})
    return tis(ctx).update_hitl_detail_without_preload_content(**_mapped(ctx, map_index=1),
                                                               update_hitl_detail_payload=body)


@op("patch_task_instance")
def patch_task_instance(ctx):
    run_id = ctx.new_run(SCRATCH)
    body = M.PatchTaskInstanceBody(new_state="success", note="done by hand")
    return tis(ctx).patch_task_instance_without_preload_content(dag_id=SCRATCH, dag_run_id=run_id, task_id="first",
                                                                patch_task_instance_body=body)


@op("patch_task_instance_dry_run")
def patch_task_instance_dry_run(ctx):
    body = M.PatchTaskInstanceBody(new_state="failed", include_downstream=True)
    return tis(ctx).patch_task_instance_dry_run_without_preload_content(
        dag_id=SCRATCH, dag_run_id=ctx.scratch_run, task_id="first", patch_task_instance_body=body)


@op("patch_task_instance_by_map_index")
def patch_task_instance_by_map_index(ctx):
    body = M.PatchTaskInstanceBody(note="looked at it")
    return tis(ctx).patch_task_instance_by_map_index_without_preload_content(**_mapped(ctx, map_index=1),
                                                                             patch_task_instance_body=body)


@op("patch_task_instance_dry_run_by_map_index")
def patch_task_instance_dry_run_by_map_index(ctx):
    body = M.PatchTaskInstanceBody(new_state="failed")
    return tis(ctx).patch_task_instance_dry_run_by_map_index_without_preload_content(
        **_mapped(ctx, map_index=2), patch_task_instance_body=body)


@op("post_clear_task_instances")
def post_clear_task_instances(ctx):
    run_id = ctx.new_run(SCRATCH)
    body = M.ClearTaskInstancesBody(dry_run=False, dag_run_id=run_id,
                                    task_ids=[M.ClearTaskInstancesBodyTaskIdsInner("first")],
                                    include_downstream=True,
                                    only_failed=False)
    return tis(ctx).post_clear_task_instances_without_preload_content(dag_id=SCRATCH, clear_task_instances_body=body)


@op("bulk_task_instances")
def bulk_task_instances(ctx):
    run_id = ctx.new_run(SCRATCH)
    body = M.BulkBodyBulkTaskInstanceBody(actions=[
        M.ActionsInner(M.BulkUpdateActionBulkTaskInstanceBody(
            action="update", entities=[M.BulkTaskInstanceBody(task_id="first", new_state="skipped")])),
        M.ActionsInner(M.BulkDeleteActionBulkTaskInstanceBody(
            action="delete", entities=[M.EntitiesInner("second")])),
    ])
    return tis(ctx).bulk_task_instances_without_preload_content(dag_id=SCRATCH, dag_run_id=run_id,
                                                                bulk_body_bulk_task_instance_body=body)


@op("delete_task_instance")
def delete_task_instance(ctx):
    run_id = ctx.new_run(SCRATCH)
    return tis(ctx).delete_task_instance_without_preload_content(dag_id=SCRATCH, dag_run_id=run_id, task_id="second")


# --- logs and XCom --------------------------------------------------------------------------------------

@op("get_log")
def get_log(ctx):
    return tis(ctx).get_log_without_preload_content(**_ti(ctx), try_number=1, full_content=True)


@op("get_xcom_entries")
def get_xcom_entries(ctx):
    return xcoms(ctx).get_xcom_entries_without_preload_content(dag_id=ctx.dag_id, dag_run_id="~", task_id="~",
                                                               xcom_key_pattern="return")


@op("get_xcom_entry")
def get_xcom_entry(ctx):
    return xcoms(ctx).get_xcom_entry_without_preload_content(**_ti(ctx), xcom_key="return_value")


@op("create_xcom_entry")
def create_xcom_entry(ctx):
    body = M.XComCreateBody(key=ctx.unique("note"), value={"made": "by the sweep"})
    return xcoms(ctx).create_xcom_entry_without_preload_content(**_ti(ctx), x_com_create_body=body)


@op("update_xcom_entry")
def update_xcom_entry(ctx):
    key = ctx.unique("edited")
    ctx.api("POST", f"/api/v2/dags/{ctx.dag_id}/dagRuns/{ctx.run_id}/taskInstances/{ctx.task_id}/xcomEntries",
            json={"key": key, "value": 1})
    return xcoms(ctx).update_xcom_entry_without_preload_content(**_ti(ctx), xcom_key=key,
                                                                x_com_update_body=M.XComUpdateBody(value=[1, 2]))


@op("delete_xcom_entry")
def delete_xcom_entry(ctx):
    key = ctx.unique("doomed")
    ctx.api("POST", f"/api/v2/dags/{ctx.dag_id}/dagRuns/{ctx.run_id}/taskInstances/{ctx.task_id}/xcomEntries",
            json={"key": key, "value": "bye"})
    return xcoms(ctx).delete_xcom_entry_without_preload_content(**_ti(ctx), xcom_key=key)


# --- a DAG's queued asset events ----------------------------------------------------------------------------

@op("get_dag_asset_queued_events")
def get_dag_asset_queued_events(ctx):
    ctx.queue_asset_event()
    return assets(ctx).get_dag_asset_queued_events_without_preload_content(dag_id=SCRATCH)


@op("get_dag_asset_queued_event")
def get_dag_asset_queued_event(ctx):
    ctx.queue_asset_event()
    return assets(ctx).get_dag_asset_queued_event_without_preload_content(dag_id=SCRATCH, asset_id=ctx.asset_id)


@op("delete_dag_asset_queued_events")
def delete_dag_asset_queued_events(ctx):
    ctx.queue_asset_event()
    return assets(ctx).delete_dag_asset_queued_events_without_preload_content(dag_id=SCRATCH)


@op("delete_dag_asset_queued_event")
def delete_dag_asset_queued_event(ctx):
    ctx.queue_asset_event()
    return assets(ctx).delete_dag_asset_queued_event_without_preload_content(dag_id=SCRATCH, asset_id=ctx.asset_id)
