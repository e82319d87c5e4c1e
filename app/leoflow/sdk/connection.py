"""`Connection.get` / `BaseHook.get_connection`: credentials kept by the server."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from leoflow.sdk.comms import get_comms
from leoflow.sdk.compat.logging_mixin import LoggingMixin
from leoflow.sdk.exceptions import AirflowException, AirflowNotFoundException


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

    def get_extra_dejson(self, nested: bool = False) -> dict:
        """The extra as a dict; `nested`: string values that hold JSON are decoded too."""
        extra = self.extra_dejson
        if nested:
            for key, value in extra.items():
                if isinstance(value, str):
                    try:
                        extra[key] = json.loads(value)
                    except ValueError:
                        pass
        return extra

    def get_password(self) -> str | None:
        return self.password

    def get_extra(self) -> str | None:
        return self.extra

    def get_hook(self, *, hook_params: dict | None = None):
        """An instance of the hook the installed providers register for this connection's type."""
        from leoflow.sdk.compat.providers_manager import ProvidersManager

        info = ProvidersManager().hooks.get(self.conn_type) if self.conn_type else None
        if info is None:
            raise AirflowException(f'Unknown hook type "{self.conn_type}"')
        from leoflow.sdk.compat.module_loading import import_string

        hook = import_string(info.hook_class_name)
        return hook(**{info.connection_id_attribute_name: self.conn_id}, **(hook_params or {}))

    def to_dict(self, prune_empty: bool = False, validate: bool = True) -> dict:
        data = {"conn_id": self.conn_id, "conn_type": self.conn_type, "description": self.description,
                "host": self.host, "login": self.login, "password": self.password, "schema": self.schema,
                "port": self.port, "extra": self.extra_dejson or self.extra}
        return {k: v for k, v in data.items() if v not in (None, "", {})} if prune_empty else data

    def as_json(self) -> str:
        data = self.to_dict(prune_empty=True)
        data.pop("conn_id", None)
        return json.dumps(data)

    def __eq__(self, other) -> bool:
        if not isinstance(other, Connection):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    __hash__ = object.__hash__

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
    def from_uri(cls, uri: str, conn_id: str) -> "Connection":
        """`type://login:password@host:port/schema?extra_key=value` (parts percent-encoded), as Airflow reads
        it: `postgresql` means `postgres` and `-` in the type `_`; the query becomes the extra (JSON), or
        `__extra__` holds it whole; `type://protocol://host...` keeps the protocol in the host."""
        scheme, sep, rest = uri.partition("://")
        if not sep or not scheme:
            raise ValueError("a connection URI starts with its type, as in `postgres://...`")
        protocol = None
        if "://" in rest:
            protocol, rest = rest.split("://", 1)
            if "://" in rest or "@" in protocol or ":" in protocol:
                raise ValueError("Invalid connection string: more than one protocol before the host")
        parts = urlsplit("//" + rest)
        host = _hostname(parts)
        extra = None
        if parts.query:
            query = dict(parse_qsl(parts.query, keep_blank_values=True))
            extra = query["__extra__"] if "__extra__" in query else json.dumps(query)
        return cls(conn_id=conn_id, conn_type=_normalize_conn_type(scheme.lower()),
                   host=f"{protocol}://{host}" if protocol else host, schema=unquote(parts.path[1:]),
                   login=unquote(parts.username) if parts.username else parts.username,
                   password=unquote(parts.password) if parts.password else parts.password,
                   port=parts.port, extra=extra)

    @classmethod
    def from_json(cls, value: str, conn_id: str | None = None) -> "Connection":
        """A JSON object of the connection's fields (`extra` may be an object, `port` a numeric string)."""
        fields = json.loads(value)
        if not isinstance(fields, dict):
            raise ValueError("a connection in JSON is an object of its fields")
        if fields.get("extra"):
            fields["extra"] = fields["extra"] if isinstance(fields["extra"], str) else json.dumps(fields["extra"])
        if fields.get("conn_type"):
            fields["conn_type"] = _normalize_conn_type(fields["conn_type"])
        if fields.get("port"):
            try:
                fields["port"] = int(fields["port"])
            except ValueError:
                raise ValueError(f"Expected integer value for `port`, but got {fields['port']!r} instead.") from None
        fields.pop("conn_id", None)
        return cls(conn_id=conn_id, **fields)

    @classmethod
    def get(cls, conn_id: str) -> "Connection":
        from leoflow.sdk import secrets_env

        from_env = secrets_env.connection(conn_id)  # the environment first, as Airflow looks
        if from_env is not None:
            _mask(from_env)
            return from_env
        data = get_comms().get_connection(conn_id)
        if data is None:
            raise AirflowNotFoundException(f"The conn_id `{conn_id}` isn't defined")
        fields = ("conn_id", "conn_type", "description", "host", "schema", "login", "password", "port", "extra")
        return cls(**{k: data.get(k) for k in fields if k in data} | {"conn_id": data.get("conn_id", conn_id)})


def _normalize_conn_type(conn_type: str) -> str:
    return "postgres" if conn_type == "postgresql" else conn_type.replace("-", "_")


def _hostname(parts) -> str:
    """The host of a split URI, percent-decoded. A host that decodes to a path (a socket's folder) is read
    from the raw authority, since urlsplit would cut it."""
    host = unquote(parts.hostname or "")
    if "/" in host:
        host = parts.netloc.rsplit("@", 1)[-1].split(":", 1)[0]
        host = unquote(host)
    return host


def _mask(conn: Connection) -> None:
    """A connection read here (not through the runner) has its secrets masked in the task's log too."""
    from leoflow.secrets import masker

    masker.mask_connection({"password": conn.password, "extra": conn.extra})


class BaseHook(LoggingMixin):
    """Airflow's BaseHook: a hook's connection by id, and what the connection form asks of a hook class.

    Subclasses (every provider hook) set `conn_name_attr`, `default_conn_name`, `conn_type`, `hook_name`.
    """

    def __init__(self, logger_name: str | None = None):
        super().__init__()
        self._log_config_logger_name = "airflow.task.hooks"
        self._logger_name = logger_name

    @classmethod
    def get_connection(cls, conn_id: str) -> Connection:
        return Connection.get(conn_id)

    @classmethod
    async def aget_connection(cls, conn_id: str) -> Connection:
        import asyncio

        return await asyncio.get_running_loop().run_in_executor(None, Connection.get, conn_id)

    @classmethod
    def get_hook(cls, conn_id: str, hook_params: dict | None = None):
        return cls.get_connection(conn_id).get_hook(hook_params=hook_params)

    def get_conn(self) -> Any:
        raise NotImplementedError()

    @classmethod
    def get_connection_form_widgets(cls) -> dict[str, Any]:
        return {}

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        return {}


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
