"""The client sweep: every public REST operation called through the official `apache-airflow-client`.

Checks register with `@op("operationId")`; each is `def check(ctx) -> urllib3 response` (use the
client's `..._without_preload_content(...)` methods so the harness sees the raw status and body).
`tests/api/test_client_sweep.py` runs them all against one real `leoflow lite` and validates every
body against the OpenAPI document of the apache-airflow-core wheel.
"""

from __future__ import annotations

import itertools
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path

from tests.reference import example_dags

CHECKS: dict[str, object] = {}
# operationId -> {"ok": bool, "schema_valid": bool, "problem": str}, filled as the checks run.
RESULTS: dict[str, dict] = {}

REPO_DAGS = Path(__file__).resolve().parents[3] / "dags"
# The run the harness waits for; its `transform` task pushes XCom and writes a log.
DAG_ID, TASK_ID = "example_etl", "transform"
# A paused DAG whose runs stay queued: the place for seeded rows (mapped instances, asset queues)
# and for checks that delete things.
SCRATCH = "sweep_scratch"
SCRATCH_DAG = """
from airflow.sdk import dag, task

@dag(dag_id="sweep_scratch", schedule=None, tags=["sweep"])
def sweep_scratch():
    @task
    def first():
        return 1

    @task
    def second(x):
        return x + 1

    @task
    def mapped():  # the sweep seeds expanded instances (map_index 0..2) of this task
        return 0

    second(first())
    mapped()

sweep_scratch()
"""
# Airflow's example DAGs beside the repo's: a realistic DAG list (tags, params, mapping, assets).
EXAMPLES = ["example_params_trigger_ui.py", "example_dynamic_task_mapping.py", "example_xcom.py",
            "example_branch_labels.py", "example_task_group.py", "example_complex.py", "tutorial.py",
            "example_simplest_dag.py", "example_assets.py", "example_display_name.py"]


def op(operation_id: str):
    """Register `check` as the sweep's call of that operation."""

    def register(check):
        if operation_id in CHECKS:
            raise ValueError(f"two sweep checks for {operation_id}")
        CHECKS[operation_id] = check
        return check

    return register


@dataclass
class Context:
    base_url: str
    token: str
    dag_id: str
    run_id: str
    task_id: str
    lite: object
    client: object = None
    headers: dict = field(default_factory=dict)
    scratch_run: str = ""
    asset_id: int = 0
    _engine: object = None
    _counter: itertools.count = field(default_factory=itertools.count)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def unique(self, name: str) -> str:
        with self._lock:
            return f"{name}_{next(self._counter)}"

    def api(self, method: str, path: str, **kw):
        """A plain httpx call for set-up steps the check itself does not measure."""
        return self.lite.api(method, path, **kw)

    @property
    def engine(self):
        """The server's own database, for seeding rows no API call creates (mapped instances, queues)."""
        if self._engine is None:
            from sqlalchemy import create_engine

            self._engine = create_engine(f"sqlite:///{self.lite.home / 'leoflow.db'}")
        return self._engine

    def queue_asset_event(self) -> None:
        """An unconsumed update of the seeded asset for the scratch DAG (as the scheduler queues them)."""
        import datetime as dt

        from leoflow.store.tables import asset_dag_run_queue as adrq
        from sqlalchemy import select

        with self.engine.begin() as conn:
            if conn.execute(select(adrq.c.asset_id).where(adrq.c.asset_id == self.asset_id,
                                                          adrq.c.target_dag_id == SCRATCH)).first() is None:
                conn.execute(adrq.insert().values(asset_id=self.asset_id, target_dag_id=SCRATCH,
                                                  created_at=dt.datetime.now(dt.timezone.utc)))

    def new_run(self, dag_id: str | None = None, *, wait: bool = False, **body) -> str:
        """Trigger a run (of the finished-run DAG by default) for a check that changes or deletes it."""
        dag_id = dag_id or self.dag_id
        r = self.api("POST", f"/api/v2/dags/{dag_id}/dagRuns",
                     json={"logical_date": None, "dag_run_id": self.unique("sweep"), **body})
        assert r.status_code == 200, r.text
        run_id = r.json()["dag_run_id"]
        if wait:
            self.lite.wait_for_run(dag_id, run_id, timeout=60)
        return run_id


