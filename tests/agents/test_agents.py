"""`leoflow agent` on two "hosts" (network namespaces) against a `leoflow server` over TLS."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from tests.server.cluster import wait_for

pytestmark = [pytest.mark.server, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def agents(cluster):
    a = cluster.add_agent("agent-a", cluster.hosts[0], "qa,shared")
    b = cluster.add_agent("agent-b", cluster.hosts[1], "qb,shared")
    cluster.wait_agents_heard(["agent-a", "agent-b"])
    return a, b


@pytest.fixture(autouse=True)
def _both_agents_serving(request):
    """A test that failed before restarting the agent it stopped leaves the next tests one agent short;
    start it again so that one failure stays one failure."""
    if "agents" not in request.fixturenames:
        return
    cluster, agents = request.getfixturevalue("cluster"), request.getfixturevalue("agents")
    dead = [a for a in agents if not a.removed and (a.proc is None or a.proc.poll() is not None)]
    for agent in dead:
        agent.start()
    if dead:
        cluster.wait_agents_heard([a.name for a in dead])


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


def test_fan100_and_a_20_task_chain_spread_over_the_two_agents(cluster, agents):
    fan, chain = cluster.trigger("fan100"), cluster.trigger("chain20")
    assert cluster.wait_run("fan100", fan, timeout=120) == "success"
    assert cluster.wait_run("chain20", chain, timeout=120) == "success"
    by_agent = dict(cluster.sql("SELECT j.agent_name, count(*) FROM agent_job j JOIN task_instance t ON t.id = j.ti_id "
                                "WHERE t.run_id = :r GROUP BY j.agent_name", r=fan))
    assert sum(by_agent.values()) == 100 and set(by_agent) == {"agent-a", "agent-b"}, by_agent
    links = cluster.sql("SELECT t.task_id, j.agent_name FROM agent_job j JOIN task_instance t ON t.id = j.ti_id "
                        "WHERE t.run_id = :r ORDER BY t.task_id", r=chain)
    assert [a for _, a in links] == ["agent-a", "agent-b"] * 10
    assert not cluster.sql("SELECT count(*) FROM task_instance WHERE run_id IN (:a, :b) GROUP BY id "
                           "HAVING count(*) > 1", a=fan, b=chain)


def test_a_try_for_a_queue_no_agent_serves_waits_and_says_why(cluster, agents):
    run_id = cluster.trigger("nobody")
    wait_for(lambda: cluster.sql("SELECT id FROM agent_job WHERE queue = 'nobody-serves-this' AND state = 'queued'"),
             60, "the try on the job table")
    r = cluster.server.api("GET", f"/api/v2/dags/nobody/dagRuns/{run_id}/taskInstances/lonely/dependencies")
    assert r.status_code == 200
    assert r.json()["dependencies"] == [{"name": "Agent Serving Queue", "reason": "Queued for the agents, but no "
                                         "live agent serves queue 'nobody-serves-this'."}]
    r = cluster.server.api("PATCH", f"/api/v2/dags/nobody/dagRuns/{run_id}", json={"state": "failed"})
    assert r.status_code == 200, r.text
    # Its try is not queued any more: no agent may start it later.
    wait_for(lambda: cluster.sql("SELECT state FROM agent_job WHERE queue = 'nobody-serves-this'") == [("recorded",)],
             30, "the waiting job put aside")


def _running_job(cluster, dag_id: str):
    rows = cluster.sql("SELECT j.agent_name, j.try_number FROM agent_job j JOIN task_instance t ON t.id = j.ti_id "
                       "WHERE t.dag_id = :d AND j.state = 'running' AND t.state = 'running'", d=dag_id)
    return rows[0] if rows else None


def _all_recorded(cluster, run_id):
    """Every job of the run ended and its exit taken by the scheduler (nothing stuck)."""
    wait_for(lambda: {r.state for r in cluster.sql(
        "SELECT j.state FROM agent_job j JOIN task_instance t ON t.id = j.ti_id WHERE t.run_id = :r", r=run_id)}
        == {"recorded"}, 30, "every exit recorded")


def _restart(cluster, agent):
    """The same agent again: its home keeps its credential, no enrollment token needed."""
    agent.start()
    cluster.wait_agents_heard([agent.name])


def test_bad_tokens_and_ids_are_refused_and_change_nothing(cluster, agents):
    from tests.agents.conftest import enroll

    server = cluster.server
    r = server.agent_call("POST", "/register", json={"enrollment_token": "lfe_wrong", "version": "0.1.0"})
    assert r.status_code == 401 and "not known" in r.json()["detail"]
    token = enroll(cluster, "agent-x")
    r = server.agent_call("POST", "/register", json={"enrollment_token": token, "version": "0.9.0"})
    assert r.status_code == 409 and "0.9.0" in r.json()["detail"] and "0.1.0" in r.json()["detail"]
    r = server.agent_call("POST", "/register", json={"enrollment_token": token, "version": "0.1.0",
                                                    "concurrency": 2})
    assert r.status_code == 201, r.text
    credential = r.json()["credential"]
    r = server.agent_call("POST", "/register", json={"enrollment_token": token, "version": "0.1.0"})
    assert r.status_code == 401 and "used already" in r.json()["detail"]
    short = enroll(cluster, "agent-y", expires="1s")
    time.sleep(1.2)
    r = server.agent_call("POST", "/register", json={"enrollment_token": short, "version": "0.1.0"})
    assert r.status_code == 401 and "expired" in r.json()["detail"]
    assert not cluster.sql("SELECT name FROM agent WHERE name = 'agent-y'")

    # A fleet's token (a chart's replicas): names under its prefix, as many times as it says.
    r = server.api("POST", "/api/v2/agents/enrollments", json={"name": "fleet-*", "uses": 2, "queues": "qz"})
    assert r.status_code == 201, r.text
    fleet = r.json()["token"]
    assert server.api("POST", "/api/v2/agents/enrollments", json={"name": "one", "uses": 2}).status_code == 422
    r = server.agent_call("POST", "/register", json={"enrollment_token": fleet, "version": "0.1.0", "name": "x-1"})
    assert r.status_code == 403 and "prefix" in r.json()["detail"]
    for n in (1, 2):
        r = server.agent_call("POST", "/register", json={"enrollment_token": fleet, "version": "0.1.0",
                                                        "name": f"fleet-{n}"})
        assert r.status_code == 201 and r.json()["name"] == f"fleet-{n}" and r.json()["queues"] == ["qz"], r.text
    r = server.agent_call("POST", "/register", json={"enrollment_token": fleet, "version": "0.1.0", "name": "fleet-3"})
    assert r.status_code == 401 and "used already" in r.json()["detail"]
    for n in (1, 2):
        assert server.api("DELETE", f"/api/v2/agents/fleet-{n}").status_code == 200

    # Bodies are checked field by field.
    r = server.agent_call("POST", "/claim", credential, json={"free_slots": "many"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "free_slots"]
    r = server.agent_call("GET", "/bundles/" + "Z" * 64, credential)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["path", "sha256"]
    assert server.agent_call("GET", "/bundles/" + "0" * 64, credential).status_code == 404
    # Another agent's job, with a forged claim token: refused, the job unchanged.
    if not cluster.sql("SELECT id FROM agent_job WHERE agent_name = 'agent-a'"):  # run alone: make one
        cluster.wait_run("spread", cluster.trigger("spread"))
    job = cluster.sql("SELECT id, state, agent_name FROM agent_job WHERE agent_name = 'agent-a' LIMIT 1")[0]
    from urllib.parse import quote

    for action in ("ack", "exit", "logs"):
        r = server.agent_call("POST", f"/jobs/{quote(job.id, safe='')}/{action}", credential,
                              json={"claim_token": "forged", "seq": 0, "lines": "x\n", "exit_code": 0})
        assert r.status_code == 409, (action, r.text)
    assert cluster.sql("SELECT state, agent_name FROM agent_job WHERE id = :i", i=job.id)[0] == (job.state, "agent-a")
    r = server.agent_call("POST", "/heartbeat", "lfa_not-a-credential", json={"free_slots": 1})
    assert r.status_code == 401
    assert server.agent_call("POST", "/heartbeat", credential, json={"free_slots": 0}).status_code == 200

    # Drained from the server side: its claims get nothing and say so; resumed: it may claim again.
    assert server.api("PATCH", "/api/v2/agents/agent-x", json={"action": "drain"}).json()["state"] == "draining"
    r = server.agent_call("POST", "/claim", credential, json={"free_slots": 2, "wait": 5})
    assert r.json() == {"jobs": [], "state": "draining"}
    assert server.agent_call("POST", "/heartbeat", credential, json={"free_slots": 2}).json()["state"] == "draining"
    assert server.api("PATCH", "/api/v2/agents/agent-x", json={"action": "resume"}).json()["state"] == "active"
    assert server.api("PATCH", "/api/v2/agents/agent-x", json={"action": "explode"}).status_code == 422
    assert server.api("DELETE", "/api/v2/agents/no-such-agent").status_code == 404
    r = server.api("POST", "/api/v2/agents/enrollments", json={"name": "../etc", "expires": "1h"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "name"]
    r = server.api("POST", "/api/v2/agents/enrollments", json={"name": "agent-w", "queues": ["gpu"]})
    assert r.status_code == 201 and r.json()["token"].startswith("lfe_") and r.json()["queues"] == ["gpu"]
    assert server.api("GET", "/api/v2/agents", token="not-a-token").status_code in (401, 403)
    made = subprocess.run([sys.executable, "-m", "leoflow", "users", "create", "-u", "op1", "-r", "Op", "-p", "op-pass-1",
                           "--home", str(cluster.root / "cli-home")], env=cluster.env, capture_output=True, text=True,
                          timeout=60)
    assert made.returncode == 0, made.stderr
    import httpx

    op_token = wait_for(lambda: (httpx.post(f"{server.base}/auth/token", json={"username": "op1", "password": "op-pass-1"},
                                            verify=server.ca_context(), timeout=10).json().get("access_token")),
                        15, "the op user can log in")
    for method, path in (("GET", "/api/v2/agents"), ("POST", "/api/v2/agents/enrollments")):
        assert server.api(method, path, token=op_token, json={"name": "agent-v"}).status_code == 403  # admins only

    # Removing the agent revokes its credential at once (admins only).
    assert server.api("DELETE", "/api/v2/agents/agent-x").status_code == 200
    r = server.agent_call("POST", "/heartbeat", credential, json={"free_slots": 0})
    assert r.status_code == 401 and "revoked" in r.json()["detail"]


def test_plain_http_and_an_untrusted_server_are_refused(cluster, agents, tmp_path):
    from tests.agents.conftest import AgentProcess
    from tests.pki import CA

    agent = AgentProcess(cluster, "agent-z", cluster.hosts[0], queues="qa")
    plain = subprocess.run(agent.command(token="lfe_x", server=f"http://{cluster.hosts[0].gateway}:1"),
                           capture_output=True, text=True, timeout=60)
    assert plain.returncode != 0 and "--insecure" in plain.stderr
    other = CA(tmp_path, "another-ca")
    cmd = agent.command(token=enroll_token(cluster, "agent-z"))
    cmd[cmd.index("--ca-file") + 1] = str(other.pem)
    untrusted = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert untrusted.returncode != 0 and "not trusted" in untrusted.stderr, untrusted.stderr


def enroll_token(cluster, name):
    from tests.agents.conftest import enroll

    return enroll(cluster, name)


def test_sigterm_drains_the_running_try_then_the_agent_exits(cluster, agents):
    run_id = cluster.trigger("slow")
    row = wait_for(lambda: _running_job(cluster, "slow"), 60, "slow running on an agent")
    agent = next(a for a in agents if a.name == row.agent_name)
    agent.proc.send_signal(subprocess.signal.SIGTERM)
    assert agent.proc.wait(60) == 0, agent.output()
    assert cluster.wait_run("slow", run_id) == "success"
    tries = cluster.sql("SELECT t.try_number, t.state FROM task_instance t WHERE t.dag_id = 'slow' AND t.run_id = :r",
                        r=run_id)
    assert tries == [(1, "success")]
    _restart(cluster, agent)


def test_a_try_failed_from_the_ui_while_on_an_agent_stops_within_seconds(cluster, agents):
    run_id = cluster.trigger("slow")
    wait_for(lambda: _running_job(cluster, "slow"), 60, "slow running on an agent")
    r = cluster.server.api("PATCH", f"/api/v2/dags/slow/dagRuns/{run_id}/taskInstances/nap",
                           json={"new_state": "failed"})
    assert r.status_code == 200, r.text
    started = time.monotonic()
    _all_recorded(cluster, run_id)  # its process ended on the agent and the exit reached the server
    assert time.monotonic() - started < 12
    assert cluster.wait_run("slow", run_id) == "failed"


def test_a_second_sigterm_ends_the_running_try_and_reports_it(cluster, agents):
    run_id = cluster.trigger("slow")
    row = wait_for(lambda: _running_job(cluster, "slow"), 60, "slow running on an agent")
    agent = next(a for a in agents if a.name == row.agent_name)
    other = next(a for a in agents if a is not agent)
    before = agent.log_size()  # the log holds the "Draining" of this agent's earlier lives too
    agent.proc.send_signal(subprocess.signal.SIGTERM)
    wait_for(lambda: "Draining" in agent.output_since(before), 10, "the agent draining")
    agent.proc.send_signal(subprocess.signal.SIGTERM)
    assert agent.proc.wait(40) == 0, agent.output()
    assert cluster.wait_run("slow", run_id) == "success"
    _all_recorded(cluster, run_id)
    jobs = cluster.sql("SELECT j.try_number, j.agent_name FROM agent_job j JOIN task_instance t "
                       "ON t.id = j.ti_id WHERE t.run_id = :r ORDER BY j.try_number", r=run_id)
    assert [(j.try_number, j.agent_name) for j in jobs] == [(1, agent.name), (2, other.name)]
    _restart(cluster, agent)


def test_a_link_cut_shorter_than_the_zombie_threshold_loses_nothing(cluster, agents):
    run_id = cluster.trigger("slow")
    row = wait_for(lambda: _running_job(cluster, "slow"), 60, "slow running on an agent")
    agent = next(a for a in agents if a.name == row.agent_name)
    # The log of a try running on an agent is served live by the server, from the shipped chunks.
    wait_for(lambda: "napping 1" in str(cluster.server.api(
        "GET", f"/api/v2/dags/slow/dagRuns/{run_id}/taskInstances/nap/logs/1").json()), 20, "the live log")
    agent.host.cut()
    try:
        time.sleep(4)
    finally:
        agent.host.restore()
    assert cluster.wait_run("slow", run_id) == "success"
    tries = cluster.sql("SELECT try_number, state FROM task_instance WHERE dag_id = 'slow' AND run_id = :r", r=run_id)
    assert tries == [(1, "success")]  # not retried: the cut was shorter than the zombie threshold
    cluster.wait_agents_heard([agent.name])


def test_a_link_cut_past_the_zombie_threshold_retries_elsewhere_and_fences_the_late_reports(cluster, agents):
    run_id = cluster.trigger("slow")
    row = wait_for(lambda: _running_job(cluster, "slow"), 60, "slow running on an agent")
    agent = next(a for a in agents if a.name == row.agent_name)
    other = next(a for a in agents if a is not agent)
    before = agent.log_size()
    agent.host.cut()
    try:
        second = wait_for(lambda: cluster.sql(
            "SELECT j.agent_name FROM agent_job j JOIN task_instance t ON t.id = j.ti_id WHERE t.run_id = :r "
            "AND j.try_number = 2 AND j.agent_name IS NOT NULL", r=run_id), 60, "the try retried")
        assert second[0].agent_name == other.name
        wait_for(lambda: "close to the zombie threshold" in agent.output_since(before), 30, "the cut-off agent ended its try")
    finally:
        agent.host.restore()
    assert cluster.wait_run("slow", run_id) == "success"
    wait_for(lambda: "was refused" in agent.output_since(before), 60, "its late exit report refused")
    jobs = cluster.sql("SELECT j.try_number, j.reason, j.state FROM agent_job j JOIN task_instance t ON t.id = j.ti_id "
                       "WHERE t.run_id = :r ORDER BY j.try_number", r=run_id)
    assert "zombie" in jobs[0].reason
    _all_recorded(cluster, run_id)
    cluster.wait_agents_heard([agent.name])  # back at work once the link is


def test_a_server_restart_while_agents_run_tasks_loses_nothing(cluster, agents):
    run_id = cluster.trigger("slow")
    wait_for(lambda: _running_job(cluster, "slow"), 60, "slow running on an agent")
    cluster.server.stop()
    cluster.server.start()
    assert cluster.wait_run("slow", run_id) == "success"
    tries = cluster.sql("SELECT try_number, state FROM task_instance WHERE dag_id = 'slow' AND run_id = :r", r=run_id)
    assert tries == [(1, "success")]


def test_kill_9_of_an_agent_mid_task_retries_the_try_on_the_other_agent(cluster, agents):
    run_id = cluster.trigger("slow")
    row = wait_for(lambda: _running_job(cluster, "slow"), 60, "slow running on an agent")
    victim = next(a for a in agents if a.name == row.agent_name)
    survivor = next(a for a in agents if a is not victim)
    wait_for(lambda: "napping 1" in str(cluster.server.api(
        "GET", f"/api/v2/dags/slow/dagRuns/{run_id}/taskInstances/nap/logs/1").json()), 20, "the live log")
    victim.kill9()
    assert cluster.wait_run("slow", run_id, timeout=120) == "success"
    jobs = cluster.sql("SELECT j.try_number, j.agent_name, j.state, j.reason FROM agent_job j "
                       "JOIN task_instance t ON t.id = j.ti_id WHERE t.run_id = :r ORDER BY j.try_number", r=run_id)
    assert [j.try_number for j in jobs] == [1, 2]
    assert jobs[0].agent_name == victim.name and "zombie" in (jobs[0].reason or "")
    assert jobs[1].agent_name == survivor.name
    _all_recorded(cluster, run_id)  # nothing stuck: every exit was taken
    # The killed try's log: what its runner shipped before the kill, then why the server ended it.
    events = [rec.get("event", "") for rec in cluster.server.api(
        "GET", f"/api/v2/dags/slow/dagRuns/{run_id}/taskInstances/nap/logs/1").json()["content"]]
    assert any("napping 0" in e for e in events) and "zombie" in events[-1], events
    assert not cluster.sql("SELECT id FROM task_instance WHERE state IN ('queued', 'running') AND dag_id != 'nobody'")
    _restart(cluster, victim)


def test_an_agent_removed_while_running_stops_and_its_try_is_retried_elsewhere(cluster, agents):
    run_id = cluster.trigger("slow")
    row = wait_for(lambda: _running_job(cluster, "slow"), 60, "slow running on an agent")
    removed = next(a for a in agents if a.name == row.agent_name)
    other = next(a for a in agents if a is not removed)
    before = removed.log_size()
    proc = subprocess.run([sys.executable, "-m", "leoflow", "agents", "remove", removed.name, "--home",
                           str(cluster.root / "cli-home")], env=cluster.env, capture_output=True, text=True,
                          timeout=60)
    removed.removed = True  # its credential is revoked: it stays stopped for the rest of the module
    assert proc.returncode == 0 and "1 running try ended" in proc.stdout, proc.stdout + proc.stderr
    assert removed.proc.wait(30) == 1  # its next request was refused: it ended its try and stopped
    assert "revoked" in removed.output_since(before)
    assert cluster.wait_run("slow", run_id) == "success"
    jobs = cluster.sql("SELECT j.try_number, j.agent_name, j.reason FROM agent_job j JOIN task_instance t "
                       "ON t.id = j.ti_id WHERE t.run_id = :r ORDER BY j.try_number", r=run_id)
    assert [(j.try_number, j.agent_name) for j in jobs] == [(1, removed.name), (2, other.name)]
    assert "removed" in jobs[0].reason


def test_an_agent_restarted_right_after_kill_9_gives_up_the_tries_it_lost(cluster, agents):
    run_id = cluster.trigger("slow")
    row = wait_for(lambda: _running_job(cluster, "slow"), 60, "slow running on an agent")
    victim = next(a for a in agents if a.name == row.agent_name and a.proc.poll() is None)
    victim.kill9()
    victim.start()  # at once, with its saved credential: its heartbeats list nothing running
    assert cluster.wait_run("slow", run_id, timeout=120) == "success"
    jobs = cluster.sql("SELECT j.try_number, j.reason FROM agent_job j JOIN task_instance t ON t.id = j.ti_id "
                       "WHERE t.run_id = :r ORDER BY j.try_number", r=run_id)
    assert [j.try_number for j in jobs] == [1, 2]
    assert "no longer runs the try" in jobs[0].reason, jobs[0].reason
    _all_recorded(cluster, run_id)


def test_mutual_tls_an_agent_and_its_tries_present_a_client_certificate(cluster, agents, tmp_path):
    """A replica that asks for client certificates (--tls-client-ca): an agent without one is refused,
    one with a certificate of the client CA runs tries whose runners present it to /execution too."""
    from tests.agents.conftest import AgentProcess, TlsServer, enroll
    from tests.pki import CA

    clients = CA(tmp_path, "client-ca")
    cert, key = cluster.ca.issue("leoflow-server-m", server=True, addresses=tuple(h.gateway for h in cluster.hosts))
    strict = TlsServer("server-m", cluster.root, cluster.dags, cluster.env, ca=cluster.ca, host="0.0.0.0",
                       args=("--tls-cert", str(cert), "--tls-key", str(key), "--tls-client-ca", str(clients.pem),
                             "--components", "api"))
    agent_cert, agent_key = clients.issue("agent-m", server=False)
    log = open(strict.log_path, "ab")  # started by hand: its /readyz wants a client certificate too
    strict.proc = subprocess.Popen(
        [sys.executable, "-m", "leoflow", "server", "--home", str(strict.home), "--dags-folder", str(strict.dags),
         "--host", "0.0.0.0", "--port", str(strict.port), *strict.args], stdout=log, stderr=subprocess.STDOUT,
        env=strict.env)
    agent = AgentProcess(cluster, "agent-m", cluster.hosts[0], queues="qm")
    try:
        import socket

        wait_for(lambda: socket.socket().connect_ex(("127.0.0.1", strict.port)) == 0, 60, "the strict replica listening")
        url = f"https://{cluster.hosts[0].gateway}:{strict.port}"
        try:
            bare = subprocess.run(agent.command(token=enroll_token(cluster, "agent-m"), server=url),
                                  capture_output=True, text=True, timeout=20)
        except subprocess.TimeoutExpired as exc:
            raise AssertionError((exc.stderr or b"")[-3000:])
        assert bare.returncode != 0 and "client certificate" in bare.stderr, bare.stderr[-2000:]
        cmd = agent.command("--client-cert", str(agent_cert), "--client-key", str(agent_key),
                            token=enroll(cluster, "agent-m", "qm"), server=url)
        agent.proc = subprocess.Popen(cmd, stdout=open(agent.log_path, "ab"), stderr=subprocess.STDOUT,
                                      env=cluster.agent_env, start_new_session=True)
        cluster.agents.append(agent)
        cluster.wait_agents_heard(["agent-m"])
        run_id = cluster.trigger("mtls")
        assert cluster.wait_run("mtls", run_id) == "success", agent.output()
        assert cluster.sql("SELECT j.agent_name FROM agent_job j JOIN task_instance t ON t.id = j.ti_id "
                           "WHERE t.run_id = :r", r=run_id) == [("agent-m",)]
    finally:
        agent.stop()
        strict.stop()
