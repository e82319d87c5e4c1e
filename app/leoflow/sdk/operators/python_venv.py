"""Run a Python callable in another interpreter: a fresh virtualenv or an existing one.

The function's source is written to a script (decorators stripped), its
arguments and return value cross the process boundary with pickle (or
cloudpickle/dill when asked and installed), as Airflow does.
"""

from __future__ import annotations

import hashlib
import inspect
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import Any, Callable

from leoflow.sdk.exceptions import AirflowException, AirflowSkipException
from leoflow.sdk.operators.bash import run_command
from leoflow.sdk.operators.branch import BranchMixIn
from leoflow.sdk.operators.python import PythonOperator

_SCRIPT = '''
import pickle as __leoflow_pickle, sys as __leoflow_sys
{serializer_import}
{source}
with open(__leoflow_sys.argv[1], "rb") as __leoflow_in:
    __leoflow_args = {loader}.load(__leoflow_in)
__leoflow_result = {name}(*__leoflow_args["args"], **__leoflow_args["kwargs"])
with open(__leoflow_sys.argv[2], "wb") as __leoflow_out:
    {loader}.dump(__leoflow_result, __leoflow_out)
'''


def function_source(func: Callable) -> str:
    """The callable's source without its decorators."""
    try:
        source = textwrap.dedent(inspect.getsource(func))
    except (OSError, TypeError) as exc:
        raise AirflowException(f"cannot read the source of {func!r} to run it in another interpreter: {exc}")
    lines = source.splitlines()
    while lines and lines[0].lstrip().startswith("@"):
        # A decorator may span lines: drop until the def line.
        lines.pop(0)
        while lines and not lines[0].lstrip().startswith(("def ", "async def ", "@")):
            lines.pop(0)
    return "\n".join(lines) + "\n"


class _BasePythonVenvOperator(PythonOperator):
    template_fields = ("templates_dict", "op_args", "op_kwargs", "requirements", "index_urls", "env_vars")
    template_ext = (".txt",)

    def __init__(self, *, python_callable: Callable, serializer: str | None = None, op_args=None, op_kwargs=None,
                 string_args=None, templates_dict=None, templates_exts=None, expect_airflow: bool = True,
                 skip_on_exit_code=None, env_vars: dict | None = None, inherit_env: bool = True,
                 requirements=None, index_urls=None, **kwargs: Any) -> None:
        if not inspect.isfunction(python_callable) or python_callable.__name__ == "<lambda>":
            raise AirflowException("PythonVirtualenvOperator only supports functions for python_callable arg")
        super().__init__(python_callable=python_callable, op_args=op_args, op_kwargs=op_kwargs,
                         templates_dict=templates_dict, templates_exts=templates_exts, **kwargs)
        self.serializer = serializer or "pickle"
        if self.serializer not in ("pickle", "cloudpickle", "dill"):
            raise AirflowException(f"Unsupported serializer {self.serializer!r}. Expected one of pickle, cloudpickle, dill")
        self.string_args = list(string_args or [])
        self.expect_airflow = expect_airflow
        if skip_on_exit_code is None:
            skip_on_exit_code = []
        elif isinstance(skip_on_exit_code, int):
            skip_on_exit_code = [skip_on_exit_code]
        self.skip_on_exit_code = list(skip_on_exit_code)
        self.env_vars = env_vars
        self.inherit_env = inherit_env
        self.requirements = requirements
        self.index_urls = index_urls

    def _python(self) -> str:
        raise NotImplementedError

    def execute_callable(self, kwargs: dict) -> Any:
        import pickle

        serializer = pickle if self.serializer == "pickle" else __import__(self.serializer)
        python = self._python()
        with tempfile.TemporaryDirectory(prefix="leoflow-venv-run") as tmp:
            script = Path(tmp) / "script.py"
            script.write_text(_SCRIPT.format(
                serializer_import=("__leoflow_ser = __leoflow_pickle" if self.serializer == "pickle"
                               else f"import {self.serializer} as __leoflow_ser"),
                source=function_source(self.python_callable), name=self.python_callable.__name__,
                loader="__leoflow_ser"))
            in_path, out_path = Path(tmp) / "args.in", Path(tmp) / "result.out"
            # Only what the function asked for crosses over (the context itself does not pickle).
            wanted = set(inspect.signature(self.python_callable).parameters)
            plain = {k: v for k, v in kwargs.items() if k in wanted and k in self.op_kwargs}
            with open(in_path, "wb") as f:
                serializer.dump({"args": list(self.op_args), "kwargs": plain}, f)
            env = dict(os.environ) if self.inherit_env else {}
            env.update(self.env_vars or {})
            code, _ = run_command([python, str(script), str(in_path), str(out_path), *self.string_args], env, tmp,
                                  log=self.log)
            if code in self.skip_on_exit_code:
                raise AirflowSkipException(f"Process exited with code {code}. Skipping.")
            if code != 0:
                raise AirflowException(f"Process returned non-zero exit status {code}.")
            with open(out_path, "rb") as f:
                return serializer.load(f)


