"""Airflow's own task runner for Leoflow's tries (`LEOFLOW_TASK_RUNNER=airflow`).

The local executor hands each try's ExecuteTask workload to Airflow 3.2's supervisor, in the
interpreter LEOFLOW_AIRFLOW_PYTHON names: `airflow_zygote.py` runs there, imports Airflow once and
forks a child per try that runs `airflow.sdk.execution_time.execute_workload`, the entry point of
`python -m airflow.sdk.execution_time.execute_workload`. From there on it is Airflow's code that
parses the DAG file, runs the task, writes its log and speaks `/execution` to Leoflow.

Airflow reads its configuration from the environment given here: the Execution API's URL, the DAG
folder as the `dags-folder` bundle, the log folder, the plugins folder. A team moving from Airflow
uses this for operators that rely on Airflow's internals.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Callable

log = logging.getLogger(__name__)

SUPPORTED = "3.2"  # the apache-airflow-core releases whose task SDK speaks this Execution API
ZYGOTE = Path(__file__).with_name("airflow_zygote.py")
_VERSION_PROBE = ("import importlib.metadata as m, json; "
                  "print(json.dumps([m.version('apache-airflow-core'), m.version('apache-airflow-task-sdk')]))")


class AirflowRunnerError(SystemExit):
    """A setting that makes Airflow's runner unusable: the start stops with this message."""


@functools.lru_cache(maxsize=8)
def check_interpreter(python: str) -> str:
    """The apache-airflow-core version `python` holds; AirflowRunnerError unless it is Airflow 3.2."""
    if not python:
        raise AirflowRunnerError("leoflow: LEOFLOW_TASK_RUNNER=airflow needs LEOFLOW_AIRFLOW_PYTHON, the Python "
                                 "interpreter where apache-airflow 3.2 is installed (e.g. /opt/airflow/bin/python)")
    if not os.path.isfile(python) or not os.access(python, os.X_OK):
        raise AirflowRunnerError(f"leoflow: LEOFLOW_AIRFLOW_PYTHON={python} is not an executable Python interpreter")
    try:
        probe = subprocess.run([python, "-c", _VERSION_PROBE], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise AirflowRunnerError(f"leoflow: LEOFLOW_AIRFLOW_PYTHON={python} could not be run: {exc}")
    if probe.returncode != 0:
        raise AirflowRunnerError(f"leoflow: LEOFLOW_AIRFLOW_PYTHON={python} holds no Airflow 3.2 (apache-airflow-core "
                                 "and apache-airflow-task-sdk are not installed there): pip install "
                                 "'apache-airflow==3.2.*' into it")
    core, sdk = json.loads(probe.stdout.strip().splitlines()[-1])
    if core.split(".")[:2] != SUPPORTED.split("."):
        raise AirflowRunnerError(f"leoflow: LEOFLOW_AIRFLOW_PYTHON={python} holds Airflow {core} (task SDK {sdk}); "
                                 f"Leoflow runs tasks with Airflow {SUPPORTED}.x")
    return core


def airflow_environment(settings) -> dict[str, str]:
    """Airflow's configuration for its supervisor, as AIRFLOW__SECTION__KEY variables over this process's."""
    from ..sdk.plugins import default_folder
    from ..store.dags import BUNDLE

    home = settings.home / "airflow-runner"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONHOME"}
    if getattr(sys, "frozen", False):  # the single executable's own libraries are not Airflow's
        original = env.pop("LD_LIBRARY_PATH_ORIG", None)
        if original is not None:
            env["LD_LIBRARY_PATH"] = original
        else:
            env.pop("LD_LIBRARY_PATH", None)
    env.update({
        "AIRFLOW_HOME": str(home),  # Airflow writes its airflow.cfg there, not in ~/airflow
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": settings.execution_api_url.rstrip("/") + "/",
        "AIRFLOW__CORE__DAGS_FOLDER": str(settings.dags_folder),
        "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST": json.dumps([{
            "name": BUNDLE, "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
            "kwargs": {"path": str(settings.dags_folder)}}]),
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(settings.logs_folder),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        # Nothing here talks to a metadata database; Airflow's settings module still wants an address.
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'unused.db'}",
    })
    # An Execution API over HTTPS with a private CA (an agent's --ca-file), and a client certificate the
    # server asks for: Airflow's client reads them from [api] ssl_cert / client_ssl_cert / client_ssl_key.
    ca_file = getattr(settings, "execution_api_ca_file", "")
    if ca_file:
        env["AIRFLOW__API__SSL_CERT"] = str(ca_file)
    cert, key = os.environ.get("LEOFLOW_TLS_CLIENT_CERT"), os.environ.get("LEOFLOW_TLS_CLIENT_KEY")
    if cert and key:
        env["AIRFLOW__API__CLIENT_SSL_CERT"], env["AIRFLOW__API__CLIENT_SSL_KEY"] = cert, key
    plugins = default_folder()
    if plugins is not None:
        env["AIRFLOW__CORE__PLUGINS_FOLDER"] = str(plugins)
    return env


