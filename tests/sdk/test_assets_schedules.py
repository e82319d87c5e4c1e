"""Assets, asset conditions, timetables and plugins in the DAG document."""

import datetime as dt

import pytest

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import (
    DAG, Asset, AssetAlias, AssetOrTimeSchedule, CronTriggerTimetable, DeltaDataIntervalTimetable,
    EventsTimetable, asset,
)
from airflow.timetables.base import Timetable
from leoflow.sdk import dag as dag_module
from leoflow.sdk import plugins
from leoflow.sdk.priority_strategy import PriorityWeightStrategy
from leoflow.sdk.serialize import serialize_dag


def test_asset_names_uris_and_conditions():
    a, b, c = Asset("s3://x/a"), Asset(name="b", uri="s3://y/b"), Asset(uri="s3://z/c")
    assert (a.name, a.uri, c.name) == ("s3://x/a", "s3://x/a", "s3://z/c")
    with DAG("consumer", schedule=a | (b & c)) as d:
        EmptyOperator(task_id="t", outlets=[AssetAlias("al"), Asset.ref(name="b")])
    doc = serialize_dag(d)
    b_expr = {"asset": {"name": "b", "uri": "s3://y/b", "group": "asset"}}
    assert doc["schedule"] == {"kind": "assets", "value": {"any": [
        {"asset": {"name": "s3://x/a", "uri": "s3://x/a", "group": "asset"}},
        {"all": [b_expr, {"asset": {"name": "s3://z/c", "uri": "s3://z/c", "group": "asset"}}]}]}}
    assert doc["asset_expression"] == doc["schedule"]["value"]
    assert doc["tasks"][0]["outlets"] == [{"type": "asset_alias", "name": "al", "group": "asset"},
                                         {"type": "asset_name_ref", "name": "b"}]
    with DAG("list", schedule=[a, b]) as d2:
        pass
    assert list(serialize_dag(d2)["schedule"]["value"]) == ["all"]
    with pytest.raises(ValueError, match="reserved"):
        Asset("airflow://nope")


def test_timetable_documents():
    cases = {
        CronTriggerTimetable("@daily", timezone="Europe/Paris"): {
            "kind": "cron_trigger", "value": "0 0 * * *", "timezone": "Europe/Paris", "interval": 0.0},
        DeltaDataIntervalTimetable(dt.timedelta(hours=2)): {"kind": "delta_interval", "value": 7200.0},
        AssetOrTimeSchedule(timetable=CronTriggerTimetable("0 1 * * 3", timezone="UTC"), assets=[Asset("q")]): {
            "kind": "asset_or_time",
            "timetable": {"kind": "cron_trigger", "value": "0 1 * * 3", "timezone": "UTC", "interval": 0.0},
            "assets": {"all": [{"asset": {"name": "q", "uri": "q", "group": "asset"}}]}},
        EventsTimetable([dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc), dt.datetime(2026, 1, 1)]): {
            "kind": "events", "value": ["2026-01-01T00:00:00+00:00", "2026-03-01T00:00:00+00:00"],
            "restrict_to_events": False, "description": "2 events"},
    }
    for timetable, expected in cases.items():
        with DAG("tt", schedule=timetable) as d:
            pass
        assert serialize_dag(d)["schedule"] == expected
    with DAG("plain", schedule="@daily") as d:
        pass
    doc = serialize_dag(d)
    assert doc["schedule"]["kind"] == "cron" and doc["timetable_type"] == "CronTriggerTimetable"
    with pytest.raises(ValueError, match="Invalid Cron"):
        CronTriggerTimetable("every day", timezone="UTC")


def test_asset_decorator_makes_a_dag_with_one_producing_task():
    dag_module.take_created()

    @asset(uri="s3://bucket/out", schedule=None)
    def produced(self, context, upstream_asset):
        return self.name

    created = {d.dag_id: d for d in dag_module.take_created()}
    d = created["produced"]
    op = d.get_task("produced")
    assert [o.uri for o in op.outlets] == ["s3://bucket/out"]
    assert [i.name for i in op.inlets] == ["upstream_asset"]
    assert op.execute({}) == "produced"


class CustomTimetable(Timetable):
    def __init__(self, every: int = 1):
        self.every = every

    def serialize(self):
        return {"every": self.every}


class HalfStrategy(PriorityWeightStrategy):
    def get_weight(self, ti):
        return max(10 - 2 * ti.try_number, 1)


