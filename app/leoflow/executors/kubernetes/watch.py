"""The pod watch (ADR 27): list, then watch from the list's resourceVersion (BOOKMARKs keep it fresh),
resumed from the last version seen when a request ends or the network blinks; 410 Gone lists again.
It runs only while this replica leads; when it stops leading, the executor lets go of its pods."""

from __future__ import annotations

import logging
import time
from typing import Callable

from . import api

log = logging.getLogger(__name__)

WATCH_TIMEOUT = 50  # seconds one watch request lasts (the API ends it too); then it is resumed
SHOW_AFTER = 5.0  # seconds of failures before health says the pods cannot be watched


class PodWatch:
    def __init__(self, pods, selector: str, stop, *, leading: Callable[[], bool],
                 on_list: Callable[[list, float], None], on_event: Callable[[str, dict], None],
                 on_let_go: Callable[[], None], show_problem: Callable[[str | None], None]):
        self.pods, self.selector, self.stop = pods, selector, stop
        self.leading, self.on_list, self.on_event = leading, on_list, on_event
        self.on_let_go, self.show_problem = on_let_go, show_problem
        self._failing_since: float | None = None

    def run(self) -> None:
        from kubernetes.client.exceptions import ApiException

        version = ""
        listed = False  # since this replica took the lead
        delay = 0.5
        while not self.stop.is_set():
            if not self.leading():
                if listed:
                    self.on_let_go()
                    listed = False
                version = ""
                self.stop.wait(0.5)
                continue
            try:
                if not version or not listed:
                    version = self._list()
                    listed = True
                for event in self.pods.watch(self.selector, version, WATCH_TIMEOUT):
                    if self.stop.is_set() or not self.leading():
                        break
                    kind, obj = event.get("type"), event.get("object") or {}
                    version = (obj.get("metadata") or {}).get("resourceVersion") or version
                    if kind in ("ADDED", "MODIFIED", "DELETED"):
                        self.on_event(kind, obj)
                delay = 0.5
                self._answered()
            except (ApiException, api.ApiRefused) as exc:
                if getattr(exc, "status", None) == 410:  # the watch window moved past our version
                    log.info("Pod watch expired (410 Gone); listing again")
                    version = ""
                    continue
                message = f"{exc.status} {api.api_message(exc)}" if isinstance(exc, ApiException) else str(exc)
                self._failed(message, delay)
                delay = min(delay * 2, 10.0)
            except Exception as exc:  # noqa: BLE001 - a network blip: resume from the same version
                self._failed(str(exc), delay)
                delay = min(delay * 2, 10.0)

    def _list(self) -> str:
        asked = time.monotonic()
        items, version = self.pods.list(self.selector)
        self._answered()
        self.on_list(items, asked)
        return version

    def _answered(self) -> None:
        self._failing_since = None
        self.show_problem(None)

    def _failed(self, message: str, delay: float) -> None:
        log.warning("Pod watch failed (%s); resuming in %.1fs", message, delay)
        now = time.monotonic()
        if self._failing_since is None:
            self._failing_since = now
        elif now - self._failing_since >= SHOW_AFTER:  # not a blip: say so
            self.show_problem(f"cannot watch pods in namespace {self.pods.namespace}: {message}")
        self.stop.wait(delay)
