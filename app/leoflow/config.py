"""Settings: defaults < TOML file < AIRFLOW__SECTION__KEY < LEOFLOW_* < command-line flags.

Every piece of state (database, logs, secrets, admin password) lives under one
home folder, so `--home DIR` gives a fully separate installation.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Settings:
    home: Path
    dags_folder: Path
    database_url: str
    redis_url: str | None = None  # None: the in-process memory bus (lite)
    host: str = "127.0.0.1"
    port: int = 8080
    admin_password: str | None = None
    parallelism: int = 32
    # A running task that has not heart-beaten for this long is a zombie.
    zombie_threshold: float = 30.0
    task_heartbeat_interval: float = 5.0
    # A task's execution token lives this long and is reissued while the try runs (Airflow: 600 s).
    execution_token_lifetime: float = 600.0
    # Who runs a try: "leoflow" (Leoflow's runner, forked warm) or "airflow" (Airflow 3.2's own supervisor,
    # from the interpreter `airflow_python` names).
    task_runner: str = "leoflow"
    airflow_python: str = ""
    parse_timeout: float = 30.0
    dag_dir_poll_interval: float = 0.5
    scheduler_poll_interval: float = 1.0
    base_url: str = ""  # where tasks reach the Execution API; derived from host/port when empty
    fernet_key: str | None = None  # encrypts secrets at rest; lite keeps a generated one in the home
    expose_config: str = "non-sensitive-only"  # GET /config: "true", "false" or "non-sensitive-only"
    # Where task logs are also shipped (Kibana, Grafana...): a URL template with {dag_id}, {run_id},
    # {task_id}, {map_index}, {try_number}; empty: no external log link (the API answers 400).
    log_external_url: str = ""
    maximum_page_limit: int = 100  # the most items one API page holds, whatever `limit` asks
    extra: dict = field(default_factory=dict)

    @property
    def logs_folder(self) -> Path:
        return self.home / "logs"

    @property
    def execution_api_url(self) -> str:
        base = self.base_url or f"http://{client_host(self.host)}:{self.port}"
        return base.rstrip("/") + "/execution"

    def secret(self, name: str) -> str:
        """A random secret kept in the home (JWT signing key, ...), created on first use."""
        # Read once per process: every API request checks a token, and a file read per request adds up.
        cache = self.__dict__.setdefault("_secret_cache", {})
        if name not in cache:
            cache[name] = self._read_or_create_secret(name)
        return cache[name]

    def _read_or_create_secret(self, name: str) -> str:
        path = self.home / f"{name}.secret"
        try:
            return path.read_text().strip()
        except FileNotFoundError:
            import secrets  # only when a secret is made: lite's start-up reads them

            self.home.mkdir(parents=True, exist_ok=True)
            value = secrets.token_urlsafe(32)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(value + "\n")
            return value


def client_host(host: str) -> str:
    """Where a process on this machine reaches a server listening on `host`."""
    return "127.0.0.1" if host in ("0.0.0.0", "", "::") else host


# name in Settings -> (LEOFLOW_ variable, Airflow variables that mean the same, type)
_ENV = {
    "home": ("LEOFLOW_HOME", ["AIRFLOW_HOME"], Path),
    "dags_folder": ("LEOFLOW_DAGS_FOLDER", ["AIRFLOW__CORE__DAGS_FOLDER"], Path),
    "database_url": ("LEOFLOW_DATABASE_URL", ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"], str),
    "redis_url": ("LEOFLOW_REDIS_URL", [], str),
    "host": ("LEOFLOW_HOST", [], str),
    "port": ("LEOFLOW_PORT", ["AIRFLOW__API__PORT"], int),
    "admin_password": ("LEOFLOW_ADMIN_PASSWORD", [], str),
    "parallelism": ("LEOFLOW_PARALLELISM", ["AIRFLOW__CORE__PARALLELISM"], int),
    "zombie_threshold": (
        "LEOFLOW_ZOMBIE_THRESHOLD",
        ["AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT"],
        float,
    ),
    "task_heartbeat_interval": ("LEOFLOW_TASK_HEARTBEAT_INTERVAL", [], float),
    "execution_token_lifetime": (
        "LEOFLOW_EXECUTION_TOKEN_LIFETIME",
        ["AIRFLOW__EXECUTION_API__JWT_EXPIRATION_TIME"],
        float,
    ),
    "parse_timeout": ("LEOFLOW_PARSE_TIMEOUT", ["AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT"], float),
    "dag_dir_poll_interval": ("LEOFLOW_DAG_DIR_POLL_INTERVAL", [], float),
    "scheduler_poll_interval": ("LEOFLOW_SCHEDULER_POLL_INTERVAL", [], float),
    "base_url": ("LEOFLOW_BASE_URL", ["AIRFLOW__API__BASE_URL"], str),
    "fernet_key": ("LEOFLOW_FERNET_KEY", ["AIRFLOW__CORE__FERNET_KEY"], str),
    "expose_config": ("LEOFLOW_EXPOSE_CONFIG", ["AIRFLOW__API__EXPOSE_CONFIG"], str),
    "log_external_url": ("LEOFLOW_LOG_EXTERNAL_URL", [], str),
    "task_runner": ("LEOFLOW_TASK_RUNNER", [], str),
    "airflow_python": ("LEOFLOW_AIRFLOW_PYTHON", [], str),
    "maximum_page_limit": ("LEOFLOW_MAXIMUM_PAGE_LIMIT", ["AIRFLOW__API__MAXIMUM_PAGE_LIMIT"], int),
}


def config_file() -> Path:
    explicit = os.environ.get("LEOFLOW_CONFIG")
    if explicit:
        return Path(explicit)
    import platformdirs

    return Path(platformdirs.user_config_dir("leoflow")) / "leoflow.toml"


def load(**overrides) -> Settings:
    """Build the settings; `overrides` are command-line values (None = not given)."""
    values: dict = {}
    path = config_file()
    if path.is_file():
        import tomllib  # only with a config file: most starts have none

        with path.open("rb") as f:
            values.update(tomllib.load(f))
    known = {f.name for f in dataclasses.fields(Settings)}
    extra = {k: values.pop(k) for k in list(values) if k not in known}
    for var in ("AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION", "LEOFLOW_DAGS_ARE_PAUSED_AT_CREATION"):
        if os.environ.get(var):  # the TOML key's variables (LEOFLOW_* wins); read from `extra` by lite
            text = os.environ[var].strip().lower()
            if text not in ("true", "false", "1", "0", "t", "f", "yes", "no", "on", "off"):
                raise SystemExit(f"leoflow: {var} must be true or false, got {os.environ[var]!r}")
            extra["dags_are_paused_at_creation"] = text in ("true", "1", "t", "yes", "on")
    for name, (env, airflow_envs, kind) in _ENV.items():
        for var in [*reversed(airflow_envs), env]:  # LEOFLOW_* wins over AIRFLOW__*
            if os.environ.get(var):
                values[name] = os.environ[var]
    values.update({k: v for k, v in overrides.items() if v is not None})
    for name, (_env, _a, kind) in _ENV.items():
        if name in values and values[name] is not None and not isinstance(values[name], kind):
            try:
                values[name] = kind(values[name])
            except ValueError:
                raise SystemExit(f"leoflow: setting {name!r} must be a {kind.__name__}, got {values[name]!r}")

    if "home" not in values:
        import platformdirs

        values["home"] = Path(platformdirs.user_data_dir("leoflow"))
    home = Path(values["home"]).expanduser().absolute()
    values["home"] = home
    values.setdefault("dags_folder", home / "dags")
    values["dags_folder"] = Path(values["dags_folder"]).expanduser().absolute()
    values.setdefault("database_url", f"sqlite:///{home / 'leoflow.db'}")
    runner = values.get("task_runner", "leoflow")
    if runner not in TASK_RUNNERS:
        raise SystemExit(f"leoflow: LEOFLOW_TASK_RUNNER must be one of {', '.join(TASK_RUNNERS)}, got {runner!r}")
    return Settings(extra=extra, **values)


TASK_RUNNERS = ("leoflow", "airflow")
