"""Operator extra links: the standard operators' links and the URL each try keeps as an XCom."""

from __future__ import annotations

import pytest

from leoflow.sdk.dag import DAG
from leoflow.sdk.links import BaseOperatorLink, ExternalDagLink, TriggerDagRunLink
from leoflow.sdk.operators.trigger_dagrun import TriggerDagRunOperator
from leoflow.sdk.runtime import push_extra_links
from leoflow.sdk.sensors.external_task import ExternalTaskMarker, ExternalTaskSensor
from leoflow.sdk.serialize import task_doc


class FakeTI:
    """What a link reads of the task instance: its identity and its XComs."""

    def __init__(self, task_id="t", run_id="manual__2026-01-05T00:00:00+00:00", xcoms=None):
        self.dag_id, self.task_id, self.run_id, self.map_index, self.try_number = "d", task_id, run_id, -1, 1
        self.xcoms = dict(xcoms or {})

    def xcom_pull(self, task_ids=None, key="return_value", **_):
        assert task_ids == self.task_id
        return self.xcoms.get(key)

    def xcom_push(self, key, value):
        self.xcoms[key] = value


@pytest.fixture(autouse=True)
def _no_base_url(monkeypatch):
    monkeypatch.delenv("AIRFLOW__API__BASE_URL", raising=False)


def test_trigger_link_points_at_the_triggered_run():
    with DAG("controller", schedule=None):
        op = TriggerDagRunOperator(task_id="go", trigger_dag_id="target")
    ti = FakeTI("go", xcoms={"trigger_run_id": "manual__2026-01-05T01:02:03+00:00"})
    push_extra_links(op, ti)
    assert ti.xcoms["_link_TriggerDagRunLink"] == "/dags/target/runs/manual__2026-01-05T01:02:03+00:00"
    assert task_doc(op)["extra_links"] == ["Triggered DAG"]
    assert task_doc(op)["extra_link_keys"] == {"Triggered DAG": "_link_TriggerDagRunLink"}


def test_external_links_use_this_runs_id_and_base_url(monkeypatch):
    monkeypatch.setenv("AIRFLOW__API__BASE_URL", "http://leoflow.example:8080/")
    with DAG("parent", schedule=None):
        marker = ExternalTaskMarker(task_id="mark", external_dag_id="child", external_task_id="c")
        sensor = ExternalTaskSensor(task_id="wait", external_dag_id="up", external_task_id="u")
    for op, dag_id in ((marker, "child"), (sensor, "up")):
        ti = FakeTI(op.task_id, run_id="scheduled__2026-01-05T00:00:00+00:00")
        push_extra_links(op, ti)
        assert ti.xcoms == {"_link_ExternalDagLink":
                            f"http://leoflow.example:8080/dags/{dag_id}/runs/scheduled__2026-01-05T00:00:00+00:00"}
        assert task_doc(op)["extra_links"] == ["External DAG"]


def test_a_users_link_class_is_keyed_by_its_name():
    class DocsLink(BaseOperatorLink):
        name = "Docs"

        def get_link(self, operator, *, ti_key):
            return f"https://docs.example/{operator.task_id}/{ti_key.try_number}"

    assert DocsLink().xcom_key == "_link_DocsLink"
    assert TriggerDagRunLink().xcom_key == "_link_TriggerDagRunLink" and ExternalDagLink().name == "External DAG"
    with DAG("d", schedule=None):
        op = ExternalTaskMarker(task_id="m", external_dag_id="x", external_task_id="y")
    op.operator_extra_links = (DocsLink(),)
    ti = FakeTI("m")
    push_extra_links(op, ti)
    assert ti.xcoms == {"_link_DocsLink": "https://docs.example/m/1"}


def test_a_mapped_task_shows_its_operator_classs_links():
    with DAG("mapped_links", schedule=None):
        mapped = TriggerDagRunOperator.partial(task_id="fan").expand(trigger_dag_id=["a", "b"])
    doc = task_doc(mapped)
    assert doc["is_mapped"] and doc["extra_links"] == ["Triggered DAG"]
    assert doc["extra_link_keys"] == {"Triggered DAG": "_link_TriggerDagRunLink"}
