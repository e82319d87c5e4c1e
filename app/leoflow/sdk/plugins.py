"""Plugins: `AirflowPlugin` subclasses in the plugins folder.

Leoflow imports every `.py` file of the plugins folder once per process (the
DAG parser and task processes) before DAG files are read. A plugin's
`timetables`, `priority_weight_strategies` and `macros` then become usable by
DAGs, and its `listeners` are called through `call_listeners()` by whoever runs
tasks; anything else a plugin declares (UI views, ...) is accepted and ignored. The folder is `LEOFLOW_PLUGINS_FOLDER` or
`AIRFLOW__CORE__PLUGINS_FOLDER`, else `<home>/plugins` when it exists.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import sys
from pathlib import Path

log = logging.getLogger(__name__)

_loaded_folders: set[str] = set()
plugins: list[type] = []
timetable_classes: dict[str, type] = {}  # "module.Qualname" -> class
priority_weight_strategies: dict[str, type] = {}
listeners: list = []  # modules or objects with `@hookimpl` functions (on_task_instance_running, ...)
import_errors: dict[str, str] = {}


class AirflowPlugin:
    """Base class of a plugin; subclasses list what they add."""

    name: str | None = None
    source: str | None = None
    hooks: list = []
    executors: list = []
    macros: list = []
    admin_views: list = []
    flask_blueprints: list = []
    fastapi_apps: list = []
    fastapi_root_middlewares: list = []
    external_views: list = []
    react_apps: list = []
    menu_links: list = []
    appbuilder_views: list = []
    appbuilder_menu_items: list = []
    global_operator_extra_links: list = []
    operator_extra_links: list = []
    timetables: list = []
    listeners: list = []
    priority_weight_strategies: list = []

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        register(cls)

    @classmethod
    def validate(cls) -> None:
        if not cls.name:
            raise ValueError("Your plugin needs a name.")

    @classmethod
    def on_load(cls, *args, **kwargs) -> None:
        """Called when the plugin is loaded (Airflow API)."""


def qualname(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def register(plugin: type) -> None:
    if any(p is plugin for p in plugins):
        return
    plugins.append(plugin)
    for cls in plugin.timetables or []:
        timetable_classes[qualname(cls)] = cls
    for cls in plugin.priority_weight_strategies or []:
        priority_weight_strategies[qualname(cls)] = cls
    for listener in plugin.listeners or []:
        if all(listener is not known for known in listeners):
            listeners.append(listener)
    if plugin.macros and plugin.name:
        # As in Airflow: a plugin's macros are `macros.<plugin name>.<function>` in templates.
        import types

        from leoflow.sdk import macros

        namespace = types.ModuleType(f"airflow.macros.{plugin.name}")
        for func in plugin.macros:
            setattr(namespace, func.__name__, func)
        setattr(macros, plugin.name, namespace)


def default_folder() -> Path | None:
    for name in ("LEOFLOW_PLUGINS_FOLDER", "AIRFLOW__CORE__PLUGINS_FOLDER"):
        if os.environ.get(name):
            return Path(os.environ[name]).expanduser()
    home = os.environ.get("LEOFLOW_HOME") or os.environ.get("AIRFLOW_HOME")
    if home and (Path(home) / "plugins").is_dir():
        return Path(home) / "plugins"
    return None


def load(folder: str | os.PathLike | None = None) -> list[type]:
    """Import every module of `folder` (default: see module docstring) once; return the plugins."""
    folder = Path(folder) if folder is not None else default_folder()
    if folder is None or not folder.is_dir():
        return list(plugins)
    key = str(folder.resolve())
    if key in _loaded_folders:
        return list(plugins)
    _loaded_folders.add(key)
    from leoflow.sdk import importhook

    importhook.install()
    if key not in sys.path:
        sys.path.append(key)  # plugins import their sibling modules by name
    for path in sorted(folder.rglob("*.py")):
        if any(part.startswith((".", "__pycache__")) for part in path.relative_to(folder).parts):
            continue
        rel = path.relative_to(folder).with_suffix("")
        name = ".".join(rel.parts)
        if name.endswith("__init__"):
            continue
        if name in sys.modules:
            continue
        try:
            spec = importlib.util.spec_from_file_location(name, path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            spec.loader.exec_module(module)
        except Exception as exc:  # a broken plugin file is reported, never fatal (as in Airflow)
            sys.modules.pop(name, None)
            import_errors[str(path)] = f"{type(exc).__name__}: {exc}"
            log.warning("Failed to import plugin %s: %s", path, exc)
    return list(plugins)


def call_listeners(hook: str, **kwargs) -> list:
    """Call `hook` (e.g. `on_task_instance_running(previous_state=, task_instance=)`) on every plugin
    listener that defines it, as Airflow's listener manager does; a listener's error is logged only.
    Returns what the listeners returned (None left out, as pluggy does)."""
    results = []
    for listener in list(listeners):
        func = getattr(listener, hook, None)
        if func is None:
            continue
        try:
            result = func(**kwargs)
        except Exception:  # a listener must never change a task's outcome
            log.exception("Listener %s.%s failed", getattr(listener, "__name__", listener), hook)
            continue
        if result is not None:
            results.append(result)
    return results


def has_listener(hook: str) -> bool:
    """Whether a loaded plugin listens to `hook` (so a caller can skip the work of calling it)."""
    return any(getattr(listener, hook, None) is not None for listener in listeners)


def check_timetable_registered(cls: type) -> None:
    """A custom timetable must come from a plugin (Airflow's rule), else the DAG cannot be stored."""
    name = qualname(cls)
    if name in timetable_classes or any(c is cls for c in timetable_classes.values()):
        return
    if any(_same_class(cls, c) for c in timetable_classes.values()):
        return
    raise ImportError(
        f"Timetable class {name!r} is not registered by any plugin; put it in a plugin's "
        "`timetables` list in the plugins folder (LEOFLOW_PLUGINS_FOLDER)"
    )


def check_weight_strategy_registered(cls: type) -> None:
    name = qualname(cls)
    if name in priority_weight_strategies or any(_same_class(cls, c) for c in priority_weight_strategies.values()):
        return
    raise ImportError(
        f"Unknown priority strategy {name!r}: register it in a plugin's `priority_weight_strategies` "
        "list in the plugins folder (LEOFLOW_PLUGINS_FOLDER)"
    )


def _same_class(a: type, b: type) -> bool:
    # The same file may be imported under two module names (plugin folder vs. a DAG's import).
    return a.__qualname__ == b.__qualname__ and (
        getattr(sys.modules.get(a.__module__), "__file__", 1) == getattr(sys.modules.get(b.__module__), "__file__", 2)
    )
