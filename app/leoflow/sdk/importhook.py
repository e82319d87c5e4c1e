"""Serve `airflow.*` imports from Leoflow modules, so DAG files run unchanged.

A meta-path finder answers for `airflow` and every `airflow.X`: names in
MODULES become real module objects whose namespace is copied from the
Leoflow module behind them; any other `airflow.X` raises ImportError naming
it (ModuleNotFoundError for a module, as Python does), so a DAG that needs it
gets an import error that says what is missing, or what replaces a module
Airflow 3 removed (see removed_paths).
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys

# airflow module name -> Leoflow module providing its names (None: empty package)
_OPS = "leoflow.sdk.operators"
_SENS = "leoflow.sdk.sensors"
_STD = "airflow.providers.standard"
MODULES: dict[str, str | None] = {
    "airflow": "leoflow.sdk.compat.root",
    "airflow.sdk": "leoflow.sdk.compat.sdk",
    "airflow.sdk.timezone": "leoflow.sdk.timezone",
    "airflow.sdk.exceptions": "leoflow.sdk.exceptions",
    "airflow.sdk.bases": None,
    "airflow.sdk.bases.operator": "leoflow.sdk.compat.helpers",
    "airflow.sdk.bases.hook": "leoflow.sdk.connection",
    "airflow.sdk.bases.sensor": "leoflow.sdk.sensors.base",
    "airflow.sdk.bases.notifier": "leoflow.sdk.notifier",
    "airflow.sdk.bases.decorator": "leoflow.sdk.decorators",
    "airflow.sdk.bases.operatorlink": "leoflow.sdk.compat.sdk",
    "airflow.sdk.bases.timetable": "leoflow.sdk.compat.timetables",
    "airflow.sdk.definitions": None,
    "airflow.sdk.definitions.dag": "leoflow.sdk.dag",
    "airflow.sdk.definitions.param": "leoflow.sdk.params",
    "airflow.sdk.definitions.xcom_arg": "leoflow.sdk.xcomarg",
    "airflow.sdk.definitions.context": "leoflow.sdk.compat.context",
    "airflow.sdk.definitions.taskgroup": "leoflow.sdk.taskgroup",
    "airflow.sdk.definitions.edges": "leoflow.sdk.edges",
    "airflow.sdk.definitions.asset": "leoflow.sdk.assets",
    "airflow.sdk.definitions.asset.decorators": "leoflow.sdk.assets",
    "airflow.sdk.definitions.asset.metadata": "leoflow.sdk.assets",
    "airflow.sdk.definitions.mappedoperator": "leoflow.sdk.mapping",
    "airflow.sdk.definitions.decorators": "leoflow.sdk.compat.decorators",
    "airflow.sdk.definitions.timetables": "leoflow.sdk.compat.timetables",
    "airflow.sdk.definitions.partition_mappers": "leoflow.sdk.partitions",
    "airflow.sdk.execution_time": None,
    "airflow.sdk.execution_time.context": "leoflow.sdk.compat.context",
    "airflow.sdk.execution_time.task_runner": "leoflow.sdk.runtime",
    "airflow.sdk.types": "leoflow.sdk.compat.context",
    "airflow.sdk.io": "leoflow.sdk.objectstorage",
    "airflow.sdk.io.path": "leoflow.sdk.objectstorage",
    "airflow.decorators": "leoflow.sdk.compat.decorators",
    "airflow.exceptions": "leoflow.sdk.exceptions",
    "airflow.configuration": "leoflow.sdk.configuration",
    "airflow.macros": "leoflow.sdk.macros",
    "airflow.listeners": "leoflow.sdk.compat.misc",
    "airflow.plugins_manager": "leoflow.sdk.compat.misc",
    "airflow.task": None,
    "airflow.task.priority_strategy": "leoflow.sdk.compat.misc",
    "airflow.models": "leoflow.sdk.compat.models",
    "airflow.models.dag": "leoflow.sdk.dag",
    "airflow.models.dagrun": "leoflow.sdk.compat.models",
    "airflow.models.taskinstance": "leoflow.sdk.compat.models",
    "airflow.models.baseoperator": "leoflow.sdk.compat.helpers",
    "airflow.models.mappedoperator": "leoflow.sdk.mapping",
    "airflow.models.param": "leoflow.sdk.params",
    "airflow.models.variable": "leoflow.sdk.compat.models_variable",
    "airflow.models.connection": "leoflow.sdk.connection",
    "airflow.models.xcom_arg": "leoflow.sdk.xcomarg",
    "airflow.models.skipmixin": "leoflow.sdk.operators.branch",
    "airflow.hooks": None,
    "airflow.hooks.base": "leoflow.sdk.connection",
    "airflow.hooks.filesystem": "leoflow.sdk.hooks.filesystem",
    "airflow.hooks.subprocess": "leoflow.sdk.hooks.subprocess",
    "airflow.triggers": None,
    "airflow.triggers.base": "leoflow.sdk.triggers.base",
    "airflow.triggers.temporal": "leoflow.sdk.triggers.temporal",
    "airflow.triggers.file": "leoflow.sdk.triggers.file",
    "airflow.timetables": None,
    "airflow.timetables.base": "leoflow.sdk.compat.timetables",
    "airflow.timetables.simple": "leoflow.sdk.compat.timetables",
    "airflow.timetables.trigger": "leoflow.sdk.compat.timetables",
    "airflow.timetables.interval": "leoflow.sdk.compat.timetables",
    "airflow.timetables.events": "leoflow.sdk.compat.timetables",
    "airflow.timetables.assets": "leoflow.sdk.compat.timetables",
    "airflow.operators": None,
    "airflow.operators.bash": f"{_OPS}.bash",
    "airflow.operators.python": "leoflow.sdk.compat.python_operators",
    "airflow.operators.empty": f"{_OPS}.empty",
    "airflow.operators.branch": f"{_OPS}.branch",
    "airflow.operators.datetime": f"{_OPS}.dates",
    "airflow.operators.weekday": f"{_OPS}.dates",
    "airflow.operators.latest_only": f"{_OPS}.dates",
    "airflow.operators.trigger_dagrun": f"{_OPS}.trigger_dagrun",
    "airflow.operators.smooth": f"{_OPS}.smooth",
    "airflow.sensors": None,
    "airflow.sensors.base": f"{_SENS}.base",
    "airflow.sensors.bash": f"{_SENS}.standard",
    "airflow.sensors.python": f"{_SENS}.standard",
    "airflow.sensors.time_sensor": f"{_SENS}.standard",
    "airflow.sensors.time_delta": f"{_SENS}.standard",
    "airflow.sensors.date_time": f"{_SENS}.standard",
    "airflow.sensors.filesystem": f"{_SENS}.standard",
    "airflow.sensors.weekday": f"{_SENS}.standard",
    "airflow.sensors.external_task": f"{_SENS}.external_task",
    "airflow.providers": None,
    "airflow.providers.common": None,
    "airflow.providers.common.compat": None,
    "airflow.providers.common.compat.sdk": "leoflow.sdk.compat.common_compat",
    _STD: None,
    f"{_STD}.operators": None,
    f"{_STD}.operators.bash": f"{_OPS}.bash",
    f"{_STD}.operators.python": "leoflow.sdk.compat.python_operators",
    f"{_STD}.operators.empty": f"{_OPS}.empty",
    f"{_STD}.operators.branch": f"{_OPS}.branch",
    f"{_STD}.operators.datetime": f"{_OPS}.dates",
    f"{_STD}.operators.weekday": f"{_OPS}.dates",
    f"{_STD}.operators.latest_only": f"{_OPS}.dates",
    f"{_STD}.operators.trigger_dagrun": f"{_OPS}.trigger_dagrun",
    f"{_STD}.operators.smooth": f"{_OPS}.smooth",
    f"{_STD}.operators.hitl": f"{_OPS}.hitl",
    f"{_STD}.sensors": None,
    f"{_STD}.sensors.bash": f"{_SENS}.standard",
    f"{_STD}.sensors.python": f"{_SENS}.standard",
    f"{_STD}.sensors.time": f"{_SENS}.standard",
    f"{_STD}.sensors.time_delta": f"{_SENS}.standard",
    f"{_STD}.sensors.date_time": f"{_SENS}.standard",
    f"{_STD}.sensors.filesystem": f"{_SENS}.standard",
    f"{_STD}.sensors.weekday": f"{_SENS}.standard",
    f"{_STD}.sensors.external_task": f"{_SENS}.external_task",
    f"{_STD}.decorators": "leoflow.sdk.compat.std_decorators",
    **{f"{_STD}.decorators.{m}": "leoflow.sdk.compat.std_decorators" for m in (
        "python", "bash", "branch_python", "short_circuit", "sensor", "python_virtualenv", "external_python",
        "branch_virtualenv", "branch_external_python")},
    f"{_STD}.triggers": None,
    f"{_STD}.triggers.temporal": "leoflow.sdk.triggers.temporal",
    f"{_STD}.triggers.file": "leoflow.sdk.triggers.file",
    f"{_STD}.hooks": None,
    f"{_STD}.hooks.filesystem": "leoflow.sdk.hooks.filesystem",
    f"{_STD}.hooks.subprocess": "leoflow.sdk.hooks.subprocess",
    f"{_STD}.exceptions": "leoflow.sdk.compat.std_exceptions",
    f"{_STD}.utils": None,
    f"{_STD}.utils.weekday": "leoflow.sdk.weekday",
    f"{_STD}.utils.skipmixin": f"{_OPS}.branch",
    "airflow.utils": None,
    "airflow.utils.trigger_rule": "leoflow.sdk.trigger_rule",
    "airflow.utils.timezone": "leoflow.sdk.timezone",
    "airflow.utils.context": "leoflow.sdk.compat.context",
    "airflow.utils.helpers": "leoflow.sdk.compat.utils_helpers",
    "airflow.utils.task_group": "leoflow.sdk.taskgroup",
    "airflow.utils.edgemodifier": "leoflow.sdk.edges",
    "airflow.utils.state": "leoflow.sdk.state",
    "airflow.utils.weekday": "leoflow.sdk.weekday",
    "airflow.utils.weight_rule": "leoflow.sdk.state",
    "airflow.utils.dag_parsing_context": "leoflow.sdk.parsing_context",
    "airflow.utils.types": "leoflow.sdk.compat.misc",
    "airflow.utils.xcom": "leoflow.sdk.compat.misc",
    "airflow.notifications": None,
    "airflow.notifications.basenotifier": "leoflow.sdk.notifier",
    "airflow.models.baseoperatorlink": "leoflow.sdk.compat.sdk",
    "airflow.models.operator": "leoflow.sdk.compat.models",
    "airflow.decorators.base": "leoflow.sdk.decorators",
    "airflow.io": None,
    "airflow.io.path": "leoflow.sdk.objectstorage",
    # what provider packages import (hooks, operators, sensors, triggers; see leoflow.providers)
    "airflow.version": "leoflow.sdk.compat.version",
    "airflow.sdk.module_loading": "leoflow.sdk.compat.module_loading",
    "airflow.utils.module_loading": "leoflow.sdk.compat.module_loading",
    "airflow.utils.log": None,
    "airflow.utils.log.logging_mixin": "leoflow.sdk.compat.logging_mixin",
    "airflow.utils.log.secrets_masker": "leoflow.sdk.compat.secrets_masker",
    "airflow.utils.platform": "leoflow.sdk.compat.platform",
    "airflow.sdk.log": "leoflow.sdk.compat.secrets_masker",
    "airflow.sdk.execution_time.secrets_masker": "leoflow.sdk.compat.secrets_masker",
    "airflow.sdk._shared": None,
    "airflow.sdk._shared.secrets_masker": "leoflow.sdk.compat.secrets_masker",
    "airflow.sdk.definitions._internal": None,
    "airflow.sdk.definitions._internal.logging_mixin": "leoflow.sdk.compat.logging_mixin",
    "airflow.providers_manager": "leoflow.sdk.compat.providers_manager",
    "airflow.utils.operator_helpers": "leoflow.sdk.compat.operator_helpers",
    "airflow.sdk.lineage": "leoflow.sdk.compat.lineage",
    "airflow.lineage": None,
    "airflow.lineage.hook": "leoflow.sdk.compat.lineage",
    "airflow.sdk.execution_time.xcom": "leoflow.sdk.compat.xcom",
    "airflow.models.xcom": "leoflow.sdk.compat.xcom",
    "airflow.utils.yaml": "leoflow.sdk.compat.yaml",
    "airflow.utils.email": "leoflow.sdk.compat.email",
    "airflow.utils.strings": "leoflow.sdk.compat.strings",
    "airflow.models.taskinstancekey": "leoflow.sdk.compat.context",
    "airflow.sdk.definitions.template": "leoflow.sdk.templating",
    "airflow.utils.template": "leoflow.sdk.templating",
    "airflow.sdk.execution_time.timeout": "leoflow.sdk.compat.timeout",
    "airflow.utils.timeout": "leoflow.sdk.compat.timeout",
    "airflow.sdk.observability": None,
    "airflow.sdk.observability.stats": "leoflow.sdk.compat.stats",
    "airflow.stats": "leoflow.sdk.compat.stats",
    "airflow.utils.hashlib_wrapper": "leoflow.sdk.compat.hashlib_wrapper",
    "airflow.settings": "leoflow.sdk.compat.settings",
    "airflow.utils.process_utils": "leoflow.sdk.compat.process_utils",
    "airflow.utils.session": "leoflow.sdk.compat.session",
    "airflow.sdk.listener": "leoflow.sdk.compat.listener",
    "airflow.listeners.listener": "leoflow.sdk.compat.listener",
}

# `airflow.X` package prefixes served from a folder on disk (see serve_folder).
FOLDERS: dict[str, str] = {}


def serve_folder(package: str, folder: str) -> None:
    """Serve `package` (an `airflow.*` name, e.g. `airflow.example_dags`) from `folder`'s files."""
    FOLDERS[package] = str(folder)


