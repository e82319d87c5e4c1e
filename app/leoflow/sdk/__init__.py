"""Leoflow's authoring surface: what Airflow 3.2 DAG files import.

DAG files see these classes through the `airflow.*` names served by
`leoflow.sdk.importhook`. Keep this package cheap to import: the task runner
preloads it in a fork server, so only the standard library at import time;
jinja2, pendulum and croniter are imported where they are used.
"""
