"""The everyday commands beyond lite, server and users: each module adds its parser and names its function."""

from __future__ import annotations


def add_parsers(sub, dags_sub, tasks_sub) -> None:
    from . import connections, dag_commands, pools, variables

    variables.add_parser(sub)
    connections.add_parser(sub)
    pools.add_parser(sub)
    dag_commands.add_parsers(dags_sub)
