"""`airflow.sdk.listener` / `airflow.listeners.listener`: the listener manager over plugins' listeners.

Plugins list listeners (modules or objects whose functions carry `@hookimpl`) in `listeners`; code that
wants to call or add one asks `get_listener_manager()`, as Airflow's. `manager.hook.on_X(**kwargs)` calls
`on_X` on every listener that has it (keyword arguments only, as pluggy insists) and returns their
results; a listener's error is logged and never reaches the caller (leoflow.sdk.plugins.call_listeners).
"""

from __future__ import annotations

from leoflow.sdk import plugins


class _Hooks:
    """`manager.hook`: one caller per hook name."""

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)

        def call(*args, **kwargs):
            if args:
                raise TypeError(f"hook calls take keyword arguments only (hook {name!r})")
            return plugins.call_listeners(name, **kwargs)

        call.__name__ = name
        return call


class ListenerManager:
    """The listeners of the loaded plugins, plus any added here."""

    def __init__(self):
        self.hook = _Hooks()

    @property
    def has_listeners(self) -> bool:
        return bool(plugins.listeners)

    def add_listener(self, listener) -> None:
        if all(listener is not known for known in plugins.listeners):
            plugins.listeners.append(listener)

    def clear(self) -> None:
        plugins.listeners.clear()


_manager: ListenerManager | None = None


def get_listener_manager() -> ListenerManager:
    global _manager
    if _manager is None:
        _manager = ListenerManager()
    return _manager


__all__ = ["ListenerManager", "get_listener_manager"]
