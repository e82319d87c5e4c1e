"""Authoring: dependencies, default_args, TaskFlow, schedules and the document."""

import datetime as dt
import hashlib
import json

import pytest

from airflow.operators.empty import EmptyOperator
from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG, TriggerRule, chain, dag, task
from leoflow.sdk.exceptions import AirflowException
from leoflow.sdk.serialize import serialize_dag


def ups(d):
    return {t.task_id: sorted(t.upstream_task_ids) for t in d.tasks}


def test_bitshift_lists_and_chain():
    with DAG("deps") as d:
        a, b, c, e, f, g = (EmptyOperator(task_id=x) for x in "abcefg")
        a >> [b, c]
        [b, c] >> e
        e << f
        g.set_downstream(f)
        g.set_upstream(a)
    assert ups(d) == {"a": [], "b": ["a"], "c": ["a"], "e": ["b", "c", "f"], "f": ["g"], "g": ["a"]}
    assert a.downstream_task_ids == {"b", "c", "g"}


def test_chain_pairs_lists():
    with DAG("chain") as d:
        t = [EmptyOperator(task_id=f"t{i}") for i in range(6)]
        chain(t[0], [t[1], t[2]], [t[3], t[4]], t[5])
    assert ups(d) == {"t0": [], "t1": ["t0"], "t2": ["t0"], "t3": ["t1"], "t4": ["t2"], "t5": ["t3", "t4"]}
    with DAG("chain_bad"):
        x = [EmptyOperator(task_id=f"x{i}") for i in range(3)]
        with pytest.raises(AirflowException, match="different length"):
            chain([x[0]], [x[1], x[2]])


def test_default_args_apply_and_explicit_wins():
    args = {"owner": "data", "retries": 2, "retry_delay": dt.timedelta(minutes=1), "queue": "q",
            "trigger_rule": TriggerRule.ALL_DONE, "execution_timeout": dt.timedelta(seconds=30)}
    with DAG("defaults", default_args=args) as d:
        a = BashOperator(task_id="a", bash_command="true")
        b = EmptyOperator(task_id="b", retries=5, owner="me")
    assert (a.owner, a.retries, a.retry_delay, a.queue, a.trigger_rule) == ("data", 2, dt.timedelta(minutes=1), "q", "all_done")
    assert (b.owner, b.retries, b.execution_timeout) == ("me", 5, dt.timedelta(seconds=30))
    assert serialize_dag(d)["owner"] == "data, me"


def test_operator_defaults():
    with DAG("plain") as d:
        t = EmptyOperator(task_id="t")
    assert (t.owner, t.retries, t.retry_delay, t.trigger_rule, t.pool, t.pool_slots, t.queue,
            t.priority_weight, t.weight_rule, t.do_xcom_push, t.multiple_outputs, t.depends_on_past) == (
        "airflow", 0, dt.timedelta(seconds=300), "all_success", "default_pool", 1, "default", 1,
        "downstream", True, False, False)
    assert t.dag is d and t.task_type == "EmptyOperator"
    assert d.catchup is False and d.schedule is None and d.max_active_runs == 16


def test_taskflow_ids_override_and_xcomarg_edges():
    @dag(schedule="@daily", start_date=dt.datetime(2024, 1, 1))
    def flow():
        @task
        def noop():
            return 1

        @task(task_id="renamed", retries=3)
        def add(x, y):
            return x + y

        a, b = noop(), noop()
        c = noop.override(task_id="custom")()
        s = add(a, y=b)
        c >> s

    d = flow()
    assert d.dag_id == "flow"
    assert sorted(d.task_ids) == ["custom", "noop", "noop__1", "renamed"]
    assert ups(d)["renamed"] == ["custom", "noop", "noop__1"]
    assert d.get_task("renamed").retries == 3


def test_multiple_outputs_inferred_from_annotation_and_getitem():
    with DAG("mo") as d:
        @task
        def pair() -> dict[str, int]:
            return {"a": 1}

        @task
        def use(v):
            return v

        p = pair()
        use(p["a"])
    assert d.get_task("pair").multiple_outputs is True
    assert ups(d)["use"] == ["pair"]


def test_task_outside_dag_context_then_called_inside():
    @task
    def hello():
        return "hi"

    with DAG("late") as d:
        hello()
    assert d.task_ids == ["hello"]


def test_dag_decorator_params_and_doc():
    @dag(dag_id="with_params")
    def fn(name="world", count=3):
        """Docs here."""
        EmptyOperator(task_id="t")

    d = fn()
    assert serialize_dag(d)["params"] == {"count": 3, "name": "world"}
    assert d.doc_md == "Docs here."


@pytest.mark.parametrize(
    "schedule, kind, value, preset, summary",
    [
        (None, "none", None, None, None),
        ("@daily", "cron", "0 0 * * *", "@daily", "0 0 * * *"),
        ("@hourly", "cron", "0 * * * *", "@hourly", "0 * * * *"),
        ("@weekly", "cron", "0 0 * * 0", "@weekly", "0 0 * * 0"),
        ("@monthly", "cron", "0 0 1 * *", "@monthly", "0 0 1 * *"),
        ("@yearly", "cron", "0 0 1 1 *", "@yearly", "0 0 1 1 *"),
        ("@annually", "cron", "0 0 1 1 *", "@annually", "0 0 1 1 *"),
        ("*/5 * * * *", "cron", "*/5 * * * *", None, "*/5 * * * *"),
        ("@once", "once", None, "@once", "@once"),
        ("@continuous", "continuous", None, "@continuous", "@continuous"),
        (dt.timedelta(days=1), "timedelta", 86400.0, None, "1 day, 0:00:00"),
    ],
)
def test_schedule_forms(schedule, kind, value, preset, summary):
    doc = serialize_dag(DAG("s", schedule=schedule))
    assert doc["schedule"] == {"kind": kind, "value": value, "preset": preset}
    assert doc["timetable_summary"] == summary


