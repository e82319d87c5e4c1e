"""The same machinery against the real Postgres and Redis of the machine (pro mode's stores)."""

import datetime as dt

from leoflow.dagtest import test_dag as run_dag_once
from tests.services import postgres_schema_url, redis_url


def test_a_run_on_postgres_and_redis_reaches_success_with_xcom(dags_folder):
    with postgres_schema_url() as pg, redis_url() as rd:
        result = run_dag_once("example_etl", dags_folder, dt.datetime(2026, 1, 5, tzinfo=dt.timezone.utc),
                              database_url=pg, redis_url=rd, timeout=60)
        assert result.run_state == "success", result
        assert {t["task_id"]: t["state"] for t in result.tasks} == {
            "extract": "success", "transform": "success", "load": "success"}

        from sqlalchemy import create_engine, select

        from leoflow.store.engine import normalize_url
        from leoflow.store.tables import xcom

        engine = create_engine(normalize_url(pg))
        with engine.connect() as conn:
            value = conn.execute(select(xcom.c.value).where(xcom.c.task_id == "transform")).scalar()
        engine.dispose()
        assert value == {"rows": 200}
