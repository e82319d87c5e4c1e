import os
import stat

import jwt
from leoflow import config
from leoflow.api import auth

from .conftest import PASSWORD


def test_api_needs_a_token(anon):
    resp = anon.get("/api/v2/dags")
    assert resp.status_code == 401
    assert resp.json() == {"detail": "Not authenticated"}


def test_health_and_version_are_public(anon):
    assert anon.get("/api/v2/monitor/health").status_code == 200
    assert anon.get("/api/v2/version").json() == {"version": "3.2.1", "git_version": None}


def test_token_flow_json_and_form(anon, services):
    resp = anon.post("/auth/token", json={"username": "admin", "password": PASSWORD})
    assert resp.status_code == 201
    token = resp.json()["access_token"]
    assert list(resp.json()) == ["access_token"]
    claims = jwt.decode(token, services.settings.secret("jwt"), algorithms=["HS256"], audience="apache-airflow")
    assert claims["sub"] == "admin" and claims["role"] == "admin" and claims["exp"] > claims["iat"]
    assert anon.get("/api/v2/dags", headers={"Authorization": f"Bearer {token}"}).status_code == 200

    form = anon.post("/auth/token", data={"username": "admin", "password": PASSWORD})
    assert form.status_code == 201
    # The UI sends the token as the `_token` cookie.
    anon.cookies.set("_token", form.json()["access_token"])
    assert anon.get("/api/v2/dags").status_code == 200


def test_wrong_credentials(anon):
    resp = anon.post("/auth/token", json={"username": "admin", "password": "nope"})
    assert resp.status_code == 401
    assert resp.json() == {"detail": "Invalid credentials"}
    resp = anon.post("/auth/token", json={"username": "admin"})
    assert resp.status_code == 422
    assert resp.json()["detail"][0]["loc"] == ["body", "password"]


def test_bad_and_foreign_tokens_are_refused(anon, services):
    assert anon.get("/api/v2/dags", headers={"Authorization": "Bearer junk"}).status_code == 403
    # A task's execution-API token (no audience, sub = TI id) is not a user token.
    task_token = jwt.encode({"sub": "0192-ti", "exp": 2**33, "iat": 1}, services.settings.secret("jwt"),
                            algorithm="HS256")
    assert anon.get("/api/v2/dags", headers={"Authorization": f"Bearer {task_token}"}).status_code == 403
    expired = jwt.encode({"sub": "admin", "role": "admin", "aud": "apache-airflow", "exp": 10, "iat": 1},
                         services.settings.secret("jwt"), algorithm="HS256")
    resp = anon.get("/api/v2/dags", headers={"Authorization": f"Bearer {expired}"})
    assert resp.status_code == 401 and resp.json() == {"detail": "Token Expired"}


def test_admin_password_generated_once_and_private(tmp_path, monkeypatch):
    monkeypatch.delenv("LEOFLOW_ADMIN_PASSWORD", raising=False)
    settings = config.load(home=tmp_path, dags_folder=tmp_path / "dags")
    settings.admin_password = None
    first = auth.ensure_admin_password(settings)
    assert first and auth.ensure_admin_password(settings) == first
    path = tmp_path / "admin-password.txt"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    settings.admin_password = "from-env"
    assert auth.ensure_admin_password(settings) == "from-env"


def test_password_hash_roundtrip():
    stored = auth.hash_password("pw")
    assert b"pw" not in stored
    assert auth.password_matches(stored.hex(), "pw") and not auth.password_matches(stored.hex(), "pW")
    assert auth.is_own_hash(stored.hex())


# --- users and roles from config, the login page, logout, refresh, permissions ---------------------

import datetime as dt  # noqa: E402
import json  # noqa: E402

import pytest  # noqa: E402
from leoflow.api import permissions  # noqa: E402
from leoflow.store.tables import log as audit_log  # noqa: E402
from leoflow.store.tables import revoked_token  # noqa: E402
from sqlalchemy import select  # noqa: E402

from .conftest import make_client  # noqa: E402

USERS = "admin:admin,olga:op,uma:user,vic:viewer"


@pytest.fixture
def team(services, monkeypatch):
    """The same installation with four users, one per role; name -> logged-in client."""
    monkeypatch.setenv("LEOFLOW_SIMPLE_AUTH_MANAGER_USERS", USERS)
    passwords = auth.user_passwords(services.settings, ["olga", "uma", "vic"])
    clients = {}
    with make_client(services) as c:
        c.app_services = services
        for name in ("admin", "olga", "uma", "vic"):
            pw = PASSWORD if name == "admin" else passwords[name]
            resp = c.post("/auth/token", json={"username": name, "password": pw})
            assert resp.status_code == 201, (name, resp.text)
            clients[name] = {"Authorization": f"Bearer {resp.json()['access_token']}"}
        yield c, clients


