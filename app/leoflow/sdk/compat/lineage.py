"""`airflow.sdk.lineage` / `airflow.lineage.hook`: where hooks report the assets they read and wrote.

Leoflow collects no hook lineage yet (Airflow's default without a lineage reader plugin is the same):
the collector accepts every report and keeps nothing.
"""

from __future__ import annotations

from typing import Any


class HookLineage:
    def __init__(self, inputs=None, outputs=None, extra=None):
        self.inputs, self.outputs, self.extra = list(inputs or []), list(outputs or []), list(extra or [])


class HookLineageCollector:
    """Accepts `add_input_asset`, `add_output_asset`, `add_extra` from hooks."""

    def add_input_asset(self, context: Any, *args, **kwargs) -> None:
        return None

    def add_output_asset(self, context: Any, *args, **kwargs) -> None:
        return None

    def add_extra(self, context: Any, key: str, value: Any) -> None:
        return None

    def create_asset(self, *args, **kwargs):
        return None

    @property
    def collected_assets(self) -> HookLineage:
        return HookLineage()

    @property
    def has_collected(self) -> bool:
        return False


class NoOpCollector(HookLineageCollector):
    pass


class HookLineageReader:
    """A plugin class that reads hook lineage (none are loaded by Leoflow)."""


class AssetLineageInfo:
    def __init__(self, asset=None, count: int = 1, context=None):
        self.asset, self.count, self.context = asset, count, context


_COLLECTOR = NoOpCollector()


def get_hook_lineage_collector() -> HookLineageCollector:
    return _COLLECTOR
