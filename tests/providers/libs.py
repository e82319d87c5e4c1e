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


SDIST_BACKEND = '''
"""A build backend of the test's own (no requirements, so the build needs no index): one module."""
import os
import zipfile

NAME, STEM, VERSION = {name!r}, {stem!r}, {version!r}
DIST = f"{{STEM}}-{{VERSION}}.dist-info"
METADATA = f"Metadata-Version: 2.1\\nName: {{NAME}}\\nVersion: {{VERSION}}\\n"


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    os.makedirs(os.path.join(metadata_directory, DIST))
    with open(os.path.join(metadata_directory, DIST, "METADATA"), "w") as f:
        f.write(METADATA)
    return DIST


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    name = f"{{STEM}}-{{VERSION}}-py3-none-any.whl"
    files = {{f"{{STEM}}.py": "BUILT_FROM_SOURCE = True\\n", f"{{DIST}}/METADATA": METADATA,
             f"{{DIST}}/WHEEL": "Wheel-Version: 1.0\\nGenerator: test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n"}}
    files[f"{{DIST}}/RECORD"] = "".join(f"{{n}},,\\n" for n in [*files, f"{{DIST}}/RECORD"])
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w") as zf:
        for member, text in files.items():
            zf.writestr(member, text)
    return name
'''


def sdist(folder: Path, name: str, version: str = "1.0") -> Path:
    """A source distribution only (no wheel): `name==version`, whose in-tree backend builds `module.py`."""
    import io
    import tarfile

    folder.mkdir(parents=True, exist_ok=True)
    stem = name.replace("-", "_")
    files = {
        "pyproject.toml": '[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["."]\n',
        "backend.py": SDIST_BACKEND.format(name=name, stem=stem, version=version),
        "PKG-INFO": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
    }
    path = folder / f"{stem}-{version}.tar.gz"
    with tarfile.open(path, "w:gz") as tf:
        for member, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"{stem}-{version}/{member}")
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return path
