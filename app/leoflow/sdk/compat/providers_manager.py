"""`airflow.providers_manager`: what providers hooks ask of the installed providers (dialects, hooks)."""

from __future__ import annotations

from typing import NamedTuple


class DialectInfo(NamedTuple):
    name: str
    dialect_class_name: str
    provider_name: str


class HookInfo(NamedTuple):
    hook_class_name: str
    connection_id_attribute_name: str
    package_name: str
    hook_name: str
    connection_type: str
    connection_testable: bool
    dialects: list[str] = []


class ProviderInfo(NamedTuple):
    version: str
    data: dict


class ProvidersManager:
    """The installed providers, as Airflow's ProvidersManager describes them (read-only here)."""

    _instance = None

    def __new__(cls):
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    @property
    def providers(self) -> dict[str, ProviderInfo]:
        from leoflow.providers.discovery import provider_infos

        return {name: ProviderInfo(info["version"], info) for name, info in provider_infos().items()}

    @property
    def dialects(self) -> dict[str, DialectInfo]:
        from leoflow.providers.discovery import dialects

        return {name: DialectInfo(name, path, provider) for name, (path, provider) in dialects().items()}

    @property
    def hooks(self) -> dict[str, HookInfo | None]:
        """conn_type -> HookInfo (the hook class imported on first look, as Airflow does lazily)."""
        from leoflow.providers.discovery import connection_types

        return _LazyHooks(connection_types())

    @property
    def extra_links_class_names(self) -> list[str]:
        """The extra link classes the installed providers declare, sorted."""
        from leoflow.providers.discovery import extra_link_classes

        return sorted(extra_link_classes())

    def initialize_providers_hooks(self) -> None:
        return None

    def initialize_providers_list(self) -> None:
        return None


class _LazyHooks(dict):
    def __init__(self, types: dict):
        super().__init__((k, None) for k in types)
        self._types = types

    def __getitem__(self, conn_type: str) -> HookInfo | None:
        path, provider = self._types[conn_type]
        try:
            from leoflow.sdk.compat.module_loading import import_string

            hook = import_string(path)
        except ImportError:
            return None
        return HookInfo(path, getattr(hook, "conn_name_attr", "conn_id"), provider,
                        getattr(hook, "hook_name", conn_type), conn_type, hasattr(hook, "test_connection"),
                        list(getattr(hook, "supported_dialects", []) or []))

    def get(self, conn_type, default=None):
        return self[conn_type] if conn_type in self._types else default

    def values(self):
        return [self[k] for k in self._types]

    def items(self):
        return [(k, self[k]) for k in self._types]
