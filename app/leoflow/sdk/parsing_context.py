"""`get_parsing_context()`: which DAG/task the current parse is for (None = all).

A task process may set `_AIRFLOW_PARSING_CONTEXT_DAG_ID` / `_AIRFLOW_PARSING_CONTEXT_TASK_ID`
(Airflow's names) so DAG files that build many DAGs can build only the one
needed; the DAG processor sets nothing, so every DAG is built.
"""

from __future__ import annotations

import os
from typing import NamedTuple


class AirflowParsingContext(NamedTuple):
    dag_id: str | None
    task_id: str | None


def get_parsing_context() -> AirflowParsingContext:
    return AirflowParsingContext(dag_id=os.environ.get("_AIRFLOW_PARSING_CONTEXT_DAG_ID"),
                                 task_id=os.environ.get("_AIRFLOW_PARSING_CONTEXT_TASK_ID"))
