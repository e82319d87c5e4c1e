"""Each scenario measures one thing a user feels, against a real `leoflow lite` process."""

from __future__ import annotations

import shutil
import statistics
import subprocess
import time
from pathlib import Path

from . import dagfiles, procfs
from .lite import Lite
from .report import Figure


class Context:
    """One build under test (source or binary), its scratch folder, and the repetitions asked for."""

    def __init__(self, label: str, command: list[str], work: Path, reps: int, quick: bool, log=print):
        self.label, self.command, self.work, self.reps, self.quick, self.log = label, command, work, reps, quick, log
        self.figures: list[Figure] = []
        self.errors: list[dict] = []
        self._homes = 0

    def new_home(self) -> Path:
        self._homes += 1
        return self.work / f"home{self._homes}"

    def add(self, key: str, samples: list[float], note: str = "", **extra) -> Figure:
        fig = Figure(key, self.label, [round(s, 4) for s in samples], note, extra)
        self.figures.append(fig)
        self.log(f"  {key:16} median {fig.median:.4g}  min {min(samples):.4g}  max {max(samples):.4g}"
                 f"  n={len(samples)} {note}")
        return fig


def starts(ctx: Context, dags: Path) -> Path:
    """Fresh home: nothing exists yet (schema created, admin user made). Existing home: a restart."""
    fresh, existing = [], []
    home = None
    for _ in range(ctx.reps):
        home = ctx.new_home()
        lite = Lite(ctx.command, home, dags)
        try:
            fresh.append(lite.start())
        finally:
            lite.stop()
    for _ in range(ctx.reps):
        lite = Lite(ctx.command, home, dags)
        try:
            existing.append(lite.start())
        finally:
            lite.stop()
    ctx.add("start_fresh", fresh)
    ctx.add("start_existing", existing)
    return home


def idle_memory(ctx: Context, lite: Lite, key: str = "idle_pss") -> None:
    samples, counts = [], []
    for _ in range(3):
        time.sleep(0.5)
        mb, n = procfs.tree_pss_mb(lite.pid)
        samples.append(mb)
        counts.append(n)
    ctx.add(key, samples, f"{max(counts)} processes")


TASKS = {"chain10": 10, "fan100": 102, "xcom3": 3, "bash1": 1, "fan1000": 1002}


def runs(ctx: Context, lite: Lite, dag_id: str, reps: int | None = None) -> None:
    """Also the CPU the whole tree spent per task: on a busy machine it moves less than the wall clock."""
    n = reps or ctx.reps
    cpu0 = procfs.tree_cpu_seconds(lite.pid)
    # A run of a big DAG on a machine others keep busy can take minutes.
    samples = [lite.run_to_end(dag_id, timeout=60 + 2 * TASKS[dag_id]) for _ in range(n)]
    cpu_ms = (procfs.tree_cpu_seconds(lite.pid) - cpu0) / (n * TASKS[dag_id]) * 1000
    ctx.add(dag_id, samples, f"{cpu_ms:.0f} ms CPU per task", cpu_ms_per_task=round(cpu_ms, 1))


def concurrent_chains(ctx: Context, lite: Lite, n: int = 10) -> None:
    samples = []
    for _ in range(ctx.reps):
        started = time.time()
        run_ids = [lite.trigger("chain10") for _ in range(n)]
        samples.append(lite.wait_runs("chain10", run_ids, started))
    ctx.add("chain10_x10", samples, f"{n} runs")


def new_dag_visible(ctx: Context, lite: Lite) -> None:
    samples = []
    for i in range(ctx.reps):
        dag_id = f"bench_new_{int(time.time() * 1000)}_{i}"
        t0 = time.perf_counter()
        dagfiles.write_new_dag(lite.dags, dag_id)
        lite.wait_until(lambda: lite.dag_visible(dag_id), 600, 0.01, f"new DAG {dag_id} visible")
        samples.append(time.perf_counter() - t0)
    ctx.add("new_dag", samples)


def scheduler_thread_cpu(pid: int) -> float:
    """CPU seconds of the thread lite names `scheduler` at the OS level (whole process if none is)."""
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            if (task / "comm").read_text().strip() == "scheduler":
                fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
                return (int(fields[11]) + int(fields[12])) / procfs.CLOCK_TICKS
        except OSError:
            continue
    return procfs.cpu_seconds(pid)


