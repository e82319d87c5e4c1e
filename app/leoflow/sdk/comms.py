"""How a running task reaches the server: XComs, variables, connections.

The task runner installs an implementation (HTTP to the Execution API) with
`set_comms`; tests install an in-memory one. Nothing here does I/O itself.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class Comms(Protocol):
    def get_xcom(self, dag_id: str, run_id: str, task_id: str, key: str, map_index: int = -1) -> tuple[bool, Any]: ...

    def set_xcom(self, dag_id: str, run_id: str, task_id: str, key: str, value: Any, map_index: int = -1) -> None: ...

    def get_variable(self, key: str) -> str | None: ...

    def get_connection(self, conn_id: str) -> dict | None: ...


_comms: Comms | None = None


def set_comms(comms: Comms | None) -> None:
    global _comms
    _comms = comms


def get_comms() -> Comms:
    if _comms is None:
        raise RuntimeError(
            "No Leoflow server connection in this process: Variables, Connections and XComs "
            "are only available while a task runs or Leoflow parses the DAG file (AIRFLOW_VAR_* and "
            "AIRFLOW_CONN_* environment variables are read everywhere)"
        )
    return _comms


def has_comms() -> bool:
    return _comms is not None
