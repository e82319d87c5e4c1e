"""The connections `POST /connections/defaults` creates: the usual local endpoints of common systems,
so a DAG naming `postgres_default` or `http_default` finds something to start from."""

from __future__ import annotations

import json


def _c(conn_type, host=None, *, port=None, login=None, schema=None, extra=None, password=None):
    return {"conn_type": conn_type, "description": None, "host": host, "schema": schema, "login": login,
            "password": password, "port": port, "extra": json.dumps(extra) if extra is not None else None}


DEFAULT_CONNECTIONS = {
    "fs_default": _c("fs", extra={"path": "/"}),
    "http_default": _c("http", "https://www.httpbin.org/"),
    "local_mysql": _c("mysql", "localhost", login="airflow", password="airflow", schema="airflow"),
    "mysql_default": _c("mysql", "mysql", login="root", schema="airflow"),
    "postgres_default": _c("postgres", "postgres", login="postgres", password="airflow", schema="airflow"),
    "redis_default": _c("redis", "redis", port=6379, extra={"db": 0}),
    "sqlite_default": _c("sqlite", "/tmp/sqlite_default.db"),
    "ssh_default": _c("ssh", "localhost"),
    "sftp_default": _c("sftp", "localhost", port=22, login="airflow",
                       extra={"key_file": "~/.ssh/id_rsa", "no_host_key_check": True}),
    "smtp_default": _c("smtp", "localhost", port=25),
    "aws_default": _c("aws"),
    "google_cloud_default": _c("google_cloud_platform", schema="default"),
    "kubernetes_default": _c("kubernetes"),
}
