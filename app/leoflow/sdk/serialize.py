"""A DAG as a plain, deterministic JSON document (Leoflow's own format).

The document is what the DAG processor stores and the scheduler reads, so
its hash (of `json.dumps(doc, sort_keys=True)`) must change only when the DAG
does: every list is sorted and every value is plain JSON.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

CRON_PRESETS = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@quarterly": "0 0 1 */3 *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}


def schedule_doc(schedule: Any) -> dict:
    """The schedule document (see docs/serialized-dag.md); unsupported forms raise at parse time."""
    from leoflow.sdk.timetables import schedule_doc as _doc

    return _doc(schedule)


def timetable_summary(schedule: Any) -> str | None:
    """What Airflow 3.2 shows as the timetable summary (presets appear expanded)."""
    if schedule is None:
        return None
    if isinstance(schedule, dt.timedelta):
        return str(schedule)
    if isinstance(schedule, str):
        return CRON_PRESETS.get(schedule, schedule)
    from leoflow.sdk.timetables import summary_and_description

    return summary_and_description(schedule)[0]


def iso_utc(value: dt.datetime | None) -> str | None:
    """ISO-8601 in UTC; naive datetimes are taken to be UTC."""
    if value is None:
        return None
    if not isinstance(value, dt.datetime):  # a date
        value = dt.datetime(value.year, value.month, value.day)
    if value.tzinfo is None or value.utcoffset() is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    utc = value.astimezone(dt.timezone.utc)
    # Rebuild as a stdlib datetime so pendulum and datetime print the same.
    return dt.datetime(utc.year, utc.month, utc.day, utc.hour, utc.minute, utc.second,
                       utc.microsecond, tzinfo=dt.timezone.utc).isoformat()


def seconds(value: dt.timedelta | None) -> float | None:
    return None if value is None else value.total_seconds()


def plain(value: Any) -> Any:
    """Param defaults and the like as JSON values (str() for anything else)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted((plain(v) for v in value), key=repr)
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    return str(value)


def operator_class_path(task) -> str:
    """`module.Qualname` of the class as a DAG author imports it (`airflow.*` for Leoflow's own)."""
    from leoflow.sdk import importhook

    cls = getattr(task, "operator_class", None) or type(task)
    module = cls.__module__
    if module.startswith("leoflow."):
        module = importhook.airflow_name_of(module, cls.__name__) or module
    return f"{module}.{cls.__qualname__}"


def _weight_rule(task) -> tuple[str, list[int] | None]:
    rule = task.weight_rule
    if isinstance(rule, str):
        return rule, None
    from leoflow.sdk.plugins import qualname
    from leoflow.sdk.priority_strategy import custom_weights

    return qualname(type(rule)), custom_weights(task, rule)


def _sensor_doc(task) -> dict | None:
    from leoflow.sdk.sensors.base import BaseSensorOperator

    cls = getattr(task, "operator_class", None) or type(task)
    if not (isinstance(cls, type) and issubclass(cls, BaseSensorOperator)):
        return None
    if getattr(task, "is_mapped", False) and not isinstance(task, BaseSensorOperator):
        kw = task.partial_kwargs
        return {"mode": kw.get("mode", "poke"), "poke_interval": seconds_or(kw.get("poke_interval", 60)),
                "timeout": seconds_or(kw.get("timeout", 604800)), "soft_fail": bool(kw.get("soft_fail", False)),
                "exponential_backoff": bool(kw.get("exponential_backoff", False)),
                "max_wait": seconds_or(kw.get("max_wait")), "deferrable": bool(kw.get("deferrable", False))}
    return {"mode": task.mode, "poke_interval": task.poke_interval, "timeout": task.timeout,
            "soft_fail": bool(task.soft_fail), "exponential_backoff": bool(task.exponential_backoff),
            "max_wait": task.max_wait, "deferrable": bool(getattr(task, "deferrable", False))}


def seconds_or(value) -> float | None:
    if value is None:
        return None
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)


def _group_chain(task) -> tuple[str | None, str | None]:
    group = task.task_group
    own = group.group_id if group is not None and not group.is_root else None
    mapped = next(task.iter_mapped_task_groups(), None)
    return own, (mapped.group_id if mapped is not None else None)