class AirflowTaskRunner:
    """Leoflow's end of the zygote: submit and kill tries, hear when they start and end.

    Its events are the fork server's (`started`, `exited`), so the local executor treats both alike.
    A zygote that died is started again at the next try; the tries it held are reported exited."""

    def __init__(self, settings):
        self.settings = settings
        self.python = settings.airflow_python
        self.version = check_interpreter(self.python)
        self._listeners: list[Callable[[dict], None]] = []
        self._lock = threading.Lock()
        self._proc: subprocess.Popen | None = None
        self._held: dict[int, set[str]] = {}  # zygote pid -> the tries it runs

    def add_listener(self, fn: Callable[[dict], None]) -> None:
        self._listeners.append(fn)

    def submit(self, job_id: str, workload: dict, env: dict[str, str] | None = None) -> None:
        """`env`: Airflow settings for this try only, over the zygote's (an agent's per-try bundle folder)."""
        log_path = str(Path(self.settings.logs_folder) / workload["log_path"])
        message = {"op": "run", "id": job_id, "workload": workload, "log": log_path}
        if env:
            message["env"] = env
        with self._lock:
            proc = self._send(message)
            self._held.setdefault(proc.pid, set()).add(job_id)

    def kill(self, job_id: str) -> None:
        with self._lock:
            if self._proc is not None and self._proc.poll() is None:
                self._send({"op": "kill", "id": job_id})

    def stop(self) -> None:
        with self._lock:
            if self._proc is not None:
                self._proc.stdin.close()  # the zygote ends, and its tries with it
                self._proc = None

    def _send(self, message: dict) -> subprocess.Popen:
        for attempt in (1, 2):
            proc = self._running()
            try:
                proc.stdin.write((json.dumps(message) + "\n").encode())
                proc.stdin.flush()
                return proc
            except (BrokenPipeError, OSError):
                if attempt == 2:
                    raise
                self._proc = None

    def _running(self) -> subprocess.Popen:
        if self._proc is None or self._proc.poll() is not None:
            env = airflow_environment(self.settings)
            Path(env["AIRFLOW_HOME"]).mkdir(parents=True, exist_ok=True, mode=0o700)
            # run_path keeps the zygote's folder (Leoflow's own modules) off Airflow's sys.path
            self._proc = subprocess.Popen(
                [self.python, "-c", "import runpy, sys; runpy.run_path(sys.argv[1], run_name='__main__')",
                 str(ZYGOTE)], env=env, cwd=env["AIRFLOW_HOME"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
            threading.Thread(target=self._read_events, args=(self._proc,), daemon=True,
                             name="airflow-runner-events").start()
            log.info("Started Airflow %s's task runner (%s)", self.version, self.python)
        return self._proc

    def _read_events(self, proc: subprocess.Popen) -> None:
        for line in proc.stdout:
            event = json.loads(line)
            if event.get("event") == "exited":
                with self._lock:
                    self._held.get(proc.pid, set()).discard(event["id"])
            self._emit(event)
        proc.wait()
        with self._lock:  # it died (or was stopped): what it held will not report an end
            lost = self._held.pop(proc.pid, set())
        if lost:
            log.error("Airflow's task runner ended (code %s) while it ran %d tries", proc.returncode, len(lost))
        for job_id in lost:
            self._emit({"event": "exited", "id": job_id, "code": 1})

    def _emit(self, event: dict) -> None:
        for fn in self._listeners:
            try:
                fn(event)
            except Exception:
                log.exception("Airflow task runner listener failed")
