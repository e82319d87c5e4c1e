"""Run in a child interpreter: import every hook/operator/sensor/trigger module of the providers named
on the command line under Leoflow's import hook; print one JSON line per provider. Also read each
module's source for the Airflow names it imports later, inside functions (`deep_missing`: those Leoflow
does not serve), since an import score alone misses what a task asks for only when it runs.

`python import_score.py common-sql postgres ...` with the providers on sys.path (PYTHONPATH).
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import json
import re
import sys
import traceback

KINDS = ("hooks", "operators", "sensors", "triggers")


def modules_of(package: str) -> list[str]:
    """The provider's hook/operator/sensor/trigger modules (`...hooks.x`, also nested as in
    `airflow.providers.amazon.aws.hooks.s3`), found on disk without importing them."""
    import os

    from leoflow.sdk.importhook import _provider_dirs

    found = set()
    for folder in _provider_dirs(package):
        for root, dirs, files in os.walk(folder):
            dirs[:] = [d for d in dirs if not d.startswith(("_", ".")) and d not in ("tests", "example_dags")]
            parts = os.path.relpath(root, folder).split(os.sep)
            if not any(part in KINDS for part in parts):
                continue
            prefix = ".".join([package, *[p for p in parts if p != "."]])
            for name in files:
                if name.endswith(".py") and not name.startswith("_"):
                    found.add(f"{prefix}.{name[:-3]}")
    return sorted(found)


_VERSION_GATE = re.compile(r"^AIRFLOW_V_(\d+)_(\d+)(?:_(\d+))?_PLUS$")


def _gate(test: ast.expr) -> bool | None:
    """The value of an `if AIRFLOW_V_3_1_PLUS:` test under Leoflow's Airflow version (None: not a gate)."""
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        inner = _gate(test.operand)
        return None if inner is None else not inner
    if isinstance(test, ast.Name) and test.id == "TYPE_CHECKING":
        return False
    if isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING":
        return False
    if isinstance(test, ast.Name) and _VERSION_GATE.match(test.id):
        from leoflow import AIRFLOW_COMPAT_VERSION

        want = tuple(int(g or 0) for g in _VERSION_GATE.match(test.id).groups())
        return tuple(int(p) for p in AIRFLOW_COMPAT_VERSION.split(".")) >= want
    return None


def _served_by_leoflow(module: str) -> bool:
    """Airflow's own modules, and common-compat's (whose names are lazy paths into them)."""
    return (module == "airflow" or module.startswith("airflow.")) and (
        not module.startswith("airflow.providers.") or module.startswith("airflow.providers.common.compat"))


def airflow_imports(path: str) -> set[tuple[str, str]]:
    """(module, name) of every `from airflow.X import name` the file may run under Airflow 3.2 (function
    bodies included), skipping TYPE_CHECKING blocks, other versions' branches and guarded imports
    (inside `try:` with an ImportError handler: the provider copes without them)."""
    found: set[tuple[str, str]] = set()

    def guarded(handlers) -> bool:
        names = set()
        for h in handlers:
            for n in ([h.type] if not isinstance(h.type, ast.Tuple) else h.type.elts) if h.type else []:
                names.add(getattr(n, "id", getattr(n, "attr", "")))
        return bool(names & {"ImportError", "ModuleNotFoundError", "Exception", "AirflowOptionalProviderFeatureException"})

    def visit(nodes):
        for node in nodes:
            if isinstance(node, ast.If):
                value = _gate(node.test)
                if value is not False:
                    visit(node.body)
                if value is not True:
                    visit(node.orelse)
            elif isinstance(node, ast.Try):
                if not guarded(node.handlers):
                    visit(node.body)
                visit(node.orelse)
                visit(node.finalbody)
                for h in node.handlers:
                    visit(h.body)
            elif isinstance(node, ast.ImportFrom):
                mod = node.module or ""
                if node.level == 0 and _served_by_leoflow(mod):
                    found.update((mod, alias.name) for alias in node.names)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if _served_by_leoflow(alias.name):
                        found.add((alias.name, ""))
            else:
                for field in ("body", "orelse", "finalbody", "handlers"):
                    visit(getattr(node, field, []) or [])
                if isinstance(node, (ast.With, ast.AsyncWith, ast.For, ast.AsyncFor, ast.While)):
                    pass

    with open(path, encoding="utf-8") as f:
        visit(ast.parse(f.read(), filename=path).body)
    return found


def unresolved(pairs: set[tuple[str, str]]) -> list[str]:
    """The `module.name` of each pair Leoflow cannot serve."""
    missing = []
    for mod, name in sorted(pairs):
        try:
            module = importlib.import_module(mod)
            if name and name != "*" and not hasattr(module, name):
                importlib.import_module(f"{mod}.{name}")
        except BaseException:  # noqa: BLE001
            missing.append(f"{mod}.{name}" if name else mod)
    return missing


def main(shorts: list[str]) -> None:
    from leoflow.providers.names import package_of
    from leoflow.sdk import importhook

    importhook.install()
    for short in shorts:
        package = package_of(short)
        names = modules_of(package)
        failed = {}
        for name in names:
            try:
                importlib.import_module(name)
            except BaseException as exc:  # noqa: BLE001 - a provider module may raise anything at import
                tb = traceback.extract_tb(exc.__traceback__)
                where = next((f"{f.filename.rsplit('/airflow/', 1)[-1]}:{f.lineno}" for f in reversed(tb)
                              if "/airflow/providers/" in f.filename), "")
                failed[name] = f"{type(exc).__name__}: {exc} [{where}]"[:400]
        pairs: set[tuple[str, str]] = set()
        for name in names:
            spec = importlib.util.find_spec(name)
            if spec is not None and spec.origin:
                pairs |= airflow_imports(spec.origin)
        print(json.dumps({"provider": short, "modules": len(names), "imported": len(names) - len(failed),
                          "failed": failed, "deep_imports": len(pairs), "deep_missing": unresolved(pairs)}),
              flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
