"""Rows to the exact response bodies of Airflow 3.2.1 (field names, order, nulls, datetime format).

Plain functions taking rows (or dicts) and returning dicts; no queries here.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json

_UTC = dt.UTC


def iso(value) -> str | None:
    """Datetimes as pydantic writes them: UTC, `Z`, microseconds only when non-zero."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, (int, float)):
        value = dt.datetime.fromtimestamp(value, _UTC)
    if value.tzinfo is None:
        value = value.replace(tzinfo=_UTC)
    value = value.astimezone(_UTC)
    # Not strftime: its %Y writes year 111 as "111", which no client parses as a date.
    text = (f"{value.year:04d}-{value.month:02d}-{value.day:02d}T"
            f"{value.hour:02d}:{value.minute:02d}:{value.second:02d}")
    return f"{text}.{value.microsecond:06d}Z" if value.microsecond else f"{text}Z"


def iso_duration(value) -> str | None:
    """A timedelta (or seconds) as pydantic's ISO 8601 duration, e.g. `PT1H30M`, `P1D`."""
    if value is None:
        return None
    if isinstance(value, dict):  # {"__type": "timedelta", "__var": seconds} style
        value = value.get("__var", value.get("seconds"))
    seconds = value.total_seconds() if isinstance(value, dt.timedelta) else float(value)
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    out = f"{sign}P" + (f"{int(days)}D" if days else "")
    time = (f"{int(hours)}H" if hours else "") + (f"{int(minutes)}M" if minutes else "")
    if secs:
        time += (f"{int(secs)}" if secs == int(secs) else f"{secs:g}") + "S"
    if time:
        out += "T" + time
    return out if out != f"{sign}P" else "PT0S"


def seconds_between(start, end) -> float | None:
    if start is None or end is None:
        return None
    return (end - start).total_seconds()


def file_token(secret: str, bundle_name: str | None, relative_fileloc: str | None) -> str:
    """An opaque signed reference to a DAG file (the UI passes it back to `parseDagFile`)."""
    payload = json.dumps({"bundle_name": bundle_name, "relative_fileloc": relative_fileloc},
                         separators=(",", ":")).encode()
    body = base64.urlsafe_b64encode(payload).rstrip(b"=")
    sig = hmac.new(secret.encode(), body, hashlib.sha1).digest()
    return (body + b"." + base64.urlsafe_b64encode(sig).rstrip(b"=")).decode()


def read_file_token(secret: str, token: str) -> dict | None:
    """The payload of a token made by `file_token`, or None if it was not ours."""
    try:
        body, _, sig = token.encode().partition(b".")
        want = base64.urlsafe_b64encode(hmac.new(secret.encode(), body, hashlib.sha1).digest()).rstrip(b"=")
        if not hmac.compare_digest(want, sig):
            return None
        return json.loads(base64.urlsafe_b64decode(body + b"=" * (-len(body) % 4)))
    except (ValueError, TypeError):
        return None


def dag_version(row) -> dict | None:
    if row is None:
        return None
    return {
        "id": row.id,
        "version_number": row.version_number,
        "dag_id": row.dag_id,
        "bundle_name": row.bundle_name,
        "bundle_version": row.bundle_version,
        "created_at": iso(row.created_at),
        "dag_display_name": row.dag_id,
        "bundle_url": None,
    }


def _owners(owners: str | None) -> list[str]:
    return [o.strip() for o in (owners or "").split(",") if o.strip()]


def display_name(row) -> str:
    """A DAG row's display name (the id when the DAG sets none)."""
    return getattr(row, "dag_display_name", None) or row.dag_id


