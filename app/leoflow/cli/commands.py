"""The everyday commands beyond lite, server and users: each module adds its parser and names its function."""

from __future__ import annotations


def add_parsers(sub, dags_sub, tasks_sub, db_sub) -> None:
    from . import backfill, connections, dag_commands, import_airflow, misc, pools, task_commands, variables

    dag_commands.add_parsers(dags_sub)
    task_commands.add_parsers(tasks_sub)
    backfill.add_parser(sub)
    variables.add_parser(sub)
    connections.add_parser(sub)
    pools.add_parser(sub)
    misc.add_parsers(sub, db_sub)
    import_airflow.add_parser(db_sub)