def test_users_from_config_get_generated_private_passwords(services, monkeypatch):
    monkeypatch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS", "admin:admin,ann:viewer")
    authenticator = auth.Authenticator(services.settings, services.engine)
    assert {n: r for n, (_, r) in authenticator.users.items()} == {"admin": "admin", "ann": "viewer"}
    path = services.settings.home / auth.USER_PASSWORDS_FILE
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    saved = json.loads(path.read_text())
    assert set(saved) == {"ann"} and len(saved["ann"]) >= 12
    assert authenticator.login("ann", saved["ann"]).role == "viewer"
    # Only hashes in memory, never the password itself.
    stored = authenticator.users["ann"][0]
    assert saved["ann"] not in stored and saved["ann"].encode().hex() not in stored
    # A second start keeps the same password.
    assert auth.user_passwords(services.settings, ["ann"]) == {"ann": saved["ann"]}


@pytest.mark.parametrize("bad", ["admin", "admin:root", ":viewer", "admin:admin,bob"])
def test_bad_users_setting_is_a_clear_error(services, monkeypatch, bad):
    monkeypatch.setenv("LEOFLOW_SIMPLE_AUTH_MANAGER_USERS", bad)
    with pytest.raises(SystemExit, match="simple_auth_manager_users"):
        auth.configured_users(services.settings)


def test_roles_get_403_where_airflow_refuses_them(team):
    c, h = team
    # Everyone may read DAGs; only user and up may trigger.
    for name in ("admin", "olga", "uma", "vic"):
        assert c.get("/api/v2/dags", headers=h[name]).status_code == 200, name
    resp = c.patch("/api/v2/dags/xcom3", json={"is_paused": True}, headers=h["vic"])
    assert resp.status_code == 403
    assert "viewer" in resp.json()["detail"] and "PATCH" in resp.json()["detail"]
    assert c.patch("/api/v2/dags/xcom3", json={"is_paused": True}, headers=h["uma"]).status_code == 200
    # Variables hold secrets: op and admin only, even to read.
    assert c.get("/api/v2/variables", headers=h["uma"]).status_code == 403
    assert c.get("/api/v2/variables", headers=h["olga"]).status_code == 200
    # A viewer reads the UI's own endpoints.
    assert c.get("/ui/config", headers=h["vic"]).status_code == 200
    assert c.get("/ui/auth/me", headers=h["vic"]).json() == {"id": "vic", "username": "vic"}


def test_permission_table_matches_the_simple_auth_manager():
    need = permissions.required_role
    assert need("GET", "/api/v2/dags/{dag_id}") == "viewer"
    assert need("POST", "/api/v2/dags/{dag_id}/dagRuns") == "user"
    assert need("POST", "/api/v2/dags/{dag_id}/dagRuns/list") == "viewer"  # a read with a body
    assert need("POST", "/api/v2/dags/{dag_id}/clearTaskInstances") == "user"
    assert need("GET", "/api/v2/pools") == "viewer" and need("PATCH", "/api/v2/pools/{pool_name}") == "op"
    assert need("GET", "/api/v2/connections") == "op" and need("DELETE", "/api/v2/variables/{variable_key}") == "op"
    assert need("POST", "/api/v2/assets/events") == "op"
    assert need("DELETE", "/api/v2/dags/{dag_id}/assets/queuedEvents") == "op"
    assert need("GET", "/api/v2/dags/{dag_id}/assets/queuedEvents") == "viewer"
    assert need("GET", "/ui/connections/hook_meta") == "op"
    assert need("GET", "/ui/grid/runs/{dag_id}") == "viewer"
    assert need("POST", "/ui/auth/token") == "viewer"


