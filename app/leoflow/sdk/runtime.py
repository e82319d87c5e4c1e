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
from leoflow.runner.asset_events import (InletEventsAccessors, OutletEventAccessors, TriggeringAssetEvents,
                                         record_metadata)
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

    @property
    def rendered_map_index(self) -> str | None:
        return self.__dict__.get("_rendered_map_index")

    def get_previous_dagrun(self, state: str | None = None):
        """The run of this DAG before this one (by logical date), optionally in `state`; None if none."""
        logical = self.logical_date
        if logical is None or get_comms_or_none() is None or not hasattr(get_comms_or_none(), "get_json"):
            return None
        body = self._get("dag-runs/previous", {"dag_id": self.dag_id, "logical_date": logical, "state": state})
        return DagRunInfo(**_with_dates(body)) if body else None

    def get_previous_ti(self, state: str | None = None, logical_date=None, map_index: int = -1):
        """This task's instance in an earlier run (before `logical_date`, default this run's); None if none."""
        if get_comms_or_none() is None or not hasattr(get_comms_or_none(), "get_json"):
            return None
        body = self._get(f"task-instances/previous/{self.dag_id}/{self.task_id}", {
            "logical_date": logical_date or self.logical_date, "map_index": map_index, "state": state})
        if not body:
            return None
        from leoflow.runner.asset_events import Record

        return Record(_with_dates(body))

    # -- what sensors ask the server (Airflow 3.2's RuntimeTaskInstance methods) ----------
    def _get(self, path: str, params: dict | None = None):
        getter = getattr(get_comms_or_none(), "get_json", None)
        if getter is None:
            raise RuntimeError("this call needs a Leoflow server (it is not available in `leoflow tasks test`)")
        return getter(path, params)

    @property
    def reschedule_count(self) -> int:
        context = current_context_or_none() or {}
        return int(context.get("task_reschedule_count") or 0)

    def get_first_reschedule_date(self, context=None):
        if not self.reschedule_count or not self.id:
            return None
        value = self._get(f"task-reschedules/{self.id}/start_date")
        if isinstance(value, str):
            return _pendulum(dt.datetime.fromisoformat(value.replace("Z", "+00:00")))
        return value

    def get_ti_count(self, dag_id: str, map_index: int | None = None, task_ids=None, task_group_id=None,
                     logical_dates=None, run_ids=None, states=None) -> int:
        return int(self._get("task-instances/count", {
            "dag_id": dag_id, "map_index": map_index, "task_ids": task_ids, "task_group_id": task_group_id,
            "logical_dates": logical_dates, "run_ids": run_ids, "states": states}) or 0)

    def get_dr_count(self, dag_id: str, logical_dates=None, run_ids=None, states=None) -> int:
        return int(self._get("dag-runs/count", {"dag_id": dag_id, "logical_dates": logical_dates,
                                                "run_ids": run_ids, "states": states}) or 0)

    def get_task_states(self, dag_id: str, map_index: int | None = None, task_ids=None, task_group_id=None,
                        logical_dates=None, run_ids=None) -> dict:
        body = self._get("task-instances/states", {
            "dag_id": dag_id, "map_index": map_index, "task_ids": task_ids, "task_group_id": task_group_id,
            "logical_dates": logical_dates, "run_ids": run_ids}) or {}
        return body.get("task_states", {})

    @staticmethod
    def get_dagrun_state(dag_id: str, run_id: str) -> str:
        comms = get_comms_or_none()
        return (comms.get_json(f"dag-runs/{dag_id}/{run_id}/state") or {}).get("state")

    def xcom_pull(self, task_ids=None, dag_id: str | None = None, key: str = RETURN_KEY,
                  include_prior_dates: bool = False, *, map_indexes: Any = NOTSET, default: Any = None,
                  run_id: str | None = None) -> Any:
        """Airflow 3.2's rules: no task_ids means this task; without map_indexes every map index's value
        is pulled (one value when exactly one exists); a list of task ids or indexes gives a list."""
        comms = get_comms()
        if include_prior_dates:
            return self._pull_including_prior(comms, task_ids, dag_id, key, map_indexes, default, run_id)
        dag_id = dag_id or self.dag_id
        run_id = run_id or self.run_id
        single_task = task_ids is None or isinstance(task_ids, str)
        ids = [task_ids or self.task_id] if single_task else list(task_ids)
        if map_indexes is NOTSET:
            if single_task and default is NOTSET and self._is_mapped_task(ids[0]):
                return _all_values(comms, dag_id, run_id, ids[0], key)  # XComArg of a mapped task: a list
            values: list = []
            for task_id in ids:
                found = _all_values(comms, dag_id, run_id, task_id, key)
                if found:
                    values.extend(found)
                else:  # Airflow 3.2.1 appends None here even when a default is given; Leoflow honours it
                    values.append(default)
            if single_task and len(values) == 1:
                return values[0]
            return values
        indexes = [map_indexes] if map_indexes is None or isinstance(map_indexes, int) else list(map_indexes)
        values = []
        for task_id in ids:
            for index in indexes:
                found, value = comms.get_xcom(dag_id, run_id, task_id, key, -1 if index is None else index)
                values.append(value if found and value is not None else default)
        if single_task and (map_indexes is None or isinstance(map_indexes, int)):
            return values[0]
        return values

    def _pull_including_prior(self, comms, task_ids, dag_id, key, map_indexes, default, run_id):
        """`include_prior_dates=True`: each value is the newest from this run or an earlier one."""
        import inspect

        if "include_prior_dates" not in inspect.signature(comms.get_xcom).parameters:
            raise NotImplementedError("xcom_pull(include_prior_dates=True) needs a Leoflow server")
        single_task = task_ids is None or isinstance(task_ids, str)
        ids = [task_ids or self.task_id] if single_task else list(task_ids)
        single_index = map_indexes is NOTSET or map_indexes is None or isinstance(map_indexes, int)
        if map_indexes is NOTSET or map_indexes is None:
            indexes = [-1]
        else:
            indexes = [map_indexes] if isinstance(map_indexes, int) else list(map_indexes)
        values = []
        for task_id in ids:
            for index in indexes:
                found, value = comms.get_xcom(dag_id or self.dag_id, run_id or self.run_id, task_id, key, index,
                                              include_prior_dates=True)
                values.append(value if found and value is not None else default)
        return values[0] if single_task and single_index else values

    def _is_mapped_task(self, task_id: str) -> bool:
        """XComArg resolution (`default=NOTSET`) of a mapped task always gets the list of its results, as
        Airflow's lazy sequence does, even when it has one map index."""
        dag = getattr(self.task, "dag", None)
        other = dag.task_dict.get(task_id) if dag is not None else None
        return other is not None and needs_expansion(other)

    def get_template_context(self) -> dict:
        return current_context_or_none() or self.__dict__.get("_context") or {}


