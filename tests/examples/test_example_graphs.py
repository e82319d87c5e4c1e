"""Every DAG of Airflow 3.2.1's example folder parses in Leoflow into the same graph Airflow built.

Compared per DAG with `graphs.json` (what real Airflow 3.2.1 produced): task
ids, upstream edges, trigger rules, task groups (per task and the DAG's list,
mapped ones too), mapped or not, setup/teardown flags, operator class and
name, and edge labels.
"""

from __future__ import annotations

import json
import re

import pytest

from tests.examples.conftest import example_files, record, record_skip
from tests.reference import REFERENCE_EXAMPLES

_REFERENCE = json.loads((REFERENCE_EXAMPLES / "graphs.json").read_text()) if REFERENCE_EXAMPLES.exists() else {}


@pytest.fixture(scope="module")
def parsed(example_folder) -> tuple[dict, dict]:
    """dag_id -> serialized document, and file -> import error, for the whole folder."""
    from leoflow.dagproc.parse import parse_file

    docs: dict[str, dict] = {}
    errors: dict[str, str] = {}
    for path in example_files(example_folder):
        result = parse_file(str(path))
        rel = str(path.relative_to(example_folder))
        if result.error:
            errors[rel] = result.error
        for doc in result.dags:
            docs[doc["dag_id"]] = {**doc, "_file": rel}
    return docs, errors


def leoflow_graph(doc: dict) -> dict:
    groups = doc.get("task_groups", {})
    return {
        "task_groups": sorted(groups),
        "mapped_task_groups": sorted(g for g, v in groups.items() if v["is_mapped"]),
        "edge_labels": {up: {down: {"label": label} for down, label in downs.items()}
                        for up, downs in doc.get("edge_labels", {}).items()},
        "tasks": {
            t["task_id"]: {
                "upstream_task_ids": sorted(t["upstream"]),
                "trigger_rule": t["trigger_rule"],
                "task_group_id": t["task_group_id"],
                "is_mapped": t["is_mapped"],
                "in_mapped_task_group": t["mapped_group_id"],
                "is_setup": t["is_setup"],
                "is_teardown": t["is_teardown"],
                "operator_class": t["operator_class"].rsplit(".", 1)[-1],
                "operator_name": t["operator_name"],
            }
            for t in doc["tasks"]
        },
    }


def reference_graph(ref: dict) -> dict:
    return {
        "task_groups": sorted(ref["task_groups"]),
        "mapped_task_groups": sorted(ref["mapped_task_groups"]),
        "edge_labels": ref["edge_labels"],
        "tasks": {
            task_id: {
                "upstream_task_ids": sorted(t["upstream_task_ids"]),
                "trigger_rule": t["trigger_rule"],
                "task_group_id": t["task_group_id"],
                "is_mapped": t["is_mapped"],
                "in_mapped_task_group": t["in_mapped_task_group"],
                "is_setup": t["is_setup"],
                "is_teardown": t["is_teardown"],
                "operator_class": t["operator_class"],
                "operator_name": t["operator_name"],
            }
            for task_id, t in ref["tasks"].items()
        },
    }


def differences(mine: dict, ref: dict) -> list[str]:
    out = []
    for key in ("task_groups", "mapped_task_groups", "edge_labels"):
        if mine[key] != ref[key]:
            out.append(f"{key}: leoflow {mine[key]} != airflow {ref[key]}")
    missing = sorted(set(ref["tasks"]) - set(mine["tasks"]))
    extra = sorted(set(mine["tasks"]) - set(ref["tasks"]))
    if missing or extra:
        out.append(f"task ids: missing {missing}, unexpected {extra}")
    for task_id in sorted(set(ref["tasks"]) & set(mine["tasks"])):
        for field, value in ref["tasks"][task_id].items():
            if mine["tasks"][task_id][field] != value:
                out.append(f"{task_id}.{field}: leoflow {mine['tasks'][task_id][field]!r} != airflow {value!r}")
    return out


@pytest.mark.parametrize("dag_id", sorted(_REFERENCE))
def test_graph_matches_airflow(dag_id, parsed, reference_graphs):
    docs, errors = parsed
    ref = reference_graphs[dag_id]
    doc = docs.get(dag_id)
    error = errors.get(ref["file"], "")
    missing = re.search(r"ModuleNotFoundError: No module named '([^'.]+)", error)
    if doc is None and missing and not missing.group(1).startswith("airflow"):
        # A third-party package the DAG file itself imports (Airflow's run had it installed).
        record_skip("graph", f"{dag_id} needs the {missing.group(1)!r} package")
        pytest.skip(f"{ref['file']} imports {missing.group(1)!r}, which is not installed here")
    if doc is None:
        record("graph", False)
        pytest.fail(f"{dag_id} was not parsed from {ref['file']}: {errors.get(ref['file'], 'no such DAG')}")
    diff = differences(leoflow_graph(doc), reference_graph(ref))
    record("graph", not diff)
    assert not diff, "\n".join(diff)


KUBERNETES_EXAMPLES = ("example_kubernetes_executor.py", "example_local_kubernetes_executor.py")


def _kubernetes_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("kubernetes") is not None


def test_kubernetes_examples_parse_without_error(parsed, example_folder):
    """These two files define their DAGs only where the `kubernetes` package is installed, as on Airflow.
    Leoflow ships it for its Kubernetes executor; the reference was recorded on an Airflow without it."""
    docs, errors = parsed
    for name in KUBERNETES_EXAMPLES:
        assert name not in errors, errors.get(name)
        defined = [d for d in docs.values() if d["_file"] == name]
        assert bool(defined) == _kubernetes_installed(), defined


def test_every_parsed_dag_is_in_the_reference(parsed):
    docs, _ = parsed
    beyond = {dag_id for dag_id, d in docs.items() if d["_file"] in KUBERNETES_EXAMPLES}
    assert sorted(set(docs) - set(_REFERENCE) - beyond) == []


def test_plugin_weight_strategy_gives_airflows_priorities(parsed):
    """example_custom_weight with the example plugins loaded: the weights Airflow 3.2.1 gave its TIs."""
    docs, _ = parsed
    weights = {t["task_id"]: t["priority_weight_total"] for t in docs["example_custom_weight"]["tasks"]}
    assert weights == {"start": 5, "task_1": 4, "task_2": 4, "task_non_custom": 2}


def test_plugin_timetable_is_a_custom_schedule(parsed):
    docs, _ = parsed
    schedule = docs["example_workday_timetable"]["schedule"]
    assert schedule["kind"] == "custom" and schedule["class"].endswith("workday.AfterWorkdayTimetable")