def test_login_page_sets_the_cookie_and_goes_to_next(anon, services):
    page = anon.get("/api/v2/auth/login", params={"next": "http://testserver/dags/xcom3"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert 'name="password"' in page.text and 'type="password"' in page.text
    wrong = anon.post("/api/v2/auth/login?next=/dags", data={"username": "admin", "password": "nope"})
    assert wrong.status_code == 401 and "Invalid username or password" in wrong.text
    assert "_token" not in wrong.cookies
    ok = anon.post("/api/v2/auth/login?next=http://testserver/dags/xcom3",
                   data={"username": "admin", "password": PASSWORD}, follow_redirects=False)
    assert ok.status_code == 303 and ok.headers["location"] == "http://testserver/dags/xcom3"
    cookie = ok.headers["set-cookie"]
    assert cookie.startswith("_token=") and "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
    assert PASSWORD not in cookie
    anon.cookies.set("_token", ok.cookies["_token"])
    assert anon.get("/ui/auth/me").json()["username"] == "admin"
    # Signed in already: the login page sends the browser straight on.
    again = anon.get("/api/v2/auth/login", params={"next": "/dags"}, follow_redirects=False)
    assert again.status_code == 307 and again.headers["location"] == "/dags"
    with services.engine.connect() as conn:
        events = [(r.event, r.owner) for r in conn.execute(select(audit_log.c.event, audit_log.c.owner))]
    assert ("login", "admin") in events and ("login_failed", "admin") in events
    assert not any(PASSWORD in str(r) for r in events)


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "javascript:alert(1)",
                                    "http://evil.example@testserver.evil/", "/\\evil.example"])
def test_login_refuses_to_send_users_elsewhere(anon, target):
    resp = anon.get("/api/v2/auth/login", params={"next": target})
    assert resp.status_code == 400 and resp.json() == {"detail": "Invalid or unsafe next URL"}
    resp = anon.post("/api/v2/auth/login", params={"next": target}, data={"username": "admin", "password": PASSWORD},
                     follow_redirects=False)
    assert resp.status_code == 400