def _with_dates(body: dict) -> dict:
    out = dict(body)
    for key in ("logical_date", "data_interval_start", "data_interval_end", "run_after", "start_date", "end_date"):
        if isinstance(out.get(key), str):
            out[key] = _pendulum(dt.datetime.fromisoformat(out[key].replace("Z", "+00:00")))
    return out


def _all_values(comms, dag_id: str, run_id: str, task_id: str, key: str) -> list:
    """Every map index's value of one task's XCom, in order (Comms without sequences: the unmapped one)."""
    sequence = getattr(comms, "get_xcom_sequence", None)
    if sequence is not None:
        return list(sequence(dag_id, run_id, task_id, key) or [])
    found, value = comms.get_xcom(dag_id, run_id, task_id, key, -1)
    return [value] if found else []


def needs_expansion(task) -> bool:
    """A mapped operator, or a task inside a mapped task group: it runs once per map index."""
    if getattr(task, "is_mapped", False) is True:
        return True
    groups = getattr(task, "iter_mapped_task_groups", None)
    return groups is not None and next(iter(groups()), None) is not None


def make_pull(comms, dag, dag_id: str, run_id: str):
    """`pull(task_id, key, map_indexes)` for `expand_for`: a mapped upstream gives the list of its results."""

    def pull(task_id: str, key: str, map_indexes=None):
        if map_indexes is None:
            upstream = dag.task_dict.get(task_id) if dag is not None else None
            if upstream is not None and needs_expansion(upstream):
                return _all_values(comms, dag_id, run_id, task_id, key)
            found, value = comms.get_xcom(dag_id, run_id, task_id, key, -1)
            return value if found else None
        if isinstance(map_indexes, int):
            found, value = comms.get_xcom(dag_id, run_id, task_id, key, map_indexes)
            return value if found else None
        return [pull(task_id, key, i) for i in map_indexes]

    return pull


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


