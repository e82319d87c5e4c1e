"""The runner's side of the Execution API: plain HTTP/1.1 over one kept-alive connection.

Only the standard library, so a forked task pays no import cost here.
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
import threading
import time
import urllib.parse

API_VERSION = "2026-04-06"
SECRET_PATHS = ("connections/", "variables/")
# Set by `leoflow agent --insecure` for its tries: secrets never cross the network in clear.
PLAIN_HTTP_SECRETS_ENV = "LEOFLOW_REFUSE_PLAIN_HTTP_SECRETS"


# Set by `leoflow agent --client-cert/--client-key` for its tries: the certificate a server asks for.
CLIENT_CERT_ENV, CLIENT_KEY_ENV = "LEOFLOW_TLS_CLIENT_CERT", "LEOFLOW_TLS_CLIENT_KEY"


def _load_client_certificate(context) -> None:
    """The client certificate a server asks for (mutual TLS), when one is configured."""
    import os

    cert = os.environ.get(CLIENT_CERT_ENV)
    if cert:
        context.load_cert_chain(cert, os.environ.get(CLIENT_KEY_ENV) or None)


def _secrets_need_tls(host: str | None) -> bool:
    import os

    if os.environ.get(PLAIN_HTTP_SECRETS_ENV) != "1":
        return False
    return host not in ("localhost", "127.0.0.1", "::1") and not str(host).startswith("127.")


class ApiError(Exception):
    def __init__(self, status: int, body):
        super().__init__(f"Execution API answered {status}: {body}")
        self.status = status
        self.body = body


def _default(value):
    if isinstance(value, dt.datetime):
        return value.isoformat()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


class ExecutionClient:
    """`ca_file`: the PEM file an HTTPS server's certificate must chain to (default: the system's CAs).
    `pinned`: `ca_file` is the server's own certificate (a server's own tasks reach it on loopback, where
    its name does not match): that exact certificate is trusted, whatever the host name."""

    def __init__(self, base_url: str, token: str, timeout: float = 30.0, connect_patience: float = 60.0,
                 ca_file: str | None = None, pinned: bool = False):
        parts = urllib.parse.urlsplit(base_url.rstrip("/"))
        self.host, self.port = parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)
        self.https = parts.scheme == "https"
        self.prefix = parts.path
        self.token = token
        self.timeout = timeout
        # How long to keep asking a server that refuses connections or answers 503 (starting, restarting,
        # or its database briefly away): a report is not given up before that.
        self.connect_patience = connect_patience
        self.ca_file, self.pinned = ca_file, pinned
        self._conn = None
        self._lock = threading.Lock()  # the heartbeat thread shares the client

    def _connection(self):
        if self._conn is None:
            if self.https:
                self._conn = http.client.HTTPSConnection(self.host, self.port, timeout=self.timeout,
                                                         context=self._tls_context())
            else:
                self._conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        return self._conn

    def _tls_context(self):
        import ssl  # only over HTTPS: most tasks talk to lite on loopback

        context = ssl.create_default_context(cafile=self.ca_file)
        if self.pinned:
            context.check_hostname = False  # the certificate itself is the trust anchor
            context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
        _load_client_certificate(context)
        return context

    def request(self, method: str, path: str, body=None, params: dict | None = None, *, raw: bool = False):
        if not self.https and path.lstrip("/").startswith(SECRET_PATHS) and _secrets_need_tls(self.host):
            raise ApiError(403, {"detail": f"Connections and Variables are not fetched over plain HTTP from "
                                           f"{self.host} (this agent runs with --insecure): serve the Execution "
                                           "API over HTTPS"})
        url = f"{self.prefix}/{path.lstrip('/')}"
        if params:
            url += "?" + urllib.parse.urlencode(params, doseq=True)  # lists repeat: a=1&a=2
        payload = None if body is None and method in ("GET", "HEAD", "DELETE") else json.dumps(body, default=_default)
        headers = {"Authorization": f"Bearer {self.token}", "airflow-api-version": API_VERSION,
                   "Content-Type": "application/json", "Accept": "application/json"}
        deadline = time.monotonic() + self.connect_patience
        delay = 0.05
        retried_closed = False
        with self._lock:
            while True:
                try:
                    conn = self._connection()
                    conn.request(method, url, body=payload, headers=headers)
                    resp = conn.getresponse()
                    data = resp.read()
                    if resp.status == 503 and time.monotonic() < deadline:
                        # Nothing was done (the server's database was away): ask again after a pause.
                        time.sleep(delay)
                        delay = min(delay * 2, 2.0)
                        continue
                    break
                except ConnectionRefusedError:  # the server is starting or restarting: wait for it
                    self._conn = None
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(delay)
                    delay = min(delay * 2, 1.0)
                except (ConnectionError, http.client.HTTPException, OSError):
                    # A kept-alive connection the server closed: retry once on a new one.
                    self._conn = None
                    if retried_closed:
                        raise
                    retried_closed = True
        refreshed = resp.getheader("Refreshed-API-Token")
        if refreshed:  # the server reissued the try's token: the old one expires soon
            self.token = refreshed
        if raw:
            return resp, data
        parsed = json.loads(data) if data else None
        if resp.status >= 400:
            raise ApiError(resp.status, parsed)
        return parsed

    def close(self):
        if self._conn is not None:
            self._conn.close()
            self._conn = None