def test_logout_revokes_the_token_and_clears_the_cookie(anon, services):
    ok = anon.post("/api/v2/auth/login?next=/", data={"username": "admin", "password": PASSWORD},
                   follow_redirects=False)
    token = ok.cookies["_token"]
    anon.cookies.set("_token", token)
    assert anon.get("/api/v2/dags").status_code == 200
    out = anon.get("/api/v2/auth/logout", follow_redirects=False)
    assert out.status_code == 307 and out.headers["location"] == "/api/v2/auth/login"
    assert '_token=""' in out.headers["set-cookie"] or "Max-Age=0" in out.headers["set-cookie"]
    # The old token no longer works, even as a Bearer token, and in a fresh process too.
    resp = anon.get("/api/v2/dags", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 401 and resp.json() == {"detail": "Token has been revoked"}
    fresh = auth.Authenticator(services.settings, services.engine)
    with pytest.raises(auth.HTTPError) as err:
        fresh.verify(token)
    assert err.value.status == 401
    with services.engine.connect() as conn:
        assert conn.execute(select(revoked_token.c.jti)).scalars().all()
        assert "logout" in conn.execute(select(audit_log.c.event)).scalars().all()


def test_ui_session_cookie_is_refreshed_past_half_its_life(anon, services):
    key = services.settings.secret("jwt")
    now = dt.datetime.now(dt.UTC)
    old = jwt.encode({"jti": "a" * 32, "aud": "apache-airflow", "sub": "admin", "role": "admin",
                      "iat": now - dt.timedelta(hours=20), "exp": now + dt.timedelta(hours=4)}, key,
                     algorithm="HS256")
    anon.cookies.set("_token", old)
    resp = anon.get("/api/v2/dags")
    assert resp.status_code == 200
    fresh = resp.cookies.get("_token")
    assert fresh and fresh != old
    claims = jwt.decode(fresh, key, algorithms=["HS256"], audience="apache-airflow")
    assert claims["exp"] - now.timestamp() > 23 * 3600
    # A Bearer token (a script's) is never swapped behind its back.
    resp = anon.get("/api/v2/dags", headers={"Authorization": f"Bearer {old}"})
    assert "_token" not in resp.cookies


def test_ui_token_endpoint(client):
    resp = client.post("/ui/auth/token", json={"token_type": "cli"})
    assert resp.status_code == 200
    assert resp.json()["token_type"] == "cli" and resp.json()["expires_in_seconds"] == 3600
    assert client.post("/ui/auth/token", json={"token_type": "forever"}).status_code == 422
    assert client.post("/ui/auth/token", json={}).json()["token_type"] == "api"


def _every_route(services):
    from leoflow.api.app import api_routes
    from starlette.routing import Route

    for route in api_routes(services):
        if isinstance(route, Route):
            for method in sorted(route.methods - {"HEAD"}):
                yield method, route.path


def test_every_route_needs_a_token_unless_public(anon, services):
    public = {("POST", "/auth/token"), ("GET", "/api/v2/monitor/health"), ("GET", "/api/v2/version"),
              ("GET", "/api/v2/auth/login"), ("POST", "/api/v2/auth/login"), ("GET", "/api/v2/auth/logout"),
              ("GET", "/livez"), ("GET", "/readyz"),  # probes
              ("GET", "/metrics")}  # its own token check (tests/api/test_probes.py)
    checked = 0
    for method, path in _every_route(services):
        url = path.replace("{", "").replace("}", "").replace(":path", "")
        resp = anon.request(method, url)
        if (method, path) in public:  # answers on its own terms (the login form's 401 is a wrong password)
            assert "Not authenticated" not in resp.text, (method, path)
            continue
        assert resp.status_code == 401, (method, path, resp.status_code, resp.text[:200])
        assert resp.json() == {"detail": "Not authenticated"}
        checked += 1
    assert checked > 100  # the whole API and /ui, not a sample


def test_a_viewer_may_change_nothing(team):
    c, h = team
    changed = 0
    for method, path in _every_route(c.app_services):
        if method in ("GET", "HEAD") or path.startswith("/auth") or path.startswith("/api/v2/auth"):
            continue
        expected = permissions.required_role(method, path)
        url = path.replace("{", "").replace("}", "")
        resp = c.request(method, url, headers=h["vic"], json={})
        if expected == "viewer":
            assert resp.status_code != 403, (method, path)
        else:
            assert resp.status_code == 403, (method, path, resp.status_code, resp.text[:200])
            changed += 1
    assert changed > 30


def test_login_page_escapes_what_it_echoes(anon):
    resp = anon.post("/api/v2/auth/login", params={"next": '/dags?x="><script>1</script>'},
                     data={"username": '<img src=x onerror=alert(1)>', "password": "x"})
    assert resp.status_code == 401
    assert "<img src=x" not in resp.text and "&lt;img src=x" in resp.text
    assert "<script>1</script>" not in resp.text


# --- users in the database: shared by every process, managed by `leoflow users` --------------------

def test_users_live_in_the_database_and_changes_reach_other_processes(services, monkeypatch):
    from leoflow.store import users

    monkeypatch.setattr(auth, "USERS_CACHE_SECONDS", 0.0)
    first = auth.Authenticator(services.settings, services.engine)
    second = auth.Authenticator(services.settings, services.engine)  # another replica on the same database
    assert first.login("admin", PASSWORD) is not None
    with services.engine.begin() as conn:
        row = users.get_user(conn, "admin")
        assert PASSWORD not in row.password_hash and len(row.password_hash) == 96  # hex of salt + scrypt
        users.create_user(conn, "dora", "viewer", auth.hash_password("dora-pw").hex())
    assert second.login("dora", "dora-pw").role == "viewer"
    token = first.issue(second.login("dora", "dora-pw"))
    assert second.verify(token).username == "dora"
    with services.engine.begin() as conn:
        users.update_user(conn, "dora", role="op")
    assert first.verify(token).role == "op"  # today's role, not the token's
    with services.engine.begin() as conn:
        users.delete_user(conn, "dora")
    with pytest.raises(auth.HTTPError) as refused:
        first.verify(token)
    assert refused.value.status == 403


def test_a_server_takes_the_admin_password_once(services, monkeypatch):
    services.settings.admin_password = "first-password"
    with services.engine.begin() as conn:
        conn.execute(auth.sa.text("DELETE FROM leoflow_user"))
    server = auth.Authenticator(services.settings, services.engine, server=True)
    assert server.login("admin", "first-password") is not None
    services.settings.admin_password = "second-password"
    again = auth.Authenticator(services.settings, services.engine, server=True)  # a restart with another value
    assert again.login("admin", "first-password") is not None and again.login("admin", "second-password") is None
    # Lite applies LEOFLOW_ADMIN_PASSWORD on every start, as before.
    lite = auth.Authenticator(services.settings, services.engine)
    assert lite.login("admin", "second-password") is not None


def test_a_server_without_an_admin_password_generates_one_and_logs_it_once(services, caplog):
    services.settings.admin_password = None
    with services.engine.begin() as conn:
        conn.execute(auth.sa.text("DELETE FROM leoflow_user"))
    with caplog.at_level("WARNING", logger="leoflow.auth"):
        server = auth.Authenticator(services.settings, services.engine, server=True)
        auth.Authenticator(services.settings, services.engine, server=True)
    created = [r.getMessage() for r in caplog.records if "generated password" in r.getMessage()]
    assert len(created) == 1
    password = created[0].split("generated password ")[1].split(";")[0]
    assert server.login("admin", password) is not None
    assert not (services.settings.home / auth.PASSWORD_FILE).exists() or \
        (services.settings.home / auth.PASSWORD_FILE).read_text().strip() != password  # no file in server mode
