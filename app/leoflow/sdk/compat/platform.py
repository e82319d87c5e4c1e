"""`airflow.utils.platform`: facts about the machine a task runs on."""

from __future__ import annotations

import getpass
import os
import sys

IS_WINDOWS = sys.platform == "win32"


def is_tty() -> bool:
    return bool(getattr(sys.stdout, "isatty", lambda: False)())


def is_terminal_support_colors() -> bool:
    return is_tty() and os.environ.get("TERM", "") not in ("", "dumb")


def get_airflow_git_version() -> str | None:
    return None


def getuser() -> str:
    """The user name, or `<uid>` where the uid has no name (a container's arbitrary uid)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())
