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
