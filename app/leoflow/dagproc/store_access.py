"""Variables and connections for DAG files at parse time (top-level `Variable.get`), read-only.

Airflow 3.2 lets a DAG file read Variables and Connections while it is parsed.
Leoflow parses each file in a child of the fork server, which was forked before
the server opened its database and holds no Fernet key. So the DAG processor
(in the server process) answers the child's reads itself: a Unix socket in the
parser's private (0700) work folder, one JSON line per request, served from the
services' engine and decrypted with the services' crypt. Only reads exist on
this path, no database credentials or keys reach the child, and it works before
the HTTP server listens. A one-shot command parsing in its own process
(`dags list`) reads the store directly.

Request  {"kind": "variable"|"connection", "key": ...}
Answer   {"found": true, "value": str | {connection fields}} or {"found": false}
         or {"error": "..."}
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
from typing import Any

log = logging.getLogger(__name__)

SOCKET_NAME = "store.sock"
_CONNECTION_FIELDS = ("conn_id", "conn_type", "description", "host", "schema", "login", "password", "port",
                      "extra")


def read(services, kind: str, key: str) -> Any:
    """The clear value (None when absent) of one variable or connection."""
    # Imported here, in the server: parse children import this module too, and must not pay for SQLAlchemy.
    from ..store import connections, variables

    with services.engine.connect() as conn:
        if kind == "variable":
            return variables.value_of(variables.get(conn, key), services.crypt)
        if kind == "connection":
            row = connections.get(conn, key)
            return None if row is None else {k: v for k, v in connections.clear(row, services.crypt).items()
                                             if k in _CONNECTION_FIELDS}
    raise ValueError(f"unknown kind {kind!r}")


class _ParseTimeComms:
    """The part of the task Comms a DAG file may use while parsed: reads of variables and connections."""

    def _read(self, kind: str, key: str) -> Any:
        raise NotImplementedError

    def get_variable(self, key: str) -> str | None:
        return self._read("variable", key)

    def get_connection(self, conn_id: str) -> dict | None:
        return self._read("connection", conn_id)

    def get_xcom(self, *args, **kwargs):
        raise RuntimeError("XComs are only available while a task runs, not at DAG parse time")

    set_xcom = get_xcom


class DirectReader(_ParseTimeComms):
    """For a parse in a process that holds the services itself."""

    def __init__(self, services):
        self.services = services

    def _read(self, kind: str, key: str) -> Any:
        return read(self.services, kind, key)


class SocketReader(_ParseTimeComms):
    """For a parse child: asks the DAG processor over its socket."""

    def __init__(self, path: str, timeout: float = 30.0):
        self.path = path
        self.timeout = timeout

    def _read(self, kind: str, key: str) -> Any:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(self.timeout)
            sock.connect(self.path)
            sock.sendall(json.dumps({"kind": kind, "key": key}).encode() + b"\n")
            with sock.makefile("rb") as reply:
                answer = json.loads(reply.readline() or b"{}")
        if "error" in answer or "found" not in answer:
            raise RuntimeError(f"Reading {kind} {key!r} at parse time failed: {answer.get('error', 'no answer')}")
        return answer["value"] if answer["found"] else None


class StoreServer:
    """Answers parse children's reads on a Unix socket, one short connection per read."""

    def __init__(self, services, folder: str):
        self.services = services
        self.path = os.path.join(folder, SOCKET_NAME)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(self.path)
        os.chmod(self.path, 0o600)
        self.sock.listen(16)
        threading.Thread(target=self._accept, daemon=True, name="dagproc-store-reads").start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return  # closed
            threading.Thread(target=self._answer, args=(client,), daemon=True).start()

    def _answer(self, client: socket.socket) -> None:
        with client:
            try:
                client.settimeout(30)
                with client.makefile("rb") as lines:
                    request = json.loads(lines.readline() or b"{}")
                kind, key = request.get("kind"), request.get("key")
                if kind not in ("variable", "connection") or not isinstance(key, str):
                    answer = {"error": "expected {kind: variable|connection, key: str}"}
                else:
                    value = read(self.services, kind, key)
                    answer = {"found": value is not None, "value": value}
            except Exception as exc:  # the child gets the reason; the processor keeps running
                log.warning("Parse-time read failed: %s", exc)
                answer = {"error": f"{type(exc).__name__}: {exc}"}
            try:
                client.sendall(json.dumps(answer, default=str).encode() + b"\n")
            except OSError:
                pass

    def close(self) -> None:
        self.sock.close()
        try:
            os.unlink(self.path)
        except OSError:
            pass
