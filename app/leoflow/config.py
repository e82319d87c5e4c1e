"""Settings: defaults < airflow.cfg < TOML file < AIRFLOW__SECTION__KEY < LEOFLOW_* < command-line flags.

airflow.cfg is read only when AIRFLOW_CONFIG names it or AIRFLOW_HOME holds one, and only for the keys
that have a Leoflow setting (`airflow_cfg_keys`); a value Leoflow cannot use there is ignored, not an error.

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
    # Postgres connections each process keeps open, and how many more it opens in a burst (closed again when
    # returned). Opening one starts a Postgres backend, which costs more than most of a task's statements,
    # so a server keeps enough for its API threads, scheduler and log shipping. Each replica may hold the
    # sum: keep replicas × (pool size + overflow) below Postgres' max_connections.
    database_pool_size: int = 20
    database_max_overflow: int = 5
    host: str = "127.0.0.1"
    port: int = 8080
    admin_password: str | None = None
    parallelism: int = 32
    # A running task that has not heart-beaten for this long is a zombie.
    zombie_threshold: float = 30.0
    task_heartbeat_interval: float = 5.0
    # A try queued this long without starting is failed or retried (Airflow's [scheduler] task_queued_timeout).
    task_queued_timeout: float = 600.0
    # A task's execution token lives this long and is reissued while the try runs (Airflow: 600 s).
    execution_token_lifetime: float = 600.0
    # Who runs a try: "leoflow" (Leoflow's runner, forked warm) or "airflow" (Airflow 3.2's own supervisor,
    # from the interpreter `airflow_python` names).
    task_runner: str = "leoflow"
    airflow_python: str = ""
    # Which executors run tries (executors/router.py): a comma list of local, agent, kubernetes; the first
    # is the default and a task's `executor=` picks another (Airflow's [core] executor).
    executor: str = "local"
    parse_timeout: float = 30.0
    dag_dir_poll_interval: float = 0.5
    # An unchanged DAG file is parsed again after this long: a deleted DAG comes back, a file that failed on a
    # missing Variable recovers (Airflow's [dag_processor] min_file_process_interval).
    min_file_process_interval: float = 30.0
    # The address space a parse child may use, in MiB (0: no limit); a DAG file needing more is an import error.
    dag_parse_memory_limit: int = 2048
    scheduler_poll_interval: float = 1.0
    # On SIGTERM/SIGINT, running tries get this long to finish before they are stopped and recorded
    # (None: 30 s for lite, 20 s for a server, which must be gone within Kubernetes' 30 s; see stop_grace).
    shutdown_grace_period: float | None = None
    base_url: str = ""  # where tasks reach the Execution API; derived from host/port when empty
    # The PEM file an HTTPS base_url's certificate must chain to (default: the system's CAs). A TLS server
    # without a base_url sets it to its own certificate (pinned), so its own tasks reach it on loopback.
    execution_api_ca_file: str = ""
    execution_api_ca_pinned: bool = False
    fernet_key: str | None = None  # encrypts secrets at rest; lite keeps a generated one in the home
    # Signs every token (users', tasks', log positions). Required by a server and the same on every
    # replica, so a token one replica made is good on all; lite keeps random ones in its home instead.
    secret_key: str | None = None
    expose_config: str = "non-sensitive-only"  # GET /config: "true", "false" or "non-sensitive-only"
    # Where task logs are also shipped (Kibana, Grafana...): a URL template with {dag_id}, {run_id},
    # {task_id}, {map_index}, {try_number}; empty: no external log link (the API answers 400).
    log_external_url: str = ""
    maximum_page_limit: int = 100  # the most items one API page holds, whatever `limit` asks
    # A server on a schema that is behind waits this long for `leoflow migrate` before giving up.
    schema_wait_timeout: float = 300.0
    metrics: bool | None = None  # GET /metrics: on in server mode, off in lite, unless set
    metrics_token: str = ""  # a static bearer token Prometheus may scrape /metrics with
    # What the HTTP server lets one request or client take (ADR 16); None: the server's default.
    http_max_url: int | None = None  # bytes of a request's path and query (414)
    http_max_header_bytes: int | None = None  # header names and values together (431)
    http_max_headers: int | None = None  # (431)
    http_max_body: int | None = None  # a request body, on routes without a smaller limit (413)
    http_max_login_body: int | None = None  # a request body to /auth/token and the login form (413)
    http_head_timeout: float | None = None  # seconds from a request's first byte to its last header (408)
    http_body_timeout: float | None = None  # seconds a request body may make no progress (408)
    http_max_connections: int | None = None  # open connections in all (default: half the open-file limit)
    http_max_connections_per_client: int | None = None  # from one non-loopback address; 0: no cap
    # The Kubernetes executor (executors/kubernetes/, ADR 27): a pod per try.
    kubernetes_namespace: str = ""  # empty: the server's own namespace in a cluster, else "default"
    kubernetes_image: str = ""  # the task pods' image; empty: the template's, else the server's own image
    kubernetes_kubeconfig: str = ""  # empty: the in-cluster service account, else ~/.kube/config
    kubernetes_context: str = ""  # the kubeconfig context (empty: its current one)
    kubernetes_pod_template_file: str = ""  # a pod template (YAML or JSON) every task pod starts from
    kubernetes_pending_timeout: float = 300.0  # seconds a pod may stay Pending before its try fails or retries
    kubernetes_delete_pods: bool = True  # delete a try's pod once it finished
    kubernetes_delete_on_failure: bool = False  # also delete failed pods (kept by default, to look at them)
    kubernetes_release: str = "leoflow"  # the owning release: labels the pods, adoption only takes its own
    kubernetes_execution_api_url: str = ""  # where pods reach /execution; empty: the server's own address
    kubernetes_dags_folder: str = ""  # the DAG folder inside the pods; empty: the same path as here
    kubernetes_relist_interval: float = 60.0  # seconds between the lists that catch what a watch missed
    # Where a task pod finds its DAG file: `bundle` fetches the run's DAG bundle from /execution by its
    # hash (the mounted folder when the workload names none); `mounted` always reads the mounted folder.
    kubernetes_dags: str = "bundle"
    kubernetes_service_account: str = ""  # the task pods' serviceAccountName; empty: the namespace's default
    kubernetes_automount_service_account_token: bool = False  # task pods get no API token unless asked
    # The name the UI shows (Airflow's [api] instance_name); empty: "Leoflow Lite" in lite, "Leoflow" else.
    instance_name: str = ""
    # Which airflow.cfg was read, and its keys Leoflow used and ignored (for the start-up lines).
    airflow_cfg_path: str = ""
    airflow_cfg_used: tuple = ()
    airflow_cfg_ignored: tuple = ()
    extra: dict = field(default_factory=dict)

    def stop_grace(self, mode: str) -> float:
        """Seconds running tries get after SIGTERM: the setting, else 30 (lite) or 20 (server: after them
        come 5 s for the tasks' own clean-up and 5 s for their exits, within Kubernetes' 30 s)."""
        if self.shutdown_grace_period is not None:
            return self.shutdown_grace_period
        return 20.0 if mode == "server" else 30.0

    @property
    def logs_folder(self) -> Path:
        return self.home / "logs"

    @property
    def execution_api_url(self) -> str:
        base = self.base_url or f"http://{client_host(self.host)}:{self.port}"
        return base.rstrip("/") + "/execution"

    def secret(self, name: str) -> str:
        """The signing key for one purpose ("jwt", "jwt-execution", ...).

        From `secret_key` when set (one key per purpose derived from it, the same on every replica),
        else a random secret kept in the home, created on first use.
        """
        # Read once per process: every API request checks a token, and a file read per request adds up.
        cache = self.__dict__.setdefault("_secret_cache", {})
        if name not in cache:
            if self.secret_key:
                import hashlib
                import hmac

                cache[name] = hmac.new(self.secret_key.encode(), f"leoflow:{name}".encode(),
                                       hashlib.sha256).hexdigest()
            else:
                cache[name] = self._read_or_create_secret(name)
        return cache[name]

    def _read_or_create_secret(self, name: str) -> str:
        path = self.home / f"{name}.secret"
        try:
            return path.read_text().strip()
        except FileNotFoundError:
            import secrets  # only when a secret is made: lite's start-up reads them

            make_home(self.home)
            value = secrets.token_urlsafe(32)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(value + "\n")
            return value


def hostname() -> str:
    """This process's name in job rows, health and leases: LEOFLOW_HOSTNAME (e.g. a pod's name), else the host's."""
    import socket

    return os.environ.get("LEOFLOW_HOSTNAME") or socket.gethostname()


