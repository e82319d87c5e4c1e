"""In a real `leoflow lite`: a producer defers to the triggerer, emits an asset event, and the DAG
scheduled on that asset runs by itself and sees the event that triggered it."""

from __future__ import annotations

import textwrap

import pytest

from tests.e2e.lite_process import Lite


@pytest.fixture
def lite(tmp_path):
    dags = tmp_path / "dags"
    dags.mkdir()
    out = tmp_path / "seen.txt"
    (dags / "assets_pair.py").write_text(textwrap.dedent(f"""
        import datetime as dt
        from airflow.sdk import DAG, Asset, task
        from airflow.providers.standard.sensors.time_delta import TimeDeltaSensorAsync

        data = Asset("s3://bucket/report.csv")

        class Soon(TimeDeltaSensorAsync):
            def _target(self, context):
                from airflow.sdk import timezone
                return timezone.utcnow() + dt.timedelta(seconds=0.3)

        with DAG("producer", schedule=None, start_date=dt.datetime(2026, 1, 1)):
            @task(outlets=[data])
            def publish(*, outlet_events):
                outlet_events[data].extra = {{"rows": 42}}

            Soon(task_id="wait", delta=dt.timedelta(0)) >> publish()

        with DAG("consumer", schedule=[data], start_date=dt.datetime(2026, 1, 1)):
            @task(inlets=[data])
            def read(*, triggering_asset_events, inlet_events):
                events = triggering_asset_events[data]
                lines = [str(events[-1].extra["rows"])]
                for asset, seen in triggering_asset_events.items():  # keys are Assets, as in Airflow
                    event = seen[-1]
                    lines.append(f"{{type(asset).__name__}} {{asset.uri}} {{isinstance(event.timestamp, dt.datetime)}} "
                                 f"{{event.source_dag_run.dag_id}}")
                lines.append(f"inlet {{isinstance(inlet_events[data][-1].timestamp, dt.datetime)}}")
                with open({str(out)!r}, "w") as f:
                    f.write("\\n".join(lines))
            read()
    """))
    server = Lite(tmp_path / "home", dags)
    (tmp_path / "home").mkdir()
    server.start()
    yield server, out
    server.stop()


def test_an_asset_event_runs_the_dag_scheduled_on_it(lite):
    server, out = lite
    server.wait_for_dag("consumer")
    assert server.api("PATCH", "/api/v2/dags/consumer", json={"is_paused": False}).status_code == 200
    server.wait_for_dag("producer")
    server.api("PATCH", "/api/v2/dags/producer", json={"is_paused": False})
    run = server.trigger("producer")
    assert server.wait_for_run("producer", run["dag_run_id"])["state"] == "success"

    def consumer_run():
        runs = server.api("GET", "/api/v2/dags/consumer/dagRuns").json()["dag_runs"]
        return runs[0] if runs and runs[0]["state"] in ("success", "failed") else None

    done = server.wait_for(consumer_run, timeout=30)
    assert (done["state"], done["run_type"]) == ("success", "asset_triggered")
    assert out.read_text().splitlines() == ["42", "Asset s3://bucket/report.csv True producer", "inlet True"]
