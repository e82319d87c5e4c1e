"""`airflow.configuration.conf` for DAG files: read-only values from the environment.

`conf.get("section", "key")` reads `AIRFLOW__SECTION__KEY` (or the Leoflow
default below); a missing value without `fallback` raises like Airflow.
"""

from __future__ import annotations

import os
from typing import Any

from leoflow.sdk.exceptions import AirflowConfigException

_DEFAULTS = {
    ("core", "default_timezone"): "utc",
    ("core", "load_examples"): "False",
    ("core", "dags_folder"): os.environ.get("LEOFLOW_DAGS_FOLDER", ""),
    ("operators", "default_deferrable"): "False",
    ("operators", "default_owner"): "airflow",
    ("core", "executor"): "LocalExecutor",
    ("kubernetes_executor", "worker_container_repository"): "",
    ("kubernetes_executor", "worker_container_tag"): "",
    ("kubernetes_executor", "namespace"): "default",
}
_MISSING = object()


class LeoflowConfig:
    def get(self, section: str, key: str, fallback: Any = _MISSING, **kwargs: Any) -> Any:
        env = f"AIRFLOW__{section.upper()}__{key.upper()}"
        if env in os.environ:
            return os.environ[env]
        if (section.lower(), key.lower()) in _DEFAULTS:
            return _DEFAULTS[(section.lower(), key.lower())]
        if fallback is not _MISSING:
            return fallback
        raise AirflowConfigException(f"section/key [{section}/{key}] not found in config")

    def getboolean(self, section: str, key: str, fallback: Any = _MISSING, **kwargs: Any) -> bool:
        value = self.get(section, key, fallback=fallback)
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("t", "true", "1", "yes", "on"):
            return True
        if text in ("f", "false", "0", "no", "off", ""):
            return False
        raise AirflowConfigException(f"Failed to convert value to bool. [{section}] {key} is {value!r}")

    def getint(self, section: str, key: str, fallback: Any = _MISSING, **kwargs: Any) -> int:
        return int(self.get(section, key, fallback=fallback))

    def getfloat(self, section: str, key: str, fallback: Any = _MISSING, **kwargs: Any) -> float:
        return float(self.get(section, key, fallback=fallback))

    def has_option(self, section: str, key: str, **kwargs: Any) -> bool:
        try:
            self.get(section, key)
            return True
        except AirflowConfigException:
            return False


conf = LeoflowConfig()
