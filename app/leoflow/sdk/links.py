"""Operator extra links: a named URL per task instance, shown by the UI.

As in Airflow 3, a link is resolved in the task's own process when the try ends
and kept as the XCom `_link_<LinkClass>`, so the server never needs the DAG file
to show it. `get_link` receives the operator and the task instance (`ti_key`:
dag_id, task_id, run_id, map_index, try_number, plus `xcom_pull`).
"""

from __future__ import annotations

from urllib.parse import urljoin


class BaseOperatorLink:
    """Subclass with a `name` and `get_link(operator, *, ti_key) -> str`; list instances in the
    operator's `operator_extra_links`."""

    name: str = ""

    @property
    def xcom_key(self) -> str:
        return f"_link_{type(self).__name__}"

    def get_link(self, operator, *, ti_key) -> str:
        raise NotImplementedError(f"{type(self).__name__} must define get_link")


def dagrun_url(dag_id: str, run_id: str) -> str:
    """The UI address of one DAG run, under `[api] base_url` (relative, "/dags/...", when unset)."""
    from leoflow.sdk.configuration import conf

    base = conf.get("api", "base_url", fallback="/") or "/"
    return urljoin(base.rstrip("/") + "/", f"dags/{dag_id}/runs/{run_id}")


class TriggerDagRunLink(BaseOperatorLink):
    """TriggerDagRunOperator's link: the run it started (its `trigger_run_id` XCom)."""

    name = "Triggered DAG"

    def get_link(self, operator, *, ti_key) -> str:
        run_id = ti_key.xcom_pull(task_ids=ti_key.task_id, key="trigger_run_id")
        if not run_id:
            run_id = getattr(operator, "trigger_run_id", None)
        return dagrun_url(operator.trigger_dag_id, run_id) if run_id else ""


class ExternalDagLink(BaseOperatorLink):
    """ExternalTaskSensor's and ExternalTaskMarker's link: the other DAG's run with this run's id."""

    name = "External DAG"

    def get_link(self, operator, *, ti_key) -> str:
        return dagrun_url(operator.external_dag_id, ti_key.run_id)
