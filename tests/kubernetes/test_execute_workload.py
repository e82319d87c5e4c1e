"""`leoflow execute-workload`: what a task pod runs. Bad input is refused with a message, never run."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.kubernetes


def _run(tmp_path, workload, env_extra=None):
    path = tmp_path / "workload.json"
    path.write_text(workload if isinstance(workload, str) else json.dumps(workload))
    env = {"PATH": "/usr/bin:/bin", "LEOFLOW_EXECUTION_API_URL": "http://127.0.0.1:9/execution",
           "LEOFLOW_DAGS_FOLDER": str(tmp_path), **(env_extra or {})}
    return subprocess.run([sys.executable, "-m", "leoflow", "execute-workload", "--file", str(path)],
                          capture_output=True, text=True, env=env, timeout=60)


GOOD = {"type": "ExecuteTask", "token": "t", "dag_rel_path": "d.py", "log_path": "dag_id=d/run_id=r/task_id=t/attempt=1.log",
        "ti": {"id": "x", "dag_id": "d", "run_id": "r", "task_id": "t", "try_number": 1, "map_index": -1}}


@pytest.mark.parametrize("workload, message", [
    ("not json", "is not JSON"),
    ({"type": "Other"}, "not an ExecuteTask workload"),
    ({**GOOD, "ti": {**GOOD["ti"], "try_number": "1"}}, "ti.try_number"),
    ({**GOOD, "dag_rel_path": "../../etc/passwd"}, "leaves the DAG folder"),
    ({**GOOD, "log_path": "../../outside.log"}, "log"),
])
def test_bad_workloads_are_refused(tmp_path, workload, message):
    proc = _run(tmp_path, workload)
    assert proc.returncode == 2 and message in proc.stderr, proc.stderr


def test_a_server_that_refuses_the_try_ends_it_with_its_log_on_stdout(tmp_path):
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    class Refuse(BaseHTTPRequestHandler):
        def do_PATCH(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            body = b'{"detail": {"reason": "invalid_state", "message": "TI was not in a state where it could be run"}}'
            self.send_response(409)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Refuse)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        (tmp_path / "d.py").write_text("")
        proc = _run(tmp_path, GOOD, {"LEOFLOW_EXECUTION_API_URL": f"http://127.0.0.1:{server.server_port}/execution"})
    finally:
        server.shutdown()
    assert proc.returncode == 1
    records = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    assert any("refused to start this try" in r.get("event", "") for r in records), proc.stdout


def _serve(handler_cls):
    import threading
    from http.server import HTTPServer

    server = HTTPServer(("127.0.0.1", 0), handler_cls)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_a_bundle_that_is_not_a_hash_or_not_what_the_hash_says_is_refused(tmp_path):
    import io
    import tarfile
    from http.server import BaseHTTPRequestHandler

    asked = []

    class Forger(BaseHTTPRequestHandler):
        def do_GET(self):  # a tar with a path out of the cache, under another bundle's name
            asked.append(self.path)
            buf = io.BytesIO()
            with tarfile.open(fileobj=buf, mode="w") as tar:
                info = tarfile.TarInfo("../../escaped.py")
                info.size = 1
                tar.addfile(info, io.BytesIO(b"x"))
            body = buf.getvalue()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = _serve(Forger)
    env = {"LEOFLOW_EXECUTION_API_URL": f"http://127.0.0.1:{server.server_port}/execution",
           "LEOFLOW_KUBERNETES_DAGS": "bundle", "LEOFLOW_HOME": str(tmp_path / "home")}
    try:
        proc = _run(tmp_path, {**GOOD, "bundle_info": {"name": "dags-folder", "version": "../../etc"}}, env)
        assert proc.returncode == 2 and "bundle_info.version" in proc.stderr and asked == [], proc.stderr
        proc = _run(tmp_path, {**GOOD, "bundle_info": {"name": "dags-folder", "version": "a" * 64}}, env)
        assert proc.returncode == 2 and "does not match its sha256" in proc.stderr, proc.stderr
        assert asked == [f"/execution/leoflow/bundles/{'a' * 64}"]
    finally:
        server.shutdown()
    assert not (tmp_path / "escaped.py").exists() and not list((tmp_path / "home" / "bundles").glob("a*"))
