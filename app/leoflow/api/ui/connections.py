"""/ui/connections/hook_meta: the connection types the connection form offers, and its fields per type."""

from __future__ import annotations


def _field(hidden=False, title=None, placeholder=None) -> dict:
    return {"hidden": hidden, "title": title, "placeholder": placeholder}


def _hook(conn_type, hook_class, name, standard=None, extra=None) -> dict:
    return {"connection_type": conn_type, "hook_class_name": hook_class, "default_conn_name": None,
            "hook_name": name, "standard_fields": standard, "extra_fields": extra}


_HIDDEN = _field(hidden=True)

# The types Leoflow's own hooks understand (the standard provider's), in the order Airflow lists them.
HOOKS = [
    _hook("generic", None, "Generic"),
    _hook("email", None, "Email"),
    _hook("fs", "airflow.providers.standard.hooks.filesystem.FSHook", "File (path)",
          {"description": None, "url_schema": _HIDDEN, "host": _HIDDEN, "port": _HIDDEN, "login": _HIDDEN,
           "password": _HIDDEN},
          {"path": {"value": None, "schema": {"type": ["string", "null"], "title": "Path"}, "description": None,
                    "source": None}}),
    _hook("package_index", "airflow.providers.standard.hooks.package_index.PackageIndexHook",
          "Package Index (Python)",
          {"description": None, "url_schema": _HIDDEN,
           "host": _field(title="Package Index URL",
                          placeholder="Example: https://my-package-mirror.net/pypi/repo-name/simple"),
           "port": _HIDDEN, "login": _field(placeholder="Username for package index"),
           "password": _field(placeholder="Password for package index (will be masked)")}),
]


def hook_meta(services, request):
    """Leoflow's own types, then those of the installed provider packages (leoflow.providers)."""
    from leoflow.providers.discovery import connection_form_entries
    from leoflow.sdk import importhook

    importhook.install()  # the providers' get_provider_info modules live under airflow.providers
    own = {h["connection_type"] for h in HOOKS}
    return HOOKS + [h for h in connection_form_entries() if h["connection_type"] not in own]


ROUTES = [("/ui/connections/hook_meta", ["GET"], hook_meta)]
