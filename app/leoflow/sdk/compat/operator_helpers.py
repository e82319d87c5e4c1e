"""`airflow.utils.operator_helpers`: calling a user's callable with the context keys it accepts, and the
AIRFLOW_CTX_* variables a task exports."""

from __future__ import annotations

from typing import Any, Callable, Mapping

from leoflow.sdk.operators.bash import context_to_env
from leoflow.sdk.operators.python import determine_kwargs as _determine

AIRFLOW_VAR_NAME_FORMAT_MAPPING = {
    "AIRFLOW_CONTEXT_DAG_ID": {"default": "airflow.ctx.dag_id", "env_var_format": "AIRFLOW_CTX_DAG_ID"},
    "AIRFLOW_CONTEXT_TASK_ID": {"default": "airflow.ctx.task_id", "env_var_format": "AIRFLOW_CTX_TASK_ID"},
    "AIRFLOW_CONTEXT_LOGICAL_DATE": {"default": "airflow.ctx.logical_date",
                                     "env_var_format": "AIRFLOW_CTX_LOGICAL_DATE"},
    "AIRFLOW_CONTEXT_TRY_NUMBER": {"default": "airflow.ctx.try_number", "env_var_format": "AIRFLOW_CTX_TRY_NUMBER"},
    "AIRFLOW_CONTEXT_DAG_RUN_ID": {"default": "airflow.ctx.dag_run_id", "env_var_format": "AIRFLOW_CTX_DAG_RUN_ID"},
    "AIRFLOW_CONTEXT_DAG_OWNER": {"default": "airflow.ctx.dag_owner", "env_var_format": "AIRFLOW_CTX_DAG_OWNER"},
    "AIRFLOW_CONTEXT_DAG_EMAIL": {"default": "airflow.ctx.dag_email", "env_var_format": "AIRFLOW_CTX_DAG_EMAIL"},
}


class KeywordParameters:
    """The keyword arguments a callable takes from the context (`determine`), then `unpacking()`."""

    def __init__(self, kwargs: Mapping[str, Any]) -> None:
        self._kwargs = kwargs

    @classmethod
    def determine(cls, func: Callable, args: tuple | list, kwargs: Mapping[str, Any]) -> "KeywordParameters":
        return cls(_determine(func, args, dict(kwargs)))

    def unpacking(self) -> Mapping[str, Any]:
        return self._kwargs

    def serializing(self) -> Mapping[str, Any]:
        return self._kwargs


def determine_kwargs(func: Callable, args: tuple | list, kwargs: Mapping[str, Any]) -> Mapping[str, Any]:
    return KeywordParameters.determine(func, args, kwargs).unpacking()


def make_kwargs_callable(func: Callable) -> Callable:
    import functools

    @functools.wraps(func)
    def kwargs_func(*args, **kwargs):
        return func(*args, **determine_kwargs(func, args, kwargs))

    return kwargs_func


def context_to_airflow_vars(context: Mapping[str, Any], in_env_var_format: bool = False) -> dict[str, str]:
    """The AIRFLOW_CTX_* values of this task (`airflow.ctx.*` names unless `in_env_var_format`)."""
    env = context_to_env(dict(context))
    if in_env_var_format:
        return env
    by_env = {m["env_var_format"]: m["default"] for m in AIRFLOW_VAR_NAME_FORMAT_MAPPING.values()}
    return {by_env[k]: v for k, v in env.items() if k in by_env}
