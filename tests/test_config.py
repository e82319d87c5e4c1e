"""Settings precedence and the documented defaults."""

import dataclasses
import tomllib
from pathlib import Path

import pytest

from leoflow import config

ROOT = Path(__file__).resolve().parents[1]


def test_documented_defaults_match_the_code(tmp_path, monkeypatch):
    monkeypatch.setenv("LEOFLOW_CONFIG", str(tmp_path / "absent.toml"))
    documented = tomllib.loads((ROOT / "embedded" / "default-config.toml").read_text())
    settings = config.load(home=tmp_path)
    for key, value in documented.items():
        if key in {f.name for f in dataclasses.fields(config.Settings)}:
            assert getattr(settings, key) == value, key
    assert documented["dags_are_paused_at_creation"] is False


def test_precedence_file_then_airflow_env_then_leoflow_env_then_flags(tmp_path, monkeypatch):
    cfg = tmp_path / "leoflow.toml"
    cfg.write_text('port = 9001\nparallelism = 4\ndags_folder = "/from/file"\nfavourite = "kept in extra"\n')
    monkeypatch.setenv("LEOFLOW_CONFIG", str(cfg))
    monkeypatch.setenv("AIRFLOW__CORE__DAGS_FOLDER", "/from/airflow/env")
    monkeypatch.setenv("AIRFLOW__CORE__PARALLELISM", "8")
    monkeypatch.setenv("LEOFLOW_PARALLELISM", "16")
    settings = config.load(home=tmp_path, port=9002)
    assert settings.port == 9002
    assert settings.parallelism == 16
    assert str(settings.dags_folder) == "/from/airflow/env"
    assert settings.extra == {"favourite": "kept in extra"}


def test_home_holds_every_piece_of_state(tmp_path, monkeypatch):
    monkeypatch.setenv("LEOFLOW_CONFIG", str(tmp_path / "absent.toml"))
    monkeypatch.delenv("LEOFLOW_DATABASE_URL", raising=False)
    monkeypatch.delenv("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", raising=False)
    monkeypatch.delenv("LEOFLOW_DAGS_FOLDER", raising=False)
    monkeypatch.delenv("AIRFLOW__CORE__DAGS_FOLDER", raising=False)
    settings = config.load(home=tmp_path / "h")
    assert settings.database_url == f"sqlite:///{tmp_path / 'h' / 'leoflow.db'}"
    assert settings.dags_folder == tmp_path / "h" / "dags"
    assert settings.logs_folder == tmp_path / "h" / "logs"
    secret = settings.secret("jwt")
    assert settings.secret("jwt") == secret and (tmp_path / "h" / "jwt.secret").stat().st_mode & 0o777 == 0o600


def test_a_wrongly_typed_setting_is_a_clear_error(tmp_path, monkeypatch):
    import pytest

    monkeypatch.setenv("LEOFLOW_PORT", "eighty")
    with pytest.raises(SystemExit, match="port"):
        config.load(home=tmp_path)


def test_dags_paused_at_creation_from_the_file_or_either_variable(tmp_path, monkeypatch):
    cfg = tmp_path / "leoflow.toml"
    cfg.write_text("dags_are_paused_at_creation = false\n")
    monkeypatch.setenv("LEOFLOW_CONFIG", str(cfg))
    for var in ("AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION", "LEOFLOW_DAGS_ARE_PAUSED_AT_CREATION"):
        monkeypatch.delenv(var, raising=False)
    home = tmp_path / "home"
    assert config.load(home=home).extra["dags_are_paused_at_creation"] is False
    monkeypatch.setenv("AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION", "True")
    assert config.load(home=home).extra["dags_are_paused_at_creation"] is True
    monkeypatch.setenv("LEOFLOW_DAGS_ARE_PAUSED_AT_CREATION", "false")  # LEOFLOW_* wins
    assert config.load(home=home).extra["dags_are_paused_at_creation"] is False
    monkeypatch.setenv("LEOFLOW_DAGS_ARE_PAUSED_AT_CREATION", "sometimes")
    with pytest.raises(SystemExit, match="LEOFLOW_DAGS_ARE_PAUSED_AT_CREATION"):
        config.load(home=home)


def test_min_file_process_interval_reads_airflow_then_leoflow_variables(tmp_path, monkeypatch):
    monkeypatch.setenv("LEOFLOW_CONFIG", str(tmp_path / "absent.toml"))
    assert config.load(home=tmp_path).min_file_process_interval == 30.0  # Airflow's default
    monkeypatch.setenv("AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL", "45")
    assert config.load(home=tmp_path).min_file_process_interval == 45.0
    monkeypatch.setenv("LEOFLOW_MIN_FILE_PROCESS_INTERVAL", "5")
    assert config.load(home=tmp_path).min_file_process_interval == 5.0


@pytest.mark.parametrize("value", ["-1", "nan", "soon"])
def test_a_shutdown_grace_period_that_is_not_a_number_of_seconds_stops_the_start(tmp_path, monkeypatch, value):
    monkeypatch.setenv("LEOFLOW_CONFIG", str(tmp_path / "absent.toml"))
    monkeypatch.setenv("LEOFLOW_SHUTDOWN_GRACE_PERIOD", value)
    with pytest.raises(SystemExit, match="shutdown_grace_period|SHUTDOWN_GRACE_PERIOD"):
        config.load(home=tmp_path)
    monkeypatch.setenv("LEOFLOW_SHUTDOWN_GRACE_PERIOD", "2.5")
    assert config.load(home=tmp_path).shutdown_grace_period == 2.5


def test_the_task_runner_is_leoflow_or_airflow(tmp_path, monkeypatch):
    monkeypatch.setenv("LEOFLOW_CONFIG", str(tmp_path / "absent.toml"))
    assert config.load(home=tmp_path).task_runner == "leoflow"
    monkeypatch.setenv("LEOFLOW_TASK_RUNNER", "airflow")
    monkeypatch.setenv("LEOFLOW_AIRFLOW_PYTHON", "/opt/airflow/bin/python")
    settings = config.load(home=tmp_path)
    assert (settings.task_runner, settings.airflow_python) == ("airflow", "/opt/airflow/bin/python")
    monkeypatch.setenv("LEOFLOW_TASK_RUNNER", "celery")
    with pytest.raises(SystemExit, match="LEOFLOW_TASK_RUNNER must be one of leoflow, airflow"):
        config.load(home=tmp_path)
