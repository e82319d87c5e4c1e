"""`airflow.sdk.execution_time.timeout` / `airflow.utils.timeout`: raise AirflowTaskTimeout after N seconds."""

from __future__ import annotations

import os
import signal
import threading

from leoflow.sdk.exceptions import AirflowTaskTimeout


class timeout:  # noqa: N801 - Airflow's name, used as `with timeout(seconds=5):`
    """A SIGALRM timer in the main thread; elsewhere (no signals there) a timer that gives up quietly,
    as Airflow's does off the main thread."""

    def __init__(self, seconds: float = 1, error_message: str = "Timeout"):
        self.seconds = seconds
        self.error_message = f"{error_message}, PID: {os.getpid()}"
        self._armed = False

    def handle_timeout(self, signum, frame):
        raise AirflowTaskTimeout(self.error_message)

    def __enter__(self):
        if self.seconds and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGALRM, self.handle_timeout)
            signal.setitimer(signal.ITIMER_REAL, self.seconds)
            self._armed = True
        return self

    def __exit__(self, *exc):
        if self._armed:
            signal.setitimer(signal.ITIMER_REAL, 0)
            self._armed = False
        return False