def test_bad_cron_is_a_parse_error():
    with pytest.raises(ValueError, match="Invalid Cron expression"):
        DAG("bad", schedule="not a cron")


def test_unsupported_schedule_names_itself():
    with pytest.raises(NotImplementedError, match="Leoflow does not support schedule="):
        DAG("bad", schedule=object())


def test_document_is_deterministic_and_tracks_changes():
    def build(extra=False):
        with DAG("h", start_date=dt.datetime(2024, 1, 1), tags=["b", "a"], dagrun_timeout=dt.timedelta(hours=1)) as d:
            ts = [EmptyOperator(task_id=f"t{i}") for i in (3, 1, 2)]
            ts[0] >> ts[1:]
            if extra:
                EmptyOperator(task_id="t4")
        return d

    def digest(d):
        return hashlib.sha256(json.dumps(serialize_dag(d), sort_keys=True).encode()).hexdigest()

    doc = serialize_dag(build())
    json.dumps(doc)  # JSON-able
    assert doc["start_date"] == "2024-01-01T00:00:00+00:00"  # naive means UTC
    assert doc["tags"] == ["a", "b"] and doc["dagrun_timeout"] == 3600.0
    assert [t["task_id"] for t in doc["tasks"]] == ["t1", "t2", "t3"]
    assert digest(build()) == digest(build()) != digest(build(extra=True))


def test_aware_start_date_converted_to_utc():
    import pendulum

    d = DAG("tz", start_date=pendulum.datetime(2024, 1, 1, 2, tz="Europe/Amsterdam"))
    assert serialize_dag(d)["start_date"] == "2024-01-01T01:00:00+00:00"


def test_aware_start_date_keeps_its_zone_as_the_dags_timezone():
    import pendulum

    d = DAG("tz", schedule="@daily", start_date=pendulum.datetime(2024, 1, 1, 2, tz="Europe/Amsterdam"))
    assert d.start_date == dt.datetime(2024, 1, 1, 1, tzinfo=dt.timezone.utc) and d.start_date.tzinfo.name == "UTC"
    assert d.timezone.name == "Europe/Amsterdam"  # the zone the schedule runs in
    assert serialize_dag(d)["timezone"] == "Europe/Amsterdam"


def test_naive_dates_become_utc_and_tasks_take_the_dags_as_airflow():
    """Airflow 3.2.1 (observed): a naive DAG start date is read in the default zone (UTC) and kept in UTC;
    a task without one gets the DAG's, an earlier one becomes the DAG's, a later one stays; end dates the
    other way round."""
    utc = dt.timezone.utc
    with DAG("naive", start_date=dt.datetime(2024, 1, 1), end_date=dt.datetime(2025, 1, 1)) as d:
        plain = EmptyOperator(task_id="plain")
        earlier = EmptyOperator(task_id="earlier", start_date=dt.datetime(2023, 6, 1),
                                end_date=dt.datetime(2026, 1, 1))
        later = EmptyOperator(task_id="later", start_date=dt.datetime(2024, 6, 1, 12),
                              end_date=dt.datetime(2024, 9, 1))
    assert d.start_date == dt.datetime(2024, 1, 1, tzinfo=utc) and d.start_date.utcoffset() is not None
    assert d.timezone.name == "UTC"
    assert d.start_date - dt.datetime(2024, 3, 1, tzinfo=utc) == dt.timedelta(days=-60)  # a naive one raised
    assert (plain.start_date, plain.end_date) == (d.start_date, d.end_date)
    assert (earlier.start_date, earlier.end_date) == (d.start_date, d.end_date)
    assert (later.start_date, later.end_date) == (dt.datetime(2024, 6, 1, 12, tzinfo=utc),
                                                  dt.datetime(2024, 9, 1, tzinfo=utc))
    assert serialize_dag(d)["start_date"] == "2024-01-01T00:00:00+00:00"


def test_default_args_dates_and_mapped_tasks_get_aware_dates():
    with DAG("naive", default_args={"start_date": dt.datetime(2024, 1, 1)}) as d:
        one = EmptyOperator(task_id="one")
        mapped = BashOperator.partial(task_id="m").expand(bash_command=["true", "false"])
    assert d.start_date.utcoffset() is not None and d.default_args["start_date"] == d.start_date
    assert one.start_date == d.start_date and one.start_date.utcoffset() is not None
    assert mapped.expand_for(1, lambda *a: None).start_date == d.start_date


def test_naive_dates_are_read_in_the_configured_default_timezone(monkeypatch):
    monkeypatch.setenv("AIRFLOW__CORE__DEFAULT_TIMEZONE", "Europe/Amsterdam")
    d = DAG("local", schedule="@daily", start_date=dt.datetime(2024, 1, 1))
    assert d.start_date == dt.datetime(2023, 12, 31, 23, tzinfo=dt.timezone.utc)
    assert d.timezone.name == "Europe/Amsterdam"
    assert serialize_dag(d)["timezone"] == "Europe/Amsterdam"


def test_trigger_rule_validation():
    with DAG("tr"):
        with pytest.raises(ValueError, match="trigger_rule must be one of"):
            EmptyOperator(task_id="x", trigger_rule="sometimes")