# Classes whose Leoflow module serves several Airflow modules: the one Airflow defines them in.
_CLASS_HOMES = {
    **{name: f"{_STD}.sensors.{mod}" for name, mod in {
        "BashSensor": "bash", "PythonSensor": "python", "TimeSensor": "time", "TimeSensorAsync": "time",
        "TimeDeltaSensor": "time_delta", "TimeDeltaSensorAsync": "time_delta", "WaitSensor": "time_delta",
        "DateTimeSensor": "date_time", "DateTimeSensorAsync": "date_time", "FileSensor": "filesystem",
        "DayOfWeekSensor": "weekday"}.items()},
    "DecoratedSensorOperator": f"{_STD}.decorators.sensor",
    "_PythonDecoratedOperator": f"{_STD}.decorators.python",
    "_BashDecoratedOperator": f"{_STD}.decorators.bash",
    "_BranchPythonDecoratedOperator": f"{_STD}.decorators.branch_python",
    "_ShortCircuitDecoratedOperator": f"{_STD}.decorators.short_circuit",
    "_PythonVirtualenvDecoratedOperator": f"{_STD}.decorators.python_virtualenv",
    "_PythonExternalDecoratedOperator": f"{_STD}.decorators.external_python",
    "_BranchPythonVirtualenvDecoratedOperator": f"{_STD}.decorators.branch_virtualenv",
    "_BranchExternalPythonDecoratedOperator": f"{_STD}.decorators.branch_external_python",
    "_AssetMainOperator": "airflow.sdk.definitions.asset.decorators",
    "BranchDateTimeOperator": f"{_STD}.operators.datetime",
    "BranchDayOfWeekOperator": f"{_STD}.operators.weekday",
    "LatestOnlyOperator": f"{_STD}.operators.latest_only",
}