def test_plugin_timetables_and_weight_strategies_must_be_registered():
    with pytest.raises(ImportError, match="not registered by any plugin"):
        DAG("custom", schedule=CustomTimetable())
    with DAG("w"):
        with pytest.raises(ImportError, match="Unknown priority strategy"):
            EmptyOperator(task_id="x", weight_rule=HalfStrategy())

    class Plugin(plugins.AirflowPlugin):
        name = "test_plugin"
        timetables = [CustomTimetable]
        priority_weight_strategies = [HalfStrategy]

    try:
        with DAG("custom", schedule=CustomTimetable(3)) as d:
            EmptyOperator(task_id="x", weight_rule=HalfStrategy(), retries=1)
            EmptyOperator(task_id="y", weight_rule=f"{__name__}.HalfStrategy")
        doc = serialize_dag(d)
        assert doc["schedule"] == {"kind": "custom", "class": f"{__name__}.CustomTimetable", "data": {"every": 3}}
        x = doc["tasks"][0]
        assert x["weight_rule"] == f"{__name__}.HalfStrategy"
        assert x["weight_by_try"] == [10, 8, 6] and x["priority_weight_total"] == 10
    finally:
        plugins.plugins.remove(Plugin)
        plugins.timetable_classes.clear()
        plugins.priority_weight_strategies.clear()


def test_plugins_folder_loads_each_module_and_survives_a_broken_one(tmp_path):
    (tmp_path / "good.py").write_text(
        "from airflow.plugins_manager import AirflowPlugin\n"
        "from airflow.timetables.base import Timetable\n"
        "class FolderTimetable(Timetable):\n    pass\n"
        "class P(AirflowPlugin):\n    name = 'p'\n    timetables = [FolderTimetable]\n"
    )
    (tmp_path / "broken.py").write_text("raise RuntimeError('boom')\n")
    try:
        plugins.load(tmp_path)
        assert "good.FolderTimetable" in plugins.timetable_classes
        assert "boom" in plugins.import_errors[str(tmp_path / "broken.py")]
    finally:
        plugins.timetable_classes.pop("good.FolderTimetable", None)


@pytest.mark.parametrize("cron, text", [
    ("0 0 * * *", "At 00:00"), ("*/1 * * * *", "Every minute"), ("*/5 * * * *", "Every 5 minutes"),
    ("0 * * * *", "Every hour"), ("15 * * * *", "At 15 minutes past the hour"),
    ("0 1 * * 3", "At 01:00, only on Wednesday"), ("30 6 * * 1-5", "At 06:30, only on Monday through Friday"),
    ("0 0 1 * *", "At 00:00, on day 1 of the month"), ("weird", "weird"),
])
def test_cron_descriptions_match_airflow(cron, text):
    from leoflow.sdk.cron_description import describe

    assert describe(cron) == text


def test_plugin_macros_are_reachable_in_templates():
    from leoflow.sdk import macros

    def shout(text):
        return text.upper()

    class MacroPlugin(plugins.AirflowPlugin):
        name = "loud"
        macros = [shout]

    try:
        assert macros.loud.shout("hi") == "HI"
    finally:
        plugins.plugins.remove(MacroPlugin)
        del macros.loud


@pytest.mark.parametrize("given, uri", [
    ("S3://bucket/key/", "s3://bucket/key"), ("s3://user:secret@bucket/a", "s3://bucket/a"),
    ("postgres://h/db?b=2&a=1#frag", "postgres://h/db?a=1&b=2"), ("x-custom://Keep/", "x-custom://Keep/"),
    ("plain name", "plain name"), ("file:///tmp/data/", "file:///tmp/data"),
])
def test_asset_uris_are_normalised_like_airflow(given, uri):
    a = Asset(given)
    assert a.uri == uri and a.name == given


def test_plugin_listeners_are_called_and_cannot_break_the_caller():
    import types

    seen = []
    listener = types.SimpleNamespace(
        on_task_instance_running=lambda previous_state, task_instance: seen.append(task_instance),
        on_task_instance_failed=lambda **kw: 1 / 0,
    )

    class ListenerPlugin(plugins.AirflowPlugin):
        name = "listens"
        listeners = [listener]

    try:
        plugins.call_listeners("on_task_instance_running", previous_state=None, task_instance="ti-1")
        plugins.call_listeners("on_task_instance_failed", previous_state=None, task_instance="ti-1", error="x")
        plugins.call_listeners("on_dag_run_running", dag_run=None, msg="")
        assert seen == ["ti-1"]
    finally:
        plugins.plugins.remove(ListenerPlugin)
        plugins.listeners.remove(listener)
