"""The agents' pieces that need no server: bundles, names, versions, durations, the server URL check."""

from __future__ import annotations

import hashlib
import io
import os
import stat
import tarfile

import pytest

from leoflow.agents import admin, bundles, credentials
from leoflow.agents.client import check_server_url
from leoflow.agents.worker import load_credential, save_credential


def _folder(tmp_path):
    dags = tmp_path / "dags"
    (dags / "helpers").mkdir(parents=True)
    (dags / "a.py").write_text("import helpers.x\n")
    (dags / "helpers" / "x.py").write_text("X = 1\n")
    (dags / "__pycache__").mkdir()
    (dags / "__pycache__" / "a.cpython-311.pyc").write_bytes(b"junk")
    (dags / ".git").mkdir()
    (dags / ".git" / "HEAD").write_text("ref")
    os.symlink("/etc/passwd", dags / "link.py")
    return dags


def test_a_bundle_holds_the_folders_files_and_the_same_files_make_the_same_hash(tmp_path):
    dags = _folder(tmp_path)
    sha, data = bundles.build(dags)
    assert sha == hashlib.sha256(data).hexdigest()
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        assert sorted(tar.getnames()) == ["a.py", "helpers/x.py"]
    os.utime(dags / "a.py", (1, 1))  # times are not part of the content
    assert bundles.build(dags)[0] == sha
    (dags / "helpers" / "x.py").write_text("X = 2\n")
    assert bundles.build(dags)[0] != sha


def test_extracting_checks_the_hash_and_refuses_entries_that_leave_the_folder(tmp_path):
    sha, data = bundles.build(_folder(tmp_path))
    cache = tmp_path / "cache"
    with pytest.raises(ValueError, match="sha256"):
        bundles.extract(data + b"x", sha, cache)
    folder = bundles.extract(data, sha, cache)
    assert (folder / "helpers" / "x.py").read_text() == "X = 1\n"
    assert bundles.cached(cache, sha) == folder and bundles.cached(cache, "../" + sha) is None
    for name, kind in (("../escape.py", tarfile.REGTYPE), ("evil", tarfile.SYMTYPE)):
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            info = tarfile.TarInfo(name)
            info.type, info.linkname = kind, "/etc/passwd"
            tar.addfile(info, io.BytesIO(b""))
        bad = buf.getvalue()
        with pytest.raises(Exception):
            bundles.extract(bad, hashlib.sha256(bad).hexdigest(), cache)
    assert not (tmp_path / "escape.py").exists()


def test_names_queues_versions_and_durations_are_checked():
    assert credentials.name_problem("gpu-1") is None
    assert credentials.name_problem("../x") and credentials.name_problem("") and credentials.name_problem(3)
    assert credentials.parse_queues("a, b,a,,") == (["a", "b"], None)
    assert credentials.parse_queues("a;b")[1] and credentials.parse_queues(["ok", 3])[1]
    assert credentials.version_problem("0.2.9", "0.1.0") is None
    assert credentials.version_problem("0.0.1", "0.1.0") is None
    problem = credentials.version_problem("0.3.0", "0.1.0")
    assert "0.3.0" in problem and "0.1.0" in problem
    assert credentials.version_problem("1.1.0", "0.1.0")
    assert admin.parse_duration("90s").total_seconds() == 90 and admin.parse_duration("2d").days == 2
    for bad in ("1w", "-1h", "0s", "31d", True, "1h; drop"):
        with pytest.raises(admin.AdminError):
            admin.parse_duration(bad)
    assert credentials.digest("lfe_x") != credentials.digest("lfe_y")


def test_the_server_url_must_be_https_unless_insecure():
    assert check_server_url("https://h:8443/", False) == "https://h:8443"
    assert check_server_url("http://h:8080", True) == "http://h:8080"
    for url, insecure in (("http://h:8080", False), ("ftp://h", True), ("https://h:1/api", False), ("", False)):
        with pytest.raises(SystemExit):
            check_server_url(url, insecure)


def test_the_credential_file_is_private(tmp_path):
    save_credential(tmp_path, {"server": "https://h", "name": "a", "credential": "lfa_x"})
    assert stat.S_IMODE(os.stat(tmp_path / "credential.json").st_mode) == 0o600
    assert load_credential(tmp_path)["credential"] == "lfa_x"