def airflow_name_of(module: str, class_name: str | None = None) -> str | None:
    """The `airflow.*` module that serves a Leoflow module (providers' paths first), for class paths."""
    if class_name in _CLASS_HOMES:
        return _CLASS_HOMES[class_name]
    best = None
    for name, source in MODULES.items():
        if source == module:
            if name.startswith(_STD) or name.startswith("airflow.sdk"):
                return name
            best = best or name
    return best


class AirflowCompatFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finder and loader for the `airflow` namespace."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "airflow" and not fullname.startswith("airflow."):
            return None
        for package, folder in FOLDERS.items():
            if fullname == package or fullname.startswith(package + "."):
                return _folder_spec(fullname, package, folder)
        if fullname in PROVIDER_FIRST:
            spec = _provider_spec(fullname)
            if spec is not None:
                return spec
        if fullname not in MODULES:
            if fullname.startswith(_PROVIDERS + "."):
                spec = _provider_spec(fullname)
                if spec is not None:
                    return spec
            raise _missing(fullname)
        # Every airflow module is a package, so `from airflow.x import y` on an
        # unknown y asks this finder for `airflow.x.y` and gets the message above.
        spec = importlib.machinery.ModuleSpec(fullname, self, is_package=True)
        if (fullname == _PROVIDERS or fullname.startswith(_PROVIDERS + ".")) and MODULES[fullname] is None:
            # a namespace Leoflow serves (`airflow.providers.common`) still lists the installed
            # providers' folders, so pkgutil and provider discovery see them
            spec.submodule_search_locations = _provider_dirs(fullname)
        return spec

    def create_module(self, spec):
        return None  # the default: a fresh module object

    def exec_module(self, module) -> None:
        source = MODULES[module.__name__]
        if source is None:
            module.__doc__ = f"`{module.__name__}` namespace (served by Leoflow)"
            return
        real = importlib.import_module(source)
        for name, value in vars(real).items():
            if not name.startswith("__") or name in ("__all__", "__doc__", "__getattr__", "__version__"):
                module.__dict__[name] = value


