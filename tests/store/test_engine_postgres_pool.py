"""A server's Postgres pool keeps its connections: a burst of concurrent requests reuses them instead of
starting a Postgres backend per request (connecting costs more than most of a task's statements)."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text

from tests.services import postgres_schema_url

FERNET_KEY = "kqgO6F1tZ5UeyVZQ5U1qg5mZK8d1ZOVZ6iL8cQ2JZ2o="


def _backends_used(engine, workers: int, rounds: int) -> set[int]:
    """Postgres backend pids seen by `workers` threads that each hold a connection at once, `rounds` times."""
    pids: set[int] = set()
    lock = threading.Lock()
    barrier = threading.Barrier(workers)

    def work():
        for _ in range(rounds):
            with engine.connect() as conn:
                pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
                barrier.wait(timeout=30)  # every worker holds its connection at the same time
            with lock:
                pids.add(pid)
            barrier.wait(timeout=30)  # all returned before the next round takes them again

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return pids


def _services(tmp_path, database_url):
    from leoflow import config
    from leoflow.services import open_services

    settings = config.load(home=tmp_path / "home", dags_folder=tmp_path / "dags", database_url=database_url,
                           fernet_key=FERNET_KEY, secret_key="pool-test")
    return settings, open_services(settings, mode="server")


def test_a_burst_of_concurrent_requests_reuses_the_servers_connections(tmp_path):
    with postgres_schema_url() as url:
        settings, services = _services(tmp_path, url)
        try:
            assert (settings.database_pool_size, settings.database_max_overflow) == (20, 5)
            used = _backends_used(services.engine, workers=12, rounds=5)
            # With a pool that kept fewer than 12, every round after the first opened new backends (5 kept:
            # 5 + 7 × 5 = 40 backends).
            assert len(used) == 12
        finally:
            services.engine.dispose()


def test_the_pool_size_comes_from_airflows_setting_and_nonsense_stops_the_start(tmp_path, monkeypatch):
    from leoflow import config

    monkeypatch.setenv("AIRFLOW__DATABASE__SQL_ALCHEMY_POOL_SIZE", "3")
    monkeypatch.setenv("AIRFLOW__DATABASE__SQL_ALCHEMY_MAX_OVERFLOW", "0")
    with postgres_schema_url() as url:
        _settings, services = _services(tmp_path, url)
        try:
            assert services.engine.pool.size() == 3
            used = _backends_used(services.engine, workers=3, rounds=3)
            assert len(used) == 3
        finally:
            services.engine.dispose()
    for name, value in (("LEOFLOW_DATABASE_POOL_SIZE", "0"), ("LEOFLOW_DATABASE_MAX_OVERFLOW", "-1"),
                        ("LEOFLOW_DATABASE_POOL_SIZE", "many")):
        monkeypatch.setenv(name, value)
        with pytest.raises(SystemExit, match="(?i)pool_size|max_overflow"):
            config.load(home=tmp_path / "home2")
        monkeypatch.delenv(name)