def _assets(items) -> list[dict]:
    from leoflow.sdk.assets import Asset, AssetAlias, AssetRef

    out = []
    for item in items or []:
        if isinstance(item, (Asset, AssetAlias, AssetRef)):
            out.append(item.doc())
    return out


def _extra_links(task) -> dict:
    """Link names (what the task shows) and where each try keeps a link's URL (its XCom key)."""
    keys = {str(link.name): getattr(link, "xcom_key", None) or f"_link_{type(link).__name__}"
            for link in getattr(task, "operator_extra_links", None) or ()}
    return {"extra_links": sorted(keys), "extra_link_keys": dict(sorted(keys.items()))}


def task_doc(task) -> dict:
    group_id, mapped_group_id = _group_chain(task)
    weight_rule, weights = _weight_rule(task)
    return {
        "task_id": task.task_id,
        "task_type": task.task_type,
        "upstream": sorted(task.upstream_task_ids),
        "downstream": sorted(task.downstream_task_ids),
        "trigger_rule": str(task.trigger_rule),
        "retries": task.retries,
        "retry_delay": seconds(task.retry_delay),
        "retry_exponential_backoff": bool(task.retry_exponential_backoff),
        "max_retry_delay": seconds(task.max_retry_delay),
        "execution_timeout": seconds(task.execution_timeout),
        "pool": task.pool,
        "pool_slots": task.pool_slots,
        "queue": task.queue,
        "executor": getattr(task, "executor", None),  # None: the deployment's default executor
        "priority_weight": task.priority_weight,
        "weight_rule": weight_rule,
        "owner": task.owner,
        "depends_on_past": task.depends_on_past,
        "template_fields": list(task.template_fields),
        "doc_md": task.doc_md,
        "ui_color": task.ui_color,
        "ui_fgcolor": task.ui_fgcolor,
        "is_mapped": bool(task.is_mapped),
        "operator_class": operator_class_path(task),
        "operator_name": task.operator_name,
        "task_display_name": task.task_display_name,
        "task_group_id": group_id,
        "mapped_group_id": mapped_group_id,
        "expand": task.expand_input.to_doc() if task.is_mapped else None,
        "is_setup": bool(task.is_setup),
        "is_teardown": bool(task.is_teardown),
        "on_failure_fail_dagrun": bool(task.on_failure_fail_dagrun),
        "ignore_first_depends_on_past": bool(task.ignore_first_depends_on_past),
        "wait_for_downstream": bool(task.wait_for_downstream),
        "wait_for_past_depends_before_skipping": bool(task.wait_for_past_depends_before_skipping),
        "max_active_tis_per_dag": task.max_active_tis_per_dag,
        "max_active_tis_per_dagrun": task.max_active_tis_per_dagrun,
        "map_index_template": task.map_index_template,
        "do_xcom_push": bool(task.do_xcom_push),
        "multiple_outputs": bool(task.multiple_outputs),
        "outlets": _assets(task.outlets),
        "inlets": _assets(task.inlets),
        "sensor": _sensor_doc(task),
        "deferrable": bool(getattr(task, "deferrable", False)),
        "inherits_from_empty_operator": bool(task.inherits_from_empty_operator),
        "start_from_trigger": bool(getattr(task, "start_from_trigger", False)),
        "template_ext": list(task.template_ext),
        **_extra_links(task),
        **{f"has_{name}": getattr(task, name, None) is not None for name in (
            "on_execute_callback", "on_failure_callback", "on_success_callback", "on_retry_callback",
            "on_skipped_callback")},
        **({"priority_weight_total": weights[0], "weight_by_try": weights} if weights else {}),
        **({"executor_config": executor_config_doc(task.executor_config)}
           if getattr(task, "executor_config", None) else {}),
    }


def executor_config_doc(config) -> dict:
    """A task's `executor_config` as JSON: a `pod_override` V1Pod through the kubernetes client's own
    serializer (the Kubernetes executor merges it onto the pod), anything else JSON can hold, else its text."""
    import json

    doc = {}
    for key, value in dict(config).items():
        if hasattr(value, "openapi_types") and hasattr(value, "to_dict"):  # a kubernetes.client model
            from kubernetes.client import ApiClient

            value = ApiClient().sanitize_for_serialization(value)
        doc[str(key)] = json.loads(json.dumps(value, default=str))
    return doc