_PROVIDERS = "airflow.providers"
# Provider modules Leoflow serves only while their provider is not installed: once it is, the
# provider's own module runs (its lazy names resolve to the `airflow.sdk` paths served above).
PROVIDER_FIRST = frozenset({"airflow.providers.common.compat.sdk"})


def _provider_dirs(fullname: str) -> list[str]:
    """The folders on sys.path that hold `fullname` as a directory (`<site>/airflow/providers/postgres`)."""
    import os

    parts = fullname.split(".")
    found = []
    for entry in sys.path:
        if isinstance(entry, str):
            folder = os.path.join(entry or ".", *parts)
            if os.path.isdir(folder) and folder not in found:
                found.append(folder)
    return found


def _provider_spec(fullname: str):
    """An installed provider package's module (`airflow.providers.postgres.hooks.postgres`), from disk.

    Provider wheels install under `airflow/providers/` in site-packages; Leoflow serves `airflow`
    itself, so their modules are found here, in the parent's folders, and run unchanged.
    """
    parent = fullname.rpartition(".")[0]
    module = sys.modules.get(parent)
    path = getattr(module, "__path__", None) if module is not None else None
    if not path or MODULES.get(parent, "") is None:
        path = _provider_dirs(parent)
    if not path:
        return None
    return importlib.machinery.PathFinder.find_spec(fullname, list(path))


