"""`leoflow lite` under hostile HTTP clients: its server takes its limits from LEOFLOW_HTTP_*, cuts off
dripping headers, refuses a huge login body at once, keeps answering health, and never refuses its own
tasks, which all connect from 127.0.0.1 (ADR 16)."""

import socket
import time

import httpx

from .lite_process import Lite

FAN_DAG = '''
import time
from airflow.sdk import dag, task

@dag(dag_id="fan8", schedule=None)
def fan8():
    @task
    def hold(i):
        time.sleep(2)  # all eight at once, each on its own connection to the Execution API
        return i
    hold.expand(i=list(range(8)))

fan8()
'''


def test_lite_bounds_hostile_clients_and_still_serves_its_tasks(tmp_path, dags_folder):
    (dags_folder / "fan8.py").write_text(FAN_DAG)
    (tmp_path / "home").mkdir()
    lite = Lite(tmp_path / "home", dags_folder, env={
        "LEOFLOW_HTTP_HEAD_TIMEOUT": "1", "LEOFLOW_HTTP_MAX_CONNECTIONS_PER_CLIENT": "2"}).start()
    try:
        run = lite.trigger("fan8")  # 8 tasks at once from 127.0.0.1, with a per-client cap of 2
        dripping = []
        for _ in range(50):
            s = socket.create_connection(("127.0.0.1", lite.port), timeout=5)
            s.sendall(b"GET /api/v2/monitor/health HTTP/1.1\r\nHost: x\r\nX-Drip: 1\r\n")
            dripping.append(s)
        started = time.monotonic()
        assert httpx.get(f"{lite.base}/api/v2/monitor/health", timeout=5).status_code == 200
        for s in dripping:  # each cut off by the 1 s head deadline, with a 408
            assert s.recv(100).startswith(b"HTTP/1.1 408 ")
            s.close()
        assert time.monotonic() - started < 5

        with socket.create_connection(("127.0.0.1", lite.port), timeout=5) as s:
            s.sendall(b"POST /auth/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      b"Content-Length: 300000000\r\n\r\n")
            assert s.recv(100).startswith(b"HTTP/1.1 413 ")

        assert lite.wait_for_run("fan8", run["dag_run_id"], timeout=60)["state"] == "success", lite.output()
    finally:
        lite.stop()
