"""/ui/config: the settings the UI reads at start (Airflow's `[api]`/`[webserver]` UI options)."""

from __future__ import annotations

# Airflow 3.2.1's defaults; each can be set in Leoflow's config file under the same name.
DEFAULTS = {
    "fallback_page_limit": 50,
    "auto_refresh_interval": 3,
    "hide_paused_dags_by_default": False,
    "instance_name": "Leoflow",  # shown in the UI's title bar and navigation (see instance_name below)
    "enable_swagger_ui": True,
    "require_confirmation_dag_change": False,
    "default_wrap": False,
    "test_connection": "Disabled",
    "dashboard_alert": [],
    "show_external_log_redirect": False,
    "external_log_name": None,
    "theme": None,
    "multi_team": False,
}


def get_config(services, request):
    extra = services.settings.extra
    body = {key: extra.get(key, default) for key, default in DEFAULTS.items()}
    body["multi_team"] = False  # Leoflow has no teams
    body["instance_name"] = instance_name(services)
    return body


ROUTES = [("/ui/config", ["GET"], get_config)]


def instance_name(services) -> str:
    """Airflow's [api] instance_name when configured, else the mode: "Leoflow Lite" or "Leoflow"."""
    return services.settings.instance_name or ("Leoflow Lite" if services.mode == "lite" else "Leoflow")