def _importer() -> str:
    """Who asked for a module: the first frame outside the import machinery (a provider or the DAG file)."""
    frame = sys._getframe(2)
    while frame is not None:
        name = frame.f_globals.get("__name__", "")
        if not (name.startswith("importlib") or name == __name__ or name.startswith("_frozen_importlib")):
            if name.startswith("airflow."):
                return f"imported by {name}"
            return "imported by this DAG file"
        frame = frame.f_back
    return "imported by this DAG file"


def _missing(fullname: str) -> ImportError:
    """The error for an `airflow.*` name Leoflow does not serve.

    A module Airflow 3 removed, or one Leoflow lacks, is a `ModuleNotFoundError` as Python raises for a
    missing module (so `except ModuleNotFoundError:` fallbacks in DAG files work). A name asked of a module
    Leoflow does serve is most likely `from airflow.x import Name`: a plain ImportError, which Python passes
    on with this message instead of replacing it with "cannot import name".
    """
    from leoflow.sdk.removed_paths import message, removed_module

    removed = removed_module(fullname)
    if removed is not None:
        return ModuleNotFoundError(message(fullname, *removed), name=fullname)
    if fullname.startswith(_PROVIDERS + "."):
        from leoflow.providers.names import NESTED as _NESTED_FAMILIES
        from leoflow.providers.names import distribution_of, package_of

        short = distribution_of(fullname)
        if short in _NESTED_FAMILIES:
            text = (f"`{fullname}` is a family of providers, none of them installed: install the one needed "
                    f"(`leoflow providers install {short}-NAME`)")
            return ModuleNotFoundError(text, name=fullname)
        if short and package_of(short) not in MODULES and not _provider_dirs(package_of(short)):
            text = (f"`{fullname}` needs the provider `{short}`, which is not installed: "
                    f"`leoflow providers install {short}`")
            return ModuleNotFoundError(text, name=fullname)
    text = f"Leoflow does not support `{fullname}` yet ({_importer()})"
    parent = fullname.rpartition(".")[0]
    if MODULES.get(parent) is not None:
        return ImportError(text, name=fullname)
    return ModuleNotFoundError(text, name=fullname)


