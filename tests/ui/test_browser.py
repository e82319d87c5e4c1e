"""The Airflow 3.2.1 UI, unmodified, driven in Debian's Chromium against a real `leoflow lite`.

One walk through the pages a new user visits, in order (later steps use the run
the trigger step starts). Each step saves a screenshot under tests/artifacts/ui/;
the guard fails the step on a console error, a failed request, an error status,
a blank page or any request leaving the server (all of them are blocked).
"""

from __future__ import annotations

import json
import re
import shutil
import time
from contextlib import contextmanager

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.e2e.lite_process import PASSWORD

from .browser import ARTIFACTS, Guard

CONF = {"source": "browser-test", "rows": 3}
expect.set_options(timeout=15000)  # a shared CI machine can be slow to paint


class Walk:
    def __init__(self, lite, page, guard: Guard):
        self.lite, self.page, self.guard = lite, page, guard
        self.base = lite.base
        self.steps: list[str] = []

    def go(self, path: str) -> None:
        """A deliberate full page load (what typing a URL does)."""
        self.settle()
        self.guard.navigating()
        self.page.goto(self.base + path)

    def settle(self) -> None:
        try:
            self.page.wait_for_load_state("networkidle", timeout=2000)
        except Exception:  # the UI polls while runs are active; a quiet moment is enough, not required
            pass

    @contextmanager
    def step(self, name: str):
        self.steps.append(name)
        shot = str(ARTIFACTS / f"{len(self.steps):02d}-{name}.png")
        started = time.monotonic()
        try:
            yield
        except BaseException:
            self.page.screenshot(path=shot.replace(".png", "-failed.png"))
            print("\n".join(self.guard.log[-80:]))
            raise
        self.settle()
        try:  # a page that stays empty is a blank page; one still painting gets its time
            self.page.wait_for_function("document.body.innerText.trim().length > 20", timeout=15000)
        except Exception:
            pass
        body = self.page.locator("body").inner_text(timeout=5000).strip()
        self.page.screenshot(path=shot)
        assert len(body) > 20, f"{name}: blank page ({body!r})"
        assert "Something went wrong" not in body, f"{name}: the UI shows an error page:\n{body[:500]}"
        problems = self.guard.take()
        print(f"ui step {name}: {time.monotonic() - started:.1f}s")
        if problems:
            print("\n".join(self.guard.log[-80:]))
        assert not problems, f"{name}:\n" + "\n".join(problems)


