"""A task's stdout, stderr and its subprocesses' output land in its log file, line by line."""

import json
import subprocess
import sys

SCRIPT = r'''
import os, subprocess, sys
from pathlib import Path
from leoflow.runner.logfile import TaskLog

with TaskLog(Path(sys.argv[1])):
    print("from print")
    os.write(2, "to stderr\nsecond, ünïcode".encode())
    subprocess.run(["echo", "from a subprocess"], check=True)
'''


def test_output_of_every_kind_becomes_log_lines(tmp_path):
    log = tmp_path / "attempt=1.log"
    subprocess.run([sys.executable, "-c", SCRIPT, str(log)], check=True, timeout=60)
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    by_logger = {}
    for e in entries:
        by_logger.setdefault(e["logger"], []).append((e["level"], e["event"]))
    assert sorted(by_logger["task.stdout"]) == [("info", "from a subprocess"), ("info", "from print")]
    assert by_logger["task.stderr"] == [("error", "to stderr"), ("error", "second, ünïcode")]
