"""Docs -> REST API Reference in the Airflow UI's menu opens Leoflow's own API browser, offline.

The UI opens `<base>/docs` in a new tab; the page must load Swagger UI from this server
(every request leaving it is blocked and fails the test) and render the operations of
the OpenAPI document `/openapi.json` serves.
"""

from __future__ import annotations

import shutil

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.e2e.lite_process import PASSWORD

from .browser import ARTIFACTS, Guard

expect.set_options(timeout=15000)


@pytest.fixture
def browser_context(ui_lite, chromium):
    shots = ARTIFACTS.parent / "ui-api-reference"
    shutil.rmtree(shots, ignore_errors=True)
    shots.mkdir(parents=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        context = browser.new_context(viewport={"width": 1400, "height": 900}, service_workers="block")
        context.set_default_timeout(15000)
        yield context, shots
        context.close()
        browser.close()


def test_docs_menu_opens_the_rest_api_reference(ui_lite, browser_context):
    context, shots = browser_context
    page = context.new_page()
    guard = Guard(ui_lite.base)
    guard.attach(context, page)

    page.goto(ui_lite.base + "/")
    page.wait_for_url("**/api/v2/auth/login?next=*")
    page.fill("#username", "admin")
    page.fill("#password", PASSWORD)
    guard.logged_in = True
    page.click("button[type=submit]")
    page.wait_for_url(ui_lite.base + "/")

    page.get_by_role("button", name="Docs").click()
    item = page.get_by_role("menuitem", name="REST API Reference")
    expect(item).to_be_visible()
    with context.expect_page() as opened:
        item.click()
    docs = opened.value
    for event, handler in (("console", guard._console), ("pageerror", guard._page_error),
                           ("requestfailed", guard._failed), ("response", guard._response)):
        docs.on(event, handler)
    docs.wait_for_load_state()
    assert docs.url == ui_lite.base + "/docs"

    # Swagger UI rendered the document: its title, and the operations grouped by tag.
    expect(docs.locator(".info .title")).to_contain_text("Leoflow REST API")
    operations = docs.locator(".opblock-summary-path")
    expect(operations.first).to_be_visible()
    expect(docs.locator(".opblock-summary-path[data-path='/api/v2/dags/{dag_id}/dagRuns']").first).to_be_visible()
    # An operation with two tags is listed under both: count (method, path) pairs.
    shown = set(docs.eval_on_selector_all(".opblock-summary", "els => els.map(e => "
                                          "e.querySelector('.opblock-summary-method').textContent + ' ' + "
                                          "e.querySelector('.opblock-summary-path').dataset.path)"))
    docs.screenshot(path=str(shots / "rest-api-reference.png"))
    document = ui_lite.api("GET", "/openapi.json").json()
    served = {f"{method.upper()} {path}" for path, item in document["paths"].items() for method in item
              if method in ("get", "post", "put", "patch", "delete")}
    assert shown == served and len(served) >= 100, (sorted(shown ^ served), len(served))

    # One operation opened: its parameters and responses are shown from the document.
    docs.locator(".opblock-summary-path[data-path='/api/v2/dags/{dag_id}']").first.click()
    expect(docs.locator(".opblock.is-open .parameters").first).to_contain_text("dag_id")

    problems = guard.take()
    assert not problems, "\n".join(problems)
    assert not guard.outside, f"requests outside the server: {sorted(set(guard.outside))}"
