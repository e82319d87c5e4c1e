"""Assets: parse-time records, outlet events through the Execution API, asset-triggered runs."""

from sqlalchemy import select

from leoflow.scheduler.assets import create_asset_triggered_runs, evaluate
from leoflow.store import assets as asset_store, dags, runs
from leoflow.store.tables import asset_active, asset_dag_run_queue, asset_event, dag_run
from leoflow.store.types import utcnow

from .conftest import asset

A, B = asset("a", "s3://a"), asset("b", "s3://b")


def ref(a):
    return {"asset": {"name": a["name"], "uri": a["uri"], "group": "asset"}}


def producer(world, dag_id, *outlets, task_id="t"):
    return world.add_dag(dag_id, tasks=[{"task_id": task_id, "upstream": [], "downstream": [],
                                         "outlets": list(outlets)}])


def consumer(world, dag_id, condition):
    world.add_dag(dag_id, schedule={"kind": "assets", "value": condition})
    with world.engine.begin() as conn:
        dags.set_paused(conn, dag_id, False)


def produce(world, dag_id, run_id="r1", **body):
    world.add_run(dag_id, run_id)
    ti_id, _ = world.start(dag_id, run_id)
    resp = world.finish(ti_id, **body)
    assert resp.status_code == 204, resp.text
    return ti_id


def queue(world, dag_id):
    with world.engine.connect() as conn:
        return sorted(r.name for r in asset_store.queue_of(conn, dag_id))


def test_a_name_and_a_uri_each_resolve_to_one_active_asset(world):
    producer(world, "p1", asset("test-asset", "s3://output/1.txt"))
    producer(world, "p2", asset("s3://output/1.txt"))  # same uri, another name: inactive
    producer(world, "p3", asset("test-asset", "s3://other"))  # same name: inactive
    with world.engine.connect() as conn:
        active = conn.execute(select(asset_active.c.name, asset_active.c.uri)).all()
        assert active == [("test-asset", "s3://output/1.txt")]
        assert asset_store.active_asset(conn, uri="s3://output/1.txt").name == "test-asset"
    world.add_run("p2")
    ti_id, _ = world.start("p2")
    got = world.call(ti_id, "get", f"/execution/task-instances/{ti_id}/validate-inlets-and-outlets").json()
    assert got == {"inactive_assets": [{"name": "s3://output/1.txt", "uri": "s3://output/1.txt", "type": "Asset"}]}


def test_success_emits_events_with_extras_and_queues_scheduled_dags(world):
    producer(world, "p", A, B)
    consumer(world, "c", {"all": [ref(A), ref(B)]})
    produce(world, "p", state="success",
            task_outlets=[{"name": "a", "uri": "s3://a", "type": "Asset"}],
            outlet_events=[{"dest_asset_key": {"name": "a", "uri": "s3://a"}, "extra": {"rows": 3}}])
    with world.engine.connect() as conn:
        (event,) = conn.execute(select(asset_event)).all()
    assert event.extra == {"rows": 3} and event.source_dag_id == "p" and event.source_task_id == "t"
    assert queue(world, "c") == ["a"]
    assert create_asset_triggered_runs(world.engine, utcnow()) == set()  # b is still missing


def test_without_task_outlets_the_declared_outlets_are_used(world):
    producer(world, "p", A, B)
    produce(world, "p", state="success")
    with world.engine.connect() as conn:
        assert conn.execute(select(asset_event.c.asset_id)).scalars().all().__len__() == 2


def test_failed_tasks_emit_nothing(world):
    producer(world, "p", A)
    consumer(world, "c", ref(A))
    produce(world, "p", state="failed")
    assert queue(world, "c") == []


def test_all_condition_creates_one_run_that_consumes_the_queue(world):
    producer(world, "pa", A)
    producer(world, "pb", B)
    consumer(world, "c", {"all": [ref(A), ref(B)]})
    produce(world, "pa", state="success")
    assert create_asset_triggered_runs(world.engine, utcnow()) == set()
    produce(world, "pb", state="success")
    (created,) = create_asset_triggered_runs(world.engine, utcnow())
    assert created[0] == "c" and created[1].startswith("asset_triggered__")
    assert queue(world, "c") == []
    with world.engine.connect() as conn:
        run = runs.get_run(conn, *created)
        assert run.run_type == "asset_triggered" and run.logical_date is None and run.state == "queued"
        assert run.triggered_by == "asset"
        assert sorted(e.name for e in asset_store.consumed_events(conn, run.id)) == ["a", "b"]
    # The task of the new run sees the events in its dag_run.
    ti_id, context = world.start("c", created[1])
    consumed = context["dag_run"]["consumed_asset_events"]
    assert sorted(e["asset"]["uri"] for e in consumed) == ["s3://a", "s3://b"]
    assert consumed[0]["source_dag_id"] in ("pa", "pb")