def _scheduler_cost(lite: Lite, runs_n: int) -> tuple[float, list[float]]:
    """Scheduler CPU per finished task over `runs_n` chain10 runs, one after another; and their times."""
    cpu0 = scheduler_thread_cpu(lite.pid)
    times = [lite.run_to_end("chain10") for _ in range(runs_n)]
    cpu = scheduler_thread_cpu(lite.pid) - cpu0
    return cpu / (10 * runs_n) * 1000.0, times


def scheduler_flat(ctx: Context, lite: Lite) -> None:
    """Work per finished task must not grow with task instances that cannot run (here: 10,000)."""
    rounds = 2 if ctx.quick else 4
    per_run = 3 if ctx.quick else 5
    idle = [_scheduler_cost(lite, per_run)[0] for _ in range(rounds)]
    dag_id = dagfiles.write_blocked(lite.dags)
    lite.wait_for_dags([dag_id], timeout=300)
    blocked_runs = [lite.trigger(dag_id) for _ in range(10)]

    def all_scheduled():
        total = 0
        for run_id in blocked_runs:
            r = lite.api("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances",
                         params={"state": "scheduled", "limit": 1})
            total += r.json().get("total_entries", 0)
        return total >= 10_000 and total

    waiting = lite.wait_until(all_scheduled, 300, 0.5, "10,000 blocked task instances scheduled")
    loaded, times = [], []
    for _ in range(rounds):
        ms, t = _scheduler_cost(lite, per_run)
        loaded.append(ms)
        times.extend(t)
    ctx.add("sched_cpu_idle", idle, f"{per_run} chain10 runs per sample")
    ctx.add("sched_cpu_10k", loaded, f"{waiting} scheduled TIs in a pool with no slots")
    ctx.add("chain10_10k", times)
    base = statistics.median(idle)
    ctx.add("sched_flat", [m / base if base else float("inf") for m in loaded],
            "scheduler thread CPU per finished task")


