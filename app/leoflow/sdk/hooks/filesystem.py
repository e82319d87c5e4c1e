"""FSHook: the base path of a filesystem connection (`fs_default` when it is missing: none)."""

from __future__ import annotations

from leoflow.sdk.connection import BaseHook
from leoflow.sdk.exceptions import AirflowNotFoundException


class FSHook(BaseHook):
    conn_name_attr = "fs_conn_id"
    default_conn_name = "fs_default"
    conn_type = "fs"
    hook_name = "File (path)"

    def __init__(self, fs_conn_id: str = default_conn_name, **kwargs) -> None:
        super().__init__()
        self.conn_id = fs_conn_id
        try:
            conn = self.get_connection(fs_conn_id)
            self.basepath = (conn.extra_dejson or {}).get("path", "")
        except AirflowNotFoundException:
            # Airflow creates fs_default (no path) at install; Leoflow behaves as if it existed.
            if fs_conn_id != self.default_conn_name:
                raise
            self.basepath = ""
        self.conn = None

    def get_conn(self) -> None:
        return None

    def get_path(self) -> str:
        return self.basepath

    def test_connection(self):
        return True, "Connection successfully tested"
