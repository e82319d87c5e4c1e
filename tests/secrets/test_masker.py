"""Masking: by field name in API bodies, by value in task logs."""

import json

import pytest

from leoflow.runner.logfile import JsonLinesFile
from leoflow.secrets import masker


@pytest.fixture(autouse=True)
def fresh():
    masker.reset()
    yield
    masker.reset()


def test_sensitive_names_follow_airflow_defaults():
    for name in ("password", "DB_PASSWORD", "my_secret", "api_key", "apikey", "access_token", "Authorization",
                 "private_key", "passwd", "token", "connection_string", "keyfile_dict"):
        assert masker.is_sensitive(name), name
    for name in ("user", "host", "color", None, 3):
        assert not masker.is_sensitive(name)


def test_redact_nested_structures_by_key():
    value = {"user": "u", "password": "p", "nested": {"api_key": "k", "list": [{"token": "t", "ok": 1}]}}
    assert masker.redact(value) == {"user": "u", "password": "***",
                                    "nested": {"api_key": "***", "list": [{"token": "***", "ok": 1}]}}
    assert masker.redact("plain", "password") == "***"
    assert masker.redact(None, "password") is None


def test_registered_secrets_are_masked_in_task_log_lines(tmp_path):
    masker.mask_connection({"password": "pw-verysecret", "extra": json.dumps({"api_key": "key-abcdef", "db": 1})})
    masker.mask_variable("db_password", "hunter22!")
    masker.mask_variable("color", "blue-ish")  # not sensitive: stays visible
    path = tmp_path / "attempt=1.log"
    out = JsonLinesFile(path)
    out.write({"event": "connecting with pw-verysecret and key-abcdef", "logger": "task.stdout"})
    out.write({"event": "hunter22! blue-ish", "error_detail": [{"exc_value": "bad pw-verysecret"}]})
    out.close()
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert lines[0]["event"] == "connecting with *** and ***"
    assert lines[1]["event"] == "*** blue-ish"
    assert lines[1]["error_detail"][0]["exc_value"] == "bad ***"


def test_short_and_common_values_are_not_masked():
    masker.mask_secret("abc")
    masker.mask_secret("airflow")
    assert masker.redact_text("abc airflow") == "abc airflow"


def test_a_secret_containing_another_is_masked_whole():
    masker.mask_secret("secret-one")
    masker.mask_secret("secret-one-two")
    assert masker.redact_text("x secret-one-two y") == "x *** y"


def test_no_registered_secret_leaves_records_untouched():
    record = {"event": "hello"}
    assert masker.redact_record(record) is record


def test_the_runner_registers_what_a_task_reads():
    from leoflow.runner.run import HttpComms

    class Server:  # the Execution API's answers, as the runner's client returns them
        def request(self, method, path, **kw):
            if path == "variables/db_password":
                return {"key": "db_password", "value": "hunter22!"}
            return {"conn_id": "pg", "password": "pw-verysecret", "extra": None}

    comms = HttpComms(Server())
    assert comms.get_variable("db_password") == "hunter22!"
    assert comms.get_connection("pg")["password"] == "pw-verysecret"
    assert masker.redact_text("hunter22! pw-verysecret") == "*** ***"


def test_merge_keeps_what_was_masked():
    old = {"user": "u", "password": "p", "deep": {"token": "t"}}
    assert masker.merge({"user": "v", "password": "***", "deep": {"token": "***"}}, old) == \
        {"user": "v", "password": "p", "deep": {"token": "t"}}
    assert masker.merge("***", "secret", "password") == "secret"
    assert masker.merge("***", "x", "color") == "***"  # not a sensitive name: taken literally