def dag_doc_md(dag) -> str | None:
    """A DAG's doc_md; `doc_md="README.md"` means that file (found like a template), as in Airflow."""
    doc = dag.doc_md
    if not isinstance(doc, str) or not doc.strip().endswith(".md") or "\n" in doc.strip():
        return doc
    try:
        return dag.get_template_env().loader.get_source(dag.get_template_env(), doc.strip())[0]
    except Exception:  # not a file after all: the text itself
        return doc


def _groups(dag) -> dict:
    out = {}
    for group_id, group in dag.task_group_dict.items():
        parent = group.parent_group
        children = sorted((c.group_id if hasattr(c, "children") else c.task_id) for c in group.children.values())
        out[group_id] = {
            "parent_group_id": parent.group_id if parent is not None and not parent.is_root else None,
            "is_mapped": bool(group.is_mapped),
            "expand": group.expand_input.to_doc() if group.is_mapped and group.expand_input is not None else None,
            "tooltip": group.tooltip,
            "ui_color": group.ui_color,
            "ui_fgcolor": group.ui_fgcolor,
            "prefix_group_id": bool(group.prefix_group_id),
            "group_display_name": group.group_display_name or None,
            "children": children,
        }
    return out


def _param_specs(dag) -> dict:
    from leoflow.sdk.params import NOTSET

    out = {}
    for name in sorted(dag.params):
        param = dag.params.get_param(name)
        spec = {"description": param.description, "schema": plain(param.schema)}
        if param.value is not NOTSET:
            spec["default"] = plain(param.value)
        out[name] = spec
    return out


def serialize_dag(dag) -> dict:
    """The DAG's document; see the module docstring for the rules."""
    from leoflow.sdk.timetables import summary_and_description

    _, description, timetable_type = summary_and_description(dag.schedule)
    sched = schedule_doc(dag.schedule)
    tz = dag.timezone
    tz_name = getattr(tz, "name", None) or getattr(tz, "key", None) or str(tz)
    extra: dict = {}
    if tz_name not in ("UTC", "Etc/UTC", "+00:00", "utc"):
        extra["timezone"] = tz_name
    asset_expr = None
    if sched["kind"] == "assets":
        asset_expr = sched["value"]
    elif sched["kind"] == "asset_or_time":
        asset_expr = sched["assets"]
    return {
        **extra,
        "dag_display_name": dag.dag_display_name,
        "timetable_description": description,
        "timetable_type": timetable_type,
        "asset_expression": asset_expr,
        "max_consecutive_failed_dag_runs": dag.max_consecutive_failed_dag_runs,
        "fail_fast": bool(dag.fail_fast),
        "param_specs": _param_specs(dag),
        "render_template_as_native_obj": bool(dag.render_template_as_native_obj),
        "template_searchpath": list(dag.template_searchpath) if dag.template_searchpath else None,
        "has_on_success_callback": dag.on_success_callback is not None,
        "has_on_failure_callback": dag.on_failure_callback is not None,
        "task_groups": _groups(dag),
        "edge_labels": {up: {down: info.get("label") for down, info in sorted(downs.items())}
                        for up, downs in sorted(dag.edge_info.items())},
        "dag_id": dag.dag_id,
        "fileloc": dag.fileloc,
        "description": dag.description,
        "doc_md": dag_doc_md(dag),
        "schedule": sched,
        "timetable_summary": timetable_summary(dag.schedule),
        "start_date": iso_utc(dag.start_date),
        "end_date": iso_utc(dag.end_date),
        "catchup": bool(dag.catchup),
        "tags": sorted(dag.tags),
        "owner": dag.owner,
        "max_active_runs": dag.max_active_runs,
        "max_active_tasks": dag.max_active_tasks,
        "dagrun_timeout": seconds(dag.dagrun_timeout),
        "params": {name: plain(dag.params[name]) for name in sorted(dag.params)},
        "is_paused_upon_creation": dag.is_paused_upon_creation,
        "tasks": [task_doc(dag.task_dict[t]) for t in sorted(dag.task_dict)],
    }