def _folder_spec(fullname: str, package: str, folder: str):
    import os

    rel = fullname[len(package):].lstrip(".").replace(".", os.sep)
    base = os.path.join(folder, rel) if rel else folder
    if os.path.isdir(base):
        init = os.path.join(base, "__init__.py")
        if os.path.exists(init):
            return importlib.util.spec_from_file_location(fullname, init, submodule_search_locations=[base])
        spec = importlib.machinery.ModuleSpec(fullname, None, is_package=True)
        spec.submodule_search_locations = [base]
        return spec
    if os.path.exists(base + ".py"):
        return importlib.util.spec_from_file_location(fullname, base + ".py")
    raise ImportError(f"No module named {fullname!r} in {folder}", name=fullname)


def _default_example_folder() -> str | None:
    """Airflow's bundled example DAGs, when the build step fetched them (as `airflow.example_dags`)."""
    import os
    from pathlib import Path

    env = os.environ.get("LEOFLOW_EXAMPLE_DAGS_FOLDER")
    if env:
        return env
    here = Path(__file__).resolve()
    for root in (here.parents[3], Path(getattr(sys, "_MEIPASS", here.parents[3]))):
        folder = root / "embedded" / "airflow-core" / "airflow" / "example_dags"
        if folder.is_dir():
            return str(folder)
    return None


def install() -> None:
    """Put the finder first on sys.meta_path (once)."""
    if "airflow.example_dags" not in FOLDERS:
        folder = _default_example_folder()
        if folder:
            serve_folder("airflow.example_dags", folder)
    if not any(isinstance(f, AirflowCompatFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, AirflowCompatFinder())


def uninstall() -> None:
    """Remove the finder and forget the `airflow` modules it made (for tests)."""
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, AirflowCompatFinder)]
    for name in [n for n in sys.modules if n == "airflow" or n.startswith("airflow.")]:
        if isinstance(getattr(sys.modules[name], "__loader__", None), AirflowCompatFinder):
            del sys.modules[name]


def installed() -> bool:
    return any(isinstance(f, AirflowCompatFinder) for f in sys.meta_path)
