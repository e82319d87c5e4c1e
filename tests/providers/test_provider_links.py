"""Operator extra links in real runs under `leoflow lite`, read back through the REST API as the UI reads
them (GET .../taskInstances/{task_id}/links, `map_index` for a mapped one).

A provider's own link class (the Amazon provider's AthenaQueryResultsLink, which its operator persists
with `persist()` and resolves with `XCom.get_value(ti_key=...)`) and a link class defined in the DAG file.
Each try resolves its links in its own process and keeps them as `_link_<Class>` XComs, as Airflow 3 does.
"""

from __future__ import annotations

import json
import sys
import textwrap
import uuid

import pytest

from tests.e2e.lite_process import Lite

from . import provider_dags
from .servers import AthenaServer

LINKS_DAG = '''
from airflow.providers.amazon.aws.operators.athena import AthenaOperator
from airflow.sdk import DAG, BaseOperator, BaseOperatorLink
from airflow.sdk.execution_time.xcom import XCom


class TicketLink(BaseOperatorLink):
    name = "Ticket"

    def get_link(self, operator, *, ti_key):
        ticket = XCom.get_value(ti_key=ti_key, key="ticket")
        return f"https://tickets.example/{ticket}?run={ti_key.run_id}&try={ti_key.try_number}" if ticket else ""


class DocsLink(BaseOperatorLink):
    name = "Docs"

    def get_link(self, operator, *, ti_key):
        return f"https://docs.example/{operator.task_id}"


class Ticketed(BaseOperator):
    operator_extra_links = (TicketLink(), DocsLink())

    def __init__(self, ticket, **kwargs):
        super().__init__(**kwargs)
        self.ticket = ticket

    def execute(self, context):
        if self.ticket == "broken":
            raise RuntimeError("the ticket system is down")
        context["ti"].xcom_push(key="ticket", value=self.ticket)


with DAG("provider_links", schedule=None, default_args={"retries": 0}):
    AthenaOperator(task_id="athena", aws_conn_id="aws_test", query="SELECT 42", database="db",
                   output_location="s3://results/", sleep_time=1)
    Ticketed(task_id="single", ticket="T-1")
    Ticketed.partial(task_id="mapped").expand(ticket=["T-10", "T-11"])
    Ticketed(task_id="broken", ticket="broken")
'''


def _start(tmp_path, site, text: str, env: dict) -> Lite:
    """A lite from source with the providers of `site` on PYTHONPATH and this DAG file."""
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "provider_links.py").write_text(textwrap.dedent(text))
    (tmp_path / "home").mkdir()
    return Lite(tmp_path / "home", dags, command=[sys.executable, "-m", "leoflow"],
                env={"PYTHONPATH": str(site), **env}).start()


@pytest.mark.timeout(600)
def test_provider_and_dag_links_through_the_rest_api(tmp_path, cloud_site):
    with AthenaServer() as athena:
        env = {"AIRFLOW_CONN_AWS_TEST": json.dumps({
            "conn_type": "aws", "login": "AKIDLEOFLOWTEST", "password": "not-a-secret",
            "extra": {"region_name": "eu-west-3", "endpoint_url": f"http://127.0.0.1:{athena.port}"}})}
        lite = _start(tmp_path, cloud_site, LINKS_DAG, env)
        try:
            run_id = lite.trigger("provider_links", dag_run_id=f"links-{uuid.uuid4().hex[:6]}")["dag_run_id"]
            final = lite.wait_for_run("provider_links", run_id, timeout=120)
            tis = f"/api/v2/dags/provider_links/dagRuns/{run_id}/taskInstances"

            def links(task_id, **params):
                r = lite.api("GET", f"{tis}/{task_id}/links", params=params)
                assert r.status_code == 200, r.text
                return r.json()

            assert final["state"] == "failed", provider_dags.failure(lite, "provider_links", run_id)  # only `broken` fails
            # the provider's operator persisted its link's values, the try resolved it through the provider
            assert [c[0] for c in athena.calls][:2] == ["StartQueryExecution", "GetQueryExecution"], athena.calls
            assert athena.calls[0][1]["QueryString"] == "SELECT 42"
            assert links("athena") == {"extra_links": {
                "Query Results": "https://console.aws.amazon.com/athena/home?region=eu-west-3"
                                 "#/query-editor/history/q-1"}, "total_entries": 1}
            assert links("single") == {"extra_links": {
                "Docs": "https://docs.example/single",
                "Ticket": f"https://tickets.example/T-1?run={run_id}&try=1"}, "total_entries": 2}
            # a mapped task: each map index its own links, chosen by the query parameter
            for index, ticket in ((0, "T-10"), (1, "T-11")):
                assert links("mapped", map_index=index)["extra_links"]["Ticket"] == \
                    f"https://tickets.example/{ticket}?run={run_id}&try=1"
            # a failed try resolves its links too; one whose XCom was never pushed has no URL (null)
            assert links("broken") == {"extra_links": {"Docs": "https://docs.example/broken", "Ticket": None},
                                       "total_entries": 2}
            # the task's own description lists its link names, as Airflow's does
            task = lite.api("GET", "/api/v2/dags/provider_links/tasks/athena").json()
            assert task["extra_links"] == ["Query Results"]
            missing = lite.api("GET", f"{tis}/mapped/links", params={"map_index": 7})
            assert missing.status_code == 404, missing.text
            bad = lite.api("GET", f"{tis}/mapped/links", params={"map_index": "one"})
            assert bad.status_code == 422 and "map_index" in bad.text, bad.text
        finally:
            lite.stop()
