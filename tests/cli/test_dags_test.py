"""`leoflow dags test` shows the work: task log lines stream prefixed with the task id, a failed task's traceback
is printed, the home's Variables are visible (not with --isolated), no key notice, nothing left in the temp dir.
It runs in the home's own database (earlier runs seen, the run listed afterwards), held by its process so that a
lite on the same home leaves the run alone; --isolated leaves the home untouched."""

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


REMEMBERS_DAG = '''
from airflow.sdk import dag, task


@dag(dag_id="remembers", schedule=None)
def remembers():
    @task
    def count(**context):
        before = context["ti"].xcom_pull(task_ids="count", include_prior_dates=True)
        print("previous success started", context["prev_start_date_success"])
        print("count before", before)
        return (before or 0) + 1

    count()


remembers()
'''


def test_dags_test_runs_in_the_homes_database_and_sees_its_earlier_runs(cli, tmp_path):
    """On lite's SQLite and on a server's Postgres: each run is listed afterwards, and a task sees the earlier
    run (Airflow's prev_start_date_success, an XCom pulled with include_prior_dates)."""
    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / "remembers.py").write_text(REMEMBERS_DAG)
    first = cli.ok("dags", "test", "remembers", "2026-01-01", "--dags-folder", str(folder))
    assert "INFO previous success started None" in first and "INFO count before None" in first
    second = cli.ok("dags", "test", "remembers", "2026-01-02", "--dags-folder", str(folder))
    runs = cli.json("dags", "list-runs", "remembers")
    assert [(r["run_id"], r["state"]) for r in runs] == [("manual__2026-01-02T00:00:00+00:00", "success"),
                                                         ("manual__2026-01-01T00:00:00+00:00", "success")]
    assert f"INFO previous success started {runs[1]['start_date'].replace('T', ' ')}" in second
    assert "INFO count before 1" in second
    assert second.splitlines()[-1] == "DAG run manual__2026-01-02T00:00:00+00:00: success"

    from sqlalchemy import select

    from leoflow.store.tables import dag_run, job

    with cli.engine.connect() as conn:  # as Airflow 3.2's `dags test`; the process's job ended with it
        marks = conn.execute(select(dag_run.c.run_type, dag_run.c.triggered_by, job.c.job_type, job.c.state)
                             .join(job, job.c.id == dag_run.c.creating_job_id)).all()
    assert marks == [("manual", "test", "DagTestJob", "success")] * 2

    # The same logical date again: the finished run makes way for the new one, as in Airflow.
    again = cli.ok("dags", "test", "remembers", "2026-01-01", "--dags-folder", str(folder))
    assert "INFO count before 2" not in again and "INFO count before None" in again  # no XCom of a later date
    assert len(cli.json("dags", "list-runs", "remembers")) == 2
    # One still queued (no scheduler runs here) is not replaced.
    cli.ok("dags", "trigger", "remembers", "-l", "2026-01-03", "-r", "waiting")
    proc = cli.run("dags", "test", "remembers", "2026-01-03", "--dags-folder", str(folder))
    assert (proc.returncode, proc.stderr) == (2, "leoflow: DAG run 'waiting' of DAG 'remembers' has that logical "
                                                 "date and is still queued: wait for it, or give another logical "
                                                 "date\n")


def test_isolated_leaves_the_home_untouched(lite_cli, tmp_path):
    cli = lite_cli
    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / "remembers.py").write_text(REMEMBERS_DAG)
    cli.ok("dags", "test", "remembers", "2026-01-01", "--dags-folder", str(folder))
    database = cli.home / "leoflow.db"
    before = (database.read_bytes(), sorted(p.relative_to(cli.home) for p in cli.home.rglob("*")))
    out = cli.ok("dags", "test", "remembers", "2026-01-02", "--dags-folder", str(folder), "--isolated")
    assert "INFO count before None" in out and "INFO previous success started None" in out  # no earlier run
    assert (database.read_bytes(), sorted(p.relative_to(cli.home) for p in cli.home.rglob("*"))) == before
    assert [r["run_id"] for r in cli.json("dags", "list-runs", "remembers")] == ["manual__2026-01-01T00:00:00+00:00"]


