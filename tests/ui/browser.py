"""Watching a browser page for everything that should never happen in the Leoflow UI.

Every request must stay on the server (others are aborted and reported), and no
console error, failed request or error status may occur — except the few things
the Airflow UI does by design (UI-NOTES.md): the 401 of `/ui/config` before the
login redirect, and the grid cancelling superseded `/ui/grid/ti_summaries` fetches.
Requests still in flight when the page navigates to a new document (the UI's own
login redirect, a form post, the test typing a URL) are cut by that navigation, not
failures of the server; so is a read the page cancels (a panel unmounting, a query
refetching) once the server has answered that endpoint during the walk. The page may
also report such a cancellation as an uncaught AbortError ("signal is aborted without
reason", e.g. the editor's loader when its dialog closes): excused only in a step where a
cancelled request was itself excused.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "ui"
SUPERSEDED = re.compile(r"/ui/grid/ti_summaries/")
# The browser itself fetches the page icon and drops that fetch when the page moves on.
FAVICON = re.compile(r"/static/pin_32\.png$")
# An editor closed with its dialog terminates its web worker, cutting the worker's own script loads.
EDITOR_WORKER = re.compile(r"/static/monaco-editor/[^/]+/min/vs/(base/worker/workerMain|language/[^/]+/\w+Worker)\.js$")
def _endpoint(url_path: str) -> str:
    """The endpoint a read went to, without the ids in its path (`.../dagRuns/<run>/hitlDetails` -> `hitlDetails`)."""
    return url_path.rstrip("/").rsplit("/", 1)[-1]


# Endpoints the UI calls that Leoflow does not serve yet: reported at the end of the run (and in
# the step's `missing` list), not failed on. Keep this empty; every entry is a known gap.
NOT_YET_SERVED: list[str] = [
]
MISSING: set[str] = set()  # what NOT_YET_SERVED matched in this run, for the summary


class Guard:
    def __init__(self, base: str):
        self.base = base.rstrip("/")
        self.outside: list[str] = []
        self.problems: list[str] = []
        self.logged_in = False
        self.missing: set[str] = set()
        self.log: list[str] = []  # every request and its outcome, printed when a step fails
        self._inflight: set = set()
        self._cut: set = set()
        self._seq = 0
        self._answered: dict[str, int] = {}  # path -> sequence number of its latest finished request
        self._aborted: list[tuple[str, int, str]] = []  # (path, sequence, problem) of cancelled reads
        self._served: set[str] = set()  # endpoints (see _endpoint) that answered with a success status
        self._cancelled = 0  # requests of this step the page cancelled, excused above
        self._abort_errors: list[str] = []  # the page's uncaught AbortErrors in this step
        self._lock = threading.Lock()

    def attach(self, context, page) -> None:
        context.route("**/*", self._route)
        page.on("console", self._console)
        page.on("pageerror", self._page_error)
        page.on("request", self._request)
        page.on("requestfinished", self._done)
        page.on("requestfailed", self._failed)
        page.on("response", self._response)

    def _problem(self, text: str) -> None:
        with self._lock:
            self.problems.append(text)

    def _route(self, route) -> None:
        url = route.request.url
        if url.startswith(self.base + "/") or url == self.base or url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            with self._lock:
                self.outside.append(url)
            route.abort("blockedbyclient")

    def _request(self, request) -> None:
        try:  # worker requests have no frame
            new_document = request.is_navigation_request() and request.frame.parent_frame is None
        except Exception:
            new_document = False
        with self._lock:
            if new_document:
                # A new document (the UI's own redirect, a form post, a typed URL) cuts what is loading.
                self._cut |= self._inflight
            self._inflight.add(request)

    def _done(self, request) -> None:
        with self._lock:
            self._inflight.discard(request)
            self._seq += 1
            self._answered[request.url.split("?")[0]] = self._seq
            self.log.append(f"done {request.method} {request.url[:150]}")

    def _before_login(self, url: str) -> bool:
        return not self.logged_in and url.startswith(self.base + "/ui/config")

    def _page_error(self, exc) -> None:
        text = f"page error: {exc}"
        self.log.append(text)
        if "signal is aborted without reason" in str(exc) or getattr(exc, "name", "") == "AbortError":
            with self._lock:
                self._abort_errors.append(text)
            return
        self._problem(text)

    def _failed(self, request) -> None:
        self._done(request)
        failure = request.failure or ""
        with self._lock:
            cut = request in self._cut
        if "ERR_ABORTED" in failure and (cut or SUPERSEDED.search(request.url) or FAVICON.search(request.url)
                                       or EDITOR_WORKER.search(request.url) or self._before_login(request.url)):
            with self._lock:
                self._cancelled += 1
            return
        if "BLOCKED_BY_CLIENT" in failure:
            return  # already reported as a request outside the server
        problem = f"request failed: {request.method} {request.url}: {failure}"
        if "ERR_ABORTED" in failure and request.method == "GET":
            # Maybe a read the UI cancelled because it asked again (new parameters, a refetch):
            # superseded if the same endpoint answers later; judged when the step ends.
            with self._lock:
                self._seq += 1
                self._aborted.append((request.url.split("?")[0], self._seq, problem))
            return
        self._problem(problem)

    def _response(self, response) -> None:
        if response.status < 400:
            with self._lock:
                self._served.add(_endpoint(response.url.split("?")[0]))
        if response.status >= 400 and not (response.status == 401 and self._before_login(response.url)):
            path = response.url[len(self.base):].split("?")[0]
            if response.status == 404 and any(re.fullmatch(p, path) for p in NOT_YET_SERVED):
                with self._lock:
                    self.missing.add(f"{response.request.method} {path}")
                    MISSING.add(f"{response.request.method} {path}")
                return
            self._problem(f"HTTP {response.status}: {response.request.method} {response.url}")

    def _console(self, message) -> None:
        self.log.append(f"console {message.type}: {message.text[:200]}")
        if message.type != "error":
            return
        text = message.text
        # Chromium's own line for an error status; the response itself is judged in _response.
        if text.startswith("Failed to load resource: the server responded with a status of"):
            return
        if text.startswith("Failed to load resource: net::ERR_BLOCKED_BY_CLIENT"):
            return
        self._problem(f"console error: {text[:500]}")

    def navigating(self) -> None:
        """The test is about to leave the page: what is still loading is cut by that, not failing."""
        with self._lock:
            self._cut |= self._inflight

    def take(self) -> list[str]:
        with self._lock:
            found, self.problems = self.problems, []
            # A cancelled read is the page's choice (a panel unmounted, a query refetched), not a server
            # failure, once the server has answered that endpoint at some point in the walk.
            unexcused = [problem for path, seq, problem in self._aborted
                         if self._answered.get(path, 0) < seq and _endpoint(path) not in self._served]
            found += unexcused
            cancelled = self._cancelled + len(self._aborted) - len(unexcused)
            if not cancelled:  # an AbortError with no cancellation seen is not the page's choice
                found += self._abort_errors
            self._aborted, self._abort_errors, self._cancelled = [], [], 0
        return found
