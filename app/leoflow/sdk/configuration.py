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
        default = _provider_default(section, key)
        if default is not None:
            return default
        if fallback is not _MISSING:
            return fallback
        raise AirflowConfigException(f"section/key [{section}/{key}] not found in config")

    def get_mandatory_value(self, section: str, key: str, **kwargs: Any) -> str:
        value = self.get(section, key, fallback=None, **kwargs)
        if value is None:
            raise ValueError(f"The value {section}/{key} should be set!")
        return value

    def getimport(self, section: str, key: str, fallback: Any = _MISSING, **kwargs: Any) -> Any:
        """The object a dotted path in the config names (None when the value is empty)."""
        path = self.get(section, key, fallback=None if fallback is _MISSING else fallback)
        if not path:
            return None
        if not isinstance(path, str):
            return path
        from leoflow.sdk.compat.module_loading import import_string

        try:
            return import_string(path)
        except ImportError as exc:
            raise AirflowConfigException(f'The object could not be loaded. Please check "{key}" key in '
                                         f'"{section}" section. Current value: "{path}".') from exc

    def getjson(self, section: str, key: str, fallback: Any = None, **kwargs: Any) -> Any:
        import json

        value = self.get(section, key, fallback=None)
        if value is None or value == "":
            return fallback
        try:
            return json.loads(value)
        except ValueError as exc:
            raise AirflowConfigException(f"Unable to parse [{section}] {key!r} as valid json") from exc

    def getlist(self, section: str, key: str, delimiter: str = ",", **kwargs: Any) -> list[str]:
        value = self.get(section, key, **kwargs)
        return [part.strip() for part in str(value).split(delimiter) if part.strip()]

    def gettimedelta(self, section: str, key: str, fallback: Any = None, **kwargs: Any):
        import datetime as dt

        value = self.get(section, key, fallback=None)
        if value in (None, ""):
            return fallback
        return dt.timedelta(seconds=int(value))

    def getsection(self, section: str) -> dict[str, Any] | None:
        prefix = f"AIRFLOW__{section.upper()}__"
        found = {k.lower(): v for (sec, k), v in _DEFAULTS.items() if sec == section.lower()}
        found.update({name[len(prefix):].lower(): v for name, v in os.environ.items() if name.startswith(prefix)})
        return found or None

    def has_section(self, section: str) -> bool:
        return self.getsection(section) is not None

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


def _provider_default(section: str, key: str) -> str | None:
    """The default an installed provider declares for its own option (its provider info's `config`),
    as Airflow loads providers' configuration: `[aws] session_factory` and the like."""
    import sys

    if "leoflow.providers.discovery" not in sys.modules and not any(
            m.startswith("airflow.providers.") for m in sys.modules):
        return None  # no provider in use: never scan entry points for a DAG file's own keys
    from leoflow.providers.discovery import provider_infos

    for info in provider_infos().values():
        option = (info.get("config") or {}).get(section, {}).get("options", {}).get(key)
        if option is not None and option.get("default") is not None:
            return str(option["default"])
    return None


conf = LeoflowConfig()
