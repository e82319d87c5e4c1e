"""The files `leoflow variables|connections export` writes are the files real Airflow 3.2.1 reads, and the reverse:
each goes Leoflow -> `airflow ... import` -> `airflow ... export` -> Leoflow unchanged. (Each Airflow command costs
seconds: pools, the simplest file, are checked against Airflow's text in test_connections_pools.py.)"""

import base64
import json
import os
import subprocess

from tests.airflow_runner.conftest import airflow_python  # noqa: F401 - the fixture: real Airflow 3.2.1's venv


def test_files_round_trip_through_real_airflow(lite_cli, airflow_python, tmp_path):  # noqa: F811
    cli = lite_cli
    airflow_home = tmp_path / "airflow"
    airflow_home.mkdir()
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "AIRFLOW_HOME": str(airflow_home),
           "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
           "AIRFLOW__CORE__FERNET_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode()}

    def airflow(*args):
        proc = subprocess.run([airflow_python, "-m", "airflow", *args], capture_output=True, text=True, env=env,
                              timeout=180, stdin=subprocess.DEVNULL)
        assert proc.returncode == 0, f"airflow {' '.join(args)}: {proc.stdout[-1500:]} {proc.stderr[-1500:]}"
        return proc.stdout

    incoming = tmp_path / "in.json"
    incoming.write_text(json.dumps({"plain": "text", "number": 5, "nested": {"a": [1, 2]},
                                    "described": {"value": "v", "description": "a note"}}))
    cli.ok("variables", "import", str(incoming))
    cli.ok("connections", "add", "pg", "--conn-uri", "postgres://u:p%40ss@db.example:5432/sales?sslmode=require")
    cli.ok("connections", "add", "web", "--conn-type", "generic", "--conn-host", "example.com", "--conn-password",
           "pw", "--conn-port", "443", "--conn-extra", '{"nested": {"k": 1}}')
    ours = {kind: tmp_path / f"leoflow-{kind}.json" for kind in ("variables", "connections")}
    for kind, path in ours.items():
        cli.ok(kind, "export", str(path))

    airflow("db", "migrate")
    theirs = {kind: tmp_path / f"airflow-{kind}.json" for kind in ours}
    for kind in ours:
        airflow(kind, "import", str(ours[kind]))
        airflow(kind, "export", str(theirs[kind]))
        assert theirs[kind].read_text() == ours[kind].read_text(), kind  # byte for byte

    cli.ok("variables", "import", str(theirs["variables"]))  # and Airflow's files back into Leoflow
    cli.ok("connections", "import", str(theirs["connections"]), "--overwrite")
    again = cli.run("variables", "export", "-").stdout
    assert again == ours["variables"].read_text()
    assert cli.json("connections", "get", "pg")[0]["password"] == "p@ss"
