"""The bench harness itself, in seconds: a tiny scenario set against a real lite process.

Timings are not asserted here (they belong to `make bench`); that each figure is
measured, written and compared with Airflow's is.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench import procfs
from bench.report import Figure, markdown

ROOT = Path(__file__).resolve().parents[2]


def test_pss_and_cpu_come_from_proc_for_a_process_tree():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert child.pid in procfs.tree(os.getpid())
        mb, count = procfs.tree_pss_mb(os.getpid())
        assert count >= 2 and mb > 5
        assert procfs.cpu_seconds(os.getpid()) > 0
    finally:
        child.kill()
        child.wait()


def test_a_figure_sits_beside_airflows_with_ratio_and_target():
    fig = Figure("bash1", "source", [0.3, 0.05, 0.086]).as_dict()
    assert (fig["min"], fig["median"], fig["max"]) == (0.05, 0.086, 0.3)
    assert fig["airflow"] == 2.15 and round(fig["ratio_vs_airflow"], 6) == 25.0
    assert fig["target"] == 0.1 and fig["target_met"] is True
    table = markdown([fig, Figure("bash1", "binary", [0.43]).as_dict()], "header")
    assert "| bash1: one BashOperator `echo hello` | source | 0.086 s (0.050 s – 0.300 s, 3) | 2.150 s | 25× |" in table
    assert "| binary | 0.430 s (0.430 s – 0.430 s, 1) | 2.150 s | 5× | ≤ 0.100 s | **no** |" in table


def test_quick_smoke_writes_results_for_each_scenario(tmp_path):
    out = subprocess.run([sys.executable, "-m", "bench", "--quick",
                          "--only", "version,start,bash1", "--out", str(tmp_path)],
                         cwd=ROOT, capture_output=True, text=True, timeout=180,
                         env={**os.environ, "LEOFLOW_BENCH_NO_BINARY": "1"})
    assert out.returncode == 0, out.stdout + out.stderr
    [result] = tmp_path.glob("*-quick.json")
    data = json.loads(result.read_text())
    keys = {(f["key"], f["target_label"]) for f in data["figures"]}
    assert {("version", "source"), ("start_fresh", "source"), ("start_existing", "source"),
            ("bash1", "source")} <= keys
    assert all(f["median"] > 0 for f in data["figures"])
    assert data["meta"]["commit"] and data["meta"]["quick"] is True
    table = result.with_suffix(".md").read_text()
    assert "start → health healthy (fresh home)" in table and "11.3 s" in table


def test_an_unknown_scenario_is_refused_by_name():
    out = subprocess.run([sys.executable, "-m", "bench", "--only", "chain11"], cwd=ROOT, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode != 0 and "chain11" in out.stderr


def test_tree_cpu_counts_reaped_children():
    before = procfs.tree_cpu_seconds(os.getpid())
    subprocess.run([sys.executable, "-c", "sum(i * i for i in range(3_000_000))"], check=True)
    assert procfs.tree_cpu_seconds(os.getpid()) - before > 0.05
