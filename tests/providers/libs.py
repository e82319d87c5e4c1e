"""Small wheels and DAG files of the tests' own, for the libraries-for-DAGs tests (from source and from
the single executable): installed with `--no-index --find-links`, so these tests need no index."""

from __future__ import annotations

import zipfile
from pathlib import Path


def wheel(folder: Path, name: str, version: str = "1.0", *, module: str | None = None, body: str = "",
          requires: tuple[str, ...] = ()) -> Path:
    """A pure-Python wheel `name==version` holding `module.py` (default: the name with underscores)."""
    folder.mkdir(parents=True, exist_ok=True)
    stem = name.replace("-", "_")
    module = module or stem
    dist = f"{stem}-{version}.dist-info"
    requirements = "".join(f"Requires-Dist: {r}\n" for r in requires)
    files = {
        f"{module}.py": body or f"VERSION = {version!r}\n",
        f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n{requirements}",
        f"{dist}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    files[f"{dist}/RECORD"] = "".join(f"{n},,\n" for n in [*files, f"{dist}/RECORD"])
    path = folder / f"{stem}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as zf:
        for member, text in files.items():
            zf.writestr(member, text)
    return path


# A DAG that imports a library at the top (the DAG processor needs it) and in its task (the task does).
LIBRARY_DAG = '''
import {module}
from airflow.sdk import DAG, task

with DAG("uses_{module}", schedule=None):
    @task
    def use():
        import {module} as again
        return again.VERSION

    use()
'''
