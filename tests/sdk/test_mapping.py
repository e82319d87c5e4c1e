"""Dynamic task mapping at parse time (the document) and per map index (expand_for)."""

import pytest

from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG, task, task_group
from leoflow.sdk import runtime
from leoflow.sdk.mapping import MappedOperator
from leoflow.sdk.serialize import serialize_dag

from .conftest import make_run, make_ti


def docs(d):
    return {t["task_id"]: t for t in serialize_dag(d)["tasks"]}


def test_classic_partial_expand():
    with DAG("m") as d:
        op = BashOperator.partial(task_id="say", retries=2, env={"A": "1"}).expand(bash_command=["echo 1", "echo 2"])
    assert isinstance(op, MappedOperator) and op.retries == 2
    doc = docs(d)["say"]
    assert doc["is_mapped"] is True and doc["task_type"] == "BashOperator"
    assert doc["expand"] == {"kind": "expand", "args": {"bash_command": {"type": "literal", "length": 2}}}
    assert doc["operator_class"] == "airflow.providers.standard.operators.bash.BashOperator"
    one = op.expand_for(1, lambda *a: None)
    assert type(one) is BashOperator and one.bash_command == "echo 2" and one.env == {"A": "1"}
    assert one.retries == 2 and one.task_id == "say" and one.dag is d and one.map_index == 1


def test_expanding_a_baseoperator_argument_is_refused():
    with DAG("m"):
        with pytest.raises(NotImplementedError, match="Leoflow does not support mapping over the BaseOperator argument .retries."):
            BashOperator.partial(task_id="x").expand(retries=[1, 2])
        with pytest.raises(TypeError, match="nope"):
            BashOperator.partial(task_id="y").expand(nope=[1])
        with pytest.raises(ValueError, match="cannot map over int"):
            BashOperator.partial(task_id="z").expand(bash_command=3)


def test_decorated_expand_over_xcom_and_cross_product_order():
    with DAG("m") as d:
        @task
        def nums():
            return [1, 2]

        @task
        def add(x, y, z):
            return x + y + z

        add.partial(z=100).expand(x=nums(), y=[10, 20, 30])
    doc = docs(d)["add"]
    assert doc["upstream"] == ["nums"]
    assert doc["expand"]["args"] == {"x": {"type": "xcom", "task_id": "nums", "key": "return_value"},
                                     "y": {"type": "literal", "length": 3}}
    mapped = d.get_task("add")
    pull = lambda task_id, key, idx: [1, 2]  # noqa: E731
    got = [(o.op_kwargs["x"], o.op_kwargs["y"], o.op_kwargs["z"]) for o in (mapped.expand_for(i, pull) for i in range(6))]
    # The last argument varies fastest, as in Airflow.
    assert got == [(1, 10, 100), (1, 20, 100), (1, 30, 100), (2, 10, 100), (2, 20, 100), (2, 30, 100)]


def test_map_zip_concat_sources_and_values():
    with DAG("m") as d:
        @task
        def a():
            return [1, 2, 3]

        @task
        def b():
            return ["x", "y"]

        @task
        def use(v):
            return v

        a(), b()
        use.override(task_id="mapped").expand(v=d.get_task("a").output.map(lambda n: n * 10))
        use.override(task_id="zipped").expand(v=d.get_task("a").output.zip(d.get_task("b").output, fillvalue=None))
        use.override(task_id="joined").expand(v=d.get_task("a").output.concat(d.get_task("b").output))
    by_id = docs(d)
    assert by_id["mapped"]["expand"]["args"]["v"] == {"type": "map", "source": {"type": "xcom", "task_id": "a", "key": "return_value"}}
    assert by_id["zipped"]["expand"]["args"]["v"]["type"] == "zip" and by_id["zipped"]["expand"]["args"]["v"]["fill"] is True
    assert by_id["joined"]["upstream"] == ["a", "b"]
    values = {"a": [1, 2, 3], "b": ["x", "y"]}
    pull = lambda task_id, key, idx: values[task_id]  # noqa: E731
    assert d.get_task("mapped").expand_for(2, pull).op_kwargs["v"] == 30
    assert d.get_task("zipped").expand_for(2, pull).op_kwargs["v"] == (3, None)
    assert d.get_task("joined").expand_for(4, pull).op_kwargs["v"] == "y"


