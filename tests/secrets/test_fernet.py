"""Secrets at rest: the Fernet key in lite and server, a wrong or lost key stops the start, rotation."""

import json

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.testclient import TestClient

from leoflow import config
from leoflow.execution_api import tokens
from leoflow.execution_api.routes import execution_routes
from leoflow.secrets.fernet import KEY_FILE, Crypt, FernetKeyError
from leoflow.services import open_services
from leoflow.store import connections, variables
from leoflow.store.tables import connection, variable


def settings(tmp_path, database_url, **kw):
    return config.load(home=tmp_path / "home", dags_folder=tmp_path / "dags", database_url=database_url, **kw)


def store_secrets(services):
    with services.engine.begin() as conn:
        variables.put(conn, "db_password", "hunter22", crypt=services.crypt)
        connections.insert(conn, "pg", {"conn_type": "postgres", "password": "pw", "extra": '{"token": "t"}'},
                           crypt=services.crypt)


def test_lite_generates_a_private_key_and_reuses_it(tmp_path, database_url):
    first = open_services(settings(tmp_path, database_url))
    key_file = tmp_path / "home" / KEY_FILE
    assert key_file.stat().st_mode & 0o777 == 0o600
    store_secrets(first)
    first.engine.dispose()
    again = open_services(settings(tmp_path, database_url))
    with again.engine.connect() as conn:
        assert variables.value_of(variables.get(conn, "db_password"), again.crypt) == "hunter22"
        assert connections.clear(connections.get(conn, "pg"), again.crypt)["password"] == "pw"
    again.engine.dispose()


def test_values_are_not_stored_in_clear(tmp_path, database_url):
    services = open_services(settings(tmp_path, database_url))
    store_secrets(services)
    with services.engine.connect() as conn:
        var = conn.execute(select(variable)).first()
        con = conn.execute(select(connection)).first()
    assert var.is_encrypted and "hunter22" not in var.val
    assert con.is_encrypted and con.is_extra_encrypted and con.password != "pw" and "token" not in con.extra
    services.engine.dispose()


def test_a_wrong_key_is_a_clear_error_at_start(tmp_path, database_url):
    services = open_services(settings(tmp_path, database_url))
    store_secrets(services)
    services.engine.dispose()
    wrong = Fernet.generate_key().decode()
    with pytest.raises(FernetKeyError, match="cannot decrypt the stored secrets.*variable 'db_password'") as err:
        open_services(settings(tmp_path, database_url, fernet_key=wrong))
    assert isinstance(err.value, SystemExit)  # the CLI exits with the message


def test_a_lost_key_file_is_a_clear_error_and_no_new_key_is_left(tmp_path, database_url):
    services = open_services(settings(tmp_path, database_url))
    store_secrets(services)
    services.engine.dispose()
    (tmp_path / "home" / KEY_FILE).unlink()
    with pytest.raises(FernetKeyError, match="key file .* is missing"):
        open_services(settings(tmp_path, database_url))
    assert not (tmp_path / "home" / KEY_FILE).exists()


def test_server_mode_requires_the_key(tmp_path):
    with pytest.raises(FernetKeyError, match="LEOFLOW_FERNET_KEY"):
        open_services(settings(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite'}"), mode="server")
    key = Fernet.generate_key().decode()
    services = open_services(settings(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite'}", fernet_key=key),
                             mode="server")
    assert not (tmp_path / "home" / KEY_FILE).exists()
    services.engine.dispose()


@pytest.mark.parametrize("key", ["not-a-key", "c2hvcnQ=",  # valid base64, 5 bytes
                                 Fernet.generate_key().decode() + ",###"])  # a bad second (rotation) key
def test_malformed_key_is_refused(tmp_path, key):
    with pytest.raises(FernetKeyError, match="malformed"):
        open_services(settings(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite'}", fernet_key=key))


def test_the_form_check_agrees_with_cryptography():
    good = Fernet.generate_key().decode()
    for key in (good, good.rstrip("="), "x" * 44, "A" * 43 + "="):
        try:
            Fernet(key.encode())
            accepted_by_cryptography = True
        except ValueError:
            accepted_by_cryptography = False
        try:
            Crypt([key])
            accepted = True
        except FernetKeyError:
            accepted = False
        assert accepted == accepted_by_cryptography, key


def test_a_generated_key_file_is_a_fernet_key(tmp_path):
    from leoflow.secrets.fernet import load

    crypt, generated = load(tmp_path, mode="lite")
    assert generated
    Fernet((tmp_path / KEY_FILE).read_text().strip().encode())  # cryptography reads it
    assert crypt.decrypt(crypt.encrypt("x")) == "x"


def test_rotation_new_key_first_reads_old_values_and_rotate_rewrites_them(tmp_path, database_url):
    old = Fernet.generate_key().decode()
    services = open_services(settings(tmp_path, database_url, fernet_key=old))
    store_secrets(services)
    services.engine.dispose()
    new = Fernet.generate_key().decode()
    rotated = open_services(settings(tmp_path, database_url, fernet_key=f"{new},{old}"))
    with rotated.engine.begin() as conn:
        assert variables.value_of(variables.get(conn, "db_password"), rotated.crypt) == "hunter22"
        assert variables.rotate(conn, rotated.crypt) == 1
        assert connections.rotate(conn, rotated.crypt) == 1
    rotated.engine.dispose()
    only_new = open_services(settings(tmp_path, database_url, fernet_key=new))  # the old key can go now
    with only_new.engine.connect() as conn:
        assert connections.clear(connections.get(conn, "pg"), only_new.crypt)["extra"] == '{"token": "t"}'
    only_new.engine.dispose()


def test_execution_api_gives_tasks_the_decrypted_values(tmp_path):
    services = open_services(settings(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite'}"))
    store_secrets(services)
    client = TestClient(Starlette(routes=[Mount("/execution", routes=execution_routes(services))]))
    token = tokens.issue(services.settings.secret("jwt-execution"), queued_task_instance(services))
    client.headers["Authorization"] = f"Bearer {token}"
    assert client.get("/execution/variables/db_password").json() == {"key": "db_password", "value": "hunter22"}
    body = client.get("/execution/connections/pg").json()
    assert body["password"] == "pw" and json.loads(body["extra"]) == {"token": "t"}
    assert client.put("/execution/variables/api_key", json={"val": "k-99"}).status_code == 201
    with services.engine.connect() as conn:
        assert variables.get(conn, "api_key").val != "k-99"
    services.engine.dispose()


def test_crypt_round_trip():
    crypt = Crypt([Fernet.generate_key().decode()])
    assert crypt.decrypt(crypt.encrypt("x")) == "x" and crypt.encrypt(None) is None


def queued_task_instance(services) -> str:
    """A task instance whose try has not finished: only its token reads secrets."""
    from leoflow.store import dags, runs, tis
    from leoflow.store.types import utcnow

    data = {"dag_id": "d", "fileloc": "/dags/d.py", "tasks": [{"task_id": "t", "upstream": [], "downstream": []}]}
    with services.engine.begin() as conn:
        version = dags.sync_dag(conn, data, source_code="", relative_fileloc="d.py")
        run = runs.create_dag_run(conn, data, dag_version_id=version.version_id, run_type="manual",
                                  run_after=utcnow())
        ti = tis.tis_of_run(conn, "d", run["run_id"])[0]
        tis.set_scheduled(conn, [ti.id], utcnow())
        tis.set_queued(conn, ti.id, None, "LocalExecutor", utcnow())
    return ti.id
