"""`airflow.utils.process_utils`, the part provider hooks use: environment variables set for a block."""

from __future__ import annotations

import os
from contextlib import contextmanager


@contextmanager
def patch_environ(new_env_variables: dict[str, str]):
    """Set these environment variables inside the block; afterwards each is back to what it was (or
    unset again), whatever the block did to it."""
    before = {key: os.environ.get(key) for key in new_env_variables}
    os.environ.update(new_env_variables)
    try:
        yield
    finally:
        for key, value in before.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
