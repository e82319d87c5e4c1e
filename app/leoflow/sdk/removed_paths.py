"""Airflow 2 import paths that Airflow 3 removed, and what replaces each.

A DAG file written for Airflow 2 that imports one of them fails on Airflow 3
with `ModuleNotFoundError`; Leoflow fails the same way (so `except
ModuleNotFoundError:` / `except ImportError:` fallbacks work) and its message
names the replacement, so the import error says how to fix the file.
"""

from __future__ import annotations

_STD = "airflow.providers.standard"
_SQL = "`airflow.providers.common.sql` (not provided by Leoflow yet)"

# module -> what to import instead
REMOVED: dict[str, str] = {
    "airflow.operators.dummy": f"`{_STD}.operators.empty.EmptyOperator` (DummyOperator was renamed EmptyOperator)",
    "airflow.operators.dummy_operator": f"`{_STD}.operators.empty.EmptyOperator` (DummyOperator was renamed "
                                        "EmptyOperator)",
    "airflow.operators.bash_operator": f"`{_STD}.operators.bash.BashOperator`",
    "airflow.operators.python_operator": f"`{_STD}.operators.python` (PythonOperator, BranchPythonOperator, "
                                         "ShortCircuitOperator, PythonVirtualenvOperator)",
    "airflow.operators.subdag": "a task group: `airflow.sdk.TaskGroup` or `@task_group` (SubDAGs were removed)",
    "airflow.operators.subdag_operator": "a task group: `airflow.sdk.TaskGroup` or `@task_group` (SubDAGs were "
                                         "removed)",
    "airflow.operators.dagrun_operator": f"`{_STD}.operators.trigger_dagrun.TriggerDagRunOperator`",
    "airflow.operators.latest_only_operator": f"`{_STD}.operators.latest_only.LatestOnlyOperator`",
    "airflow.operators.branch_operator": f"`{_STD}.operators.branch.BaseBranchOperator`",
    "airflow.operators.email_operator": "`airflow.providers.smtp.operators.smtp.EmailOperator` (not provided by "
                                        "Leoflow yet)",
    "airflow.operators.check_operator": _SQL,
    "airflow.operators.sql": _SQL,
    "airflow.operators.sql_branch_operator": _SQL,
    "airflow.sensors.base_sensor_operator": "`airflow.sdk.BaseSensorOperator`",
    "airflow.sensors.external_task_sensor": f"`{_STD}.sensors.external_task.ExternalTaskSensor`",
    "airflow.sensors.time_delta_sensor": f"`{_STD}.sensors.time_delta.TimeDeltaSensor`",
    "airflow.sensors.date_time_sensor": f"`{_STD}.sensors.date_time.DateTimeSensor`",
    "airflow.sensors.weekday_sensor": f"`{_STD}.sensors.weekday.DayOfWeekSensor`",
    "airflow.sensors.sql": _SQL,
    "airflow.sensors.sql_sensor": _SQL,
    "airflow.hooks.base_hook": "`airflow.sdk.BaseHook`",
    "airflow.hooks.dbapi": _SQL,
    "airflow.hooks.dbapi_hook": _SQL,
    "airflow.contrib": "the `airflow.providers.*` package of the service (contrib operators moved to providers)",
}


def removed_module(fullname: str) -> tuple[str, str] | None:
    """(the removed module, its replacement) when `fullname` is or lies inside a removed module."""
    for name in (fullname, *_parents(fullname)):
        if name in REMOVED:
            return name, REMOVED[name]
    return None


def _parents(fullname: str):
    parts = fullname.split(".")
    for n in range(len(parts) - 1, 1, -1):
        yield ".".join(parts[:n])


def message(fullname: str, removed: str, replacement: str) -> str:
    what = "it" if removed == fullname else f"`{removed}`"
    return f"No module named {fullname!r}: {what} was removed in Airflow 3; use {replacement} instead"