FAN_DAG = '''
import os
import time

from airflow.sdk import dag, task

TRIES = {tries!r}


def note(what):
    with open(TRIES, "a") as f:
        f.write(f"{{what}} pid {{os.getpid()}}\\n")


@dag(dag_id="fan", schedule=None)
def fan():
    @task
    def first(**context):
        note(f"first try {{context['ti'].try_number}}")
        time.sleep(6)  # lite starts meanwhile: its start-up recovery and first sweep see this run running

    @task
    def work(n, **context):
        note(f"work[{{n}}] try {{context['ti'].try_number}}")
        time.sleep(1)

    @task
    def last(**context):
        note(f"last try {{context['ti'].try_number}}")

    first() >> work.expand(n=list(range(4))) >> last()


fan()
'''


def test_a_lite_started_beside_dags_test_leaves_the_test_run_to_it(tmp_path):
    """Lite starts on the same home while `dags test` runs (its start-up recovery takes every other process's
    running tries for orphans, and its first sweep looks at every unfinished run): the test run's tries each
    run once, all queued by the `dags test` process, and lite serves the run through its REST API afterwards."""
    import subprocess
    import sys
    import time

    from tests.e2e.lite_process import Lite

    from .conftest import Cli, _env, _lite_home

    home, folder, tries = _lite_home(tmp_path / "home"), tmp_path / "dags", tmp_path / "tries.txt"
    folder.mkdir()
    (folder / "fan.py").write_text(FAN_DAG.format(tries=str(tries)))
    cli = Cli(home, _env(home, LEOFLOW_DAGS_FOLDER=str(folder)))
    test = subprocess.Popen([sys.executable, "-m", "leoflow", "dags", "test", "fan", "2026-01-01", "-q"],
                            env=cli.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lite = Lite(home, folder, env={"LEOFLOW_SCHEDULER_POLL_INTERVAL": "0.2"})
    try:
        deadline = time.monotonic() + 60
        while not tries.exists() and time.monotonic() < deadline and test.poll() is None:
            time.sleep(0.05)
        assert tries.exists(), test.communicate()
        lite.start()
        out, err = test.communicate(timeout=120)
        assert test.returncode == 0, (out, err, lite.output())
        assert out.splitlines()[-1] == "DAG run manual__2026-01-01T00:00:00+00:00: success", out
        noted = tries.read_text().splitlines()
        assert sorted(line.rsplit(" pid ", 1)[0] for line in noted) == \
            ["first try 1", "last try 1"] + [f"work[{n}] try 1" for n in range(4)]
        assert len({line.rsplit(" pid ", 1)[1] for line in noted}) == 6  # a process per try, none run twice

        from sqlalchemy import select

        from leoflow.store.tables import job, task_instance

        with cli.engine.connect() as conn:
            queued_by = set(conn.execute(select(job.c.job_type).join(
                task_instance, task_instance.c.queued_by_job_id == job.c.id)).scalars())
        assert queued_by == {"DagTestJob"}
        path = "/api/v2/dags/fan/dagRuns/manual__2026-01-01T00:00:00+00:00"
        body = lite.api("GET", path).json()
        assert (body["state"], body["run_type"], body["triggered_by"]) == ("success", "manual", "test")
        tis = lite.api("GET", f"{path}/taskInstances").json()["task_instances"]
        assert sorted((t["task_id"], t["map_index"], t["try_number"], t["state"]) for t in tis) == \
            [("first", -1, 1, "success"), ("last", -1, 1, "success")] + [("work", n, 1, "success") for n in range(4)]
    finally:
        if test.poll() is None:
            test.kill()
            test.wait(10)
        lite.stop()
