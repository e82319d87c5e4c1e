"""`airflow.sdk.module_loading` / `airflow.utils.module_loading`: dotted paths to objects."""

from __future__ import annotations

import importlib
import re

_DOTPATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


def import_string(dotted_path: str):
    """`package.module.Name` -> the object; ImportError saying which part is missing, as Airflow's."""
    try:
        module_path, class_name = dotted_path.rstrip().rsplit(".", 1)
    except ValueError:
        raise ImportError(f"{dotted_path} doesn't look like a module path") from None
    module = importlib.import_module(module_path)
    try:
        return getattr(module, class_name)
    except AttributeError:
        raise ImportError(f'Module "{module_path}" does not define a "{class_name}" attribute/class') from None


def qualname(o, use_qualname: bool = False, exclude_module: bool = False) -> str:
    """The importable name of an object or of its class (`module.Class`)."""
    if callable(o) and hasattr(o, "__module__") and (hasattr(o, "__name__") or hasattr(o, "__qualname__")):
        cls = o
    else:
        cls = type(o)
    name = cls.__qualname__ if use_qualname else cls.__name__
    module = getattr(cls, "__module__", None)
    if exclude_module or not module or module == "builtins":
        return name
    return f"{module}.{name}"


def is_valid_dotpath(path: str) -> bool:
    return isinstance(path, str) and bool(_DOTPATH.match(path))


def iter_namespace(ns):
    import pkgutil

    return pkgutil.iter_modules(ns.__path__, ns.__name__ + ".")
