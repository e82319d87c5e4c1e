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
    _counter: itertools.count = field(default_factory=itertools.count)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def unique(self, name: str) -> str:
        with self._lock:
            return f"{name}_{next(self._counter)}"

    def api(self, method: str, path: str, **kw):
        """A plain httpx call for set-up steps the check itself does not measure."""
        return self.lite.api(method, path, **kw)


def seed_dags(folder: Path) -> None:
    shutil.copytree(REPO_DAGS, folder, ignore=shutil.ignore_patterns("__pycache__"))
    source = example_dags()
    for name in EXAMPLES:
        if (source / name).exists():
            shutil.copy(source / name, folder / name)


def start(tmp: Path) -> Context:
    """A real `leoflow lite` with the DAGs parsed and one finished run of `example_etl`."""
    import airflow_client.client as af

    from tests.e2e.lite_process import Lite

    home, dags = tmp / "home", tmp / "dags"
    home.mkdir()
    seed_dags(dags)
    lite = Lite(home, dags, env={"LEOFLOW_ZOMBIE_THRESHOLD": "5"}).start()
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
    return ctx


def parsed_files(lite) -> set[str]:
    """File names the DAG processor has taken in: as a DAG or as an import error."""
    dags = lite.api("GET", "/api/v2/dags", params={"limit": 1000}).json().get("dags", [])
    errors = lite.api("GET", "/api/v2/importErrors", params={"limit": 1000}).json().get("import_errors", [])
    return {Path(d["fileloc"]).name for d in dags} | {Path(e["filename"]).name for e in errors}


def stop(ctx: Context) -> None:
    ctx.lite.stop()