def build_context(dag, task, ti: dict, dag_run: dict, server_context: dict | None = None) -> dict:
    """The template/execute context, with the keys Airflow 3.2 provides.

    `server_context` is the Execution API's answer to `PATCH .../run` (reschedule count, deferral resume
    point, previous successful run), when the task runs under a server.
    """
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
    context: dict[str, Any] = {
        "dag": dag,
        "task": task,
        "ti": runtime_ti,
        "task_instance": runtime_ti,
        "run_id": runtime_ti.run_id,
        "try_number": runtime_ti.try_number,
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
        "inlet_events": InletEventsAccessors(list(task.inlets), getattr(get_comms_or_none(), "get_json", None)),
        "outlet_events": OutletEventAccessors(),
        "test_mode": bool(run_fields.get("run_type") == "manual" and run_fields.get("triggered_by") == "test"),
        "task_reschedule_count": (server_context or {}).get("task_reschedule_count", 0),
        "triggering_asset_events": TriggeringAssetEvents(run_fields.get("consumed_asset_events")),
        "expanded_ti_count": _expanded_count(runtime_ti),
        "prev_data_interval_start_success": None,
        "prev_data_interval_end_success": None,
        "prev_start_date_success": None,
        "prev_end_date_success": None,
        "task_instance_key_str": f"{runtime_ti.dag_id}__{runtime_ti.task_id}__{runtime_ti.run_id}",
    }
    # A run without a logical date (triggered with none, as the REST API and UI do by default) has no
    # earlier run to compare with: the server would answer all None, so the request is not made.
    previous = _previous_success(runtime_ti) if logical_date is not None else {}
    for key in ("data_interval_start", "data_interval_end", "start_date", "end_date"):
        value = previous.get(key)
        if isinstance(value, str):
            value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        context[f"prev_{key}_success"] = _pendulum(value) if value is not None else None
    runtime_ti.__dict__["_context"] = context  # listeners and callbacks ask the ti for it
    if logical_date is not None:
        ts = logical_date.isoformat()
        ds_nodash = logical_date.strftime("%Y%m%d")
        context.update(
            ds=logical_date.strftime("%Y-%m-%d"),
            ds_nodash=ds_nodash,
            ts=ts,
            ts_nodash=logical_date.strftime("%Y%m%dT%H%M%S"),
            ts_nodash_with_tz=ts.replace("-", "").replace(":", ""),
            task_instance_key_str=f"{runtime_ti.dag_id}__{runtime_ti.task_id}__{ds_nodash}",
        )
    else:  # as Airflow 3: a run without a logical date has none of the keys that follow from it
        for key in ("logical_date", "data_interval_start", "data_interval_end", "prev_data_interval_start_success",
                    "prev_data_interval_end_success"):
            del context[key]
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

    skipped_by_map = task.__dict__.get("_skipped_by_map")
    if skipped_by_map is not None:  # see mapping.skipped_index
        raise skipped_by_map
    _current.append(context)
    try:
        # XComArgs are resolved while rendering; their values are not rendered again.
        render_task_fields(task, context)
        _call_all(getattr(task, "on_execute_callback", None), context, "on_execute_callback")
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


def _expanded_count(ti: RuntimeTaskInstance) -> int | None:
    """How many map indexes this mapped task has (None for an unmapped task or without a server)."""
    getter = getattr(get_comms_or_none(), "get_json", None)
    if ti.map_index < 0 or getter is None:
        return None
    try:
        return int(getter("task-instances/count", {"dag_id": ti.dag_id, "task_ids": [ti.task_id],
                                                   "run_ids": [ti.run_id]}) or 0) or None
    except Exception:
        return None


