"""SubprocessHook: run a command, log its output, keep its last line."""

from __future__ import annotations

from collections import namedtuple

from leoflow.sdk.connection import BaseHook
from leoflow.sdk.operators.bash import run_command

SubprocessResult = namedtuple("SubprocessResult", ["exit_code", "output"])


class SubprocessHook(BaseHook):
    def __init__(self, **kwargs) -> None:
        self.sub_process = None

    def run_command(self, command: list[str], env: dict[str, str] | None = None, output_encoding: str = "utf-8",
                    cwd: str | None = None) -> SubprocessResult:
        code, last = run_command(command, env, cwd)
        return SubprocessResult(exit_code=code, output=last)

    def send_sigterm(self) -> None:
        pass
