"""`Connection.get` / `BaseHook.get_connection`: credentials kept by the server."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from leoflow.sdk.comms import get_comms
from leoflow.sdk.exceptions import AirflowNotFoundException


class Connection:
    def __init__(self, conn_id: str, conn_type: str | None = None, description: str | None = None,
                 host: str | None = None, schema: str | None = None, login: str | None = None,
                 password: str | None = None, port: int | None = None, extra: str | dict | None = None):
        self.conn_id = conn_id
        self.conn_type = conn_type
        self.description = description
        self.host = host
        self.schema = schema
        self.login = login
        self.password = password
        self.port = port
        self.extra = json.dumps(extra) if isinstance(extra, dict) else extra

    def __repr__(self) -> str:
        return f"Connection(conn_id={self.conn_id!r}, conn_type={self.conn_type!r}, host={self.host!r})"

    @property
    def extra_dejson(self) -> dict:
        if not self.extra:
            return {}
        try:
            return json.loads(self.extra)
        except ValueError:
            return {}

    def get_uri(self) -> str:
        uri = f"{(self.conn_type or '').replace('_', '-')}://"
        if self.login or self.password:
            uri += quote(self.login or "", safe="")
            if self.password:
                uri += ":" + quote(self.password, safe="")
            uri += "@"
        uri += self.host or ""
        if self.port:
            uri += f":{self.port}"
        if self.schema:
            uri += "/" + quote(self.schema, safe="")
        return uri

    @classmethod
    def get(cls, conn_id: str) -> "Connection":
        data = get_comms().get_connection(conn_id)
        if data is None:
            raise AirflowNotFoundException(f"The conn_id `{conn_id}` isn't defined")
        fields = ("conn_id", "conn_type", "description", "host", "schema", "login", "password", "port", "extra")
        return cls(**{k: data.get(k) for k in fields if k in data} | {"conn_id": data.get("conn_id", conn_id)})


class BaseHook:
    """Just enough of Airflow's BaseHook for `get_connection` in user hooks."""

    def __init__(self, logger_name: str | None = None):
        self._logger_name = logger_name

    @classmethod
    def get_connection(cls, conn_id: str) -> Connection:
        return Connection.get(conn_id)

    @property
    def log(self):
        import logging

        return logging.getLogger(self._logger_name or f"airflow.task.hooks.{type(self).__module__}.{type(self).__name__}")


class ConnectionAccessor:
    """`{{ conn.my_conn.host }}` in templates."""

    def __getattr__(self, conn_id: str) -> Any:
        if conn_id.startswith("__"):
            raise AttributeError(conn_id)
        return Connection.get(conn_id)

    def get(self, conn_id: str, default: Any = None) -> Any:
        try:
            return Connection.get(conn_id)
        except AirflowNotFoundException:
            return default
