"""BashOperator: run a shell command; its last stdout line is the return value."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import tempfile
from typing import Any

from leoflow.sdk.baseoperator import BaseOperator
from leoflow.sdk.exceptions import AirflowException, AirflowSkipException

# Airflow logs command output under its subprocess hook's logger name.
_LOG = logging.getLogger("airflow.task.hooks.airflow.providers.standard.hooks.subprocess.SubprocessHook")


def context_to_env(context: dict) -> dict[str, str]:
    """The AIRFLOW_CTX_* variables Airflow exports to bash commands."""
    ti = context.get("ti")
    dag_run = context.get("dag_run")
    pairs = {
        "AIRFLOW_CTX_DAG_ID": getattr(ti, "dag_id", None),
        "AIRFLOW_CTX_TASK_ID": getattr(ti, "task_id", None),
        "AIRFLOW_CTX_LOGICAL_DATE": context.get("logical_date").isoformat() if context.get("logical_date") else None,
        "AIRFLOW_CTX_TRY_NUMBER": str(getattr(ti, "try_number", "")) or None,
        "AIRFLOW_CTX_DAG_RUN_ID": getattr(dag_run, "run_id", None) or context.get("run_id"),
        "AIRFLOW_CTX_DAG_OWNER": getattr(context.get("task"), "owner", None),
    }
    return {k: v for k, v in pairs.items() if v}


def run_command(command: list[str], env: dict[str, str] | None, cwd: str | None,
                log: logging.Logger = _LOG, on_start=None) -> tuple[int, str]:
    """Run `command`, log each output line, return (exit code, last line)."""
    with tempfile.TemporaryDirectory(prefix="leoflowtmp") as tmp:
        log.info("Tmp dir root location: %s", tempfile.gettempdir())
        log.info("Running command: %s", command)
        proc = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=cwd or tmp,
            env=env if env is not None else os.environ,
            # Own process group, so on_kill can stop the children too; in the task's session, so the
            # command is found and ended with its try even when every Leoflow process was killed.
            process_group=0,
        )
        if on_start is not None:
            on_start(proc)
        log.info("Output:")
        last = ""
        assert proc.stdout is not None
        for raw in iter(proc.stdout.readline, b""):
            last = raw.decode("utf-8", errors="backslashreplace").rstrip("\n")
            log.info("%s", last)
        proc.wait()
        log.info("Command exited with return code %s", proc.returncode)
        return proc.returncode, last


class BashOperator(BaseOperator):
    template_fields = ("bash_command", "env", "cwd")
    template_fields_renderers = {"bash_command": "bash", "env": "json"}
    template_ext = (".sh", ".bash")
    ui_color = "#f0ede4"

    def __init__(
        self,
        *,
        bash_command: str,
        env: dict[str, str] | None = None,
        append_env: bool = False,
        output_encoding: str = "utf-8",
        skip_on_exit_code: int | list[int] | None = 99,
        cwd: str | None = None,
        output_processor: Any = lambda output: output,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.bash_command = bash_command
        self.env = env
        self.append_env = append_env
        self.output_encoding = output_encoding
        if skip_on_exit_code is None:
            skip_on_exit_code = []
        elif isinstance(skip_on_exit_code, int):
            skip_on_exit_code = [skip_on_exit_code]
        self.skip_on_exit_code = list(skip_on_exit_code)
        self.cwd = cwd
        self.output_processor = output_processor
        self._proc_pgid: int | None = None

    def get_env(self, context: dict) -> dict[str, str]:
        env = self.env
        if env is None:
            env = dict(os.environ)
        elif self.append_env:
            env = {**os.environ, **env}
        return {**env, **context_to_env(context)}

    def execute(self, context: dict) -> Any:
        if self.cwd is not None:
            if not os.path.exists(self.cwd):
                raise AirflowException(f"Can not find the cwd: {self.cwd}")
            if not os.path.isdir(self.cwd):
                raise AirflowException(f"The cwd {self.cwd} must be a directory")
        code, last_line = run_command(
            ["/bin/bash", "-c", self.bash_command], self.get_env(context), self.cwd,
            on_start=lambda proc: setattr(self, "_proc_pgid", proc.pid),
        )
        if code in self.skip_on_exit_code:
            raise AirflowSkipException(f"Bash command returned exit code {code}. Skipping.")
        if code != 0:
            raise AirflowException(f"Bash command failed. The command returned a non-zero exit code {code}.")
        return self.output_processor(last_line)

    def on_kill(self) -> None:
        if self._proc_pgid:
            try:
                os.killpg(self._proc_pgid, signal.SIGTERM)
            except ProcessLookupError:
                pass
