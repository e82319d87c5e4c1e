"""The agent's side of `/agent/v1`: HTTPS (or HTTP where allowed) with the standard library only.

One connection per calling thread (the claim's long poll must not hold up the heartbeat). A request
that cannot reach the server raises `Unreachable`; the caller decides whether to retry (with backoff
and jitter, `Backoff`).
"""

from __future__ import annotations

import http.client
import json
import random
import ssl
import threading
import urllib.parse

PREFIX = "/agent/v1"
BRIEFLY_UNAVAILABLE = (502, 503, 504)  # bad gateway, service unavailable, gateway timeout


class Unreachable(Exception):
    """The server did not answer (refused, cut off, timed out) or answered 5xx. `down`: nothing listens
    at its address (connection refused), or what does answers 502/503/504: it is stopped, restarting or
    without its database, not cut off from this agent."""

    def __init__(self, message: str, *, down: bool = False, tls: bool = False):
        super().__init__(message)
        self.down = down
        self.tls = tls  # the TLS session broke off (a server asking for a client certificate does that)


class Refused(Exception):
    def __init__(self, status: int, detail):
        super().__init__(f"the server refused ({status}): {detail}")
        self.status, self.detail = status, detail


class TlsRefused(Exception):
    """The server's certificate is not trusted: retrying will not help."""


def check_server_url(url: str, insecure: bool) -> str:
    """The server's base URL; http:// only with --insecure."""
    parts = urllib.parse.urlsplit(url or "")
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise SystemExit(f"leoflow agent: --server must be https://HOST:PORT, got {url!r}")
    if parts.scheme == "http" and not insecure:
        raise SystemExit("leoflow agent: refusing plain http:// to the server (the agent's credential and the "
                         "tasks' connections would cross the network in clear): use https://, or give --insecure")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise SystemExit(f"leoflow agent: --server is the server's address only (https://HOST:PORT), got {url!r}")
    return f"{parts.scheme}://{parts.netloc}"


def tls_context(ca_file: str | None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=ca_file) if ca_file else ssl.create_default_context()
    return context


class Backoff:
    """Waits that double from `first` up to `cap`, each drawn between half and all of that (jitter), so
    many agents do not return all at once and no wait is ever close to nothing (a retry loop never spins)."""

    def __init__(self, first: float = 0.5, cap: float = 30.0):
        self.first, self.cap, self.attempt = first, cap, 0

    def next(self) -> float:
        self.attempt += 1
        ceiling = min(self.cap, self.first * 2 ** min(self.attempt - 1, 16))
        return random.uniform(ceiling / 2, ceiling)

    def reset(self) -> None:
        self.attempt = 0


class AgentClient:
    def __init__(self, server: str, *, ca_file: str | None = None, credential: str | None = None,
                 client_cert: tuple[str, str] | None = None):
        parts = urllib.parse.urlsplit(server)
        self.server = server
        self.https = parts.scheme == "https"
        self.host, self.port = parts.hostname, parts.port or (443 if self.https else 80)
        self.context = tls_context(ca_file) if self.https else None
        if client_cert and self.context is not None:
            self.context.load_cert_chain(*client_cert)
        self.credential = credential
        self._local = threading.local()

    def _connection(self, timeout: float):
        conn = getattr(self._local, "conn", None)
        if conn is None:
            if self.https:
                conn = http.client.HTTPSConnection(self.host, self.port, timeout=timeout, context=self.context)
            else:
                conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
            self._local.conn = conn
        conn.timeout = timeout
        if conn.sock is not None:
            conn.sock.settimeout(timeout)
        return conn

    def _drop(self) -> None:
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None:
            conn.close()

    def request(self, method: str, path: str, body=None, *, timeout: float = 15.0, raw: bool = False):
        headers = {"Accept": "application/json"}
        if self.credential:
            headers["Authorization"] = f"Bearer {self.credential}"
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        fresh = getattr(self._local, "conn", None) is None  # a new TLS session, not a kept-alive one
        try:
            conn = self._connection(timeout)
            conn.request(method, PREFIX + path, body=payload, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
        except ssl.SSLCertVerificationError as exc:
            self._drop()
            raise TlsRefused(f"the server's certificate is not trusted: {exc.verify_message or exc}") from exc
        except ssl.SSLError as exc:
            self._drop()
            if "CERTIFICATE" in str(exc.reason or "").upper():  # e.g. TLSV13_ALERT_CERTIFICATE_REQUIRED
                raise TlsRefused(f"the server refused this agent's TLS client certificate (or the lack of "
                                 f"one: give --client-cert and --client-key): {exc.reason}") from exc
            raise Unreachable(f"{self.server}: TLS: {exc}", tls=True) from exc
        except (OSError, http.client.HTTPException) as exc:
            self._drop()
            # A server asking for a client certificate drops a new session without one right after the handshake.
            dropped = self.https and fresh and isinstance(exc, (http.client.RemoteDisconnected, ConnectionResetError))
            raise Unreachable(f"{self.server}: {type(exc).__name__}: {exc}",
                              down=isinstance(exc, ConnectionRefusedError), tls=dropped) from exc
        if resp.status in BRIEFLY_UNAVAILABLE:
            # A load balancer with no replica behind it, or a replica without its database: nothing that could
            # judge this agent a zombie is at work either. Retried with backoff, like a refused connection.
            raise Unreachable(f"{self.server} is briefly unavailable (answered {resp.status})", down=True)
        if resp.status >= 500:
            raise Unreachable(f"{self.server} answered {resp.status}")
        if resp.status >= 400:
            try:
                detail = json.loads(data).get("detail")
            except (ValueError, AttributeError):
                detail = data[:300].decode(errors="replace")
            raise Refused(resp.status, detail)
        if raw:
            return data
        return json.loads(data) if data else None

    @staticmethod
    def job_path(job_id: str, action: str) -> str:
        return f"/jobs/{urllib.parse.quote(job_id, safe='')}/{action}"
