"""What a trigger's hook may read while it runs in the triggerer: Connections and Variables.

Airflow's triggerer gives triggers the same `Connection.get` / `Variable.get` a task has (provider
triggers build their hooks from a connection id). The triggerer sits beside the database, so it reads
them there, decrypted, in the shape the Execution API hands a task. XComs are a task's business: a
trigger that asks for one gets a clear error.
"""

from __future__ import annotations

from typing import Any

from ..execution_api.connections import FIELDS
from ..store import connections, variables


class TriggererComms:
    database_side = True  # not a task's: a parse in this process may put its own reader in front

    def __init__(self, services):
        self.services = services

    def get_connection(self, conn_id: str) -> dict | None:
        with self.services.engine.connect() as conn:
            row = connections.get(conn, conn_id)
        if row is None:
            return None
        data = connections.clear(row, self.services.crypt)
        return {k: data[k] for k in FIELDS}

    def get_variable(self, key: str) -> str | None:
        with self.services.engine.connect() as conn:
            row = variables.get(conn, key)
        return None if row is None else variables.value_of(row, self.services.crypt)

    def get_xcom(self, dag_id: str, run_id: str, task_id: str, key: str, map_index: int = -1) -> tuple[bool, Any]:
        raise RuntimeError("a trigger cannot read XComs in Leoflow's triggerer (pass the value in its kwargs)")

    def set_xcom(self, dag_id: str, run_id: str, task_id: str, key: str, value: Any, map_index: int = -1) -> None:
        raise RuntimeError("a trigger cannot push XComs in Leoflow's triggerer (return them in its event)")


def install(services) -> None:
    """Give this process the triggerer's comms, unless something (a task) has its own already; the
    triggerer of another installation in this process (tests, `dags test`) gives way to this one."""
    from ..sdk import comms

    if not comms.has_comms() or getattr(comms.get_comms(), "database_side", False):
        comms.set_comms(TriggererComms(services))