def many_dags(ctx: Context, count: int) -> None:
    """Start lite on a folder of `count` DAGs: time until every one is listed; then the DAG list's latency."""
    dags = ctx.work / f"many{count}"
    if not dags.exists():
        dagfiles.many_folder(dags, count)
    lite = Lite(ctx.command, ctx.new_home(), dags)
    try:
        t0 = time.perf_counter()
        lite.start()

        def listed():
            r = lite.api("GET", "/api/v2/dags", params={"limit": 1})
            return r.status_code == 200 and r.json()["total_entries"] >= count

        lite.wait_until(listed, 600, 0.05, f"{count} DAGs listed")
        ctx.add("parse_many", [time.perf_counter() - t0], f"{count} DAGs, from process start")
        path, params = "/ui/dags", {"limit": 50, "offset": 0}
        if lite.api("GET", path, params=params).status_code != 200:
            path = "/api/v2/dags"  # /ui/dags not served by this build: measure the public list instead
        latencies = []
        for _ in range(50 if ctx.quick else 300):
            t = time.perf_counter()
            r = lite.api("GET", path, params=params)
            latencies.append((time.perf_counter() - t) * 1000)
            r.raise_for_status()
        latencies.sort()
        p50 = latencies[len(latencies) // 2]
        p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
        note = f"GET {path}?limit=50, {count} DAGs, {len(latencies)} requests"
        ctx.add("ui_dags_p50", [p50], note)
        ctx.add("ui_dags_p99", [p99], note)
    finally:
        lite.stop()


def version(ctx: Context) -> None:
    samples = []
    for _ in range(max(ctx.reps, 3)):
        t0 = time.perf_counter()
        out = subprocess.run([*ctx.command, "version"], capture_output=True, text=True, timeout=60)
        samples.append(time.perf_counter() - t0)
        if out.returncode != 0:
            raise RuntimeError(f"leoflow version failed: {out.stderr}")
    ctx.add("version", samples, out.stdout.strip())


def server_runs(ctx: Context, fan1000: bool) -> None:
    """chain10, fan100, xcom3, fan1000 and 10 concurrent chain10 runs on `leoflow server` + Postgres + Redis.

    The ratios to lite come from runs taken in turn, a lite run and then a server run of the same DAG,
    with a lite started beside the server: on a shared 2-core machine the speed drifts by a third
    within minutes, and a ratio of figures taken minutes apart measured that drift more than the code."""
    from . import dagfiles
    from .server import Server, own_database, own_redis

    dags = dagfiles.main_folder(ctx.work / "server-dags", fan1000=fan1000, blocked=False)
    ids = [*dagfiles.REFERENCE_IDS, *(["fan1000"] if fan1000 else [])]
    with own_database() as database_url, own_redis() as redis_url:
        server = Server(ctx.command, ctx.work / "server-home", dags, database_url=database_url, redis_url=redis_url)
        lite = Lite(ctx.command, ctx.new_home(), dags)
        try:
            server.start()
            lite.start()
            server.wait_for_dags(ids, 300)
            lite.wait_for_dags(["chain10", "fan100"], 300)
            for dag_id in ("chain10", "fan100"):
                pairs = [(lite.run_to_end(dag_id, timeout=60 + 2 * TASKS[dag_id]),
                          server.run_to_end(dag_id, timeout=60 + 2 * TASKS[dag_id])) for _ in range(ctx.reps)]
                lite_s, server_s = [p[0] for p in pairs], [p[1] for p in pairs]
                ctx.add(f"server_{dag_id}", server_s)
                ctx.add(f"server_{dag_id}_vs_lite", [b / a for a, b in pairs],
                        f"{statistics.median(server_s):.2f} s ÷ {statistics.median(lite_s):.2f} s, runs in turn")
            lite.stop()
            ctx.add("server_xcom3", [server.run_to_end("xcom3", timeout=60 + 2 * TASKS["xcom3"])
                                     for _ in range(ctx.reps)])
            samples = []
            for _ in range(ctx.reps):
                started = time.time()
                samples.append(server.wait_runs("chain10", [server.trigger("chain10") for _ in range(10)], started))
            ctx.add("server_chain10_x10", samples, "10 runs")
            if fan1000:
                ctx.add("server_fan1000", [server.run_to_end("fan1000", timeout=600)
                                           for _ in range(2 if ctx.reps >= 5 else 1)])
        finally:
            lite.stop()
            server.stop()


def server_throughput(ctx: Context) -> None:
    from .server import own_database, own_redis, queueing_throughput

    samples = []
    for i in range(max(1, min(ctx.reps, 3))):
        with own_database() as database_url, own_redis() as redis_url:
            samples.append(queueing_throughput(database_url, redis_url, ctx.work / f"throughput-{i}"))
    ctx.add("server_throughput", samples, "scheduler on Postgres, an executor that runs nothing")


def cleanup(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def agents_runs(ctx: Context) -> None:
    """A fan-out on `leoflow server` with two agents, each in its own network namespace over TLS, against the
    same server's local executor (bench/agents.py). Needs root; from source only (the test harness's agents)."""
    import os
    import shutil

    if os.geteuid() != 0 or shutil.which("ip") is None:
        ctx.log("  agents           skipped: network namespaces need root and iproute2 (ip)")
        return
    if ctx.label != "source":
        ctx.log("  agents           skipped for the executable: measured from source")
        return
    from . import agents
    from .server import POSTGRES_URL

    os.environ.setdefault("LEOFLOW_TEST_POSTGRES_URL", POSTGRES_URL)
    tasks = 200 if ctx.quick else 1000
    try:
        results = agents.measure(tasks)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # the harness's pytest.skip/fail (e.g. no Postgres) is a finding, not a crash
        if isinstance(exc, Exception):
            raise
        raise RuntimeError(f"{type(exc).__name__}: {exc}") from exc
    local, remote = results["local"], results["agent"]
    ctx.add("agents_local_per_task", [local["per_task_ms"]], f"{tasks} mapped tasks, 16 slots")
    ctx.add("agents_per_task", [remote["per_task_ms"]], f"{tasks} mapped tasks, 2 agents of 8 slots")
    ctx.add("agents_vs_local", [remote["per_task_ms"] / local["per_task_ms"]],
            f"{remote['per_task_ms']:.1f} ms ÷ {local['per_task_ms']:.1f} ms")
    ctx.add("agents_job_to_running", [remote["job_to_running_ms"]["median"]],
            f"p95 {remote['job_to_running_ms']['p95']:.0f} ms")