def dag(row, tags: list[str], token: str) -> dict:
    """DAGResponse."""
    return {
        "dag_id": row.dag_id,
        "dag_display_name": display_name(row),
        "is_paused": bool(row.is_paused),
        "is_stale": bool(row.is_stale),
        "last_parsed_time": iso(row.last_parsed_time),
        "last_parse_duration": None,
        "last_expired": iso(row.last_expired),
        "bundle_name": row.bundle_name,
        "bundle_version": row.bundle_version,
        "relative_fileloc": row.relative_fileloc,
        "fileloc": row.fileloc,
        "description": row.description,
        "timetable_summary": row.timetable_summary,
        "timetable_description": row.timetable_description,
        "timetable_partitioned": False,
        "tags": [{"name": t, "dag_id": row.dag_id, "dag_display_name": display_name(row)} for t in sorted(tags)],
        "max_active_tasks": row.max_active_tasks,
        "max_active_runs": row.max_active_runs,
        "max_consecutive_failed_dag_runs": row.max_consecutive_failed_dag_runs,
        "has_task_concurrency_limits": bool(row.has_task_concurrency_limits),
        "has_import_errors": bool(row.has_import_errors),
        "next_dagrun_logical_date": iso(row.next_dagrun),
        "next_dagrun_data_interval_start": iso(row.next_dagrun_data_interval_start),
        "next_dagrun_data_interval_end": iso(row.next_dagrun_data_interval_end),
        "next_dagrun_run_after": iso(row.next_dagrun_create_after),
        "allowed_run_types": None,
        "owners": _owners(row.owners),
        "file_token": token,
    }


_PARAM_CLASS = "airflow.sdk.definitions.param.Param"
_PARAM_KEYS = {"__class", "value", "description", "schema", "source"}


def param_spec(spec) -> tuple[object, str | None, dict, str | None]:
    """(value, description, schema, source) of a serialized param: a Param's dump or a plain default."""
    if isinstance(spec, dict) and "schema" in spec and set(spec) <= _PARAM_KEYS:
        return spec.get("value"), spec.get("description"), spec.get("schema") or {}, spec.get("source")
    return spec, None, {}, None


def params(values: dict | None) -> dict:
    """A DAG's or task's params as Airflow's API shows them: each a Param dump."""
    out = {}
    for name, spec in (values or {}).items():
        value, description, schema, source = param_spec(spec)
        out[name] = {"__class": _PARAM_CLASS, "value": value, "description": description, "schema": schema,
                     "source": source}
    return out


def dag_details(row, tags: list[str], token: str, *, data: dict, version, last_parsed,
                active_runs_count: int, is_favorite: bool = False) -> dict:
    """DAGDetailsResponse: the DAG body, then what only the serialized DAG knows."""
    body = dag(row, tags, token)
    body.pop("file_token")
    body.update({
        "catchup": bool(data.get("catchup", False)),
        "dag_run_timeout": iso_duration(data.get("dagrun_timeout")),
        "asset_expression": getattr(row, "asset_expression", None),
        "doc_md": data.get("doc_md"),
        "start_date": iso(data.get("start_date")),
        "end_date": iso(data.get("end_date")),
        "is_paused_upon_creation": data.get("is_paused_upon_creation"),
        "params": params(data.get("params")),
        "render_template_as_native_obj": bool(data.get("render_template_as_native_obj", False)),
        "template_search_path": data.get("template_searchpath"),
        "timezone": data.get("timezone") or "UTC",
        "last_parsed": iso(last_parsed),
        "default_args": data.get("default_args") or {},
        "owner_links": data.get("owner_links") or {},
        "is_favorite": is_favorite,
        "active_runs_count": active_runs_count,
        "file_token": token,
        "concurrency": row.max_active_tasks,
        "latest_dag_version": dag_version(version),
    })
    return body


def dag_run(row, versions: list) -> dict:
    """DAGRunResponse."""
    return {
        "dag_run_id": row.run_id,
        "dag_id": row.dag_id,
        "logical_date": iso(row.logical_date),
        "queued_at": iso(row.queued_at),
        "start_date": iso(row.start_date),
        "end_date": iso(row.end_date),
        "duration": seconds_between(row.start_date, row.end_date),
        "data_interval_start": iso(row.data_interval_start),
        "data_interval_end": iso(row.data_interval_end),
        "run_after": iso(row.run_after),
        "last_scheduling_decision": iso(row.last_scheduling_decision),
        "run_type": row.run_type,
        "state": row.state,
        "triggered_by": row.triggered_by,
        "triggering_user_name": row.triggering_user_name,
        "conf": row.conf if row.conf is not None else {},
        "note": row.note,
        "dag_versions": [dag_version(v) for v in versions],
        "bundle_version": row.bundle_version,
        "dag_display_name": row.dag_id,
        "partition_key": None,
    }


