"""`leoflow agent` on two "hosts" (network namespaces) against a `leoflow server` over TLS."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.server.cluster import wait_for

pytestmark = [pytest.mark.server, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def agents(cluster):
    a = cluster.add_agent("agent-a", cluster.hosts[0], "qa,shared")
    b = cluster.add_agent("agent-b", cluster.hosts[1], "qb,shared")
    cluster.wait_agents_heard(["agent-a", "agent-b"])
    return a, b


def test_a_fan_out_lands_on_the_agent_of_each_tasks_queue(cluster, agents):
    run_id = cluster.trigger("spread")
    assert cluster.wait_run("spread", run_id) == "success"
    rows = cluster.sql("SELECT j.queue, j.agent_name, t.task_id FROM agent_job j JOIN task_instance t ON t.id = j.ti_id "
                       "WHERE t.run_id = :r", r=run_id)
    assert len(rows) == 9
    for row in rows:
        assert row.agent_name == {"qa": "agent-a", "qb": "agent-b"}[row.queue], row
    # The join's log was shipped from agent-a's host and is served by the server.
    r = cluster.server.api("GET", f"/api/v2/dags/spread/dagRuns/{run_id}/taskInstances/join/logs/1")
    assert r.status_code == 200 and "joined 24" in str(r.json()), r.text[-2000:]
    listed = subprocess.run([sys.executable, "-m", "leoflow", "agents", "list", "-o", "json", "--home",
                             str(cluster.root / "cli-home")], env=cluster.env, capture_output=True, text=True,
                            timeout=60)
    assert '"agent-a"' in listed.stdout and '"agent-b"' in listed.stdout, listed.stderr
