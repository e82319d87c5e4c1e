"""/config: the settings in effect, in Airflow's sections, as JSON or as ini text.

`expose_config` decides: "false" refuses (403, Airflow's message), "non-sensitive-only"
(Leoflow's default) shows `< hidden >` for secrets, "true" shows everything.
"""

from __future__ import annotations

from starlette.responses import PlainTextResponse

from .errors import HTTPError, not_found

HIDDEN = "< hidden >"

# Airflow section/option -> Leoflow setting; the sensitive ones are hidden unless fully exposed.
_AIRFLOW_NAMES = {
    ("core", "dags_folder"): "dags_folder",
    ("core", "parallelism"): "parallelism",
    ("core", "dagbag_import_timeout"): "parse_timeout",
    ("core", "fernet_key"): "fernet_key",
    ("database", "sql_alchemy_conn"): "database_url",
    ("api", "host"): "host",
    ("api", "port"): "port",
    ("api", "base_url"): "base_url",
    ("api", "expose_config"): "expose_config",
    ("scheduler", "task_instance_heartbeat_timeout"): "zombie_threshold",
    ("scheduler", "scheduler_heartbeat_sec"): "scheduler_poll_interval",
    ("dag_processor", "refresh_interval"): "dag_dir_poll_interval",
    ("dag_processor", "min_file_process_interval"): "min_file_process_interval",
    ("logging", "base_log_folder"): "logs_folder",
}
SENSITIVE = {"fernet_key", "database_url", "redis_url", "admin_password"}


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "True" if value else "False"
    return str(value)


def _sections(settings, *, show_sensitive: bool) -> dict[str, dict[str, str]]:
    def value(name):
        raw = getattr(settings, name, None)
        if name in SENSITIVE and not show_sensitive:
            return HIDDEN
        return _text(raw)

    sections: dict[str, dict[str, str]] = {}
    for (section, option), name in _AIRFLOW_NAMES.items():
        sections.setdefault(section, {})[option] = value(name)
    leoflow = sections.setdefault("leoflow", {})
    for name in ("home", "dags_folder", "database_url", "redis_url", "host", "port", "parallelism",
                 "zombie_threshold", "task_heartbeat_interval", "parse_timeout", "dag_dir_poll_interval",
                 "min_file_process_interval", "dag_parse_memory_limit", "scheduler_poll_interval", "base_url",
                 "fernet_key", "expose_config"):
        leoflow[name] = value(name)
    for name, raw in sorted(settings.extra.items()):
        leoflow[name] = HIDDEN if (name in SENSITIVE and not show_sensitive) else _text(raw)
    return sections


def _exposure(settings) -> bool:
    """Whether sensitive values are shown; a 403 when the configuration is not exposed at all."""
    mode = str(settings.expose_config).strip().lower()
    if mode in ("false", "0", "no", "off", ""):
        raise HTTPError(403, "Your Airflow administrator chose not to expose the configuration, most likely for "
                             "security reasons.")
    return mode in ("true", "1", "yes", "on")


def _accepts_text(request) -> bool:
    accept = request.headers.get("accept", "*/*").lower()
    kinds = [a.split(";")[0].strip() for a in accept.split(",")]
    if any(k in ("application/json", "*/*", "application/*", "") for k in kinds):
        return False
    if "text/plain" in kinds or "text/*" in kinds:
        return True
    raise HTTPError(406, "Only application/json or text/plain is supported")


def _respond(request, sections: dict):
    if _accepts_text(request):
        text = "\n".join(f"[{name}]\n" + "".join(f"{k} = {v}\n" for k, v in options.items())
                         for name, options in sections.items())
        return PlainTextResponse(text)
    return {"sections": [{"name": name, "options": [{"key": k, "value": v} for k, v in options.items()]}
                         for name, options in sections.items()]}


def get_config(services, request):
    show = _exposure(services.settings)
    sections = _sections(services.settings, show_sensitive=show)
    section = request.query_params.get("section")
    if section:
        if section not in sections:
            raise not_found(f"Section {section} not found.")
        sections = {section: sections[section]}
    return _respond(request, sections)


def get_config_value(services, request):
    _exposure(services.settings)
    section, option = request.path_params["section"], request.path_params["option"]
    # The single-option read always hides secrets, as Airflow's does.
    options = _sections(services.settings, show_sensitive=False).get(section, {})
    if option not in options:
        raise not_found(f"Option [{section}/{option}] not found.")
    return _respond(request, {section: {option: options[option]}})


ROUTES = [
    ("/config", ["GET"], get_config),
    ("/config/section/{section}/option/{option}", ["GET"], get_config_value),
]