def test_any_condition_and_paused_dags(world):
    producer(world, "pa", A)
    consumer(world, "c", {"any": [ref(A), ref(B)]})
    consumer(world, "paused", ref(A))
    with world.engine.begin() as conn:
        dags.set_paused(conn, "paused", True)
    produce(world, "pa", state="success")
    assert queue(world, "paused") == []  # paused DAGs are not queued
    assert {d for d, _ in create_asset_triggered_runs(world.engine, utcnow())} == {"c"}


def test_alias_events_resolve_the_alias_and_trigger_its_dags(world):
    world.add_dag("p", tasks=[{"task_id": "t", "upstream": [], "downstream": [],
                               "outlets": [{"type": "asset_alias", "name": "al", "group": "asset"}]}])
    consumer(world, "c", {"alias": {"name": "al", "group": "asset"}})
    produce(world, "p", state="success",
            task_outlets=[{"name": "al", "type": "AssetAlias"}],
            outlet_events=[{"source_alias_name": "al", "dest_asset_key": {"name": "s3://x", "uri": "s3://x"},
                            "dest_asset_extra": {}, "extra": {"k": "v"}}])
    with world.engine.connect() as conn:
        assert asset_store.alias_assets(conn, "al") == {("s3://x", "s3://x")}
    assert queue(world, "c") == ["s3://x"]
    assert {d for d, _ in create_asset_triggered_runs(world.engine, utcnow())} == {"c"}
    ti_id = world.ti("p", "r1").id
    by_alias = world.call(ti_id, "get", "/execution/asset-events/by-asset-alias", params={"name": "al"}).json()
    (event,) = by_alias["asset_events"]
    assert event["extra"] == {"k": "v"} and event["asset"]["uri"] == "s3://x"


def test_asset_endpoints(world):
    producer(world, "p", asset("a", "s3://a", team="x"))
    ti_id = produce(world, "p", state="success")
    produce(world, "p", run_id="r2", state="success")
    got = world.call(ti_id, "get", "/execution/assets/by-name", params={"name": "a"})
    assert got.json() == {"name": "a", "uri": "s3://a", "group": "asset", "extra": {"team": "x"}}
    assert world.call(ti_id, "get", "/execution/assets/by-uri", params={"uri": "s3://a"}).status_code == 200
    assert world.call(ti_id, "get", "/execution/assets/by-uri", params={"uri": "nope"}).status_code == 404
    assert world.call(ti_id, "get", "/execution/assets/by-name").status_code == 422
    events = world.call(ti_id, "get", "/execution/asset-events/by-asset",
                        params={"uri": "s3://a", "ascending": "false", "limit": "1"}).json()["asset_events"]
    assert len(events) == 1 and events[0]["source_run_id"] == "r2"
    both = world.call(ti_id, "get", "/execution/asset-events/by-asset", params={"name": "a"}).json()
    assert [e["source_run_id"] for e in both["asset_events"]] == ["r1", "r2"]
    assert world.call(ti_id, "get", "/execution/asset-events/by-asset").status_code == 400


def test_condition_evaluation():
    updated = {("a", "s3://a")}
    no_alias = lambda name: set()  # noqa: E731
    assert evaluate(ref(A), updated, no_alias)
    assert not evaluate({"all": [ref(A), ref(B)]}, updated, no_alias)
    assert evaluate({"any": [ref(B), {"all": [ref(A)]}]}, updated, no_alias)
    assert evaluate({"alias": {"name": "x"}}, updated, lambda name: {("a", "s3://a")})
    assert not evaluate({"alias": {"name": "x"}}, updated, no_alias)


def test_stale_dags_leave_the_queue(world):
    producer(world, "p", A)
    consumer(world, "c", ref(A))
    produce(world, "p", state="success")
    with world.engine.begin() as conn:
        asset_store.drop_dag_references(conn, ["c"])
        assert conn.execute(select(asset_dag_run_queue)).all() == []
        assert conn.execute(select(dag_run).where(dag_run.c.dag_id == "c")).all() == []


def test_an_asset_inserted_meanwhile_by_another_writer_is_read_back(world):
    from leoflow.store.tables import asset as asset_table

    with world.engine.begin() as conn:
        first = asset_store.ensure_asset(conn, "x", "s3://x")
        again = asset_store._insert_once(
            conn, asset_table.insert().values(name="x", uri="s3://x", group="asset", extra={},
                                              created_at=utcnow(), updated_at=utcnow()),
            select(asset_table.c.id).where(asset_table.c.name == "x"))
        assert again == first  # the unique key refused the second row; the first one is returned
        assert asset_store.ensure_asset(conn, "x", "s3://x") == first
