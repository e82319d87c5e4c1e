"""Airflow 3.2.1 `standalone`'s figures on this kind of machine (shared/airflow-3.2.1/timings.md) and the targets."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scenario:
    key: str
    title: str
    unit: str  # "s", "ms", "MB" or "x"
    airflow: float | None  # Airflow 3.2.1's median; None where it was not measured
    target: float | None  # Leoflow's target on a 2-core machine: the figure must be at most this
    airflow_note: str = ""
    higher_is_better: bool = False  # then the figure must be at least the target


SCENARIOS = {s.key: s for s in [
    Scenario("start_fresh", "start → health healthy (fresh home)", "s", 11.3, 0.5),
    Scenario("start_existing", "start → health healthy (existing home)", "s", 12.7, 0.3),
    Scenario("idle_pss", "idle memory, PSS over every process", "MB", 926.0, 120.0, "40 processes"),
    Scenario("idle_pss_after", "idle memory after the runs", "MB", 1640.0, None),
    Scenario("chain10", "chain10: 10 no-op @tasks, trigger → success", "s", 11.6, 0.3),
    Scenario("fan100", "fan100: start → 100 no-op tasks → join", "s", 16.7, 2.0),
    Scenario("xcom3", "xcom3: extract → transform → load with XCom", "s", 4.25, 0.15),
    Scenario("bash1", "bash1: one BashOperator `echo hello`", "s", 2.15, 0.1),
    Scenario("fan1000", "fan1000: start → 1,000 no-op tasks → join", "s", None, 15.0),
    Scenario("chain10_x10", "10 runs of chain10 at once", "s", None, 1.5),
    Scenario("new_dag", "new DAG file → 200 from GET /api/v2/dags/{id}", "s", 250.0, 0.5,
             "default settings (5.0 s with refresh_interval=5)"),
    Scenario("parse_many", "DAG folder of N DAGs: start → all parsed and listed", "s", None, 10.0),
    # GET /ui/dags where the build serves it, else GET /api/v2/dags (the figure's note names which).
    Scenario("ui_dags_p50", "the UI's DAG list, p50, with those DAGs", "ms", None, 30.0),
    Scenario("ui_dags_p99", "the UI's DAG list, p99, with those DAGs", "ms", None, 100.0),
    Scenario("sched_cpu_idle", "scheduler CPU per finished task, no other TIs", "ms", None, None),
    Scenario("sched_cpu_10k", "scheduler CPU per finished task, 10,000 unrunnable TIs", "ms", None, None),
    Scenario("sched_flat", "scheduler work per task: 10,000 unrunnable TIs ÷ none", "x", None, 2.0),
    Scenario("chain10_10k", "chain10 with 10,000 unrunnable TIs present", "s", None, None),
    Scenario("version", "`leoflow version`", "s", None, 0.3),
    # `leoflow server` on Postgres and Redis, local executor, beside lite in the same bench run.
    Scenario("server_chain10", "server: chain10", "s", 11.6, None, "Airflow standalone, SQLite"),
    Scenario("server_fan100", "server: fan100", "s", 16.7, None, "Airflow standalone, SQLite"),
    Scenario("server_xcom3", "server: xcom3", "s", 4.25, None, "Airflow standalone, SQLite"),
    Scenario("server_fan1000", "server: fan1000", "s", None, None),
    Scenario("server_chain10_x10", "server: 10 runs of chain10 at once", "s", None, None),
    Scenario("server_chain10_vs_lite", "server ÷ lite, chain10", "x", None, 1.5),
    Scenario("server_fan100_vs_lite", "server ÷ lite, fan100", "x", None, 1.5),
    Scenario("agents_local_per_task", "server, local executor: fan-out, wall time per task", "ms", None, None),
    Scenario("agents_per_task", "server + 2 agents (namespaces, TLS): fan-out, wall time per task", "ms", None, None),
    Scenario("agents_vs_local", "agents ÷ local executor, per task", "x", None, 2.0),
    Scenario("agents_job_to_running", "agents: job row written → try running, median", "ms", None, None),
    Scenario("server_throughput", "server scheduler: task instances queued per second, 10,000 ready", "TI/s",
             None, 200.0, higher_is_better=True),
]}
