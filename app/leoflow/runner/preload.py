"""DAG files imported once per file version in a fork-server template, reused by every task forked from it.

A task forked from the template finds its DAG already built (a 1,000-task file costs ~60 ms to import).
It still sees a fresh module whenever the DAG file or a user module it imported has changed since: the
task checks the recorded (mtime, size) of each and, on any difference, forgets them and imports afresh.
Module globals never leak between tasks: each task is its own fork of the template.
"""

from __future__ import annotations

import os
import sys

# path -> (stats of the file and the user modules it imported, the DAGs, names of those user modules)
_PRELOADED: dict[str, tuple[dict[str, tuple[int, int]], list, list[str]]] = {}


def file_key(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size


def _library_roots() -> tuple[str, ...]:
    import leoflow

    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.dirname(os.path.dirname(leoflow.__file__))}
    return tuple(os.path.join(os.path.abspath(r), "") for r in roots)


def preload(path: str) -> bool:
    """Import `path` now (in the template). A failing file is left to each task to report in its own log."""
    from leoflow.sdk import collect

    path = os.path.abspath(path)
    before = set(sys.modules)
    try:
        dags = collect.dags_from_file(path)
    except BaseException:
        return False
    libs = _library_roots()
    stats = {path: file_key(path)}
    names = []
    for name in set(sys.modules) - before:
        file = getattr(sys.modules.get(name), "__file__", None)
        if file and not os.path.abspath(file).startswith(libs):
            stats[os.path.abspath(file)] = file_key(file)
            names.append(name)
    _PRELOADED[path] = (stats, dags, names)
    return True


def dags_from_file(path: str) -> list:
    """The file's DAGs: the template's copy while nothing it was built from changed, else a fresh import."""
    from leoflow.sdk import collect

    path = os.path.abspath(path)
    entry = _PRELOADED.pop(path, None)
    if entry is not None:
        stats, dags, names = entry
        if all(file_key(f) == key for f, key in stats.items()):
            return dags
        for name in names:  # changed user modules (helpers, the file itself) must be imported again
            sys.modules.pop(name, None)
    return collect.dags_from_file(path)
