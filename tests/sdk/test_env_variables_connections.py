"""Variables and Connections as Airflow 3.2.1 looks them up: `AIRFLOW_VAR_*` / `AIRFLOW_CONN_*` first, then the
server; Airflow 2's `airflow.models.Variable.get(default_var=)`; Airflow's not-found error. The expected
values are what Airflow 3.2.1 gave for the same environment (observed with its own `dags test`)."""

import pytest

from airflow.hooks.base import BaseHook
from airflow.models import Variable as Airflow2Variable
from airflow.models.variable import Variable as Airflow2VariableByModule
from airflow.sdk import Connection, Variable
from airflow.sdk.exceptions import AirflowNotFoundException, AirflowRuntimeError
from leoflow.secrets import masker
from leoflow.sdk import runtime

from .conftest import MemoryComms


@pytest.fixture
def server():
    comms = MemoryComms(variables={"both": "from the server", "server_only": "s"},
                        connections={"both": {"conn_id": "both", "conn_type": "http", "host": "server.example"}})
    runtime.set_comms(comms)
    yield comms
    runtime.set_comms(None)


def test_the_environment_comes_before_the_server(server, monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_BOTH", "from the environment")
    monkeypatch.setenv("AIRFLOW_CONN_BOTH", "http://env.example")
    assert Variable.get("both") == "from the environment"  # the key is upper-cased for the name
    assert Variable.get("server_only") == "s"
    assert Connection.get("both").host == "env.example" and BaseHook.get_connection("both").host == "env.example"
    monkeypatch.delenv("AIRFLOW_VAR_BOTH")
    assert Variable.get("both") == "from the server"


def test_environment_values_work_without_any_server(monkeypatch):
    runtime.set_comms(None)
    monkeypatch.setenv("AIRFLOW_VAR_SETTINGS", '{"rows": 3}')
    monkeypatch.setenv("AIRFLOW_CONN_DB", "sqlite:///tmp/x.db")
    assert Variable.get("settings", deserialize_json=True) == {"rows": 3}
    assert Connection.get("db").conn_type == "sqlite"
    assert Variable.get("absent", default="d") == "d"  # a default still answers
    with pytest.raises(RuntimeError, match="only available while a task runs"):
        Variable.get("absent")


@pytest.mark.parametrize(("uri", "expected"), [
    ("postgresql://us%40er:p%2Fss@db.example.com:5433/my%20db?sslmode=require&x=1",
     ("postgres", "db.example.com", "us@er", "p/ss", 5433, "my db", '{"sslmode": "require", "x": "1"}')),
    ("http://https://user:pw@example.com:8443/path",  # the host keeps its own protocol
     ("http", "https://example.com", "user", "pw", 8443, "path", None)),
    ("aws://?__extra__=%7B%22region%22%3A+%22eu%22%7D", ("aws", "", None, None, None, "", '{"region": "eu"}')),
    ("google-cloud-platform://", ("google_cloud_platform", "", None, None, None, "", None)),
    ("mysql://root@%2Fvar%2Frun%2Fmysqld.sock/db", ("mysql", "/var/run/mysqld.sock", "root", None, None, "db", None)),
    ("MYSQL://User@MyHost:1/Db", ("mysql", "myhost", "User", None, 1, "Db", None)),  # type and host lower-cased
    ("sqlite:///tmp/x.db", ("sqlite", "", None, None, None, "tmp/x.db", None)),
])
def test_connection_uris_read_as_airflow_reads_them(uri, expected):
    c = Connection.from_uri(uri, conn_id="c")
    assert (c.conn_type, c.host, c.login, c.password, c.port, c.schema, c.extra) == expected


def test_connections_in_json(monkeypatch, server):
    monkeypatch.setenv("AIRFLOW_CONN_API", '{"conn_type": "my-type", "host": "h", "login": "l", "password": "pw", '
                                           '"port": "99", "schema": "s", "extra": {"k": "v"}}')
    c = Connection.get("api")
    assert (c.conn_id, c.conn_type, c.host, c.login, c.password, c.port, c.schema, c.extra) == (
        "api", "my_type", "h", "l", "pw", 99, "s", '{"k": "v"}')
    with pytest.raises(ValueError, match="Expected integer value for `port`, but got 'x' instead."):
        Connection.from_json('{"port": "x"}', conn_id="bad")


def test_an_environment_connection_that_does_not_parse_is_skipped_with_a_warning(server, monkeypatch, caplog):
    monkeypatch.setenv("AIRFLOW_CONN_BOTH", '{"port": "not a number"}')
    assert Connection.get("both").host == "server.example"
    assert "Ignoring AIRFLOW_CONN_BOTH" in caplog.text
    with pytest.raises(AirflowNotFoundException, match="The conn_id `nowhere` isn't defined"):
        Connection.get("nowhere")


def test_secrets_from_the_environment_are_masked_in_the_tasks_log(server, monkeypatch):
    masker._registry.clear()
    monkeypatch.setenv("AIRFLOW_VAR_API_TOKEN", "tok-123456")
    monkeypatch.setenv("AIRFLOW_VAR_GREETING", "hello there")
    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE", "postgres://u:s3cr3t-pw@h/db")
    try:
        Variable.get("api_token"), Variable.get("greeting"), Connection.get("warehouse")
        assert masker.redact_text("tok-123456 s3cr3t-pw hello there") == "*** *** hello there"
    finally:
        masker._registry.clear()


def test_airflow_2_variable_takes_default_var_and_airflow_sdk_does_not(server):
    assert Airflow2Variable is Airflow2VariableByModule
    assert Airflow2Variable.get("absent", default_var="d") == "d"
    assert Airflow2Variable.get("absent", "positional") == "positional"
    assert Airflow2Variable.get("server_only", default_var=None) == "s"
    assert Variable.get("absent", default="d") == "d"
    with pytest.raises(TypeError, match="default_var"):
        Variable.get("absent", default_var="d")  # as Airflow 3.2.1's airflow.sdk.Variable
    for getter in (Variable.get, Airflow2Variable.get):
        with pytest.raises(AirflowRuntimeError, match=r"^VARIABLE_NOT_FOUND: \{'message': 'Variable absent not found'\}$"):
            getter("absent")


def test_airflow_2_variable_setdefault(monkeypatch):
    written = {}

    class WritableComms(MemoryComms):
        def set_variable(self, key, value, description=None):
            written[key] = value
            self.variables[key] = value

    runtime.set_comms(WritableComms(variables={"there": "1"}))
    try:
        assert Airflow2Variable.setdefault("there", "2") == "1"
        assert Airflow2Variable.setdefault("new", {"a": 1}, deserialize_json=True) == {"a": 1}
        assert written == {"new": '{"a": 1}'}
        with pytest.raises(ValueError, match="Default Value must be set"):
            Airflow2Variable.setdefault("other", None)
    finally:
        runtime.set_comms(None)


def test_setting_a_variable_the_environment_also_defines_warns(monkeypatch, caplog):
    class WritableComms(MemoryComms):
        def set_variable(self, key, value, description=None):
            self.variables[key] = value

    monkeypatch.setenv("AIRFLOW_VAR_SHADOWED", "env")
    comms = WritableComms()
    runtime.set_comms(comms)
    try:
        Variable.set("shadowed", "server")
    finally:
        runtime.set_comms(None)
    assert comms.variables == {"shadowed": "server"}
    assert "also defined by the environment variable AIRFLOW_VAR_SHADOWED" in caplog.text
