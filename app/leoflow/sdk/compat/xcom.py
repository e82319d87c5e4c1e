"""`airflow.sdk.execution_time.xcom` / `airflow.models.xcom`: XCom reads and writes by key, from a task."""

from __future__ import annotations

from typing import Any

from leoflow.sdk.comms import get_comms

XCOM_RETURN_KEY = "return_value"


class XCom:
    """Classmethods over the running task's connection to the server (as Airflow's task-SDK XCom)."""

    @classmethod
    def set(cls, key: str, value: Any, *, dag_id: str, task_id: str, run_id: str, map_index: int = -1,
            **kwargs: Any) -> None:
        get_comms().set_xcom(dag_id, run_id, task_id, key, value, map_index)

    @classmethod
    def get_one(cls, *, key: str = XCOM_RETURN_KEY, dag_id: str, task_id: str, run_id: str,
                map_index: int | None = None, include_prior_dates: bool = False, **kwargs: Any) -> Any:
        found, value = get_comms().get_xcom(dag_id, run_id, task_id, key, -1 if map_index is None else map_index)
        return value if found else None

    @classmethod
    def get_value(cls, *, ti_key, key: str = XCOM_RETURN_KEY) -> Any:
        return cls.get_one(key=key, dag_id=ti_key.dag_id, task_id=ti_key.task_id, run_id=ti_key.run_id,
                           map_index=getattr(ti_key, "map_index", -1))

    @staticmethod
    def serialize_value(value: Any, **kwargs: Any) -> Any:
        from leoflow.scheduler.serde import encode

        return encode(value)

    @staticmethod
    def deserialize_value(result: Any) -> Any:
        from leoflow.scheduler.serde import decode

        return decode(getattr(result, "value", result))
