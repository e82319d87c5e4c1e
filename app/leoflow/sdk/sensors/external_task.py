"""ExternalTaskSensor / ExternalTaskMarker: wait for (or mark) tasks of another DAG.

The sensor asks the task runtime for counts (`ti.get_ti_count`, `ti.get_dr_count`
— Airflow 3.2's RuntimeTaskInstance methods, served by the Execution API).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Callable

from leoflow.sdk.exceptions import AirflowException, AirflowSkipException
from leoflow.sdk.links import ExternalDagLink
from leoflow.sdk.operators.empty import EmptyOperator
from leoflow.sdk.sensors.base import BaseSensorOperator


class ExternalTaskSensor(BaseSensorOperator):
    template_fields = ("external_dag_id", "external_task_id", "external_task_ids", "external_task_group_id")
    ui_color = "#4db7db"
    operator_extra_links = (ExternalDagLink(),)

    def __init__(self, *, external_dag_id: str, external_task_id: str | None = None,
                 external_task_ids: list[str] | None = None, external_task_group_id: str | None = None,
                 allowed_states: list[str] | None = None, skipped_states: list[str] | None = None,
                 failed_states: list[str] | None = None, execution_delta: dt.timedelta | None = None,
                 execution_date_fn: Callable | None = None, check_existence: bool = False,
                 poll_interval: float = 2.0, deferrable: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.allowed_states = [str(getattr(s, "value", s)) for s in (allowed_states or ["success"])]
        self.skipped_states = [str(getattr(s, "value", s)) for s in (skipped_states or [])]
        self.failed_states = [str(getattr(s, "value", s)) for s in (failed_states or [])]
        if external_task_id is not None and external_task_ids is not None:
            raise ValueError("Only one of `external_task_id` or `external_task_ids` may be provided to "
                             "ExternalTaskSensor; use external_task_id or external_task_ids or external_task_group_id.")
        if external_task_group_id is not None and (external_task_id or external_task_ids):
            raise ValueError("Only one of `external_task_group_id` or `external_task_ids` may be provided")
        if external_task_id is not None:
            external_task_ids = [external_task_id]
        if execution_delta is not None and execution_date_fn is not None:
            raise ValueError("Only one of `execution_delta` or `execution_date_fn` may be provided to ExternalTaskSensor; not both.")
        self.external_dag_id = external_dag_id
        self.external_task_id = external_task_id
        self.external_task_ids = external_task_ids
        self.external_task_group_id = external_task_group_id
        self.execution_delta = execution_delta
        self.execution_date_fn = execution_date_fn
        self.check_existence = check_existence
        self.poll_interval = poll_interval
        self.deferrable = deferrable

    def _dates(self, context) -> list:
        logical_date = context.get("logical_date") or context["dag_run"].run_after
        if self.execution_delta is not None:
            return [logical_date - self.execution_delta]
        if self.execution_date_fn is not None:
            from leoflow.sdk.operators.python import determine_kwargs

            result = self.execution_date_fn(logical_date, **determine_kwargs(self.execution_date_fn, [logical_date], context))
            return list(result) if isinstance(result, (list, tuple)) else [result]
        return [logical_date]

    def _count(self, ti, dates, states) -> int:
        if self.external_task_ids or self.external_task_group_id:
            return ti.get_ti_count(dag_id=self.external_dag_id, task_ids=self.external_task_ids,
                                   task_group_id=self.external_task_group_id, logical_dates=dates, states=states)
        return ti.get_dr_count(dag_id=self.external_dag_id, logical_dates=dates, states=states)

    def poke(self, context) -> bool:
        ti = context["ti"]
        if not hasattr(ti, "get_ti_count"):
            raise AirflowException("ExternalTaskSensor needs a task runtime that can count other DAGs' task instances")
        dates = self._dates(context)
        self.log.info("Poking for %s.%s on %s ... ", self.external_dag_id,
                      self.external_task_ids or self.external_task_group_id or "", dates)
        expected = len(self.external_task_ids or [None]) * len(dates) if not self.external_task_group_id else None
        if self.failed_states:
            if self._count(ti, dates, self.failed_states):
                from leoflow.sdk.compat import std_exceptions as errors

                kind = (errors.ExternalTaskGroupFailedError if self.external_task_group_id else
                        errors.ExternalTaskFailedError if self.external_task_ids else errors.ExternalDagFailedError)
                raise kind(f"The external DAG {self.external_dag_id} failed.")
        if self.skipped_states:
            if self._count(ti, dates, self.skipped_states):
                raise AirflowSkipException(f"The external DAG {self.external_dag_id} reached a skipped state.")
        count = self._count(ti, dates, self.allowed_states)
        if expected is None:
            return count > 0
        return count == expected

    def execute(self, context):
        if self.deferrable:
            # Leoflow has no WorkflowTrigger yet: the sensor waits in place (same outcome, state running).
            self.log.info("deferrable=True: Leoflow pokes %s in place instead of deferring", self.external_dag_id)
        return super().execute(context)

    def execute_complete(self, context, event=None) -> None:
        if event and event.get("status") not in (None, "success"):
            raise AirflowException(f"Error occurred while trying to retrieve task status: {event}")


class ExternalTaskMarker(EmptyOperator):
    """Marks that clearing this task should also clear a task of another DAG (UI/API clear)."""

    template_fields = ("external_dag_id", "external_task_id", "logical_date")
    ui_color = "#4db7db"
    operator_extra_links = (ExternalDagLink(),)

    def __init__(self, *, external_dag_id: str, external_task_id: str,
                 logical_date: str | dt.datetime | None = "{{ logical_date.isoformat() }}",
                 recursion_depth: int = 10, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.external_dag_id = external_dag_id
        self.external_task_id = external_task_id
        if isinstance(logical_date, dt.datetime):
            logical_date = logical_date.isoformat()
        elif not isinstance(logical_date, str):
            raise TypeError(f"Expected str or datetime.datetime type for logical_date. Got {type(logical_date)}")
        self.logical_date = logical_date
        if recursion_depth <= 0:
            raise ValueError("recursion_depth should be a positive integer")
        self.recursion_depth = recursion_depth


__all__ = ["ExternalDagLink", "ExternalTaskMarker", "ExternalTaskSensor"]
