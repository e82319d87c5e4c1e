"""`leoflow lite` with a hanging DAG file beside good ones, and a deleted DAG asked back with PUT parseDagFile."""

import time

from .lite_process import Lite

HANGS = "import time\nfrom airflow.sdk import dag\ntime.sleep(120)\n"

TWO_DAGS = '''
from airflow.sdk import dag

for name in ("kept", "deleted"):
    @dag(dag_id=name, schedule=None)
    def make():
        pass

    make()
'''


def test_a_hanging_file_delays_nothing_and_put_parse_dag_file_brings_a_deleted_dag_back(tmp_path, dags_folder):
    (dags_folder / "aaa_hangs.py").write_text(HANGS)  # parsed first, hangs for its whole timeout
    (tmp_path / "home").mkdir()
    lite = Lite(tmp_path / "home", dags_folder, env={"LEOFLOW_PARSE_TIMEOUT": "60"}).start()
    try:
        started = time.monotonic()
        lite.wait_for(lambda: lite.api("GET", "/api/v2/dags/example_etl").status_code == 200, timeout=10)
        (dags_folder / "two.py").write_text(TWO_DAGS)
        lite.wait_for(lambda: lite.api("GET", "/api/v2/dags/deleted").status_code == 200, timeout=10)
        assert time.monotonic() - started < 8, "the good files waited for the hanging one"

        token = lite.api("GET", "/api/v2/dags/deleted").json()["file_token"]
        assert lite.api("DELETE", "/api/v2/dags/deleted").status_code == 204
        assert lite.api("GET", "/api/v2/dags/deleted").status_code == 404
        asked = time.monotonic()
        assert lite.api("PUT", f"/api/v2/parseDagFile/{token}").status_code == 201
        lite.wait_for(lambda: lite.api("GET", "/api/v2/dags/deleted").status_code == 200, timeout=10)
        assert time.monotonic() - asked < 3, "the parse request waited for the periodic re-parse (30 s)"
        assert lite.api("GET", "/api/v2/importErrors").json()["total_entries"] == 0  # still hanging, not timed out
    finally:
        lite.stop()