def _previous_success(ti: RuntimeTaskInstance) -> dict:
    """The previous successful run's dates (Execution API), or {} when unknown or not under a server."""
    ask = getattr(get_comms_or_none(), "get_previous_successful_dagrun", None)
    if ask is None or not ti.id:
        return {}
    try:
        return ask(ti.id) or {}
    except Exception:  # an old server, or none: the prev_* keys stay None
        return {}


def get_comms_or_none():
    try:
        return get_comms()
    except RuntimeError:
        return None


class Outcome:
    """How one try ended, as the body of the final `PATCH .../state` (Airflow 3.2.1's payloads)."""

    def __init__(self, state: str, **fields: Any):
        self.state = state
        self.fields = fields
        self.skip_downstream: list = []
        self.error: BaseException | None = None
        self.rendered_map_index: str | None = None

    def report(self) -> dict:
        body = {"state": self.state, **self.fields}
        if self.rendered_map_index is not None:
            body["rendered_map_index"] = self.rendered_map_index
        return body


def _has_mapped_dependants(task) -> bool:
    """Some mapped task (or mapped group) expands over this task's result."""
    dag = task.dag
    if dag is None:
        return False
    for other in dag.task_dict.values():
        inputs = []
        if getattr(other, "is_mapped", False) is True and getattr(other, "expand_input", None) is not None:
            inputs.append(other.expand_input)
        groups = getattr(other, "iter_mapped_task_groups", None)
        for group in (groups() if groups else []):
            if getattr(group, "expand_input", None) is not None:
                inputs.append(group.expand_input)
        for expand_input in inputs:
            try:
                if any(op.task_id == task.task_id for op in expand_input.upstream_operators()):
                    return True
            except Exception:
                continue
    return False


def push_result(task, ti: RuntimeTaskInstance, result: Any, is_mapped: bool) -> None:
    """Push the return value as Airflow's runner does, recording how many items a mapped task will get."""
    value = result if getattr(task, "do_xcom_push", True) else None
    mapped_dependants = not is_mapped and _has_mapped_dependants(task)
    if value is None:
        if mapped_dependants:
            raise AirflowException(f"Task {task.task_id} did not push any XCom value for a downstream task to "
                                   "map over (it returned None)")
        return
    mapped_length = None
    if mapped_dependants:
        if not isinstance(value, (list, dict)):
            raise AirflowException(f"unmappable return type {type(value).__qualname__!r}: a downstream task "
                                   "maps over it, so it must be a list or a dict")
        mapped_length = len(value)
    comms = get_comms()
    if getattr(task, "multiple_outputs", False):
        if not isinstance(value, dict):
            raise TypeError(f"Returned output was type {type(value)} expected dictionary for multiple_outputs")
        for k in value:
            if not isinstance(k, str):
                raise TypeError("Returned dictionary keys must be strings when using multiple_outputs, "
                                f"found {k} ({type(k)}) instead")
        for k, v in value.items():
            ti.xcom_push(k, v)
    logging.getLogger("airflow.task").info("Pushing xcom")
    if mapped_length is not None and "mapped_length" in _set_xcom_params(comms):
        comms.set_xcom(ti.dag_id, ti.run_id, ti.task_id, RETURN_KEY, value, ti.map_index,
                       mapped_length=mapped_length)
    else:
        comms.set_xcom(ti.dag_id, ti.run_id, ti.task_id, RETURN_KEY, value, ti.map_index)


def _set_xcom_params(comms) -> set[str]:
    import inspect

    try:
        return set(inspect.signature(comms.set_xcom).parameters)
    except (TypeError, ValueError):
        return set()


def render_map_index(task, context: dict, *, strict: bool = False) -> str | None:
    """The label of a mapped instance: `map_index_template` rendered after execute (None if none). The
    template is read from the context, where the task itself may have set it while running. As in
    Airflow, a template that fails to render fails a task that succeeded (`strict`); after a failure it
    is only logged."""
    template = context.get("map_index_template", getattr(task, "map_index_template", None))
    if not template or context["ti"].map_index < 0:
        return None
    from leoflow.sdk.templating import template_env

    try:
        rendered = template_env(task.dag, task).from_string(template).render(context)
    except Exception:
        if strict:
            raise
        logging.getLogger("airflow.task").warning("Could not render map_index_template", exc_info=True)
        return None
    return str(rendered) if rendered not in (None, "") else None