@pytest.fixture(scope="module")
def walk(ui_lite, chromium):
    shutil.rmtree(ARTIFACTS, ignore_errors=True)  # screenshots of this run only
    ARTIFACTS.mkdir(parents=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        context = browser.new_context(viewport={"width": 1400, "height": 900}, service_workers="block")
        context.set_default_timeout(15000)
        page = context.new_page()
        guard = Guard(ui_lite.base)
        guard.attach(context, page)
        yield Walk(ui_lite, page, guard)
        context.close()
        browser.close()
        assert not guard.outside, f"requests outside the server: {sorted(set(guard.outside))}"


def test_walk_the_ui(walk: Walk):
    page, lite = walk.page, walk.lite

    with walk.step("login"):
        walk.go("/")
        page.wait_for_url("**/api/v2/auth/login?next=*")
        page.fill("#username", "admin")
        page.fill("#password", PASSWORD)
        walk.guard.logged_in = True
        page.click("button[type=submit]")
        page.wait_for_url(lite.base + "/")
        assert any(c["name"] == "_token" and c["httpOnly"] for c in page.context.cookies())

    with walk.step("dashboard"):
        expect(page.get_by_text("Health").first).to_be_visible()

    with walk.step("dag-list"):
        walk.go("/dags")
        expect(page.get_by_role("link", name="example_etl")).to_be_visible()
        expect(page.get_by_role("link", name="example_bash")).to_be_visible()

    with walk.step("trigger-with-conf"):
        page.get_by_role("link", name="example_etl").click()  # in-app navigation, as a user does
        page.wait_for_url("**/dags/example_etl")
        # The list stays on screen until the DAG page has loaded: its own Trigger buttons are the list's.
        expect(page.get_by_text("Latest Dag Version")).to_be_visible()
        walk.settle()
        page.get_by_role("button", name="Trigger").first.click()
        dialog = page.locator("[role=dialog][data-state=open]").filter(has_text="Trigger Dag")
        expect(dialog).to_be_visible()
        dialog.get_by_text("Advanced Options").click()
        dialog.locator(".monaco-editor .view-lines").click()  # Monaco, loaded from this server
        page.keyboard.press("ControlOrMeta+a")
        page.keyboard.press("Backspace")
        page.keyboard.insert_text(json.dumps(CONF))
        page.keyboard.press("Shift+End")  # drop what the editor auto-closed after the cursor
        page.keyboard.press("Delete")
        dialog.get_by_text("Configuration JSON").click()  # leave the editor: the form takes the JSON on blur
        button = dialog.locator("footer").get_by_role("button", name="Trigger")
        expect(button).to_be_enabled()
        with page.expect_response(lambda r: r.request.method == "POST" and "/dagRuns" in r.url) as posted:
            button.click()
        assert posted.value.status == 200, posted.value.text()
        expect(dialog).to_be_hidden()

    runs = lite.api("GET", "/api/v2/dags/example_etl/dagRuns", params={"order_by": "-run_after"}).json()
    run = runs["dag_runs"][0]
    assert run["conf"] == CONF, run
    run_id = run["dag_run_id"]
    lite.wait_for_run("example_etl", run_id, timeout=60)

    with walk.step("grid"):
        walk.go("/dags/example_etl")
        for task in ("extract", "transform", "load"):
            expect(page.get_by_text(task, exact=True).first).to_be_visible()
        # The DAG header's latest-run link ends with the run's state (UI-NOTES.md): the run shows as done.
        expect(page.get_by_role("link", name=re.compile(r"success$")).first).to_be_visible()

    with walk.step("graph"):
        walk.go(f"/dags/example_etl/runs/{run_id}?view=graph")
        page.get_by_role("button", name="Show Graph").or_(page.get_by_label("Show Graph")).first.click()
        expect(page.locator(".react-flow__node").first).to_be_visible()
        expect(page.locator(".react-flow__node")).to_have_count(3)

    task_path = f"/dags/example_etl/runs/{run_id}/tasks/transform"

    with walk.step("task-logs"):
        walk.go(task_path)
        expect(page.get_by_text("transform got {'rows': 100}").first).to_be_visible()

    with walk.step("task-xcom"):
        walk.go(task_path + "/xcom")
        expect(page.get_by_text("return_value").first).to_be_visible()
        # The value viewer is Monaco too: it renders (offline) instead of hanging on "Loading...".
        expect(page.locator("table .monaco-editor .view-lines").first).to_contain_text("{")

    with walk.step("task-details"):
        walk.go(task_path + "/details")
        expect(page.get_by_text("transform").first).to_be_visible()
        expect(page.get_by_text("success").first).to_be_visible()

    with walk.step("code"):
        walk.go("/dags/example_etl/code")
        # Monaco, served by Leoflow itself, renders the file (offline: the CDN is blocked).
        expect(page.locator(".monaco-editor .view-lines").first).to_be_visible()
        expect(page.locator(".monaco-editor .view-lines").first).to_contain_text("def transform")

    with walk.step("calendar"):
        walk.go("/dags/example_etl/calendar")
        expect(page.get_by_text("Total Runs").first).to_be_visible()

    with walk.step("variables"):
        walk.go("/variables")
        page.get_by_role("button", name="Add Variable").click()
        dialog = page.locator("[role=dialog][data-state=open]").filter(has_text="Add Variable")
        dialog.locator("input[name=key]").fill("ui_test_var")
        dialog.locator("textarea[name=value]").fill("first")
        dialog.locator("textarea[name=description]").fill("made by the browser test")
        dialog.get_by_role("button", name="Save").click()
        expect(dialog).to_be_hidden()
        row = page.get_by_role("row").filter(has_text="ui_test_var")
        expect(row).to_be_visible()
        assert lite.api("GET", "/api/v2/variables/ui_test_var").json()["value"] == "first"

        row.get_by_role("button", name="Edit Variable").click()
        dialog = page.locator("[role=dialog][data-state=open]").filter(has_text="Edit Variable")
        dialog.locator("textarea[name=value]").fill("second")
        dialog.get_by_role("button", name="Save").click()
        expect(dialog).to_be_hidden()
        expect(row).to_contain_text("second")
        assert lite.api("GET", "/api/v2/variables/ui_test_var").json()["value"] == "second"

        row.get_by_role("button", name="Delete Variable").click()
        page.locator("[role=dialog][data-state=open]").get_by_role("button", name="Yes, Delete").click()
        expect(row).to_be_hidden()
        assert lite.api("GET", "/api/v2/variables/ui_test_var").status_code == 404

    with walk.step("connections"):
        walk.go("/connections")
        page.get_by_role("button", name="Add Connection").click()
        dialog = page.locator("[role=dialog][data-state=open]").filter(has_text="Add Connection")
        dialog.locator("input[name=connection_id]").fill("ui_test_conn")
        dialog.get_by_role("combobox").first.click()
        page.keyboard.insert_text("Generic")
        page.keyboard.press("Enter")
        dialog.locator("input[name=host]").fill("db.example.internal")
        dialog.get_by_role("button", name="Save").click()
        expect(dialog).to_be_hidden()
        row = page.get_by_role("row").filter(has_text="ui_test_conn")
        expect(row).to_contain_text("db.example.internal")
        assert lite.api("GET", "/api/v2/connections/ui_test_conn").json()["conn_type"] == "generic"

        row.get_by_role("button", name="Edit Connection").click()
        dialog = page.locator("[role=dialog][data-state=open]").filter(has_text="Edit Connection")
        dialog.locator("input[name=host]").fill("db2.example.internal")
        dialog.get_by_role("button", name="Save").click()
        expect(dialog).to_be_hidden()
        expect(row).to_contain_text("db2.example.internal")
        assert lite.api("GET", "/api/v2/connections/ui_test_conn").json()["host"] == "db2.example.internal"

        row.get_by_role("button", name="Delete Connection").click()
        page.locator("[role=dialog][data-state=open]").get_by_role("button", name="Yes, Delete").click()
        expect(row).to_be_hidden()
        assert lite.api("GET", "/api/v2/connections/ui_test_conn").status_code == 404

    with walk.step("audit-log"):
        walk.go("/events")
        expect(page.get_by_role("cell", name="trigger_dag_run").first).to_be_visible()
        expect(page.get_by_role("cell", name="login", exact=True).first).to_be_visible()

    with walk.step("pools"):
        walk.go("/pools")
        expect(page.get_by_text("default_pool").first).to_be_visible()

    with walk.step("dashboard-after"):
        walk.go("/")
        expect(page.get_by_text("Health").first).to_be_visible()

    # Nothing left the machine: the CDN the upstream build would use for Monaco included.
    assert not walk.guard.outside, f"requests outside the server: {sorted(set(walk.guard.outside))}"
