"""The UI's task-instance page says why a try queued for the agents waits: no live agent serves its queue.

A `leoflow lite` whose executor is `agent`, one live agent (this test registers it and sends its
heartbeats) serving another queue, and the Airflow 3.2.1 UI in Chromium reading the task's
dependencies exactly as it does for any task instance that is queued or scheduled.
"""

from __future__ import annotations

import threading
import time
from urllib.parse import quote

import httpx
import pytest
from playwright.sync_api import expect, sync_playwright

from tests.e2e.lite_process import PASSWORD, Lite
from tests.web.conftest import fetch_ui_assets

from .browser import Guard

DAG = '''
from airflow.sdk import dag, task


@dag(dag_id="nobody", schedule=None, catchup=False)
def nobody():
    @task(queue="nobody-serves-this")
    def lonely():
        return 1

    lonely()


nobody()
'''
pytestmark = pytest.mark.timeout(300)
REASON = "Queued for the agents, but no live agent serves queue 'nobody-serves-this'."


@pytest.fixture(scope="module")
def agent_lite(tmp_path_factory):
    fetch_ui_assets()
    tmp = tmp_path_factory.mktemp("ui-agents")
    home, dags = tmp / "home", tmp / "dags"
    home.mkdir()
    dags.mkdir()
    (dags / "nobody.py").write_text(DAG)
    lite = Lite(home, dags, env={"LEOFLOW_EXECUTOR": "agent"}).start()
    try:
        lite.wait_for_dag("nobody")
        yield lite
    finally:
        lite.stop()


def _live_agent(lite, stop: threading.Event) -> None:
    """An agent of queue `other`, heard from every second (it claims nothing)."""
    r = lite.api("POST", "/api/v2/agents/enrollments", json={"name": "agent-other", "queues": "other"})
    assert r.status_code == 201, r.text
    r = httpx.post(f"{lite.base}/agent/v1/register", json={"enrollment_token": r.json()["token"],
                                                           "version": _version(), "concurrency": 4}, timeout=10)
    assert r.status_code == 201, r.text
    headers = {"Authorization": f"Bearer {r.json()['credential']}"}

    def beat():
        with httpx.Client(base_url=lite.base, headers=headers, timeout=10) as client:
            while not stop.is_set():
                client.post("/agent/v1/heartbeat", json={"free_slots": 4, "running": []})
                stop.wait(1.0)

    threading.Thread(target=beat, daemon=True).start()


def _version() -> str:
    from leoflow import __version__

    return __version__


def test_the_task_page_shows_that_no_live_agent_serves_the_queue(agent_lite, chromium):
    lite = agent_lite
    stop = threading.Event()
    started = time.monotonic()
    _live_agent(lite, stop)
    try:
        r = lite.api("POST", "/api/v2/dags/nobody/dagRuns", json={"logical_date": None})
        assert r.status_code == 200, r.text
        run_id = r.json()["dag_run_id"]
        # The call the UI makes for a queued or scheduled task instance (with map_index as a query).
        path = f"/api/v2/dags/nobody/dagRuns/{run_id}/taskInstances/lonely/dependencies"

        def reason_shown():
            answer = lite.api("GET", path, params={"map_index": -1})
            assert answer.status_code == 200, answer.text
            return answer.json()["dependencies"]

        deadline = time.monotonic() + 60
        while not reason_shown() and time.monotonic() < deadline:
            time.sleep(0.5)
        assert reason_shown() == [{"name": "Agent Serving Queue", "reason": REASON}]

        with sync_playwright() as p:
            print(f"reason shown after {time.monotonic() - started:.1f} s", flush=True)
            browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
            context = browser.new_context(viewport={"width": 1400, "height": 900}, service_workers="block")
            context.set_default_timeout(15000)
            page = context.new_page()
            print(f"browser up after {time.monotonic() - started:.1f} s", flush=True)
            guard = Guard(lite.base)
            guard.attach(context, page)
            try:
                guard.navigating()
                page.goto(lite.base + "/")
                page.wait_for_url("**/api/v2/auth/login?next=*")
                page.fill("#username", "admin")
                page.fill("#password", PASSWORD)
                guard.logged_in = True
                page.click("button[type=submit]")
                page.wait_for_url(lite.base + "/")
                guard.navigating()
                with page.expect_response(lambda resp: "/taskInstances/lonely/dependencies" in resp.url) as deps:
                    page.goto(f"{lite.base}/dags/nobody/runs/{quote(run_id, safe='')}/tasks/lonely/details")
                assert deps.value.status == 200
                expect(page.get_by_text("Dependencies Blocking Task From Getting Scheduled")).to_be_visible()
                expect(page.get_by_text(REASON)).to_be_visible()
                expect(page.get_by_text("Agent Serving Queue")).to_be_visible()
                page.screenshot(path=str(lite.home / "agent-queue-reason.png"))
                assert not guard.take()
            except BaseException:
                page.screenshot(path=str(lite.home / "agent-queue-reason-failed.png"))
                print("\n".join(guard.log[-60:]))
                raise
            finally:
                context.close()
                browser.close()
    finally:
        stop.set()