def run_task(task, context: dict, *, is_mapped: bool = False, should_retry: bool = False,
             next_method: str | None = None, next_kwargs: Any = None) -> Outcome:
    """Execute (or resume) a task and classify how it ended, as Airflow 3.2.1's task runner does."""
    from leoflow.sdk import exceptions as exc

    log = logging.getLogger("airflow.task")
    ti: RuntimeTaskInstance = context["ti"]
    retry_or_fail = "up_for_retry" if should_retry else "failed"
    skip_tasks: list = []
    branched = False
    _listeners("on_task_instance_running", previous_state="queued", task_instance=ti)
    try:
        try:
            _check_assets_active(task, ti)
            if next_method:
                result = resume_task(task, context, next_method, next_kwargs)
            else:
                result = execute_task(task, context)
            result = _drain_generator(result, context)
        except exc.DownstreamTasksSkipped as skip:
            log.info("Skipping downstream tasks.")
            skip_tasks = [list(t) if isinstance(t, tuple) else t for t in skip.tasks]
            branched, result = True, None
        label = render_map_index(task, context, strict=True)
        if not branched:  # a branch that skipped others pushes no return value (as Airflow's runner)
            push_result(task, ti, result, is_mapped)
        outcome = Outcome("success")
        outcome.rendered_map_index = label
        outcome.skip_downstream = skip_tasks
        events = context["outlet_events"].payload() if hasattr(context.get("outlet_events"), "payload") else []
        if events:
            outcome.fields["outlet_events"] = events
    except exc.DagRunTriggerException as trigger:
        outcome = Outcome(_trigger_dag_run(trigger, ti))
    except exc.TaskDeferred as defer:
        outcome = _deferred(defer)
    except exc.AirflowRescheduleException as reschedule:
        log.info("Rescheduling task, marking task as UP_FOR_RESCHEDULE")
        when = reschedule.reschedule_date
        outcome = Outcome("up_for_reschedule", reschedule_date=when.isoformat() if hasattr(when, "isoformat")
                          else str(when))
    except exc.AirflowSkipException as skip:
        if skip.args:
            log.info("Skipping task. reason=%s", skip.args[0])
        outcome = Outcome("skipped")
    except (exc.AirflowFailException, exc.AirflowSensorTimeout) as error:
        log.exception("Task failed with exception")
        outcome = Outcome("failed")
        outcome.error = error
    except KeyboardInterrupt:
        raise
    except BaseException as error:  # noqa: BLE001 - every other error (SystemExit too) is a failed try
        log.exception("Task failed with exception")
        outcome = Outcome(retry_or_fail)
        outcome.error = error
    if outcome.state in ("failed", "up_for_retry", "skipped"):
        outcome.rendered_map_index = render_map_index(task, context)
    context["exception"] = outcome.error
    ti.state = outcome.state
    if outcome.state == "success":
        _listeners("on_task_instance_success", previous_state="running", task_instance=ti)
    elif outcome.state in ("failed", "up_for_retry"):
        _listeners("on_task_instance_failed", previous_state="running", task_instance=ti, error=outcome.error)
    elif outcome.state == "skipped":
        _listeners("on_task_instance_skipped", previous_state="running", task_instance=ti)
    return outcome


def _listeners(hook: str, **kwargs) -> None:
    """Plugin listeners (Airflow's listener hooks) at the moments Airflow's task runner calls them."""
    try:
        from leoflow.sdk import plugins
    except ImportError:
        return
    call = getattr(plugins, "call_listeners", None)
    if call is not None:
        call(hook, **kwargs)


def _drain_generator(result: Any, context: dict) -> Any:
    """A task function that yields: `Metadata` items become outlet event extras; the return value stays."""
    import types

    if not isinstance(result, types.GeneratorType):
        return result
    try:
        while True:
            item = next(result)
            if not record_metadata(context["outlet_events"], item):
                logging.getLogger("airflow.task").warning("Ignoring a yielded value that is not Metadata: %r", item)
    except StopIteration as stop:
        return stop.value


