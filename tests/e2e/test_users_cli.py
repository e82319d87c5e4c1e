"""`leoflow users ...` on the configured database (SQLite and Postgres), checked through the API's login."""

import json
import os
import subprocess
import sys

import pytest


def leoflow(*args, home, database_url=None):
    env = {"PATH": "/usr/bin:/bin", "LEOFLOW_HOME": str(home), "LEOFLOW_CONFIG": str(home / "none.toml")}
    if database_url:
        env["LEOFLOW_DATABASE_URL"] = database_url
    return subprocess.run([sys.executable, "-m", "leoflow", *args], capture_output=True, text=True, env=env,
                          timeout=60, stdin=subprocess.DEVNULL)


def test_users_create_list_reset_delete(tmp_path, database_url):
    home = tmp_path / "home"
    assert leoflow("migrate", home=home, database_url=database_url).returncode == 0
    made = leoflow("users", "create", "-u", "olga", "-r", "Op", "--use-random-password", "-e", "o@example.com",
                   home=home, database_url=database_url)
    assert made.returncode == 0, made.stderr
    password = made.stdout.strip().rsplit("password: ", 1)[1]
    again = leoflow("users", "create", "-u", "olga", "-r", "viewer", "-p", "x", home=home, database_url=database_url)
    assert again.returncode != 0 and "already exists" in again.stderr

    listed = json.loads(leoflow("users", "list", "-o", "json", home=home, database_url=database_url).stdout)
    assert [(u["username"], u["role"], u["email"]) for u in listed] == [("olga", "op", "o@example.com")]

    from leoflow import config
    from leoflow.api.auth import Authenticator
    from leoflow.store.engine import make_engine

    os.environ.pop("LEOFLOW_ADMIN_PASSWORD", None)
    settings = config.load(home=home, database_url=database_url)
    engine = make_engine(database_url)
    try:
        auth = Authenticator(settings, engine, server=True)
        assert auth.login("olga", password).role == "op"
        assert leoflow("users", "reset-password", "-u", "olga", "-p", "new-secret", home=home,
                       database_url=database_url).returncode == 0
        auth._users_read = float("-inf")
        assert auth.login("olga", password) is None and auth.login("olga", "new-secret") is not None
        gone = leoflow("users", "delete", "-u", "olga", home=home, database_url=database_url)
        assert gone.returncode == 0
        auth._users_read = float("-inf")
        assert auth.login("olga", "new-secret") is None
        missing = leoflow("users", "delete", "-u", "olga", home=home, database_url=database_url)
        assert missing.returncode != 0 and "no user 'olga'" in missing.stderr
    finally:
        engine.dispose()


@pytest.mark.parametrize("bad, message", [(["-r", "root"], "is not one of Admin, Op, User, Viewer"),
                                          ([], "give --password or --use-random-password")])
def test_users_create_refuses_bad_input(tmp_path, bad, message):
    home = tmp_path / "home"
    assert leoflow("migrate", home=home).returncode == 0
    args = ["-r", "viewer", *bad] if "-r" not in bad else bad
    proc = leoflow("users", "create", "-u", "x", *args, home=home)
    assert proc.returncode != 0 and message in proc.stderr
