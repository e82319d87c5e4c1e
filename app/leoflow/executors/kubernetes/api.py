"""The Kubernetes API through the official client: how to connect, and which errors are worth a retry.

409 (a conflict), 429 (too many requests) and 5xx are retried with exponential backoff (429's
Retry-After is honoured); a 403 that says a quota was exceeded is a `QuotaExceeded` (the try goes back
to the queue); anything else is an `ApiRefused` carrying the API's own message.
"""

from __future__ import annotations

import json
import logging
import os
import random
import time

log = logging.getLogger(__name__)

REQUEST_TIMEOUT = (5.0, 30.0)  # connect, read: no call waits on a silent API for ever
RETRIED = frozenset({409, 429, 500, 502, 503, 504})
IN_CLUSTER_NAMESPACE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"


class ApiRefused(Exception):
    """The API refused a request for good: `status` and the API's message."""

    def __init__(self, status: int, message: str):
        super().__init__(f"the Kubernetes API answered {status}: {message}")
        self.status = status
        self.message = message


class QuotaExceeded(ApiRefused):
    """A 403 for a resource quota: nothing is wrong with the pod; it may be created later."""


def api_message(exc) -> str:
    """The `message` of a Status body, else the HTTP reason."""
    body = getattr(exc, "body", None)
    try:
        status = json.loads(body) if isinstance(body, (str, bytes)) else None
    except ValueError:
        status = None
    if isinstance(status, dict) and status.get("message"):
        return str(status["message"])[:1000]
    return str(getattr(exc, "reason", None) or exc)[:1000]


def connect(settings):
    """A `CoreV1Api`: the kubeconfig named by the settings, else the in-cluster service account, else
    ~/.kube/config."""
    from kubernetes import client, config

    if settings.kubernetes_kubeconfig:
        api_client = config.new_client_from_config(config_file=settings.kubernetes_kubeconfig,
                                                   context=settings.kubernetes_context or None)
    else:
        try:
            configuration = client.Configuration()
            config.load_incluster_config(client_configuration=configuration)
            api_client = client.ApiClient(configuration)
        except config.ConfigException:
            api_client = config.new_client_from_config(context=settings.kubernetes_context or None)
    return client.CoreV1Api(api_client)


def default_namespace(settings) -> str:
    if settings.kubernetes_namespace:
        return settings.kubernetes_namespace
    try:
        with open(IN_CLUSTER_NAMESPACE) as f:
            return f.read().strip() or "default"
    except OSError:
        pass
    if settings.kubernetes_kubeconfig or os.path.exists(os.path.expanduser("~/.kube/config")):
        try:
            from kubernetes import config

            _, active = config.list_kube_config_contexts(config_file=settings.kubernetes_kubeconfig or None)
            if settings.kubernetes_context:
                contexts, _ = config.list_kube_config_contexts(config_file=settings.kubernetes_kubeconfig or None)
                active = next((c for c in contexts if c["name"] == settings.kubernetes_context), active)
            namespace = (active or {}).get("context", {}).get("namespace")
            if namespace:
                return namespace
        except Exception:  # noqa: BLE001 - no usable kubeconfig: the default namespace
            pass
    return "default"


def call(fn, *args, attempts: int = 6, ok: tuple[int, ...] = (), stop=None, **kwargs):
    """`fn(*args, **kwargs)` with retries on 409/429/5xx and connection errors. A status in `ok` is
    returned as the exception instead of raised (e.g. 409 on create = the pod exists, 404 on delete)."""
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    kwargs.setdefault("_request_timeout", REQUEST_TIMEOUT)
    if not getattr(fn, "__self__", None):  # a plain function of ours: it sets its own timeout
        kwargs.pop("_request_timeout")
    delay = 0.2
    for attempt in range(1, attempts + 1):
        try:
            return fn(*args, **kwargs)
        except ApiException as exc:
            if exc.status in ok:
                return exc
            message = api_message(exc)
            if exc.status == 403 and "quota" in message.lower():
                raise QuotaExceeded(exc.status, message) from None
            if exc.status not in RETRIED or attempt == attempts:
                raise ApiRefused(exc.status or 0, message) from None
            wait = delay
            retry_after = (exc.headers or {}).get("Retry-After") if exc.status == 429 else None
            if retry_after and str(retry_after).isdigit():
                wait = min(float(retry_after), 10.0)
            log.info("Kubernetes API answered %s (%s); retrying in %.1fs", exc.status, message, wait)
        except (HTTPError, OSError) as exc:
            if attempt == attempts:
                raise ApiRefused(0, f"the Kubernetes API could not be reached: {exc}") from None
            wait = delay
        if stop is not None and stop.is_set():
            raise ApiRefused(0, "stopping")
        time.sleep(wait * (0.75 + random.random() / 2))
        delay = min(delay * 2, 5.0)
    raise AssertionError("unreachable")