def _check_assets_active(task, ti: RuntimeTaskInstance) -> None:
    """As Airflow's runner: a task whose inlets/outlets name an inactive asset fails before it runs."""
    from leoflow.sdk.exceptions import AirflowInactiveAssetInInletOrOutletException

    if not (getattr(task, "inlets", None) or getattr(task, "outlets", None)) or not ti.id:
        return
    getter = getattr(get_comms_or_none(), "get_json", None)
    if getter is None:
        return
    body = getter(f"task-instances/{ti.id}/validate-inlets-and-outlets") or {}
    inactive = body.get("inactive_assets") or []
    if inactive:
        names = ", ".join(f"Asset(name={a.get('name')!r}, uri={a.get('uri')!r})" for a in inactive)
        raise AirflowInactiveAssetInInletOrOutletException(
            f"Task has the following inactive assets in its inlets or outlets: {names}")


def _trigger_dag_run(trigger, ti: RuntimeTaskInstance) -> str:
    from leoflow.runner import trigger_dagrun

    client = getattr(get_comms_or_none(), "client", None)
    if client is None:
        logging.getLogger("airflow.task").error("Triggering another DAG needs a Leoflow server")
        return "failed"
    return trigger_dagrun.handle(trigger, client, ti)


def _deferred(defer) -> Outcome:
    from leoflow.scheduler.serde import encode

    classpath, trigger_kwargs = defer.trigger.serialize()
    timeout = defer.timeout
    if isinstance(timeout, dt.timedelta):
        timeout = timeout.total_seconds()
    logging.getLogger("airflow.task").info("Pausing task as DEFERRED. trigger=%s", classpath)
    return Outcome("deferred", classpath=classpath, trigger_kwargs=encode(dict(trigger_kwargs or {})),
                   trigger_timeout=timeout, next_method=defer.method_name,
                   next_kwargs=encode(dict(defer.kwargs or {})))


def resume_task(task, context: dict, next_method: str, next_kwargs: Any) -> Any:
    """Continue a deferred task where its trigger fired (templates are rendered again first)."""
    from leoflow.scheduler.serde import decode
    from leoflow.sdk.templating import render_task_fields

    kwargs = decode(next_kwargs) if next_kwargs else {}
    _current.append(context)
    try:
        render_task_fields(task, context)
        with _timeout(task.execution_timeout):
            return task.resume_execution(next_method, kwargs, context)
    finally:
        _current.pop()


_CALLBACKS = {"success": "on_success_callback", "failed": "on_failure_callback",
              "up_for_retry": "on_retry_callback", "skipped": "on_skipped_callback"}


def _call_all(callbacks, context: dict, what: str) -> None:
    if not callbacks:
        return
    for callback in callbacks if isinstance(callbacks, (list, tuple)) else [callbacks]:
        try:
            callback(context)
        except Exception:  # a failing callback is logged; it never changes the task's state
            logging.getLogger("airflow.task").exception("Failed to run the task's %s", what)


def push_extra_links(task, ti: RuntimeTaskInstance) -> None:
    """Operator extra links are resolved in the task and kept as XComs (`_link_<Class>`), as Airflow 3
    does, so the API can show them without the DAG file."""
    for link in getattr(task, "operator_extra_links", None) or ():
        key = getattr(link, "xcom_key", None) or f"_link_{type(link).__name__}"
        try:
            ti.xcom_push(key, link.get_link(operator=task, ti_key=ti))
        except Exception:
            logging.getLogger("airflow.task").exception("Failed to push an xcom for task operator extra link")


def run_callbacks(task, context: dict, state: str) -> None:
    """The task-level callback for how the try ended, run in the task's own process as in Airflow 3.
    Extra links are pushed first (Airflow's order)."""
    if state in ("success", "failed", "up_for_retry", "skipped"):
        push_extra_links(task, context["ti"])
    name = _CALLBACKS.get(state)
    if name:
        _call_all(getattr(task, name, None), context, name)


__all__ = [
    "Comms", "set_comms", "get_comms", "build_context", "execute_task", "rendered_fields", "run_task",
    "run_callbacks", "make_pull", "needs_expansion", "Outcome",
    "get_current_context", "RuntimeTaskInstance", "DagRunInfo", "AirflowException", "NOTSET",
]
