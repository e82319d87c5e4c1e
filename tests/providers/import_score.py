"""Run in a child interpreter: import every hook/operator/sensor/trigger module of the providers named
on the command line under Leoflow's import hook; print one JSON line per provider.

`python import_score.py common-sql postgres ...` with the providers on sys.path (PYTHONPATH).
"""

from __future__ import annotations

import importlib
import json
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
        print(json.dumps({"provider": short, "modules": len(names), "imported": len(names) - len(failed),
                          "failed": failed}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
