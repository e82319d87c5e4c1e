"""ObjectStoragePath: Airflow's path over object stores, for local files only in Leoflow.

`ObjectStoragePath("s3://conn_id@bucket/key")` can be built and joined (so DAG
files parse and pass paths around); reading or writing through a scheme other
than `file` raises an error naming it, as Leoflow ships no object-store clients.
"""

from __future__ import annotations

import pathlib
import re
from typing import Any

from leoflow.sdk.exceptions import AirflowException

_URL = re.compile(r"^(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*)://(?:(?P<conn>[^@/]*)@)?(?P<rest>.*)$")


class ObjectStoragePath:
    sep = "/"

    def __init__(self, *parts: Any, conn_id: str | None = None, **kwargs: Any):
        text = "/".join(str(p).strip("/") if i else str(p) for i, p in enumerate(parts)) if parts else ""
        m = _URL.match(text)
        if m:
            self.protocol = m.group("scheme").lower()
            self.conn_id = conn_id or (m.group("conn") or None)
            self.path = m.group("rest")
        else:
            self.protocol = "file"
            self.conn_id = conn_id
            self.path = text
        self.storage_options = kwargs

    def __str__(self) -> str:
        if self.protocol == "file" and not str(self.path).startswith("/") and "://" not in str(self.path):
            return self.path
        return f"{self.protocol}://{self.path}"

    def __repr__(self) -> str:
        return f"ObjectStoragePath({str(self)!r})"

    def __fspath__(self) -> str:
        return str(self._local())

    def __truediv__(self, other) -> "ObjectStoragePath":
        joined = self.path.rstrip("/") + "/" + str(other).lstrip("/")
        return ObjectStoragePath(f"{self.protocol}://{joined}" if self.protocol != "file" else joined,
                                 conn_id=self.conn_id)

    def __eq__(self, other) -> bool:
        return isinstance(other, ObjectStoragePath) and str(self) == str(other) and self.conn_id == other.conn_id

    def __hash__(self) -> int:
        return hash((str(self), self.conn_id))

    @property
    def name(self) -> str:
        return self.path.rstrip("/").rsplit("/", 1)[-1]

    @property
    def key(self) -> str:
        return self.path.split("/", 1)[1] if "/" in self.path else ""

    @property
    def bucket(self) -> str:
        return self.path.split("/", 1)[0]

    def _local(self) -> pathlib.Path:
        if self.protocol != "file":
            raise AirflowException(
                f"Leoflow does not support object storage over {self.protocol}:// yet (only local files)"
            )
        return pathlib.Path(self.path)

    def __getattr__(self, name: str):
        # Filesystem operations (open, exists, mkdir, read_text, ...) go to the local path.
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._local(), name)
