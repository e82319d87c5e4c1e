"""Serve `airflow.*` imports from Leoflow modules, so DAG files run unchanged.

A meta-path finder answers for `airflow` and every `airflow.X`: names in
MODULES become real module objects whose namespace is copied from the
Leoflow module behind them; any other `airflow.X` raises ImportError naming
it, so a DAG that needs it gets an import error that says what is missing.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys

# airflow module name -> Leoflow module providing its names (None: empty package)
MODULES: dict[str, str | None] = {
    "airflow": "leoflow.sdk.compat.root",
    "airflow.sdk": "leoflow.sdk.compat.sdk",
    "airflow.sdk.timezone": "leoflow.sdk.timezone",
    "airflow.sdk.exceptions": "leoflow.sdk.exceptions",
    "airflow.sdk.bases": None,
    "airflow.sdk.bases.operator": "leoflow.sdk.compat.helpers",
    "airflow.sdk.bases.hook": "leoflow.sdk.connection",
    "airflow.sdk.definitions": None,
    "airflow.sdk.definitions.dag": "leoflow.sdk.dag",
    "airflow.sdk.definitions.param": "leoflow.sdk.params",
    "airflow.sdk.definitions.xcom_arg": "leoflow.sdk.xcomarg",
    "airflow.sdk.definitions.context": "leoflow.sdk.compat.context",
    "airflow.sdk.execution_time": None,
    "airflow.decorators": "leoflow.sdk.compat.decorators",
    "airflow.exceptions": "leoflow.sdk.exceptions",
    "airflow.macros": "leoflow.sdk.macros",
    "airflow.models": "leoflow.sdk.compat.models",
    "airflow.models.dag": "leoflow.sdk.dag",
    "airflow.models.baseoperator": "leoflow.sdk.compat.helpers",
    "airflow.models.param": "leoflow.sdk.params",
    "airflow.models.variable": "leoflow.sdk.variable",
    "airflow.models.connection": "leoflow.sdk.connection",
    "airflow.models.xcom_arg": "leoflow.sdk.xcomarg",
    "airflow.hooks": None,
    "airflow.hooks.base": "leoflow.sdk.connection",
    "airflow.operators": None,
    "airflow.operators.bash": "leoflow.sdk.operators.bash",
    "airflow.operators.python": "leoflow.sdk.compat.python_operators",
    "airflow.operators.empty": "leoflow.sdk.operators.empty",
    "airflow.providers": None,
    "airflow.providers.standard": None,
    "airflow.providers.standard.operators": None,
    "airflow.providers.standard.operators.bash": "leoflow.sdk.operators.bash",
    "airflow.providers.standard.operators.python": "leoflow.sdk.compat.python_operators",
    "airflow.providers.standard.operators.empty": "leoflow.sdk.operators.empty",
    "airflow.utils": None,
    "airflow.utils.trigger_rule": "leoflow.sdk.trigger_rule",
    "airflow.utils.timezone": "leoflow.sdk.timezone",
    "airflow.utils.context": "leoflow.sdk.compat.context",
    "airflow.utils.helpers": "leoflow.sdk.compat.helpers",
}


class AirflowCompatFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finder and loader for the `airflow` namespace."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "airflow" and not fullname.startswith("airflow."):
            return None
        if fullname not in MODULES:
            raise ImportError(
                f"Leoflow does not support `{fullname}` yet (imported by this DAG file)",
                name=fullname,
            )
        # Every airflow module is a package, so `from airflow.x import y` on an
        # unknown y asks this finder for `airflow.x.y` and gets the message above.
        return importlib.machinery.ModuleSpec(fullname, self, is_package=True)

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


def install() -> None:
    """Put the finder first on sys.meta_path (once)."""
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