# What Airflow shows as the operator name of its decorated tasks, for DAG documents that carry
# only the class name.
DECORATOR_NAMES = {
    "_PythonDecoratedOperator": "@task",
    "_BashDecoratedOperator": "@task.bash",
    "_BranchPythonDecoratedOperator": "@task.branch",
    "_ShortCircuitDecoratedOperator": "@task.short_circuit",
    "_PythonVirtualenvDecoratedOperator": "@task.virtualenv",
    "_BranchPythonVirtualenvDecoratedOperator": "@task.branch_virtualenv",
    "_PythonExternalDecoratedOperator": "@task.external_python",
    "_SensorDecoratedOperator": "@task.sensor",
    "_DockerDecoratedOperator": "@task.docker",
    "_KubernetesDecoratedOperator": "@task.kubernetes",
}


def operator_name(custom: str | None, task_type: str | None) -> str | None:
    return custom or DECORATOR_NAMES.get(task_type or "") or task_type


def _operator_name(ti) -> str | None:
    return operator_name(ti.custom_operator_name, ti.operator)


def task_instance(ti, run, version, rendered_fields: dict | None = None) -> dict:
    """TaskInstanceResponse; `run` gives logical_date and run_after."""
    duration = ti.duration if ti.duration is not None else seconds_between(ti.start_date, ti.end_date)
    return {
        "id": ti.id,
        "task_id": ti.task_id,
        "dag_id": ti.dag_id,
        "dag_run_id": ti.run_id,
        "map_index": ti.map_index,
        "logical_date": iso(run.logical_date),
        "run_after": iso(run.run_after),
        "start_date": iso(ti.start_date),
        "end_date": iso(ti.end_date),
        "duration": duration,
        "state": ti.state,
        "try_number": ti.try_number,
        "max_tries": ti.max_tries,
        "task_display_name": ti.task_id,
        "dag_display_name": ti.dag_id,
        "hostname": ti.hostname,
        "unixname": ti.unixname,
        "pool": ti.pool,
        "pool_slots": ti.pool_slots,
        "queue": ti.queue,
        "priority_weight": ti.priority_weight,
        "operator": ti.operator,
        "operator_name": _operator_name(ti),
        "queued_when": iso(ti.queued_dttm),
        "scheduled_when": iso(ti.scheduled_dttm),
        "pid": ti.pid,
        "executor": ti.executor,
        # Airflow shows the executor config as the text of a Python dict.
        "executor_config": str(ti.executor_config if ti.executor_config is not None else {}),
        "note": ti.note,
        "rendered_map_index": ti.rendered_map_index,
        "rendered_fields": rendered_fields or {},
        "trigger": None,
        "triggerer_job": None,
        "dag_version": dag_version(version),
    }


_NO_VALUE = object()


def xcom(row, run, value=_NO_VALUE) -> dict:
    """XComResponse, or XComResponseNative when a value is given."""
    body = {
        "key": row.key,
        "timestamp": iso(row.timestamp),
        "logical_date": iso(run.logical_date),
        "map_index": row.map_index,
        "task_id": row.task_id,
        "dag_id": row.dag_id,
        "run_id": row.run_id,
        "dag_display_name": row.dag_id,
        "task_display_name": row.task_id,
        "run_after": iso(run.run_after),
    }
    if value is not _NO_VALUE:
        body["value"] = value
    return body


def import_error(row) -> dict:
    return {
        "import_error_id": row.id,
        "timestamp": iso(row.timestamp),
        "filename": row.filename,
        "bundle_name": row.bundle_name,
        "stack_trace": row.stacktrace,
    }