class PythonVirtualenvOperator(_BasePythonVenvOperator):
    """Runs the function in a virtualenv made for it (`python -m venv` + pip install)."""

    def __init__(self, *, python_callable: Callable, requirements=None, python_version: str | None = None,
                 system_site_packages: bool = True, pip_install_options: list[str] | None = None,
                 venv_cache_path=None, index_urls_from_connection_ids=None, python: str | None = None,
                 **kwargs: Any) -> None:
        if python_version and str(python_version)[0] != str(sys.version_info.major) and kwargs.get("op_args"):
            raise AirflowException("Passing op_args or op_kwargs is not supported across different Python major versions")
        if isinstance(requirements, str):
            requirements = [requirements]
        super().__init__(python_callable=python_callable, requirements=list(requirements or []), **kwargs)
        self.python_version = python_version
        self.system_site_packages = system_site_packages
        self.pip_install_options = list(pip_install_options or [])
        self.venv_cache_path = venv_cache_path
        # Leoflow's own: the interpreter that makes the virtualenv (a path or a name on PATH)
        self.python = python

    def _interpreter(self) -> str:
        """What makes the virtualenv: `python=`, else `python<python_version>` on PATH, else the Python
        Leoflow runs on; in the single executable (whose sys.executable is Leoflow itself) python3 or
        python on PATH."""
        import shutil

        if self.python:
            found = shutil.which(self.python)
            if not found:
                raise AirflowException(f"python={self.python!r}: no such interpreter (not a file, not on PATH)")
            return found
        if self.python_version:
            name = f"python{self.python_version}"
            found = shutil.which(name)
            if not found:
                raise AirflowException(f"python_version={self.python_version!r}: {name} is not on PATH; "
                                       "install it or pass python='/path/to/python'")
            return found
        if not getattr(sys, "frozen", False):
            return sys.executable
        found = shutil.which("python3") or shutil.which("python")
        if not found:
            raise AirflowException(
                "@task.virtualenv needs a Python to make the virtualenv with, and the single executable's own "
                "is not one: no python3 or python on PATH. Install Python (with its venv module) or pass "
                "python='/path/to/python' to the decorator")
        return found

    def _python(self) -> str:
        reqs = [r for r in (self.requirements or []) if r.strip()]
        if self.serializer != "pickle" and self.serializer not in " ".join(reqs):
            reqs.append(self.serializer)
        interpreter = self._interpreter()
        key = hashlib.sha1(repr((sorted(reqs), self.system_site_packages, self.python_version,
                                 interpreter)).encode()).hexdigest()[:12]
        base = Path(self.venv_cache_path) if self.venv_cache_path else Path(tempfile.gettempdir())
        venv = base / f"leoflow-venv-{key}"
        python = venv / "bin" / "python"
        if not (venv / ".ready").exists():
            args = [interpreter, "-m", "venv", str(venv)]
            if self.system_site_packages:
                args.append("--system-site-packages")
            try:
                subprocess.run(args, check=True, capture_output=True, text=True)
            except (OSError, subprocess.CalledProcessError) as exc:
                raise AirflowException(f"could not create a virtualenv with {interpreter}: {getattr(exc, 'stderr', exc)}")
            if reqs:
                code, _ = run_command([str(python), "-m", "pip", "install", *self.pip_install_options, *reqs],
                                      None, None, log=self.log)
                if code != 0:
                    raise AirflowException(f"pip install {reqs} failed with exit code {code}")
            (venv / ".ready").write_text("ok")
        return str(python)


class ExternalPythonOperator(_BasePythonVenvOperator):
    """Runs the function with an existing interpreter (`python=` path)."""

    template_fields = ("python", *_BasePythonVenvOperator.template_fields)

    def __init__(self, *, python: str, python_callable: Callable, expect_pendulum: bool = False, **kwargs: Any) -> None:
        if not python:
            raise ValueError("Python Path must be defined in ExternalPythonOperator")
        super().__init__(python_callable=python_callable, **kwargs)
        self.python = python
        self.expect_pendulum = expect_pendulum

    def _python(self) -> str:
        if not os.path.exists(self.python):
            raise ValueError(f"Python Path '{self.python}' must exists")
        return self.python


class BranchPythonVirtualenvOperator(PythonVirtualenvOperator, BranchMixIn):
    inherits_from_skipmixin = True

    def execute(self, context: dict) -> Any:
        return self.do_branch(context, super().execute(context))


class BranchExternalPythonOperator(ExternalPythonOperator, BranchMixIn):
    inherits_from_skipmixin = True

    def execute(self, context: dict) -> Any:
        return self.do_branch(context, super().execute(context))
