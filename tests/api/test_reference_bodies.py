"""The `/dags` family on a real `leoflow lite` running the anchor DAG `xcom3`, compared with what
Airflow 3.2.1 answered for the same requests (`shared/airflow-3.2.1/bodies/`): same fields in the
same order at every level, same JSON types, and the same values where they do not depend on time.
"""

from __future__ import annotations

import json

import pytest

from tests.e2e.lite_process import Lite
from tests.reference import BODIES

SOURCE = (BODIES / "dagsources_xcom3_text.txt").read_text()
REF_RUN = "manual__2026-11-29T06:16:17.553415+00:00"
# Values that do not depend on when or where the run happened.
STABLE = {"task_id", "dag_id", "map_index", "state", "try_number", "max_tries", "task_display_name",
          "dag_display_name", "pool", "pool_slots", "queue", "operator", "operator_name", "executor_config",
          "key", "value", "version_number", "bundle_name", "run_type", "conf", "tags", "downstream_task_ids",
          "trigger_rule", "retries", "class_ref", "is_mapped", "template_fields", "content", "priority_weight"}
# Known gap (the runner's part): rendered fields leave out template fields whose value is None
# (Airflow lists `templates_dict: null`), so they are compared by value only.


@pytest.fixture(scope="module")
def lite(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("reference")
    dags, home = tmp / "dags", tmp / "home"
    dags.mkdir()
    home.mkdir()
    (dags / "xcom3.py").write_text(SOURCE)
    server = Lite(home, dags).start()
    run = server.trigger("xcom3")
    assert server.wait_for_run("xcom3", run["dag_run_id"], timeout=60)["state"] == "success"
    server.run_id = run["dag_run_id"]
    yield server
    server.stop()


def differences(ours, ref, path="", *, values=False, stable=frozenset(STABLE)) -> list[str]:
    """Where `ours` is shaped differently from `ref` (and, for `stable` fields, valued differently)."""
    out = []
    if isinstance(ref, dict) and isinstance(ours, dict):
        if list(ours) != list(ref):
            out.append(f"{path or '<body>'}: fields {list(ours)} != {list(ref)}")
        for key in ref:
            if key in ours:
                out += differences(ours[key], ref[key], f"{path}.{key}", values=values or key in stable,
                                   stable=stable)
        return out
    if isinstance(ref, list) and isinstance(ours, list):
        if values and len(ours) != len(ref):
            out.append(f"{path}: {len(ours)} items != {len(ref)}")
        for i, (a, b) in enumerate(zip(ours, ref)):
            out += differences(a, b, f"{path}[{i}]", values=values, stable=stable)
        return out
    if ref is None or ours is None:
        return out  # nullable: set on one side only (times, pids, hosts)
    if isinstance(ref, (int, float)) and isinstance(ours, (int, float)) and not isinstance(ref, bool):
        same_kind = True
    else:
        same_kind = type(ours) is type(ref)
    if not same_kind:
        out.append(f"{path}: {type(ours).__name__} != {type(ref).__name__}")
    elif values and ours != ref:
        out.append(f"{path}: {ours!r} != {ref!r}")
    return out


CASES = [
    ("dag_xcom3.json", "/api/v2/dags/xcom3"),
    ("dag_xcom3_details.json", "/api/v2/dags/xcom3/details"),
    ("dagruns_xcom3.json", "/api/v2/dags/xcom3/dagRuns"),
    ("dagrun_xcom3_one.json", "/api/v2/dags/xcom3/dagRuns/{run}"),
    ("taskinstances_xcom3_run.json", "/api/v2/dags/xcom3/dagRuns/{run}/taskInstances"),
    ("taskinstance_xcom3_transform.json", "/api/v2/dags/xcom3/dagRuns/{run}/taskInstances/transform"),
    ("taskinstance_xcom3_transform_tries.json", "/api/v2/dags/xcom3/dagRuns/{run}/taskInstances/transform/tries"),
    ("xcomentries_xcom3_transform.json", "/api/v2/dags/xcom3/dagRuns/{run}/taskInstances/transform/xcomEntries"),
    ("xcomentry_xcom3_transform_return_value.json",
     "/api/v2/dags/xcom3/dagRuns/{run}/taskInstances/transform/xcomEntries/return_value"),
    ("tasks_xcom3.json", "/api/v2/dags/xcom3/tasks"),
    ("task_xcom3_transform.json", "/api/v2/dags/xcom3/tasks/transform"),
    ("dagsources_xcom3.json", "/api/v2/dagSources/xcom3"),
    ("dagversions_xcom3.json", "/api/v2/dags/xcom3/dagVersions"),
    ("taskinstances_all_runs_xcom3.json", "/api/v2/dags/xcom3/dagRuns/~/taskInstances"),
]
# Lists over several DAGs: Airflow's held other DAGs, so only the shapes compare.
SHAPE_ONLY = [
    ("dagruns_all_dags.json", "/api/v2/dags/~/dagRuns?limit=5"),
    ("dags.json", "/api/v2/dags"),
]


@pytest.mark.parametrize("name,path", CASES, ids=[c[0].removesuffix(".json") for c in CASES])
def test_body_is_shaped_like_airflows(lite, name, path):
    ref = json.loads((BODIES / name).read_text())
    resp = lite.api("GET", path.format(run=lite.run_id))
    assert resp.status_code == 200, resp.text
    ours = json.loads(resp.text.replace(lite.run_id, REF_RUN))
    problems = [p for p in differences(ours, ref) if not _known_gap(p)]
    assert not problems, "\n".join(problems[:30])


@pytest.mark.parametrize("name,path", SHAPE_ONLY, ids=[c[0].removesuffix(".json") for c in SHAPE_ONLY])
def test_list_is_shaped_like_airflows(lite, name, path):
    ref = json.loads((BODIES / name).read_text())
    ours = lite.api("GET", path).json()
    problems = differences(ours, ref, stable=frozenset())
    assert not problems, "\n".join(problems[:30])


def _known_gap(problem: str) -> bool:
    return problem.startswith((".rendered_fields: fields", ".task_instances[1].rendered_fields: fields"))


def test_logs_are_shaped_like_airflows(lite):
    ref = json.loads((BODIES / "logs_xcom3_transform_1_json.json").read_text())
    ours = lite.api("GET", f"/api/v2/dags/xcom3/dagRuns/{lite.run_id}/taskInstances/transform/logs/1",
                    headers={"Accept": "application/json"}).json()
    assert list(ours) == list(ref)
    assert ours["content"][0]["event"] == ref["content"][0]["event"] == "::group::Log message source details"
    events = [e["event"] for e in ours["content"]]
    assert "transform got {'rows': 100}" in events
    assert "Done. Returned value was: {'rows': 200}" in events
    text = lite.api("GET", f"/api/v2/dags/xcom3/dagRuns/{lite.run_id}/taskInstances/transform/logs/1",
                    headers={"Accept": "text/plain"})
    assert text.status_code == 406
    assert text.json() == json.loads((BODIES / "logs_xcom3_transform_1_text.json").read_text())
