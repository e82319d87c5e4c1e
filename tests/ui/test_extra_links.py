"""The UI's task-instance page shows a task's extra links, read from `GET .../links` as the Airflow 3.2.1
UI reads them: a button per link that has a URL (the try resolved it in its own process), none for a
link without one."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.e2e.lite_process import PASSWORD, Lite
from tests.web.conftest import fetch_ui_assets

from .browser import Guard

DAG = '''
from airflow.sdk import DAG, BaseOperator, BaseOperatorLink


class RunbookLink(BaseOperatorLink):
    name = "Runbook"

    def get_link(self, operator, *, ti_key):
        return f"https://runbooks.example/{ti_key.dag_id}/{operator.task_id}"


class NeverLink(BaseOperatorLink):
    name = "Never Resolved"

    def get_link(self, operator, *, ti_key):
        return ""


class Documented(BaseOperator):
    operator_extra_links = (RunbookLink(), NeverLink())

    def execute(self, context):
        return "done"


with DAG("links_ui", schedule=None):
    Documented(task_id="documented")
'''
pytestmark = pytest.mark.timeout(300)


def test_the_task_page_shows_the_links_of_the_try(tmp_path, chromium):
    fetch_ui_assets()
    home, dags = tmp_path / "home", tmp_path / "dags"
    home.mkdir()
    dags.mkdir()
    (dags / "links_ui.py").write_text(DAG)
    lite = Lite(home, dags).start()
    try:
        lite.wait_for_dag("links_ui")
        run_id = lite.trigger("links_ui")["dag_run_id"]
        assert lite.wait_for_run("links_ui", run_id, timeout=60)["state"] == "success"
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
            context = browser.new_context(viewport={"width": 1400, "height": 900}, service_workers="block")
            context.set_default_timeout(30000)  # a loaded CI machine can be slow to paint
            page = context.new_page()
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
                with page.expect_response(lambda resp: "/taskInstances/documented/links" in resp.url,
                                          timeout=30000) as links:
                    page.goto(f"{lite.base}/dags/links_ui/runs/{quote(run_id, safe='')}/tasks/documented/details")
                assert links.value.status == 200
                assert links.value.json() == {"extra_links": {
                    "Never Resolved": None, "Runbook": "https://runbooks.example/links_ui/documented"},
                    "total_entries": 2}
                button = page.get_by_role("link", name="Runbook")
                expect(button).to_be_visible(timeout=30000)
                expect(button).to_have_attribute("href", "https://runbooks.example/links_ui/documented")
                expect(page.get_by_role("link", name="Never Resolved")).to_have_count(0)
                page.screenshot(path=str(home / "extra-links.png"))
                assert not guard.take()
            except BaseException:
                page.screenshot(path=str(home / "extra-links-failed.png"))
                print("\n".join(guard.log[-60:]))
                raise
            finally:
                context.close()
                browser.close()
    finally:
        lite.stop()
