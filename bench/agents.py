"""`python -m bench.agents [--tasks N]`: a fan-out on `leoflow server` + two agents, each agent in its own
network namespace over TLS (the test harness of tests/agents), against the same server's local executor.

Prints the run's wall time per task for each, and per task on the agents the delay from the job row
being written to the try running (claim, acknowledgement, bundle, fork). Needs root (namespaces) and
the machine's Postgres (LEOFLOW_TEST_POSTGRES_URL).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

FAN = '''
from airflow.sdk import dag, task


@dag(dag_id="fan", schedule=None, catchup=False, max_active_tasks={n})
def fan():
    @task(queue="{queue}")
    def leaf(i):
        return i

    leaf.expand(i=list(range({n})))


fan()
'''


def _timed_run(cluster, n: int) -> tuple[float, str]:
    run_id = cluster.trigger("fan")
    started = time.monotonic()
    assert cluster.wait_run("fan", run_id, timeout=600) == "success"
    return time.monotonic() - started, run_id


def measure(n: int) -> dict:
    from tests.agents.conftest import Cluster
    from tests.services import postgres_database_url

    results = {}
    for executor in ("local", "agent"):
        with postgres_database_url() as url, tempfile.TemporaryDirectory() as root:
            cluster = Cluster(Path(root), url)
            (cluster.dags / "fan.py").write_text(FAN.format(n=n, queue="shared"))
            cluster.env["LEOFLOW_EXECUTOR"] = executor
            cluster.server.env["LEOFLOW_EXECUTOR"] = executor
            cluster.server.env["LEOFLOW_PARALLELISM"] = "16"  # as the two agents' 8 + 8
            # the local executor's tries reach the server's /execution over its TLS too
            cluster.server.env["LEOFLOW_BASE_URL"] = f"https://127.0.0.1:{cluster.server.port}"
            cluster.server.env["SSL_CERT_FILE"] = str(cluster.ca.pem)
            try:
                cluster.server.start()
                if executor == "agent":
                    cluster.add_agent("bench-a", cluster.hosts[0], "shared", concurrency=8)
                    cluster.add_agent("bench-b", cluster.hosts[1], "shared", concurrency=8)
                    cluster.wait_agents_heard(["bench-a", "bench-b"])
                wall, run_id = _timed_run(cluster, n)
                entry = {"wall_s": round(wall, 2), "per_task_ms": round(1000 * wall / n, 1)}
                if executor == "agent":
                    delays = [float(r.d) for r in cluster.sql(
                        "SELECT EXTRACT(EPOCH FROM t.start_date - j.created_at) * 1000 AS d FROM agent_job j "
                        "JOIN task_instance t ON t.id = j.ti_id WHERE t.run_id = :r", r=run_id)]
                    entry["job_to_running_ms"] = {"median": round(statistics.median(delays), 1),
                                                  "p95": round(sorted(delays)[int(0.95 * (len(delays) - 1))], 1)}
                    entry["by_agent"] = dict(cluster.sql("SELECT agent_name, count(*) FROM agent_job "
                                                         "GROUP BY agent_name"))
                results[executor] = entry
            finally:
                cluster.close()
    return results


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.agents", description=__doc__)
    p.add_argument("--tasks", type=int, default=1000)
    args = p.parse_args(argv)
    print(json.dumps(measure(args.tasks), indent=2, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
