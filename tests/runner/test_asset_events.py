"""The asset parts of a task's context read as Airflow 3.2's accessors do."""

import datetime as dt

import pytest

from leoflow.sdk.assets import Asset, AssetAlias
from leoflow.runner.asset_events import InletEventsAccessors, TriggeringAssetEvents

EVENT = {"asset": {"name": "orders", "uri": "s3://b/orders", "extra": {}}, "extra": {"rows": 7},
         "source_task_id": "p", "source_dag_id": "producer", "source_run_id": "r1", "source_map_index": -1,
         "source_aliases": [{"name": "all-orders"}], "timestamp": "2026-01-05T10:00:00.123456Z"}


def test_triggering_asset_events_iterate_as_assets_and_aliases():
    events = TriggeringAssetEvents([EVENT])
    keys = list(events)
    assert keys == [Asset(name="orders", uri="s3://b/orders"), AssetAlias("all-orders")]
    assert {type(k).__name__: [e.extra for e in v] for k, v in events.items()} == {
        "Asset": [{"rows": 7}], "AssetAlias": [{"rows": 7}]}
    assert events[Asset("orders", uri="s3://b/orders")][0].source_task_id == "p"
    assert events[Asset.ref(name="orders")] == events["s3://b/orders"] == events[AssetAlias("all-orders")]
    assert Asset("orders", uri="s3://b/orders") in events and Asset("other") not in events
    with pytest.raises(KeyError):
        events[Asset("other")]


def test_asset_event_times_are_datetimes():
    (event,) = TriggeringAssetEvents([EVENT])[Asset("orders", uri="s3://b/orders")]
    assert isinstance(event.timestamp, dt.datetime)
    assert event.timestamp == dt.datetime(2026, 1, 5, 10, 0, 0, 123456, tzinfo=dt.timezone.utc)
    body = {"asset_events": [{**EVENT, "id": 1, "created_dagruns": [
        {"dag_id": "c", "run_id": "x", "logical_date": "2026-01-05T11:00:00Z", "start_date": None}]}]}
    inlet = InletEventsAccessors([Asset("orders", uri="s3://b/orders")], lambda path, params: body)
    (read,) = inlet[Asset("orders", uri="s3://b/orders")]
    assert isinstance(read.timestamp, dt.datetime) and read.timestamp.tzinfo is not None
    assert read.created_dagruns[0].logical_date == dt.datetime(2026, 1, 5, 11, tzinfo=dt.timezone.utc)
