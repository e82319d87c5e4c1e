"""Running one task in this process: its context, XComs, templates, execute().

The task runner builds the context with `build_context` from what the server
sent, then calls `execute_task`; the runner itself pushes the return value,
reports the state and maps exceptions to states.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import signal
import threading
from contextlib import contextmanager
from typing import Any

from leoflow.sdk.comms import Comms, get_comms, set_comms  # noqa: F401  (part of this module's API)
from leoflow.sdk.exceptions import AirflowException, AirflowTaskTimeout
from leoflow.sdk.params import NOTSET

RETURN_KEY = "return_value"
_current: list[dict] = []  # contexts of the tasks executing, innermost last


class RuntimeTaskInstance:
    """The `ti` a task sees: identity of this try plus XCom access."""

    def __init__(self, task, ti: dict, dag_run: "DagRunInfo | None" = None):
        self.task = task
        self.id = ti.get("id")
        self.dag_id = ti.get("dag_id") or task.dag_id
        self.task_id = ti.get("task_id") or task.task_id
        self.run_id = ti.get("run_id")
        self.try_number = ti.get("try_number", 1)
        self.map_index = ti.get("map_index", -1) if ti.get("map_index") is not None else -1
        self.max_tries = ti.get("max_tries", task.retries)
        self.hostname = ti.get("hostname")
        self.start_date = ti.get("start_date")
        self.dag_run = dag_run
        self.state = "running"
        self.log = logging.getLogger("airflow.task")

    def __repr__(self) -> str:
        return f"RuntimeTaskInstance(dag_id={self.dag_id!r}, task_id={self.task_id!r}, run_id={self.run_id!r}, try_number={self.try_number})"

    @property
    def logical_date(self):
        return self.dag_run.logical_date if self.dag_run else None

    def get_dagrun(self):
        return self.dag_run

    def xcom_push(self, key: str, value: Any) -> None:
        get_comms().set_xcom(self.dag_id, self.run_id, self.task_id, key, value, self.map_index)

    def xcom_pull(self, task_ids=None, key: str = RETURN_KEY, dag_id: str | None = None,
                  map_indexes=None, include_prior_dates: bool = False, default: Any = None,
                  run_id: str | None = None) -> Any:
        # Airflow 3: no task_ids means this task; a string gives one value, a list a list.
        if include_prior_dates:
            raise NotImplementedError("Leoflow does not support xcom_pull(include_prior_dates=True) yet")
        comms = get_comms()
        dag_id = dag_id or self.dag_id
        run_id = run_id or self.run_id
        single = task_ids is None or isinstance(task_ids, str)
        ids = [task_ids or self.task_id] if single else list(task_ids)
        if map_indexes is None or isinstance(map_indexes, int):
            indexes = [-1 if map_indexes is None else map_indexes]
        else:
            indexes = list(map_indexes)
        values = []
        for task_id in ids:
            for index in indexes:
                found, value = comms.get_xcom(dag_id, run_id, task_id, key, index)
                values.append(value if found else default)
        if single and len(indexes) == 1:
            return values[0]
        return values

    def get_template_context(self) -> dict:
        return current_context_or_none() or {}


class DagRunInfo:
    """The `dag_run` a task sees (read-only fields from the server)."""

    def __init__(self, **fields: Any):
        fields.setdefault("conf", {})
        self.__dict__.update(fields)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return None  # fields the server did not send read as None

    def __repr__(self) -> str:
        return f"<DagRun {self.__dict__.get('dag_id')} @ {self.__dict__.get('logical_date')}: {self.__dict__.get('run_id')}>"


def _pendulum(value):
    if value is None:
        return None
    import pendulum

    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return pendulum.instance(value)


def process_params(dag, task, conf: dict | None) -> dict:
    """DAG params, then task params, then the run's conf on top; validated."""
    import copy

    from leoflow.sdk.params import ParamsDict

    merged = ParamsDict()
    for source in (dag.params if dag is not None else ParamsDict(), task.params):
        for name, param in source.items_params():
            merged[name] = copy.copy(param)  # conf must not change the DAG's params
    for name, value in (conf or {}).items():
        merged[name] = value
    return merged.validate()


