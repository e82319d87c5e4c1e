"""HTTPS from Leoflow's own HTTP server, with a CA and certificates this test makes: the server's
certificate verifies against the CA and only against it, and with a client CA only clients holding a
certificate it signed are served, their subject reaching the app through the ASGI TLS extension."""

import socket
import ssl
import time

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from leoflow.http11 import Limits
from leoflow.httpserver import BackgroundServer
from leoflow.tls import server_context
from tests.pki import CA


async def scope(request):
    tls = request.scope.get("extensions", {}).get("tls")
    return JSONResponse({"scheme": request.scope["scheme"], "url": str(request.url),
                         "tls": None if tls is None else {k: v for k, v in tls.items() if k != "client_cert_chain"},
                         "chain": len(tls["client_cert_chain"]) if tls else None,
                         "body": len(await request.body())})


APP = Starlette(routes=[Route("/scope", scope, methods=["GET", "POST"])])


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pki")
    server_ca, client_ca, stranger_ca = CA(folder, "server-ca"), CA(folder, "client-ca"), CA(folder, "stranger-ca")
    return {"server_ca": server_ca, "client_ca": client_ca, "server": server_ca.issue("leoflow-server", server=True),
            "client": client_ca.issue("agent-1", server=False),
            "stranger": stranger_ca.issue("intruder", server=False)}


def client_context(pki, cert=None, **versions) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(pki["server_ca"].pem))
    for name, version in versions.items():
        setattr(context, name, version)
    if cert is not None:
        context.load_cert_chain(*map(str, cert))
    return context


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1:DeprecationWarning")  # the refused client
def test_https_verifies_with_the_ca_and_the_app_sees_https(pki):
    srv = BackgroundServer(APP, ssl_context=server_context(*pki["server"])).start()
    try:
        with httpx.Client(verify=client_context(pki)) as client:
            body = client.post(f"https://127.0.0.1:{srv.port}/scope", content=b"x" * 300_000).json()
            assert body["scheme"] == "https" and body["url"] == f"https://127.0.0.1:{srv.port}/scope"
            assert body["body"] == 300_000
            assert body["tls"] == {"server_cert": None, "client_cert_name": None, "client_cert_error": None,
                                   "tls_version": 0x0304, "cipher_suite": None}
            assert client.get(f"https://localhost:{srv.port}/scope").status_code == 200  # the other name
        tls12 = client_context(pki, maximum_version=ssl.TLSVersion.TLSv1_2)
        with httpx.Client(verify=tls12) as client:
            assert client.get(f"https://127.0.0.1:{srv.port}/scope").json()["tls"]["tls_version"] == 0x0303
        tls11 = client_context(pki, minimum_version=ssl.TLSVersion.TLSv1, maximum_version=ssl.TLSVersion.TLSv1_1)
        tls11.set_ciphers("ALL:@SECLEVEL=0")
        with pytest.raises(httpx.ConnectError), httpx.Client(verify=tls11) as client:
            client.get(f"https://127.0.0.1:{srv.port}/scope")
        assert server_context(*pki["server"]).minimum_version == ssl.TLSVersion.TLSv1_2
    finally:
        srv.stop()


def test_a_client_that_does_not_trust_the_ca_is_refused(pki):
    srv = BackgroundServer(APP, ssl_context=server_context(*pki["server"])).start()
    try:
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"), httpx.Client() as client:
            client.get(f"https://127.0.0.1:{srv.port}/scope")  # the system's CAs only
        with pytest.raises(httpx.HTTPError):  # plain HTTP to the TLS port is not answered as HTTP
            httpx.get(f"http://127.0.0.1:{srv.port}/scope", timeout=5)
        with httpx.Client(verify=client_context(pki)) as client:  # the server goes on
            assert client.get(f"https://127.0.0.1:{srv.port}/scope").status_code == 200
    finally:
        srv.stop()


def test_with_a_client_ca_only_clients_with_its_certificates_are_served(pki):
    context = server_context(*pki["server"], client_ca=pki["client_ca"].pem)
    assert context.verify_mode == ssl.CERT_REQUIRED
    srv = BackgroundServer(APP, ssl_context=context).start()
    url = f"https://127.0.0.1:{srv.port}/scope"
    try:
        for refused in (None, pki["stranger"]):  # no certificate; one another CA signed
            with pytest.raises(httpx.HTTPError), httpx.Client(verify=client_context(pki, refused)) as client:
                client.get(url)
        with httpx.Client(verify=client_context(pki, pki["client"])) as client:
            body = client.get(url).json()
        assert body["tls"]["client_cert_name"] == "CN=agent-1,O=Leoflow tests" and body["chain"] == 1
    finally:
        srv.stop()


def test_refusals_are_answered_over_tls_too(pki):
    srv = BackgroundServer(APP, limits=Limits(max_body=1000), ssl_context=server_context(*pki["server"])).start()
    try:
        with httpx.Client(verify=client_context(pki)) as client:
            url = f"https://127.0.0.1:{srv.port}/scope"
            refused = client.post(url, content=b"x" * 200_000)
            assert refused.status_code == 413 and refused.json() == {"detail": "The request body is larger than 1000 "
                                                                               "bytes"}
            assert client.post(url, content=b"x" * 1000).json()["body"] == 1000
    finally:
        srv.stop()


def test_a_tls_handshake_that_never_comes_is_cut_off(pki):
    srv = BackgroundServer(APP, limits=Limits(head_timeout=0.5), ssl_context=server_context(*pki["server"])).start()
    try:
        with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as s:
            started = time.monotonic()
            try:
                assert s.recv(100) == b""
            except ConnectionResetError:
                pass
            assert time.monotonic() - started < 3
    finally:
        srv.stop()


def test_unusable_certificate_files_are_named(pki, tmp_path):
    with pytest.raises(ValueError, match="missing.crt"):
        server_context(tmp_path / "missing.crt", pki["server"][1])
    with pytest.raises(ValueError, match="leoflow-server.crt"):  # a key that does not match the certificate
        server_context(pki["server"][0], pki["client"][1])
    with pytest.raises(ValueError, match="client CA file .*nothing.pem"):
        server_context(*pki["server"], client_ca=tmp_path / "nothing.pem")
