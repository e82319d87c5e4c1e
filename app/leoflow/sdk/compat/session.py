"""`airflow.utils.session`: Airflow's metadata database session, which Leoflow's task code never has.

Provider modules written for Airflow 2 and 3 decorate their Airflow 2 branch's database queries with
`provide_session` at import time, and on Airflow 3 take another path (the Task Execution API). So the
decorator is served and the module imports; calling what it decorated fails, naming why, as it would in
an Airflow 3 task (where the metadata database is out of reach too).
"""

from __future__ import annotations

import functools
from contextlib import contextmanager

NEW_SESSION = None  # Airflow's default for a `session` argument


def _no_database(what: str) -> RuntimeError:
    return RuntimeError(f"{what} needs Airflow's metadata database, which task and trigger code cannot reach "
                        "in Airflow 3 nor in Leoflow (use the Airflow 3 path of the code)")


def provide_session(func):
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        if kwargs.get("session") is not None:  # a caller's own session: theirs to have
            return func(*args, **kwargs)
        raise _no_database(f"{func.__qualname__}()")

    return wrapper


@contextmanager
def create_session(scoped: bool = True):
    raise _no_database("airflow.utils.session.create_session()")
    yield  # pragma: no cover - a context manager's shape