def test_an_insecure_agents_tries_fetch_no_secret_over_plain_http_off_loopback(monkeypatch):
    from leoflow.runner.client import PLAIN_HTTP_SECRETS_ENV, ApiError, ExecutionClient

    monkeypatch.setenv(PLAIN_HTTP_SECRETS_ENV, "1")
    for path in ("connections/db", "variables/key"):
        with pytest.raises(ApiError) as refused:
            ExecutionClient("http://10.1.2.3:9/execution", "token").request("GET", path)
        assert refused.value.status == 403 and "--insecure" in str(refused.value)
    with pytest.raises(OSError):  # on loopback it is asked for (nothing listens on port 9 here)
        ExecutionClient("http://127.0.0.1:9/execution", "token", connect_patience=0).request("GET", "variables/key")


def test_the_publisher_tars_the_folder_only_when_it_changed_and_stores_each_bundle_once(tmp_path, monkeypatch):
    from sqlalchemy import create_engine, func, select

    from leoflow.store.tables import dag_bundle, metadata

    engine = create_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    metadata.create_all(engine, tables=[dag_bundle])
    dags = _folder(tmp_path)
    built = []
    real_build = bundles.build
    monkeypatch.setattr(bundles, "build", lambda folder: built.append(folder) or real_build(folder))
    monkeypatch.setattr(bundles, "SIGNATURE_TTL", 0.0)  # look at the folder on every call
    publisher = bundles.Publisher(engine, dags)
    first = publisher.current()
    with engine.begin() as conn:  # inside a caller's transaction (a run being made), as run creation does
        assert publisher.current(conn) == first
    assert publisher.current() == first and len(built) == 1  # unchanged: looked at, not tarred again
    (dags / "helpers" / "x.py").write_text("X = 22\n")
    with engine.begin() as conn:
        second = publisher.current(conn)
    assert second != first and len(built) == 2
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(dag_bundle)).scalar() == 2
        assert bundles.bundle_bytes(conn, first) == real_build_of(tmp_path, first, conn)
        assert bundles.bundle_bytes(conn, "../" + first) is None and bundles.bundle_bytes(conn, "0" * 64) is None


def real_build_of(tmp_path, sha, conn):
    """The stored bytes of `sha`, checked against their hash."""
    from leoflow.store import agents as store

    data = bytes(store.get_bundle(conn, sha))
    assert hashlib.sha256(data).hexdigest() == sha
    return data


def test_backoff_waits_grow_with_jitter_and_never_come_close_to_nothing():
    from leoflow.agents.client import Backoff

    backoff = Backoff(0.5, 30.0)
    waits = [backoff.next() for _ in range(12)]
    assert 0.25 <= waits[0] <= 0.5 and all(w >= 0.25 for w in waits)
    assert all(15.0 <= w <= 30.0 for w in waits[7:])  # capped, still jittered
    assert len({round(w, 6) for w in waits[7:]}) > 1
    backoff.reset()
    assert backoff.next() <= 0.5


def test_502_503_504_mean_briefly_unavailable_other_5xx_a_failure(tmp_path):
    """Behind a load balancer a replica that is gone answers 502/503/504: retried like a refused
    connection (nothing that could judge the agent is at work), not counted as the link being cut."""
    import http.server
    import threading

    from leoflow.agents.client import AgentClient, Unreachable

    statuses = iter([502, 503, 504, 500, 200])

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            self.rfile.read(int(self.headers.get("content-length") or 0))
            status = next(statuses)
            body = b'{"state": "active"}' if status == 200 else b"<html>Bad Gateway</html>"
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        client = AgentClient(f"http://127.0.0.1:{server.server_address[1]}", credential="lfa_x")
        for status in (502, 503, 504):
            with pytest.raises(Unreachable) as caught:
                client.request("POST", "/heartbeat", {"free_slots": 0})
            assert caught.value.down and "briefly unavailable" in str(caught.value) and str(status) in str(caught.value)
        with pytest.raises(Unreachable) as caught:
            client.request("POST", "/heartbeat", {"free_slots": 0})
        assert not caught.value.down and "500" in str(caught.value)
        assert client.request("POST", "/heartbeat", {"free_slots": 0}) == {"state": "active"}
    finally:
        server.shutdown()
