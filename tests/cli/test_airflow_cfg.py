"""airflow.cfg as the lowest source of settings (below Leoflow's TOML file, AIRFLOW__*, LEOFLOW_* and flags), read
when AIRFLOW_CONFIG names it or AIRFLOW_HOME holds one; and the mode shown: the UI's instance name and lite's
banner (database, bus, executor, which airflow.cfg keys were used)."""

from __future__ import annotations

import base64
import os
import time
from pathlib import Path

from tests.e2e.lite_process import Lite


CFG = """\
[core]
dags_folder = {AIRFLOW_HOME}/my-dags
parallelism = 7
executor = my_company.executors.FancyExecutor
fernet_key = %s
load_examples = True

[api]
instance_name = Sales ETL (staging)
port = 8080

[webserver]
unknown_key = x
"""


def _cfg(folder: Path, name: str = "airflow.cfg") -> Path:
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text(CFG % base64.urlsafe_b64encode(os.urandom(32)).decode())
    return path


def test_airflow_cfg_is_the_lowest_source(lite_cli, tmp_path):
    cli = lite_cli
    airflow_home = tmp_path / "airflow"
    _cfg(airflow_home)
    at_home = {"AIRFLOW_HOME": str(airflow_home)}  # Leoflow's home stays LEOFLOW_HOME's: it wins over AIRFLOW_HOME

    def value(section, key, **env):
        return cli.ok("config", "get-value", section, key, env={**at_home, **env}).strip()

    assert value("core", "dags_folder") == str(airflow_home / "my-dags")  # Airflow's {AIRFLOW_HOME} placeholder
    assert value("api", "instance_name") == "Sales ETL (staging)"
    assert value("core", "parallelism") == "7"
    assert value("core", "parallelism", AIRFLOW__CORE__PARALLELISM="9") == "9"
    toml = tmp_path / "leoflow.toml"
    toml.write_text("parallelism = 11\n")
    assert value("core", "parallelism", LEOFLOW_CONFIG=str(toml)) == "11"
    assert value("core", "parallelism", LEOFLOW_CONFIG=str(toml), AIRFLOW__CORE__PARALLELISM="9") == "9"
    assert value("core", "parallelism", AIRFLOW__CORE__PARALLELISM="9", LEOFLOW_PARALLELISM="12") == "12"
    # An executor Leoflow does not have, and Airflow's own generated secrets, are ignored, not errors.
    assert value("core", "executor") == "local"
    assert value("core", "fernet_key") == ""
    # AIRFLOW_CONFIG names the file wherever it is, and wins over AIRFLOW_HOME's.
    elsewhere = _cfg(tmp_path / "etc", "custom.cfg")
    elsewhere.write_text(elsewhere.read_text().replace("parallelism = 7", "parallelism = 3"))
    assert value("core", "parallelism", AIRFLOW_CONFIG=str(elsewhere)) == "3"
    # Without AIRFLOW_HOME or AIRFLOW_CONFIG no airflow.cfg is read (not even ~/airflow's).
    assert cli.ok("config", "get-value", "core", "parallelism", env={"HOME": str(airflow_home.parent)}).strip() \
        == "32"


def _banner(lite: Lite) -> list[str]:
    deadline = time.monotonic() + 30
    while "Ctrl-C to stop." not in lite.output():
        assert time.monotonic() < deadline, lite.output()
        time.sleep(0.1)
    text = lite.output()
    return text[text.index("Leoflow lite is running at"):].splitlines()


def test_lite_shows_its_mode_and_the_configured_instance_name(tmp_path):
    home, dags = tmp_path / "home", tmp_path / "dags"
    home.mkdir()
    dags.mkdir()
    lite = Lite(home, dags).start()
    try:
        assert lite.api("GET", "/ui/config").json()["instance_name"] == "Leoflow Lite"
        lines = _banner(lite)
        assert lines[4:7] == [f"  database: sqlite:///{home / 'leoflow.db'}", "  bus: in-process (lite)",
                              "  executor: local"]
        assert not any("airflow.cfg" in line for line in lines)
    finally:
        lite.stop()

    cfg = _cfg(tmp_path / "airflow")
    lite = Lite(home, dags, env={"AIRFLOW_CONFIG": str(cfg)}).start()
    try:
        assert lite.api("GET", "/ui/config").json()["instance_name"] == "Sales ETL (staging)"
        lines = _banner(lite)
        assert lines[4:8] == [
            f"  database: sqlite:///{home / 'leoflow.db'}", "  bus: in-process (lite)", "  executor: local",
            f"  airflow.cfg: {cfg} (used: [core] dags_folder, [core] parallelism, [api] instance_name, [api] port; "
            f"ignored: 4 keys Leoflow has no setting for or cannot use)"]
        log = lite.output()
        assert ("ignored [core] executor ('my_company.executors.FancyExecutor' is not a value Leoflow takes), [core] fernet_key "
                "(Airflow's own secret: give Leoflow's as LEOFLOW_FERNET_KEY), [core] load_examples, "
                "[webserver] unknown_key") in log
    finally:
        lite.stop()


def test_the_instance_name_of_a_server_is_leoflow_unless_configured():
    from types import SimpleNamespace

    from leoflow.api.ui.config import get_config
    from leoflow.config import Settings

    def name(mode, configured=""):
        settings = Settings(home=Path("/nonexistent"), dags_folder=Path("/nonexistent"), database_url="sqlite://",
                            instance_name=configured)
        return get_config(SimpleNamespace(settings=settings, mode=mode), None)["instance_name"]

    assert (name("lite"), name("server"), name("server", "Production")) == ("Leoflow Lite", "Leoflow", "Production")

