"""TaskGroups: ids, nesting, edges through groups, default_args, @task_group and the document."""

import pytest

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, Label, TaskGroup, task, task_group
from leoflow.sdk.exceptions import DuplicateTaskIdFound
from leoflow.sdk.serialize import serialize_dag


def ups(d):
    return {t.task_id: sorted(t.upstream_task_ids) for t in d.tasks}


def test_ids_are_prefixed_and_nested_groups_prefix_every_level():
    with DAG("g") as d:
        with TaskGroup("outer") as outer:
            EmptyOperator(task_id="a")
            with TaskGroup("inner"):
                EmptyOperator(task_id="b")
            with TaskGroup("flat", prefix_group_id=False):
                EmptyOperator(task_id="c")
    assert sorted(d.task_ids) == ["c", "outer.a", "outer.inner.b"]
    assert sorted(d.task_group_dict) == ["outer", "outer.flat", "outer.inner"]
    assert d.get_task("outer.inner.b").task_group.group_id == "outer.inner"
    assert outer.get_child_by_label("a").task_id == "outer.a"


def test_group_edges_use_roots_and_leaves():
    with DAG("g") as d:
        start, end = EmptyOperator(task_id="start"), EmptyOperator(task_id="end")
        with TaskGroup("section") as section:
            a, b, c = (EmptyOperator(task_id=x) for x in "abc")
            a >> b
        start >> section >> end
    assert ups(d) == {"start": [], "end": ["section.b", "section.c"], "section.a": ["start"],
                      "section.b": ["section.a"], "section.c": ["start"]}
    doc = serialize_dag(d)
    assert doc["task_groups"]["section"]["children"] == ["section.a", "section.b", "section.c"]
    by_id = {t["task_id"]: t for t in doc["tasks"]}
    assert by_id["section.a"]["task_group_id"] == "section" and by_id["start"]["task_group_id"] is None


def test_group_to_group_and_labels_through_groups():
    with DAG("g") as d:
        with TaskGroup("one") as one:
            EmptyOperator(task_id="x")
        with TaskGroup("two") as two:
            EmptyOperator(task_id="y")
        branch = EmptyOperator(task_id="branch")
        one >> two
        branch >> Label("go") >> one
    assert ups(d)["two.y"] == ["one.x"]
    assert ups(d)["one.x"] == ["branch"]
    assert serialize_dag(d)["edge_labels"] == {"branch": {"one.upstream_join_id": "go", "one.x": "go"}}


def test_group_default_args_beat_the_dags():
    with DAG("g", default_args={"retries": 1, "owner": "dag"}):
        with TaskGroup("grp", default_args={"retries": 4}):
            t = EmptyOperator(task_id="t")
    assert (t.retries, t.owner) == (4, "dag")


def test_duplicate_group_id_is_an_error_unless_suffixed():
    with DAG("g"):
        TaskGroup("grp")
        with pytest.raises(DuplicateTaskIdFound):
            TaskGroup("grp")
        assert TaskGroup("grp", add_suffix_on_collision=True).group_id == "grp__1"


def test_task_group_decorator_returns_what_the_function_returns():
    with DAG("g") as d:
        @task
        def one():
            return 1

        @task
        def add(x):
            return x + 1

        @task_group
        def section(x):
            """Adds."""
            return add(x)

        out = section(one())
        final = EmptyOperator(task_id="final")
        out >> final
        again = section(1)  # a second call gets a suffixed group
    assert ups(d)["section.add"] == ["one"]
    assert ups(d)["final"] == ["section.add"]
    assert again.operator.task_id == "section__1.add"
    assert d.task_group_dict["section"].tooltip == "Adds."


def test_mapped_task_group_document_and_expand_for():
    with DAG("g") as d:
        @task
        def double(x):
            return x * 2

        @task
        def show(value, label):
            return f"{label}:{value}"

        @task_group
        def grp(x, label):
            show(double(x), label)

        grp.partial(label="L").expand(x=[1, 2, 3])
    doc = serialize_dag(d)
    assert doc["task_groups"]["grp"]["is_mapped"] is True
    assert doc["task_groups"]["grp"]["expand"] == {"kind": "expand", "args": {"x": {"type": "literal", "length": 3}}}
    tasks = {t["task_id"]: t for t in doc["tasks"]}
    assert tasks["grp.show"]["mapped_group_id"] == "grp" and tasks["grp.show"]["is_mapped"] is False

    pulls = []

    def pull(task_id, key, map_indexes):
        pulls.append((task_id, key, map_indexes))
        return {1: 20}[map_indexes]

    op = d.get_task("grp.show").expand_for(1, pull)
    assert pulls == [("grp.double", "return_value", 1)]
    resolved = [v.resolve({}) if hasattr(v, "resolve") else v for v in op.op_args]
    assert resolved == [20, "L"]
    first = d.get_task("grp.double").expand_for(2, pull)
    assert first.op_args[0].resolve({}) == 3
    assert d.get_task("grp.double").op_args[0].key == "x"  # the parsed task is untouched


def test_explicit_task_group_outside_with_blocks():
    d = DAG("explicit")
    grp = TaskGroup("grp", dag=d)
    t = EmptyOperator(task_id="t", task_group=grp)
    assert t.task_id == "grp.t" and t.dag is d and d.task_group_dict["grp"].children == {"grp.t": t}
