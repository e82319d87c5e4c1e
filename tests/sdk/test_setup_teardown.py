"""Setup/teardown: flags, trigger rules and the wiring of `with` blocks (Airflow 3.2's graphs)."""

import pytest

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, setup, task, task_group, teardown
from leoflow.sdk import collect


def ups(d):
    return {t.task_id: sorted(t.upstream_task_ids) for t in d.tasks}


def test_as_teardown_marks_setups_and_links_them():
    with DAG("st") as d:
        s, w, t = (EmptyOperator(task_id=x) for x in ("s", "w", "t"))
        s >> w >> t.as_teardown(setups=s, on_failure_fail_dagrun=True)
    assert (s.is_setup, t.is_teardown, t.on_failure_fail_dagrun) == (True, True, True)
    assert t.trigger_rule == "all_done_setup_success"
    assert ups(d) == {"s": [], "w": ["s"], "t": ["s", "w"]}


def test_decorated_teardown_context_manager_wires_work_between():
    with DAG("st") as d:
        @setup
        def make():
            return "cluster"

        @teardown(on_failure_fail_dagrun=True)
        def destroy(cluster):
            pass

        @task
        def work():
            pass

        @task_group
        def section():
            @setup
            def inner_setup():
                return 1

            @task
            def inner_work(x):
                pass

            @teardown
            def inner_teardown(x):
                pass

            s = inner_setup()
            inner_work(s) >> inner_teardown(s)

        with destroy(make()):
            work()
            section()
    assert ups(d) == {
        "make": [], "work": ["make"], "destroy": ["make", "work"],
        "section.inner_setup": [], "section.inner_work": ["section.inner_setup"],
        "section.inner_teardown": ["section.inner_setup", "section.inner_work"],
    }
    destroy_op = d.get_task("destroy")
    assert destroy_op.is_teardown and destroy_op.on_failure_fail_dagrun
    assert destroy_op.trigger_rule == "all_done_setup_success"


def test_setup_context_manager_and_nested_blocks():
    with DAG("st") as d:
        s1, t1, s2, t2, w = (EmptyOperator(task_id=x) for x in ("s1", "t1", "s2", "t2", "w"))
        s1.as_setup()
        s2.as_setup()
        t1.as_teardown(setups=s1)
        t2.as_teardown(setups=s2)
        with s1 >> t1:
            with s2 >> t2:
                w2 = EmptyOperator(task_id="w2")
    assert "s2" in ups(d)["w2"] and "w2" in ups(d)["t2"]
    assert "s1" in ups(d)["s2"]  # outer setup before inner setup
    assert "t2" in ups(d)["t1"]  # inner teardown before outer teardown
    assert not ups(d)["w"]


def test_only_setup_or_teardown_can_be_a_context_manager():
    with DAG("st"):
        plain = EmptyOperator(task_id="plain")
        with pytest.raises(Exception, match="Only setup/teardown"):
            with plain:
                pass


def test_teardown_trigger_rule_is_not_configurable():
    with DAG("st"):
        @teardown
        def t():
            pass

        with pytest.raises(ValueError, match="Trigger rule not configurable"):
            t.override(trigger_rule="all_success")()


def test_setup_followed_by_non_all_success_work_fails_to_parse(dag_file):
    path = dag_file(
        "from airflow.sdk import DAG\n"
        "from airflow.providers.standard.operators.empty import EmptyOperator\n"
        "with DAG('bad_setup'):\n"
        "    s = EmptyOperator(task_id='s').as_setup()\n"
        "    s >> EmptyOperator(task_id='w', trigger_rule='all_done')\n"
    )
    with pytest.raises(ValueError, match="Setup tasks must be followed with trigger rule ALL_SUCCESS"):
        collect.dags_from_file(path)
