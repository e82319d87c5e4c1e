"""TriggerDagRunOperator: start a run of another DAG (optionally wait for it)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from leoflow.sdk import timezone
from leoflow.sdk.baseoperator import BaseOperator
from leoflow.sdk.exceptions import AirflowException, DagRunTriggerException
from leoflow.sdk.links import TriggerDagRunLink
from leoflow.sdk.params import NOTSET


class DagIsPaused(AirflowException):
    def __init__(self, dag_id: str) -> None:
        super().__init__(dag_id)
        self.dag_id = dag_id

    def __str__(self) -> str:
        return f"Dag {self.dag_id} is paused"


class TriggerDagRunOperator(BaseOperator):
    template_fields = ("trigger_dag_id", "trigger_run_id", "logical_date", "conf", "wait_for_completion",
                       "skip_when_already_exists")
    template_fields_renderers = {"conf": "py"}
    ui_color = "#ffefeb"
    operator_extra_links = (TriggerDagRunLink(),)

    def __init__(self, *, trigger_dag_id: str, trigger_run_id: str | None = None, conf: dict | None = None,
                 logical_date: Any = NOTSET, reset_dag_run: bool = False, wait_for_completion: bool = False,
                 poke_interval: int = 60, allowed_states: list | None = None, failed_states: list | None = None,
                 skip_when_already_exists: bool = False, fail_when_dag_is_paused: bool = False,
                 note: str | None = None, deferrable: bool = False, openlineage_inject_parent_info: bool = True,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.trigger_dag_id = trigger_dag_id
        self.trigger_run_id = trigger_run_id
        self.conf = conf
        self.reset_dag_run = reset_dag_run
        self.wait_for_completion = wait_for_completion
        self.poke_interval = poke_interval
        self.allowed_states = [str(getattr(s, "value", s)) for s in (allowed_states or ["success"])]
        self.failed_states = [str(getattr(s, "value", s)) for s in (failed_states or ["failed"])]
        self.skip_when_already_exists = skip_when_already_exists
        self.fail_when_dag_is_paused = fail_when_dag_is_paused
        self.note = note
        self.deferrable = deferrable
        self.openlineage_inject_parent_info = openlineage_inject_parent_info
        if logical_date is not NOTSET and logical_date is not None and not isinstance(logical_date, (str, dt.datetime)):
            raise TypeError(
                f"Expected str, datetime.datetime, or None for parameter 'logical_date'. Got {type(logical_date).__name__}"
            )
        self.logical_date = logical_date
        if fail_when_dag_is_paused:
            raise NotImplementedError("Setting `fail_when_dag_is_paused` not yet supported for Airflow 3.x")

    def execute(self, context) -> None:
        if self.logical_date is NOTSET:
            logical_date = timezone.utcnow()
        elif isinstance(self.logical_date, str):
            logical_date = timezone.parse(self.logical_date)
        else:
            logical_date = self.logical_date
        if self.conf and isinstance(self.conf, str):
            self.conf = json.loads(self.conf)
        try:
            json.dumps(self.conf)
        except TypeError:
            raise ValueError(f"conf parameter should be JSON Serializable {self.conf}") from None
        if self.trigger_run_id:
            run_id = str(self.trigger_run_id)
        else:
            when = logical_date or timezone.utcnow()
            run_id = f"manual__{when.isoformat()}"
        self.trigger_run_id = run_id
        # The task runtime turns this into the Execution API's trigger call (and waits if asked).
        raise DagRunTriggerException(
            trigger_dag_id=self.trigger_dag_id, dag_run_id=run_id, conf=self.conf, logical_date=logical_date,
            reset_dag_run=self.reset_dag_run, skip_when_already_exists=self.skip_when_already_exists,
            wait_for_completion=self.wait_for_completion, allowed_states=self.allowed_states,
            failed_states=self.failed_states, poke_interval=self.poke_interval, deferrable=self.deferrable,
            note=self.note,
        )
