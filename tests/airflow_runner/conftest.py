"""Real Apache Airflow 3.2.1 beside Leoflow: its task-SDK client and its supervisor against `/execution`.

`apache-airflow==3.2.1` is installed (pinned by the shared constraints file) into a venv outside the
repository, `~/.cache/leoflow-test/airflow-3.2.1/` (or LEOFLOW_TEST_AIRFLOW_VENV), made on first use and
kept: a fresh machine pays the install once (about a minute here). Airflow 3.1's task-SDK models (the
previous API version) come from the published `apache-airflow-task-sdk==1.1.8` wheel, cached beside it.
A second venv beside it adds the FAB auth manager and the Postgres drivers (`airflow_fab_python`), for
what only an Airflow on Postgres with FAB's users makes (`tests/cli/test_import_airflow*.py`).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
import uuid
import zipfile
from pathlib import Path

import pytest

from tests.reference import AIRFLOW_REF
from tests.services import REQUIRED

CACHE = Path(os.environ.get("LEOFLOW_TEST_CACHE", Path.home() / ".cache" / "leoflow-test"))
VENV = Path(os.environ.get("LEOFLOW_TEST_AIRFLOW_VENV", CACHE / "airflow-3.2.1"))
CONSTRAINTS = AIRFLOW_REF / "anchor" / "constraints-3.2.1-asof-2026-04-22.txt"
PREVIOUS_SDK = "1.1.8"  # the last task SDK of Airflow 3.1: it speaks API version 2025-11-05
DRIVER = Path(__file__).with_name("driver.py")
SUMMARY: dict[str, str] = {}  # printed at the end of the session
SCORES: dict[str, list[int]] = {}  # name -> [passed, total]


def record(name: str, passed: bool) -> None:
    score = SCORES.setdefault(name, [0, 0])
    score[0] += int(passed)
    score[1] += 1


def _unavailable(why: str):
    if REQUIRED:
        pytest.fail(f"Airflow 3.2.1 is required here (LEOFLOW_REQUIRE_SERVICES=1) but: {why}")
    pytest.skip(f"Airflow 3.2.1 unavailable: {why}")


# The FAB provider release that accepts the constraints' common-compat 1.14.3, and the Postgres drivers
# Airflow's `postgres` extra brings (psycopg2 for its sync engine, asyncpg for its async one): the constraints
# file pins none of them, so they are pinned here.
FAB_VENV = VENV.with_name(f"{VENV.name}-fab-postgres")
FAB_PACKAGES = ("apache-airflow-providers-fab==3.7.3", "psycopg2-binary==2.9.13", "asyncpg==0.32.0")
_PROBE = "import airflow.sdk.execution_time.execute_workload, importlib.metadata as m; " \
         "assert m.version('apache-airflow-core') == '3.2.1'"
_FAB_PROBE = _PROBE + "; import airflow.providers.fab.auth_manager.fab_auth_manager, psycopg2, asyncpg, werkzeug"


def _works(python: Path, probe: str = _PROBE) -> bool:
    if not python.exists():
        return False
    done = subprocess.run([str(python), "-c", probe], capture_output=True, timeout=120)
    return done.returncode == 0


def _install(venv: Path = VENV, extra: tuple[str, ...] = ()) -> float:
    """Make the venv (in a folder beside it, then renamed: a half-made venv is never used)."""
    if not CONSTRAINTS.exists():
        _unavailable(f"the constraints file {CONSTRAINTS} is missing")
    venv.parent.mkdir(parents=True, exist_ok=True)
    building = venv.with_name(f"{venv.name}.building-{os.getpid()}")
    shutil.rmtree(building, ignore_errors=True)
    started = time.monotonic()
    base = getattr(sys, "_base_executable", None) or sys.executable
    steps = ([base, "-m", "venv", str(building)],
             [str(building / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
              "apache-airflow==3.2.1", *extra, "-c", str(CONSTRAINTS)])
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True, timeout=1800)
        if done.returncode != 0:
            shutil.rmtree(building, ignore_errors=True)
            _unavailable(f"{' '.join(step[:4])} failed: {done.stderr[-2000:]}")
    shutil.rmtree(venv, ignore_errors=True)
    os.replace(building, venv)
    return time.monotonic() - started


def _venv_python(name: str, venv: Path, extra: tuple[str, ...], probe: str) -> str:
    python = venv / "bin" / "python"
    if _works(python, probe):
        SUMMARY[name] = f"cached at {venv}"
    else:
        seconds = _install(venv, extra)
        if not _works(python, probe):
            _unavailable(f"{python} does not import Airflow 3.2.1 ({', '.join(extra) or 'its task runner'}) "
                         f"after installing it")
        SUMMARY[name] = f"installed into {venv} in {seconds:.0f} s"
    return str(python)


@pytest.fixture(scope="session")
def airflow_python() -> str:
    return _venv_python("venv", VENV, (), _PROBE)


@pytest.fixture(scope="session")
def airflow_fab_python() -> str:
    """Airflow 3.2.1 with the FAB auth manager (`ab_user`, `airflow users create`) and the Postgres drivers."""
    return _venv_python("fab venv", FAB_VENV, FAB_PACKAGES, _FAB_PROBE)


@pytest.fixture(scope="session")
def previous_sdk_models(airflow_python) -> str:
    """Airflow 3.1's task-SDK response models (airflow/sdk/api/datamodels/_generated.py of the wheel)."""
    target = CACHE / f"task-sdk-{PREVIOUS_SDK}-models.py"
    if not target.exists():
        download = CACHE / f"task-sdk-{PREVIOUS_SDK}.download-{os.getpid()}"
        done = subprocess.run([airflow_python, "-m", "pip", "download", "--quiet", "--no-deps",
                               "--disable-pip-version-check", f"apache-airflow-task-sdk=={PREVIOUS_SDK}",
                               "-d", str(download)], capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            _unavailable(f"downloading apache-airflow-task-sdk=={PREVIOUS_SDK} failed: {done.stderr[-1000:]}")
        wheel = next(download.glob("*.whl"))
        with zipfile.ZipFile(wheel) as zf:
            text = zf.read("airflow/sdk/api/datamodels/_generated.py")
        target.with_suffix(".tmp").write_bytes(text)
        os.replace(target.with_suffix(".tmp"), target)
        shutil.rmtree(download, ignore_errors=True)
    return str(target)


class Driver:
    """Airflow's client in Airflow's interpreter (driver.py), one JSON line per call."""

    def __init__(self, python: str, home: Path):
        env = {**os.environ, "AIRFLOW_HOME": str(home),
               # a server error fails the test at once instead of after Airflow's retries
               "AIRFLOW__WORKERS__EXECUTION_API_RETRIES": "1"}
        self.proc = subprocess.Popen([python, str(DRIVER)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=(home / "driver.stderr").open("w"), text=True, env=env)
        self._lock = threading.Lock()

    def send(self, **request) -> dict:
        with self._lock:
            self.proc.stdin.write(json.dumps(request, default=_encode) + "\n")
            self.proc.stdin.flush()
            line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("Airflow's client driver ended")
        return json.loads(line)

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(10)


def _encode(value):
    import datetime as dt

    if isinstance(value, dt.datetime):
        return {"__datetime__": value.isoformat()}
    if isinstance(value, uuid.UUID):
        return {"__uuid__": str(value)}
    if isinstance(value, dt.timedelta):
        return {"__timedelta__": value.total_seconds()}
    raise TypeError(type(value).__name__)


@pytest.fixture(scope="session")
def driver(airflow_python, tmp_path_factory):
    d = Driver(airflow_python, tmp_path_factory.mktemp("airflow-home"))
    yield d
    d.close()


_SCORE_NAMES = {"test_client_contract.py": "client contract", "test_supervisor_runs.py": "supervisor runs",
                "test_example_outcomes.py": "example DAGs"}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    name = _SCORE_NAMES.get(item.path.name)
    if name and (report.when == "call" or (report.when == "setup" and report.failed)):
        record(name, report.passed)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not SCORES and not SUMMARY:
        return
    parts = [f"{name} {passed}/{total}" for name, (passed, total) in SCORES.items()]
    if "venv" in SUMMARY:
        parts.append(f"Airflow 3.2.1 {SUMMARY['venv']}")
    for key, value in SUMMARY.items():
        if key != "venv":
            parts.append(f"{key}: {value}")
    terminalreporter.write_line("Airflow's task runner: " + ", ".join(parts))


class Leoflow:
    """A Leoflow database with the Execution API served over real HTTP, and helpers to make task instances."""

    def __init__(self, home: Path):
        from leoflow import config
        from leoflow.dagtest import _execution_app
        from leoflow.httpserver import BackgroundServer
        from leoflow.services import open_services

        self.services = open_services(config.load(home=home, dags_folder=home / "dags",
                                                  database_url=f"sqlite:///{home / 'leoflow.db'}"))
        self.engine = self.services.engine
        self.secret = self.services.settings.secret("jwt-execution")
        self.server = BackgroundServer(_execution_app(self.services)).start()
        self.url = f"http://127.0.0.1:{self.server.port}/execution/"

    def close(self) -> None:
        self.server.stop()
        self.engine.dispose()

    def add_dag(self, dag_id: str, tasks: list[dict], **extra) -> None:
        from leoflow.store import assets, dags

        data = {"dag_id": dag_id, "fileloc": f"/dags/{dag_id}.py", "schedule": {"kind": "none"},
                "tasks": [{"upstream": [], "downstream": [], **t} for t in tasks], **extra}
        with self.engine.begin() as conn:
            dags.sync_dag(conn, data, source_code="", relative_fileloc=f"{dag_id}.py")
            assets.sync_dag_assets(conn, data)

    def add_run(self, dag_id: str, run_id: str, logical_date=None, state: str = "running") -> dict:
        from leoflow.store import dags, runs
        from leoflow.store.types import utcnow

        with self.engine.begin() as conn:
            version_id, data = dags.latest_serialized(conn, dag_id)
            when = logical_date or utcnow()
            run = runs.create_dag_run(conn, data, dag_version_id=version_id, run_type="manual", run_after=when,
                                      logical_date=logical_date, data_interval=(when, when) if logical_date else None,
                                      run_id=run_id)
            runs.set_run_state(conn, dag_id, run_id, state, start_date=utcnow())
        return run

    def queue(self, dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> tuple[str, str]:
        """Queue the task instance's next try; (its id, its workload token) as an executor hands them out."""
        from leoflow.execution_api import tokens
        from leoflow.store import tis
        from leoflow.store.types import utcnow

        with self.engine.begin() as conn:
            ti = tis.get_ti_by_key(conn, dag_id, run_id, task_id, map_index)
            if ti.state not in ("scheduled", "queued"):
                if ti.state not in (None, "up_for_retry"):  # as a clear does: a new try may start
                    tis.update_ti(conn, ti.id, state=None)
                tis.set_scheduled(conn, [ti.id], utcnow())
            tis.set_queued(conn, ti.id, None, "LocalExecutor", utcnow())
            ti = tis.get_ti(conn, ti.id)
        return ti.id, tokens.issue(self.secret, ti.id, scope=tokens.WORKLOAD, try_number=ti.try_number)

    def ti(self, ti_id: str):
        from leoflow.store import tis

        with self.engine.connect() as conn:
            return tis.get_ti(conn, ti_id)


@pytest.fixture(scope="module")
def leoflow(tmp_path_factory):
    world = Leoflow(tmp_path_factory.mktemp("leoflow"))
    yield world
    world.close()


from tests.examples.conftest import example_folder  # noqa: E402,F401 - the fetched example DAGs, shared
