"""Which commands run tasks, and where they cannot.

Airflow 3's task SDK does not run tasks on Windows (it relies on fork and POSIX signals), so on
Windows Leoflow is the client CLI only: the commands that run tasks say so instead of failing later.
"""

from __future__ import annotations

import sys

TASK_RUNNING_COMMANDS = frozenset({"lite", "server", "agent"})


def refusal(command: str | None, platform: str | None = None) -> str | None:
    """The line to print instead of running `command` on `platform` (default: this one), or None."""
    platform = sys.platform if platform is None else platform
    if command in TASK_RUNNING_COMMANDS and platform.startswith(("win32", "cygwin")):
        return (f"leoflow {command}: not available on Windows: Airflow 3's task SDK does not run tasks there. "
                "On Windows, Leoflow is the client CLI only; run the server on Linux or macOS "
                "(or in WSL 2 or a container).")
    return None
