"""The Task Execution API (`/execution`): Airflow 3.2.1's paths, bodies and status codes.

It is the only way a running task talks to the control plane: Leoflow's runner, Airflow's own task
runner, agents, Kubernetes pods and `dags test` all use it. This file is its table of contents: each
route is a function in the module of its resource, and `Spec` says who may call it.
"""

from __future__ import annotations

from starlette.routing import Route

from ..services import Services
from . import assets, connections, dag_runs, dags, hitl, pods, task_instances as ti, task_reschedules, variables, xcoms
from .endpoint import TO_START, Spec, make_route
from .http import respond
from .versions import LATEST


def health(call):
    return respond({"status": "healthy"})


TI = "/task-instances/{task_instance_id}"
XCOM = "/xcoms/{dag_id}/{run_id}/{task_id}/{key:path}"

# Order matters where paths overlap: the first route whose path and method match answers.
ROUTES = (
    Spec("GET", "/health", health, auth=False),
    # a task instance's own try
    Spec("PATCH", f"{TI}/run", ti.run, body=True, own_ti=True, scopes=TO_START, checks_state=True,
         keeps_alive=True),
    Spec("PATCH", f"{TI}/state", ti.update_state, body=True, own_ti=True, checks_state=True),
    Spec("PUT", f"{TI}/heartbeat", ti.heartbeat, body=True, own_ti=True, checks_state=True, keeps_alive=True),
    Spec("PUT", f"{TI}/rtif", ti.put_rtif, body=True, own_ti=True),
    Spec("PATCH", f"{TI}/skip-downstream", ti.skip_downstream, body=True, own_ti=True),
    Spec("PATCH", f"{TI}/rendered-map-index", ti.rendered_map_index, body=True, own_ti=True),
    Spec("GET", f"{TI}/previous-successful-dagrun", ti.previous_successful_dagrun, own_ti=True),
    Spec("GET", f"{TI}/validate-inlets-and-outlets", assets.validate_inlets_and_outlets, own_ti=True),
    # other task instances
    Spec("GET", "/task-instances/count", ti.count),
    Spec("GET", "/task-instances/states", ti.states),
    Spec("GET", "/task-instances/breadcrumbs", ti.breadcrumbs),
    Spec("GET", "/task-instances/previous/{dag_id}/{task_id}", ti.previous),
    Spec("GET", "/task-reschedules/{task_instance_id}/start_date", task_reschedules.get_start_date),
    # xcoms: the sequence routes first, a key may contain "/"
    Spec("GET", f"{XCOM}/item/{{offset}}", xcoms.get_xcom_item),
    Spec("GET", f"{XCOM}/slice", xcoms.get_xcom_slice),
    Spec("HEAD", XCOM, xcoms.head_xcom),
    Spec("GET", XCOM, xcoms.get_xcom),
    Spec("POST", XCOM, xcoms.set_xcom, body=True),
    Spec("DELETE", XCOM, xcoms.delete_xcom),
    # variables and connections
    Spec("GET", "/variables/{variable_key:path}", variables.get_variable),
    Spec("PUT", "/variables/{variable_key:path}", variables.put_variable, body=True),
    Spec("DELETE", "/variables/{variable_key:path}", variables.delete_variable),
    Spec("GET", "/connections/{connection_id}", connections.get_connection),
    # dag runs and dags
    Spec("GET", "/dag-runs/count", dag_runs.get_count),
    Spec("GET", "/dag-runs/previous", dag_runs.get_previous, since=LATEST),
    Spec("GET", "/dag-runs/{dag_id}/{run_id}", dag_runs.get_dag_run),
    Spec("GET", "/dag-runs/{dag_id}/{run_id}/state", dag_runs.get_state),
    Spec("POST", "/dag-runs/{dag_id}/{run_id}", dag_runs.trigger, body=True),
    Spec("POST", "/dag-runs/{dag_id}/{run_id}/clear", dag_runs.clear),
    Spec("GET", "/dags/{dag_id}", dags.get_dag, since=LATEST),
    # assets
    Spec("GET", "/assets/by-name", assets.get_by_name),
    Spec("GET", "/assets/by-uri", assets.get_by_uri),
    Spec("GET", "/asset-events/by-asset", assets.get_events_by_asset),
    Spec("GET", "/asset-events/by-asset-alias", assets.get_events_by_alias),
    # human in the loop
    Spec("POST", "/hitlDetails/{task_instance_id}", hitl.upsert_hitl_detail, body=True, own_ti=True),
    Spec("PATCH", "/hitlDetails/{task_instance_id}", hitl.update_hitl_detail, body=True, own_ti=True),
    Spec("GET", "/hitlDetails/{task_instance_id}", hitl.get_hitl_detail, own_ti=True),
    # Leoflow's own, for tries in Kubernetes pods (pods.py): their DAG bundle, their log
    Spec("GET", "/leoflow/bundles/{sha256}", pods.get_bundle, scopes=TO_START),
    Spec("GET", "/leoflow/logs/{task_instance_id}", pods.next_log_seq, own_ti=True, scopes=TO_START),
    Spec("POST", "/leoflow/logs/{task_instance_id}", pods.put_log_chunk, body=True, own_ti=True, scopes=TO_START),
)


def execution_routes(services: Services) -> list[Route]:
    return [make_route(services, spec) for spec in ROUTES]
