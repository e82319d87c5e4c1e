"""Triggers that wait for files."""

from __future__ import annotations

import asyncio
import datetime as dt
import glob
import os
from typing import Any

from leoflow.sdk.triggers.base import BaseTrigger, TriggerEvent


class FileTrigger(BaseTrigger):
    """Fires once a file (glob pattern) exists."""

    def __init__(self, filepath: str, recursive: bool = False, poke_interval: float = 5.0, **kwargs: Any) -> None:
        super().__init__()
        self.filepath = filepath
        self.recursive = recursive
        self.poke_interval = poke_interval

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return ("airflow.providers.standard.triggers.file.FileTrigger",
                {"filepath": self.filepath, "recursive": self.recursive, "poke_interval": self.poke_interval})

    async def run(self):
        while True:
            for path in glob.glob(self.filepath, recursive=self.recursive):
                if os.path.isfile(path):
                    mod_time = dt.datetime.fromtimestamp(os.path.getmtime(path)).strftime("%Y%m%d%H%M%S")
                    self.log.info("Found File %s last modified: %s", path, mod_time)
                    yield TriggerEvent(True)
                    return
                for _, _, files in os.walk(path):
                    if files:
                        yield TriggerEvent(True)
                        return
            await asyncio.sleep(self.poke_interval)


class FileDeleteTrigger(BaseTrigger):
    """Fires once a file exists, deleting it (for asset watchers)."""

    def __init__(self, filepath: str, poke_interval: float = 5.0, **kwargs: Any) -> None:
        super().__init__()
        self.filepath = filepath
        self.poke_interval = poke_interval

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return ("airflow.providers.standard.triggers.file.FileDeleteTrigger",
                {"filepath": self.filepath, "poke_interval": self.poke_interval})

    async def run(self):
        while True:
            if os.path.isfile(self.filepath):
                mod_time = dt.datetime.fromtimestamp(os.path.getmtime(self.filepath)).strftime("%Y%m%d%H%M%S")
                self.log.info("Found file %s last modified: %s", self.filepath, mod_time)
                os.remove(self.filepath)
                self.log.info("File %s has been deleted", self.filepath)
                yield TriggerEvent(True)
                return
            await asyncio.sleep(self.poke_interval)
