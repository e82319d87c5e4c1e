"""`leoflow tasks test DAG_ID TASK_ID [DATE]`: run one task here, record nothing (XCom stays in memory)."""

from __future__ import annotations

import datetime as dt
import logging
import sys
from pathlib import Path


class MemoryComms:
    """XCom, Variables and Connections for a task tested alone: nothing reaches a database."""

    def __init__(self):
        self.xcoms: dict[tuple, object] = {}

    def get_xcom(self, dag_id, run_id, task_id, key, map_index=-1):
        k = (dag_id, run_id, task_id, key, map_index)
        return (k in self.xcoms), self.xcoms.get(k)

    def set_xcom(self, dag_id, run_id, task_id, key, value, map_index=-1):
        self.xcoms[(dag_id, run_id, task_id, key, map_index)] = value

    def get_variable(self, key):
        import os

        return os.environ.get(f"AIRFLOW_VAR_{key.upper()}")

    def get_connection(self, conn_id):
        return None


def test(args) -> int:
    from leoflow import config
    from leoflow.cli.dags import _parse_date
    from leoflow.dagtest import find_dag_file
    from leoflow.sdk import collect, runtime

    settings = config.load(home=args.home, dags_folder=args.dags_folder)
    logging.basicConfig(level=logging.INFO, format="[%(asctime)s] %(levelname)s %(name)s: %(message)s")
    when = _parse_date(args.logical_date) or dt.datetime.now(dt.timezone.utc)
    dag = None
    for path in find_dag_file(Path(settings.dags_folder), args.dag_id):
        try:
            dag = next((d for d in collect.dags_from_file(path) if d.dag_id == args.dag_id), None)
        except Exception:
            continue
        if dag:
            break
    if dag is None:
        print(f"leoflow: DAG {args.dag_id!r} not found in {settings.dags_folder}", file=sys.stderr)
        return 1
    task = dag.task_dict.get(args.task_id)
    if task is None:
        print(f"leoflow: task {args.task_id!r} not in DAG {args.dag_id!r}; it has: "
              f"{', '.join(sorted(dag.task_dict))}", file=sys.stderr)
        return 1
    run_id = f"__leoflow_tasks_test__{when.isoformat()}"
    runtime.set_comms(MemoryComms())
    ti = {"id": "tasks-test", "dag_id": dag.dag_id, "task_id": task.task_id, "run_id": run_id,
          "try_number": 1, "map_index": -1, "max_tries": 0}
    dag_run = {"dag_id": dag.dag_id, "run_id": run_id, "logical_date": when, "data_interval_start": when,
               "data_interval_end": when, "run_after": when, "start_date": when, "conf": {}, "run_type": "manual"}
    context = runtime.build_context(dag, task, ti, dag_run)
    context["test_mode"] = True
    outcome = runtime.run_task(task, context)  # classifies skips, branch decisions and failures as a real run
    runtime.run_callbacks(task, context, outcome.state)
    if outcome.skip_downstream:
        print(f"{task.task_id}: would skip {', '.join(map(str, outcome.skip_downstream))}")
    returned = runtime.get_comms().xcoms.get((dag.dag_id, run_id, task.task_id, "return_value", -1))
    if outcome.state == "success":
        print(f"{task.task_id}: success; returned {returned!r}")
        return 0
    print(f"{task.task_id}: {outcome.state}", file=sys.stderr)
    return 0 if outcome.state == "skipped" else 1
