"""A server that serves only HTTPS: its own tasks reach its Execution API over TLS, trusting exactly its
certificate (whose name need not be the loopback address they use)."""

from __future__ import annotations

import ssl

import httpx
import pytest

from tests.pki import CA
from tests.server.test_replicas import _engine, assert_each_try_ran_once, trigger_runs, wait_finished

pytestmark = [pytest.mark.postgres, pytest.mark.server]


@pytest.mark.timeout(300)
def test_a_tls_server_runs_its_tasks_over_tls(make_cluster, tmp_path):
    ca = CA(tmp_path, "test-ca")
    cert, key = ca.issue("replica.internal", server=True, loopback=False)  # not valid for 127.0.0.1
    (replica,) = make_cluster(1, start=False)
    replica.args = ("--tls-cert", str(cert), "--tls-key", str(key))
    replica.base = f"https://127.0.0.1:{replica.port}"
    client_context = ssl.create_default_context(cafile=str(ca.pem))
    client_context.check_hostname = False  # the test reaches it by address; the chain is still checked
    replica.verify = client_context
    replica.start()
    with pytest.raises(httpx.HTTPError):  # no plain HTTP beside it
        httpx.get(f"http://127.0.0.1:{replica.port}/livez", timeout=5)
    engine = _engine(make_cluster.database_url)
    try:
        run_ids = trigger_runs([replica], 2)
        assert set(wait_finished(engine, run_ids, 120).values()) == {"success"}, replica.output()
        assert_each_try_ran_once(engine)
    finally:
        engine.dispose()