def test_expand_kwargs_and_dict_expansion():
    with DAG("m") as d:
        BashOperator.partial(task_id="kw").expand_kwargs([{"bash_command": "echo a"}, {"bash_command": "echo b", "env": {"K": "v"}}])

        @task
        def pair(item):
            return item

        pair.expand(item={"k1": 1, "k2": 2})
    assert docs(d)["kw"]["expand"] == {"kind": "expand_kwargs", "args": {"kwargs": {"type": "literal", "length": 2}}}
    second = d.get_task("kw").expand_for(1, lambda *a: None)
    assert (second.bash_command, second.env) == ("echo b", {"K": "v"})
    assert d.get_task("pair").expand_for(1, lambda *a: None).op_kwargs["item"] == ("k2", 2)


def test_mapped_task_inside_mapped_group_is_a_clear_parse_error():
    with DAG("m"):
        @task
        def inner(x):
            return x

        @task_group
        def grp(x):
            inner.expand(x=[1, 2])

        with pytest.raises(NotImplementedError, match="Leoflow does not support a mapped task"):
            grp.expand(x=[1])


def test_a_map_function_runs_only_for_its_own_index_and_may_skip_it():
    from leoflow.sdk.exceptions import AirflowSkipException

    with DAG("m") as d:
        @task
        def data():
            return [("echo a", "keep"), ("echo b", "drop")]

        def mapper(entry):
            if entry[1] == "drop":
                raise AirflowSkipException("not this one")
            return {"bash_command": entry[0]}

        BashOperator.partial(task_id="one").expand_kwargs(data().map(mapper))
    pull = lambda task_id, key, idx: [("echo a", "keep"), ("echo b", "drop")]  # noqa: E731
    assert d.get_task("one").expand_for(0, pull).bash_command == "echo a"
    # The skipped index still gets its task; running it ends that instance skipped, with the reason logged
    skipped = d.get_task("one").expand_for(1, pull)
    context = runtime.build_context(d, skipped, {**make_ti(d, skipped), "map_index": 1}, make_run(d))
    assert runtime.run_task(skipped, context, is_mapped=True).state == "skipped"
    assert runtime.rendered_fields(skipped) == {}


def test_a_map_function_may_skip_an_index_of_a_mapped_task_group():
    from leoflow.sdk.exceptions import AirflowSkipException

    with DAG("m") as d:
        @task
        def data():
            return [1, 2]

        def only_even(n):
            if n % 2:
                raise AirflowSkipException("odd")
            return n

        @task
        def inner(x):
            return x

        @task_group
        def grp(x):
            inner(x)

        grp.expand(x=data().map(only_even))
    pull = lambda task_id, key, idx: [1, 2]  # noqa: E731
    member = d.get_task("grp.inner")
    assert [v.value for v in member.expand_for(1, pull).op_args] == [2]
    skipped = member.expand_for(0, pull)
    context = runtime.build_context(d, skipped, {**make_ti(d, skipped), "map_index": 0}, make_run(d))
    assert runtime.run_task(skipped, context, is_mapped=True).state == "skipped"


def test_dag_task_decorator_binds_the_dag():
    d = DAG("bound")

    @d.task
    def hello():
        return 1

    @d.task(task_id="named")
    def other():
        return 2

    hello()
    other()
    assert sorted(d.task_ids) == ["hello", "named"]


def test_partial_xcom_arguments_keep_the_edge_and_expand_cleanly():
    with DAG("m") as d:
        @task
        def other():
            return 5

        @task
        def add(x, y):
            return x + y

        add.partial(y=other()).expand(x=[1, 2])
    mapped = d.get_task("add")
    assert mapped.upstream_task_ids == {"other"}
    one = mapped.expand_for(1, lambda *a: None)
    assert one.op_kwargs["x"] == 2 and one.op_kwargs["y"].operator.task_id == "other"
    assert one.upstream_task_ids == {"other"} and d.get_task("add") is mapped