def seed_dags(folder: Path) -> None:
    shutil.copytree(REPO_DAGS, folder, ignore=shutil.ignore_patterns("__pycache__"))
    source = example_dags()
    for name in EXAMPLES:
        if (source / name).exists():
            shutil.copy(source / name, folder / name)
    (folder / "sweep_scratch.py").write_text(SCRATCH_DAG)
    (folder / "sweep_victim.py").write_text(SCRATCH_DAG.replace("sweep_scratch", "sweep_victim"))


def start(tmp: Path) -> Context:
    """A real `leoflow lite` with the DAGs parsed and one finished run of `example_etl`."""
    import airflow_client.client as af

    from tests.e2e.lite_process import Lite

    home, dags = tmp / "home", tmp / "dags"
    home.mkdir()
    seed_dags(dags)
    env = {"LEOFLOW_ZOMBIE_THRESHOLD": "5",
           "LEOFLOW_LOG_EXTERNAL_URL": "https://logs.example/{dag_id}/{run_id}/{task_id}?try={try_number}"}
    lite = Lite(home, dags, env=env).start()
    try:
        run = lite.trigger(DAG_ID)
        done = lite.wait_for_run(DAG_ID, run["dag_run_id"], timeout=60)
        assert done["state"] == "success", done
        lite.wait_for(lambda: parsed_files(lite) >= {p.name for p in dags.glob("*.py")}, timeout=60)
    except BaseException:
        lite.stop()
        raise
    token = lite.token()
    config = af.Configuration(host=lite.base, access_token=token)
    ctx = Context(base_url=lite.base, token=token, dag_id=DAG_ID, run_id=run["dag_run_id"], task_id=TASK_ID,
                  lite=lite, client=af.ApiClient(config), headers={"Authorization": f"Bearer {token}"})
    r = lite.api("PATCH", f"/api/v2/dags/{SCRATCH}", json={"is_paused": True})
    assert r.status_code == 200, r.text
    ctx.scratch_run = ctx.new_run(SCRATCH)
    seed_scratch(ctx)
    return ctx


def seed_scratch(ctx: Context) -> None:
    """Rows the scheduler would make for a mapped task and an asset-triggered DAG, written directly."""
    import datetime as dt
    import uuid

    from leoflow.store.tables import asset, hitl_detail, hitl_detail_history, task_instance, task_instance_history
    from sqlalchemy import select

    now = dt.datetime.now(dt.timezone.utc)
    with ctx.engine.begin() as conn:
        base = conn.execute(select(task_instance).where(
            task_instance.c.dag_id == SCRATCH, task_instance.c.run_id == ctx.scratch_run,
            task_instance.c.task_id == "first")).mappings().first()
        for index in range(3):
            row = {**base, "id": str(uuid.uuid4()), "task_id": "mapped", "map_index": index, "state": "success",
                   "try_number": 2 if index == 0 else 1, "start_date": now, "end_date": now, "duration": 0.5,
                   "rendered_map_index": f"item {index}"}
            conn.execute(task_instance.insert().values(**row))
            question = dict(options=["Approve", "Reject"], subject=f"Ship item {index}?", body="From the sweep",
                            defaults=["Reject"], multiple=False, params={}, created_at=now, params_input={})
            if index < 2:  # human-in-the-loop requests waiting for an answer
                conn.execute(hitl_detail.insert().values(ti_id=row["id"], **question))
            if index == 0:  # an earlier, failed try of the first mapped instance, with its own request
                past = {k: v for k, v in row.items() if k != "id"}
                past.update(task_instance_id=row["id"], try_number=1, state="failed")
                hid = conn.execute(task_instance_history.insert().values(**past)).inserted_primary_key[0]
                conn.execute(hitl_detail_history.insert().values(ti_history_id=hid, **question))
        ctx.asset_id = conn.execute(asset.insert().values(
            name="sweep_asset", uri="s3://sweep/asset", group="asset", extra={}, created_at=now,
            updated_at=now)).inserted_primary_key[0]
    ctx.queue_asset_event()


def parsed_files(lite) -> set[str]:
    """File names the DAG processor has taken in: as a DAG or as an import error."""
    dags = lite.api("GET", "/api/v2/dags", params={"limit": 1000}).json().get("dags", [])
    errors = lite.api("GET", "/api/v2/importErrors", params={"limit": 1000}).json().get("import_errors", [])
    return {Path(d["fileloc"]).name for d in dags} | {Path(e["filename"]).name for e in errors}


def stop(ctx: Context) -> None:
    ctx.lite.stop()
