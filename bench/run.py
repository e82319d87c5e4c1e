"""`python -m bench`: run the scenarios against lite from source and from the single executable."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from . import dagfiles, procfs, scenarios
from .lite import Lite
from .report import markdown

ROOT = Path(__file__).resolve().parents[1]
ALL = ("version", "start", "idle", "chain10", "fan100", "xcom3", "bash1", "concurrent", "fan1000", "new_dag",
       "sched", "many", "server", "throughput", "agents")
OPT_IN = ("agents",)  # run only when --only names them (agents needs root: network namespaces)
RUN_DAGS = ("chain10", "fan100", "xcom3", "bash1")


def git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def parse_args(argv):
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("--quick", action="store_true", help="one repetition each, 50 DAGs instead of 500, no fan1000")
    p.add_argument("--reps", type=int, help="repetitions per timed scenario (default 5; 1 with --quick)")
    p.add_argument("--only", help=f"comma-separated scenarios out of: {','.join(ALL)} "
                                  f"({', '.join(OPT_IN)} only when named: needs root)")
    p.add_argument("--binary", help="the single executable to measure too (default: dist/leoflow if it exists)")
    p.add_argument("--no-source", action="store_true", help="measure only the executable")
    p.add_argument("--many", type=int, help="DAG files for the parse/list scenario (default 500; 50 with --quick)")
    p.add_argument("--out", default=str(ROOT / "bench" / "results"), help="folder for the JSON and Markdown")
    return p.parse_args(argv)


def guarded(ctx: scenarios.Context, name: str, fn, *args) -> None:
    """A scenario that fails or times out is reported, and the others still run."""
    try:
        fn(*args)
    except Exception as exc:  # noqa: BLE001 - any failure is a finding for the table
        message = str(exc).splitlines()[0][:200]
        ctx.errors.append({"scenario": name, "build": ctx.label, "error": message})
        ctx.log(f"  {name:16} FAILED: {message}")


def measure(ctx: scenarios.Context, chosen: set[str], many: int) -> None:
    if "version" in chosen:
        guarded(ctx, "version", scenarios.version, ctx)
    needs_lite = chosen & {"start", "idle", "concurrent", "fan1000", "new_dag", "sched", *RUN_DAGS}
    if needs_lite:
        dags = dagfiles.main_folder(ctx.work / "dags", fan1000="fan1000" in chosen, blocked=False)
        home = scenarios.starts(ctx, dags) if "start" in chosen else ctx.new_home()
        lite = Lite(ctx.command, home, dags)
        try:
            lite.start()
            lite.wait_for_dags([*dagfiles.REFERENCE_IDS, *(["fan1000"] if "fan1000" in chosen else [])], 300)
            if "idle" in chosen:
                guarded(ctx, "idle", scenarios.idle_memory, ctx, lite)
            for dag_id in RUN_DAGS:
                if dag_id in chosen:
                    guarded(ctx, dag_id, scenarios.runs, ctx, lite, dag_id)
            if "concurrent" in chosen:
                guarded(ctx, "concurrent", scenarios.concurrent_chains, ctx, lite)
            if "fan1000" in chosen:
                guarded(ctx, "fan1000", scenarios.runs, ctx, lite, "fan1000", 2 if ctx.reps >= 5 else 1)
            if "new_dag" in chosen:
                guarded(ctx, "new_dag", scenarios.new_dag_visible, ctx, lite)
            if "idle" in chosen:
                guarded(ctx, "idle", scenarios.idle_memory, ctx, lite, "idle_pss_after")
            if "sched" in chosen:
                guarded(ctx, "sched", scenarios.scheduler_flat, ctx, lite)
        finally:
            lite.stop()
    if "many" in chosen:
        guarded(ctx, "many", scenarios.many_dags, ctx, many)
    if "server" in chosen:
        guarded(ctx, "server", scenarios.server_runs, ctx, "fan1000" in chosen)
    if "throughput" in chosen:
        guarded(ctx, "throughput", scenarios.server_throughput, ctx)
    if "agents" in chosen:
        guarded(ctx, "agents", scenarios.agents_runs, ctx)


def main(argv=None) -> int:
    args = parse_args(argv)
    # A SIGTERM (e.g. from `timeout`) unwinds like Ctrl-C, so every lite process started here is stopped.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    chosen = set(args.only.split(",")) if args.only else set(ALL) - set(OPT_IN)
    unknown = chosen - set(ALL)
    if unknown:
        raise SystemExit(f"bench: unknown scenario(s) {sorted(unknown)}; choose from {','.join(ALL)}")
    if args.quick:
        chosen.discard("fan1000") if not args.only else None
    reps = args.reps or (1 if args.quick else 5)
    many = args.many or (50 if args.quick else 500)
    builds = []
    if not args.no_source:
        builds.append(("source", [sys.executable, "-m", "leoflow"]))
    default_binary = ROOT / "dist" / "leoflow"
    if not args.binary and default_binary.exists() and not os.environ.get("LEOFLOW_BENCH_NO_BINARY"):
        args.binary = str(default_binary)
    binary = args.binary
    if binary:
        if not os.access(binary, os.X_OK):
            raise SystemExit(f"bench: --binary {binary} is not an executable file")
        builds.append(("binary", [os.path.abspath(binary)]))
    if not builds:
        raise SystemExit("bench: nothing to measure (--no-source without a binary)")

    load_before = procfs.busy_cores(1.0)
    print(f"bench: {len(builds)} build(s), reps={reps}, scenarios={','.join(s for s in ALL if s in chosen)}; "
          f"machine busy on {load_before} of {os.cpu_count()} cores before start", flush=True)
    figures, errors = [], []
    with tempfile.TemporaryDirectory(prefix="leoflow-bench-") as tmp:
        for label, command in builds:
            print(f"[{label}] {' '.join(command)}", flush=True)
            ctx = scenarios.Context(label, command, Path(tmp) / label, reps, args.quick,
                                    log=lambda s: print(s, flush=True))
            ctx.work.mkdir(parents=True)
            measure(ctx, chosen, many)
            figures.extend(f.as_dict() for f in ctx.figures)
            errors.extend(ctx.errors)
    load_after = procfs.busy_cores(1.0)

    commit = git("rev-parse", "--short=10", "HEAD") or "unknown"
    if git("status", "--porcelain", "--untracked-files=no", "--", "app"):
        commit += "-dirty"
    now = dt.datetime.now(dt.UTC)
    meta = {"date": now.isoformat(timespec="seconds"), "commit": commit, "quick": args.quick, "reps": reps,
            "cores": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
            "busy_cores_before": load_before, "busy_cores_after": load_after,
            "airflow_reference": "shared/airflow-3.2.1/timings.md (Airflow 3.2.1 standalone, medians of 3)"}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = f"{now:%Y-%m-%d}-{commit}{'-quick' if args.quick else ''}"
    (out / f"{stem}.json").write_text(json.dumps({"meta": meta, "figures": figures, "errors": errors}, indent=1)
                                      + "\n")
    header = (f"Leoflow {commit}, {meta['date']}, {meta['cores']} cores (busy on {load_before} cores before, "
              f"{load_after} after, from other work); medians of {reps}{' (quick)' if args.quick else ''}.")
    table = markdown(figures, header)
    for e in errors:
        table += f"\n- **{e['scenario']}** ({e['build']}) did not complete: {e['error']}"
    table += "\n" if errors else ""
    (out / f"{stem}.md").write_text(table)
    print("\n" + table)
    print(f"bench: wrote {out / (stem + '.json')} and .md")
    missed = [f"{f['key']} ({f['target_label']})" for f in figures if f["target_met"] is False]
    print(f"bench: targets missed: {', '.join(missed)}" if missed else "bench: every target met")
    if errors:
        print(f"bench: scenarios that did not complete: {', '.join(e['scenario'] for e in errors)}")
    return 0  # a missed target is a finding to read in the table, not a failure of the harness
