"""The browser guard itself: outside requests are blocked and reported, server errors are caught."""

from __future__ import annotations

from contextlib import contextmanager

from playwright.sync_api import sync_playwright

from .browser import Guard


@contextmanager
def guarded_page(ui_lite, chromium):
    """A page of a logged-in browser, watched by a Guard."""
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        try:
            context = browser.new_context()
            page = context.new_page()
            guard = Guard(ui_lite.base)
            guard.attach(context, page)
            guard.logged_in = True
            page.goto(ui_lite.base + "/api/v2/auth/login")
            yield page, guard
        finally:
            browser.close()


def test_guard_blocks_outside_requests_and_reports_errors(ui_lite, chromium):
    with guarded_page(ui_lite, chromium) as (page, guard):
        page.evaluate("""async () => {
            await fetch('https://cdn.jsdelivr.net/npm/monaco-editor@0.52.2/min/vs/loader.js').catch(() => null);
            await fetch('api/v2/no-such-thing');
            console.error('boom');
        }""")
        page.wait_for_timeout(200)
        problems = guard.take()
    assert guard.outside == ["https://cdn.jsdelivr.net/npm/monaco-editor@0.52.2/min/vs/loader.js"]
    assert any("HTTP 404" in p and "no-such-thing" in p for p in problems), problems
    assert "console error: boom" in problems


def test_a_cancelled_read_is_excused_only_when_its_endpoint_answers(ui_lite, chromium):
    with guarded_page(ui_lite, chromium) as (page, guard):
        cancel = """async (path) => {
            const c = new AbortController();
            const pending = fetch(path, {signal: c.signal}).catch(() => null);
            c.abort();
            await pending;
        }"""
        page.evaluate(cancel, "/api/v2/monitor/health?first")
        page.evaluate("fetch('/api/v2/monitor/health?again')")
        page.wait_for_timeout(300)
        assert guard.take() == []  # superseded: the same endpoint answered afterwards
        page.evaluate(cancel, "/api/v2/version")
        page.wait_for_timeout(300)
        problems = guard.take()  # never answered: reported
        page.evaluate("fetch('/api/v2/monitor/health?third')")
        page.wait_for_timeout(300)
        page.evaluate(cancel, "/api/v2/monitor/health?cancelled-after")
        page.wait_for_timeout(300)
        assert guard.take() == []  # an endpoint that has answered: a cancelled read of it is the page's choice
    assert len(problems) == 1 and "api/v2/version" in problems[0] and "ERR_ABORTED" in problems[0]


def test_an_uncaught_abort_error_is_excused_only_beside_an_excused_cancellation(ui_lite, chromium):
    with guarded_page(ui_lite, chromium) as (page, guard):
        page.evaluate("fetch('/api/v2/monitor/health?answered')")
        page.wait_for_timeout(300)
        guard.take()
        uncaught = """(path) => {
            const c = new AbortController();
            setTimeout(() => fetch(path, {signal: c.signal}), 0);  // its rejection is never handled
            setTimeout(() => c.abort(), 0);
        }"""
        page.evaluate("() => setTimeout(() => { throw new DOMException('signal is aborted without reason', 'AbortError'); }, 0)")
        page.wait_for_timeout(300)
        alone = guard.take()  # no cancellation in this step: reported
        page.evaluate(uncaught, "/api/v2/monitor/health?cancelled")
        page.wait_for_timeout(300)
        beside = guard.take()  # the cancelled read of an answered endpoint excuses the page's AbortError
    assert len(alone) == 1 and "aborted without reason" in alone[0], alone
    assert beside == [], beside
    assert sum("page error" in line and "abort" in line for line in guard.log) == 2, guard.log[-10:]
