"""`leoflow dags test` shows the work: task log lines stream prefixed with the task id, a failed task's traceback
is printed, the home's Variables are visible (not with --isolated), no key notice, nothing left in the temp dir."""

DAG = '''
from airflow.sdk import Variable, dag, task

@dag(dag_id="shows_work", schedule=None)
def shows_work():
    @task
    def greet():
        print("greeting is", Variable.get("greeting"))
        return 1

    @task
    def boom(x):
        raise ValueError("boom on purpose")

    boom(greet())

shows_work()
'''


def test_dags_test_streams_logs_uses_the_home_and_leaves_nothing(lite_cli, tmp_path):
    cli = lite_cli
    folder, temp = tmp_path / "dags", tmp_path / "tmp"
    folder.mkdir()
    temp.mkdir()
    (folder / "shows_work.py").write_text(DAG)
    cli.ok("variables", "set", "greeting", "hello from the home")
    proc = cli.run("dags", "test", "shows_work", "--dags-folder", str(folder), env={"TMPDIR": str(temp)})
    assert proc.returncode == 1
    out = proc.stdout.splitlines()
    assert "[greet] " in proc.stdout and any(line.endswith("INFO greeting is hello from the home") for line in out)
    streamed = [line for line in out if line.startswith("[boom] ")]
    assert streamed[-2:] == [f'[boom]   File "{folder / "shows_work.py"}", line 13, in boom',
                             "[boom] ValueError: boom on purpose"]
    assert out[-3:-1] == ["boom: failed (try 1)", "greet: success (try 1)"]
    assert proc.stderr.startswith("Failed tasks: boom\n\nboom failed:\nTraceback (most recent call last):\n")
    assert proc.stderr.endswith("ValueError: boom on purpose\n")
    assert "Fernet" not in proc.stdout + proc.stderr
    assert list(temp.iterdir()) == []  # the throw-away home is gone, failed run or not

    isolated = cli.run("dags", "test", "shows_work", "--dags-folder", str(folder), "--isolated", "-o", "json",
                       env={"TMPDIR": str(temp)})
    assert isolated.returncode == 1 and '"run_state": "failed"' in isolated.stdout
    assert "KeyError" in isolated.stderr or "greeting" in isolated.stderr  # the variable is not there
    assert "Fernet" not in isolated.stderr and list(temp.iterdir()) == []


EVENTS_DAG = '''
from airflow.sdk import Asset, dag, task

report = Asset(name="report", uri="s3://bucket/report")

@dag(dag_id="reads_events", schedule=None)
def reads_events():
    @task(inlets=[report])
    def look(*, inlet_events):
        print("events seen:", [e.extra for e in inlet_events[report]])

    look()

reads_events()
'''


def test_dags_test_sees_the_homes_earlier_asset_events(lite_cli, tmp_path):
    import datetime as dt

    from leoflow.store import assets
    from leoflow.store.tables import asset_event

    cli = lite_cli
    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / "reads_events.py").write_text(EVENTS_DAG)
    cli.ok("variables", "list")  # the home's database, made as any command makes it
    with cli.engine.begin() as conn:  # an event an earlier run of the home recorded
        asset_id = assets.ensure_asset(conn, "report", "s3://bucket/report")
        conn.execute(asset_event.insert().values(asset_id=asset_id, extra={"rows": 3}, source_dag_id="producer",
                                                 source_task_id="make", source_run_id="earlier",
                                                 timestamp=dt.datetime(2026, 1, 2, tzinfo=dt.timezone.utc)))
    seen = cli.ok("dags", "test", "reads_events", "--dags-folder", str(folder)).splitlines()
    assert any(line.startswith("[look] ") and line.endswith("INFO events seen: [{'rows': 3}]") for line in seen), seen
    alone = cli.ok("dags", "test", "reads_events", "--dags-folder", str(folder), "--isolated").splitlines()
    assert any(line.startswith("[look] ") and line.endswith("INFO events seen: []") for line in alone), alone
