"""The DAG folders the scenarios run against: Airflow's reference bench DAGs plus generated ones."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def shared_dir() -> Path:
    """shared/ sits beside the checkout (as tests/reference.py finds it), or LEOFLOW_SHARED."""
    return Path(os.environ.get("LEOFLOW_SHARED", ROOT.parent / "shared")).resolve()


def reference_dags() -> Path:
    path = shared_dir() / "airflow-3.2.1" / "bench_dags"
    if not path.is_dir():
        raise SystemExit(f"bench: the reference DAGs are not at {path}; set LEOFLOW_SHARED to the shared folder")
    return path


REFERENCE_IDS = ("bash1", "chain10", "fan100", "xcom3")

FAN_OUT = '''from airflow.sdk import dag, task


@dag(dag_id="{dag_id}", schedule=None, catchup=False, tags=["bench"])
def fan():
    @task
    def start():
        return 1

    @task(pool="{pool}")
    def noop():
        return 1

    @task
    def join():
        return 1

    mids = [noop.override(task_id=f"p{{i:04d}}")() for i in range({width})]
    start() >> mids
    mids >> join()


fan()
'''

# A small DAG like most real ones: three tasks, a start date, a default_args block. No schedule: lite
# unpauses new DAGs, and 500 runs starting at once would measure the scheduler, not parsing and listing.
SMALL = '''import datetime

from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import dag, task


@dag(dag_id="many_{n:04d}", schedule=None, start_date=datetime.datetime(2026, 1, 1), catchup=False,
     default_args={{"retries": 1}}, tags=["bench", "many"])
def many():
    @task
    def extract():
        return {n}

    @task
    def load(x):
        return x

    load(extract()) >> BashOperator(task_id="report", bash_command="echo {n}")


many()
'''

NEW_DAG = '''from airflow.sdk import dag, task


@dag(dag_id="{dag_id}", schedule=None, catchup=False, tags=["bench"])
def new_dag():
    @task
    def hello():
        return 1

    hello()


new_dag()
'''

# Pool that does not exist: its task instances are scheduled and can never be queued.
BLOCKED_POOL = "bench_no_such_pool"


def main_folder(dest: Path, *, fan1000: bool, blocked: bool) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for dag_id in REFERENCE_IDS:
        shutil.copy(reference_dags() / f"{dag_id}.py", dest / f"{dag_id}.py")
    if fan1000:
        (dest / "fan1000.py").write_text(FAN_OUT.format(dag_id="fan1000", pool="default_pool", width=1000))
    if blocked:
        write_blocked(dest)
    return dest


def write_blocked(dest: Path) -> str:
    """1,000 tasks in a pool with no slots: 10 runs of it leave 10,000 task instances that cannot run."""
    (dest / "blocked1000.py").write_text(FAN_OUT.format(dag_id="blocked1000", pool=BLOCKED_POOL, width=1000))
    return "blocked1000"


def write_new_dag(dest: Path, dag_id: str) -> Path:
    path = dest / f"{dag_id}.py"
    tmp = dest / f".{dag_id}.tmp"
    tmp.write_text(NEW_DAG.format(dag_id=dag_id))
    os.replace(tmp, path)  # appears whole, as an editor's save or a git checkout does
    return path


def many_folder(dest: Path, count: int) -> list[str]:
    dest.mkdir(parents=True, exist_ok=True)
    for n in range(count):
        (dest / f"many_{n:04d}.py").write_text(SMALL.format(n=n))
    return [f"many_{n:04d}" for n in range(count)]
