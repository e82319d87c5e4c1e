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


@pytest.mark.timeout(300)
def test_a_mutual_tls_server_runs_its_tasks_with_the_client_certificate_it_is_given(make_cluster, tmp_path):
    """With --tls-client-ca every client must present a certificate, the server's own tasks too: they
    present the one LEOFLOW_TLS_CLIENT_CERT/KEY name in the server's environment (without it they fail)."""
    ca = CA(tmp_path, "test-ca")
    cert, key = ca.issue("replica.internal", server=True, loopback=False)
    client_cert, client_key = ca.issue("replica-tasks", server=False)
    (replica,) = make_cluster(1, start=False)
    replica.args = ("--tls-cert", str(cert), "--tls-key", str(key), "--tls-client-ca", str(ca.pem))
    replica.env.update(LEOFLOW_TLS_CLIENT_CERT=str(client_cert), LEOFLOW_TLS_CLIENT_KEY=str(client_key))
    replica.base = f"https://127.0.0.1:{replica.port}"
    with_cert = ssl.create_default_context(cafile=str(ca.pem))
    with_cert.check_hostname = False
    with_cert.load_cert_chain(str(client_cert), str(client_key))
    replica.verify = with_cert
    replica.start()
    without_cert = ssl.create_default_context(cafile=str(ca.pem))
    without_cert.check_hostname = False
    with pytest.raises(httpx.HTTPError):  # a client without a certificate gets no answer
        httpx.get(f"{replica.base}/livez", timeout=5, verify=without_cert)
    engine = _engine(make_cluster.database_url)
    try:
        run_ids = trigger_runs([replica], 2)
        assert set(wait_finished(engine, run_ids, 120).values()) == {"success"}, replica.output()
        assert_each_try_ran_once(engine)
    finally:
        engine.dispose()