# Folders that hold what only the user Leoflow runs as may read (the home, the logs), as the key
# files in the home are 0600.
PRIVATE_FOLDER_MODE = 0o700


def make_private_folder(path: Path, *, tighten: bool = True) -> None:
    """Create `path` (and its parents) as a folder only this user can enter; with `tighten`, an existing
    one is made so too (Leoflow's own folders), otherwise it is left as it is (a home the user chose)."""
    if path.is_dir():
        if tighten and (path.stat().st_mode & 0o777) != PRIVATE_FOLDER_MODE:
            os.chmod(path, PRIVATE_FOLDER_MODE)
        return
    path.mkdir(mode=PRIVATE_FOLDER_MODE, parents=True, exist_ok=True)
    os.chmod(path, PRIVATE_FOLDER_MODE)  # mkdir's mode passes through the umask


def make_home(home: Path) -> None:
    """The home: private when Leoflow makes it; a folder that already exists keeps its mode."""
    make_private_folder(home, tighten=False)


def client_host(host: str) -> str:
    """Where a process on this machine reaches a server listening on `host`."""
    return "127.0.0.1" if host in ("0.0.0.0", "", "::") else host


# name in Settings -> (LEOFLOW_ variable, Airflow variables that mean the same, type)
_ENV = {
    "home": ("LEOFLOW_HOME", ["AIRFLOW_HOME"], Path),
    "dags_folder": ("LEOFLOW_DAGS_FOLDER", ["AIRFLOW__CORE__DAGS_FOLDER"], Path),
    "database_url": ("LEOFLOW_DATABASE_URL", ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"], str),
    "redis_url": ("LEOFLOW_REDIS_URL", [], str),
    "database_pool_size": ("LEOFLOW_DATABASE_POOL_SIZE", ["AIRFLOW__DATABASE__SQL_ALCHEMY_POOL_SIZE"], int),
    "database_max_overflow": ("LEOFLOW_DATABASE_MAX_OVERFLOW", ["AIRFLOW__DATABASE__SQL_ALCHEMY_MAX_OVERFLOW"], int),
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
    "task_queued_timeout": ("LEOFLOW_TASK_QUEUED_TIMEOUT", ["AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT"], float),
    "execution_token_lifetime": (
        "LEOFLOW_EXECUTION_TOKEN_LIFETIME",
        ["AIRFLOW__EXECUTION_API__JWT_EXPIRATION_TIME"],
        float,
    ),
    "parse_timeout": ("LEOFLOW_PARSE_TIMEOUT", ["AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT"], float),
    "dag_dir_poll_interval": ("LEOFLOW_DAG_DIR_POLL_INTERVAL", [], float),
    "min_file_process_interval": (
        "LEOFLOW_MIN_FILE_PROCESS_INTERVAL",
        ["AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL"],
        float,
    ),
    "dag_parse_memory_limit": ("LEOFLOW_DAG_PARSE_MEMORY_LIMIT", [], int),
    "scheduler_poll_interval": ("LEOFLOW_SCHEDULER_POLL_INTERVAL", [], float),
    "shutdown_grace_period": ("LEOFLOW_SHUTDOWN_GRACE_PERIOD", [], float),
    "base_url": ("LEOFLOW_BASE_URL", ["AIRFLOW__API__BASE_URL"], str),
    "execution_api_ca_file": ("LEOFLOW_EXECUTION_API_CA_FILE", [], str),
    "fernet_key": ("LEOFLOW_FERNET_KEY", ["AIRFLOW__CORE__FERNET_KEY"], str),
    "secret_key": ("LEOFLOW_SECRET_KEY", ["AIRFLOW__API_AUTH__JWT_SECRET", "AIRFLOW__API__SECRET_KEY"], str),
    "expose_config": ("LEOFLOW_EXPOSE_CONFIG", ["AIRFLOW__API__EXPOSE_CONFIG"], str),
    "log_external_url": ("LEOFLOW_LOG_EXTERNAL_URL", [], str),
    "task_runner": ("LEOFLOW_TASK_RUNNER", [], str),
    "executor": ("LEOFLOW_EXECUTOR", ["AIRFLOW__CORE__EXECUTOR"], str),
    "airflow_python": ("LEOFLOW_AIRFLOW_PYTHON", [], str),
    "maximum_page_limit": ("LEOFLOW_MAXIMUM_PAGE_LIMIT", ["AIRFLOW__API__MAXIMUM_PAGE_LIMIT"], int),
    "schema_wait_timeout": ("LEOFLOW_SCHEMA_WAIT_TIMEOUT", [], float),
    "metrics": ("LEOFLOW_METRICS", [], bool),
    "metrics_token": ("LEOFLOW_METRICS_TOKEN", [], str),
    "http_max_url": ("LEOFLOW_HTTP_MAX_URL", [], int),
    "http_max_header_bytes": ("LEOFLOW_HTTP_MAX_HEADER_BYTES", [], int),
    "http_max_headers": ("LEOFLOW_HTTP_MAX_HEADERS", [], int),
    "http_max_body": ("LEOFLOW_HTTP_MAX_BODY", [], int),
    "http_max_login_body": ("LEOFLOW_HTTP_MAX_LOGIN_BODY", [], int),
    "http_head_timeout": ("LEOFLOW_HTTP_HEAD_TIMEOUT", [], float),
    "http_body_timeout": ("LEOFLOW_HTTP_BODY_TIMEOUT", [], float),
    "http_max_connections": ("LEOFLOW_HTTP_MAX_CONNECTIONS", [], int),
    "http_max_connections_per_client": ("LEOFLOW_HTTP_MAX_CONNECTIONS_PER_CLIENT", [], int),
    "kubernetes_namespace": ("LEOFLOW_KUBERNETES_NAMESPACE", ["AIRFLOW__KUBERNETES_EXECUTOR__NAMESPACE"], str),
    "kubernetes_image": ("LEOFLOW_KUBERNETES_IMAGE", [], str),
    "kubernetes_kubeconfig": ("LEOFLOW_KUBERNETES_KUBECONFIG", ["AIRFLOW__KUBERNETES_EXECUTOR__CONFIG_FILE"], str),
    "kubernetes_context": ("LEOFLOW_KUBERNETES_CONTEXT", ["AIRFLOW__KUBERNETES_EXECUTOR__CLUSTER_CONTEXT"], str),
    "kubernetes_pod_template_file": ("LEOFLOW_KUBERNETES_POD_TEMPLATE_FILE",
                                     ["AIRFLOW__KUBERNETES_EXECUTOR__POD_TEMPLATE_FILE"], str),
    "kubernetes_pending_timeout": ("LEOFLOW_KUBERNETES_PENDING_TIMEOUT",
                                   ["AIRFLOW__KUBERNETES_EXECUTOR__WORKER_PODS_PENDING_TIMEOUT"], float),
    "kubernetes_delete_pods": ("LEOFLOW_KUBERNETES_DELETE_PODS", ["AIRFLOW__KUBERNETES_EXECUTOR__DELETE_WORKER_PODS"],
                               bool),
    "kubernetes_delete_on_failure": ("LEOFLOW_KUBERNETES_DELETE_ON_FAILURE",
                                     ["AIRFLOW__KUBERNETES_EXECUTOR__DELETE_WORKER_PODS_ON_FAILURE"], bool),
    "kubernetes_release": ("LEOFLOW_KUBERNETES_RELEASE", [], str),
    "kubernetes_execution_api_url": ("LEOFLOW_KUBERNETES_EXECUTION_API_URL", [], str),
    "kubernetes_dags_folder": ("LEOFLOW_KUBERNETES_DAGS_FOLDER", [], str),
    "kubernetes_relist_interval": ("LEOFLOW_KUBERNETES_RELIST_INTERVAL", [], float),
    "kubernetes_dags": ("LEOFLOW_KUBERNETES_DAGS", [], str),
    "kubernetes_service_account": ("LEOFLOW_KUBERNETES_SERVICE_ACCOUNT", [], str),
    "kubernetes_automount_service_account_token": ("LEOFLOW_KUBERNETES_AUTOMOUNT_SERVICE_ACCOUNT_TOKEN", [], bool),
    "instance_name": ("LEOFLOW_INSTANCE_NAME", ["AIRFLOW__API__INSTANCE_NAME"], str),
}


def airflow_cfg_file() -> Path | None:
    """AIRFLOW_CONFIG, else $AIRFLOW_HOME/airflow.cfg, when that file exists (never ~/airflow by default)."""
    if os.environ.get("AIRFLOW_CONFIG"):
        path = Path(os.environ["AIRFLOW_CONFIG"]).expanduser()
    elif os.environ.get("AIRFLOW_HOME"):
        path = Path(os.environ["AIRFLOW_HOME"]).expanduser() / "airflow.cfg"
    else:
        return None
    return path if path.is_file() else None


def airflow_cfg() -> dict:
    """(section, key) -> value of the airflow.cfg `airflow_cfg_file` names ({} without one). Values are taken
    as written except Airflow's `{AIRFLOW_HOME}` placeholder; a file that cannot be read counts as none."""
    path = airflow_cfg_file()
    if path is None:
        return {}
    import configparser

    parser = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        parser.read(path, encoding="utf-8")
    except (configparser.Error, OSError, UnicodeDecodeError):
        return {}
    home = os.environ.get("AIRFLOW_HOME") or str(path.parent)
    return {(section.lower(), key.lower()): value.replace("{AIRFLOW_HOME}", home)
            for section in parser.sections() for key, value in parser.items(section, raw=True)}


def airflow_cfg_keys() -> dict:
    """(section, key) of airflow.cfg -> the Settings name it sets (those with an AIRFLOW__SECTION__KEY)."""
    keys = {}
    for name, (_env, airflow_envs, _kind) in _ENV.items():
        for var in airflow_envs:
            if var.startswith("AIRFLOW__"):
                section, _, key = var[len("AIRFLOW__"):].lower().partition("__")
                keys.setdefault((section, key), name)
    keys[("core", "sql_alchemy_conn")] = "database_url"  # where Airflow before 2.3 had it
    keys[("core", "dags_are_paused_at_creation")] = "dags_are_paused_at_creation"
    return keys


# Airflow writes a fresh random key into every airflow.cfg it generates: taken as Leoflow's, it would no longer
# read the secrets Leoflow stored with its own. `leoflow db import-airflow` reads [core] fernet_key as Airflow's.
_NOT_FROM_AIRFLOW_CFG = ("fernet_key", "secret_key")


def _from_airflow_cfg() -> tuple[dict, dict, str, list[str], list[str]]:
    """(settings, extra settings, the file, keys used, keys ignored) from airflow.cfg."""
    cfg = airflow_cfg()
    if not cfg:
        return {}, {}, "", [], []
    known = airflow_cfg_keys()
    values, extra, used, ignored = {}, {}, [], []
    for (section, key), text in cfg.items():
        name = known.get((section, key))
        label = f"[{section}] {key}"
        if name is None or not text.strip():
            ignored.append(label)
            continue
        if name in _NOT_FROM_AIRFLOW_CFG:
            ignored.append(f"{label} (Airflow's own secret: give Leoflow's as LEOFLOW_{name.upper()})")
            continue
        if name == "dags_are_paused_at_creation":
            try:
                extra[name] = _boolean(text)
            except ValueError:
                ignored.append(f"{label} (not true or false)")
                continue
        else:
            kind = _ENV[name][2]
            try:
                value = _boolean(text) if kind is bool else kind(text)
                if name == "executor":
                    from .executors.router import parse_executor_setting

                    value = ",".join(parse_executor_setting(value))
            except (ValueError, SystemExit):
                ignored.append(f"{label} ({text.strip()!r} is not a value Leoflow takes)")
                continue
            values[name] = value
        used.append(label)
    return values, extra, str(airflow_cfg_file()), used, ignored


def _boolean(value) -> bool:
    text = str(value).strip().lower()
    if text in ("true", "1", "t", "yes", "y", "on"):
        return True
    if text in ("false", "0", "f", "no", "n", "off"):
        return False
    raise ValueError(value)


def config_file() -> Path:
    explicit = os.environ.get("LEOFLOW_CONFIG")
    if explicit:
        return Path(explicit)
    import platformdirs

    return Path(platformdirs.user_config_dir("leoflow")) / "leoflow.toml"


def load(**overrides) -> Settings:
    """Build the settings; `overrides` are command-line values (None = not given)."""
    values, cfg_extra, cfg_path, cfg_used, cfg_ignored = _from_airflow_cfg()
    values["airflow_cfg_path"], values["airflow_cfg_used"] = cfg_path, tuple(cfg_used)
    values["airflow_cfg_ignored"] = tuple(cfg_ignored)
    path = config_file()
    if path.is_file():
        import tomllib  # only with a config file: most starts have none

        with path.open("rb") as f:
            values.update(tomllib.load(f))
    known = {f.name for f in dataclasses.fields(Settings)}
    extra = {**cfg_extra, **{k: values.pop(k) for k in list(values) if k not in known}}
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
                values[name] = _boolean(values[name]) if kind is bool else kind(values[name])
            except ValueError:
                raise SystemExit(f"leoflow: setting {name!r} must be a {kind.__name__}, got {values[name]!r}")
    grace = values.get("shutdown_grace_period")
    if grace is not None and not grace >= 0:  # NaN fails this too
        raise SystemExit(f"leoflow: LEOFLOW_SHUTDOWN_GRACE_PERIOD must be a number of seconds >= 0, got {grace!r}")
    for name, least in (("database_pool_size", 1), ("database_max_overflow", 0)):
        if values.get(name) is not None and values[name] < least:
            raise SystemExit(f"leoflow: {_ENV[name][0]} must be at least {least}, got {values[name]!r}")

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
    if values.get("kubernetes_dags", "bundle") not in ("bundle", "mounted"):
        raise SystemExit(f"leoflow: LEOFLOW_KUBERNETES_DAGS must be bundle or mounted, got {values['kubernetes_dags']!r}")
    if "executor" in values:
        from .executors.router import parse_executor_setting

        values["executor"] = ",".join(parse_executor_setting(values["executor"]))
    return Settings(extra=extra, **values)


TASK_RUNNERS = ("leoflow", "airflow")
