"""The login routes against hostile bodies: Leoflow's HTTP server gives them a small body limit (refused
before a byte is read), and a failed login's audit row keeps only the start of what was sent."""

import contextlib
import socket

import httpx
import sqlalchemy as sa
from starlette.applications import Starlette

from leoflow.api.app import api_routes
from leoflow.api.auth import AUDIT_USERNAME_LENGTH
from leoflow.httpserver import LOGIN_BODY_LIMIT, BackgroundServer, request_limits
from leoflow.store.tables import log

from .conftest import PASSWORD, make_client


@contextlib.contextmanager
def served(svc):
    app = Starlette(routes=api_routes(svc))
    app.state.services = svc
    srv = BackgroundServer(app, limits=request_limits(svc.settings)).start()
    try:
        yield srv
    finally:
        srv.stop()


def test_the_login_routes_refuse_a_big_body_before_reading_it(services):
    with served(services) as srv:
        with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as s:  # 300 MB announced, none sent
            s.sendall(b"POST /auth/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      b"Content-Length: 300000000\r\n\r\n")
            assert s.recv(100).startswith(b"HTTP/1.1 413 ")
        with httpx.Client(base_url=f"http://127.0.0.1:{srv.port}", timeout=10) as client:
            big = {"username": "u" * LOGIN_BODY_LIMIT, "password": "x"}
            token = client.post("/auth/token", json=big)
            assert token.status_code == 413
            assert token.json() == {"detail": f"The request body is larger than {LOGIN_BODY_LIMIT} bytes"}
            form = client.post("/api/v2/auth/login", params={"next": "/"}, data=big)
            assert form.status_code == 413
            assert client.post("/auth/token", json={"username": "admin", "password": PASSWORD}).status_code == 201
            # Other routes keep the larger default: this body reaches the app (which wants a token first).
            assert client.post("/api/v2/variables", content=b"x" * 1_000_000).status_code == 401


def test_a_failed_login_keeps_only_the_start_of_the_username(db_services):
    with make_client(db_services) as anon:
        sent = "u" * 10_000
        assert anon.post("/auth/token", json={"username": sent, "password": "x"}).status_code == 401
        form = anon.post("/api/v2/auth/login?next=/", data={"username": "f" * 5000, "password": "x"})
        assert form.status_code == 401
        assert anon.post("/auth/token", json={"username": "ann", "password": "x"}).status_code == 401
    with db_services.engine.connect() as conn:
        rows = conn.execute(sa.select(log.c.owner, log.c.owner_display_name, log.c.extra)
                            .where(log.c.event == "login_failed").order_by(log.c.id)).all()
    assert [(r.owner, r.owner_display_name) for r in rows] == [
        ("u" * AUDIT_USERNAME_LENGTH,) * 2, ("f" * AUDIT_USERNAME_LENGTH,) * 2, ("ann", "ann")]
    assert [r.extra for r in rows] == ['{"auth": "token", "username_length": 10000}',
                                       '{"auth": "form", "username_length": 5000}', '{"auth": "token"}']