def build_context(dag, task, ti: dict, dag_run: dict) -> dict:
    """The template/execute context, with the keys Airflow 3.2 provides."""
    from leoflow.sdk import macros
    from leoflow.sdk.connection import ConnectionAccessor
    from leoflow.sdk.variable import VariableAccessor

    run_fields = dict(dag_run)
    for key in ("logical_date", "data_interval_start", "data_interval_end", "run_after", "start_date", "end_date", "queued_at"):
        if key in run_fields:
            run_fields[key] = _pendulum(run_fields[key])
    run_fields["conf"] = dict(run_fields.get("conf") or {})
    run = DagRunInfo(**run_fields)
    runtime_ti = RuntimeTaskInstance(task, ti, run)
    logical_date = run_fields.get("logical_date")
    # Runs triggered without a logical date still get ds/ts from run_after.
    date = logical_date or run_fields.get("run_after")
    context: dict[str, Any] = {
        "dag": dag,
        "task": task,
        "ti": runtime_ti,
        "task_instance": runtime_ti,
        "run_id": runtime_ti.run_id,
        "dag_run": run,
        "logical_date": logical_date,
        "data_interval_start": run_fields.get("data_interval_start"),
        "data_interval_end": run_fields.get("data_interval_end"),
        "params": process_params(dag, task, run_fields["conf"]),
        "var": {"json": VariableAccessor(True), "value": VariableAccessor(False)},
        "conn": ConnectionAccessor(),
        "macros": macros,
        "map_index_template": task.map_index_template,
        "inlets": list(task.inlets),
        "outlets": list(task.outlets),
        "inlet_events": {},
        "outlet_events": {},
        "test_mode": False,
        "task_reschedule_count": 0,
        "prev_data_interval_start_success": None,
        "prev_data_interval_end_success": None,
        "prev_start_date_success": None,
        "prev_end_date_success": None,
        "task_instance_key_str": f"{runtime_ti.dag_id}__{runtime_ti.task_id}__{runtime_ti.run_id}",
    }
    if date is not None:
        ts = date.isoformat()
        ds_nodash = date.strftime("%Y%m%d")
        context.update(
            ds=date.strftime("%Y-%m-%d"),
            ds_nodash=ds_nodash,
            ts=ts,
            ts_nodash=date.strftime("%Y%m%dT%H%M%S"),
            ts_nodash_with_tz=ts.replace("-", "").replace(":", ""),
            task_instance_key_str=f"{runtime_ti.dag_id}__{runtime_ti.task_id}__{ds_nodash}",
        )
    return context


def current_context_or_none() -> dict | None:
    return _current[-1] if _current else None


def get_current_context() -> dict:
    """The context of the task running now (only valid inside a task)."""
    if not _current:
        raise RuntimeError(
            "Current context was requested but no context was found! Are you running within a task?"
        )
    return _current[-1]


@contextmanager
def _timeout(limit: dt.timedelta | None):
    # SIGALRM only works in the main thread; elsewhere the runner's own limit applies.
    if not limit or threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return

    def on_alarm(signum, frame):
        raise AirflowTaskTimeout(f"Timeout, PID: {os.getpid()}")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, max(limit.total_seconds(), 0.001))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def execute_task(task, context: dict) -> Any:
    """Render template fields (resolving XComArgs), then pre_execute/execute/post_execute."""
    from leoflow.sdk.templating import render_task_fields

    _current.append(context)
    try:
        # XComArgs are resolved while rendering; their values are not rendered again.
        render_task_fields(task, context)
        with _timeout(task.execution_timeout):
            task.pre_execute(context)
            result = task.execute(context)
            task.post_execute(context, result)
        return result
    finally:
        _current.pop()


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [_jsonable(v) for v in value]
        return sorted(items, key=repr) if isinstance(value, (set, frozenset)) else items
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    return str(value)


def rendered_fields(task) -> dict:
    """The rendered template field values (JSON-able) after execute_task."""
    rendered = task.__dict__.get("_rendered_fields")
    if rendered is None:
        rendered = {name: getattr(task, name, None) for name in task.template_fields}
    return {name: _jsonable(value) for name, value in rendered.items()}


__all__ = [
    "Comms", "set_comms", "get_comms", "build_context", "execute_task", "rendered_fields",
    "get_current_context", "RuntimeTaskInstance", "DagRunInfo", "AirflowException", "NOTSET",
]
