"""The installed providers, found as Airflow finds them: the `apache_airflow_provider` entry point of
each distribution names a `get_provider_info()` that returns the provider's description (its
connection types, hooks, operators, triggers, extra links, dialects, ...).

Only the provider's `get_provider_info` module is imported to list it; hook classes are imported when
a connection type is asked for (`Connection.get_hook`, the connection form).
"""

from __future__ import annotations

import functools
import logging
from importlib import metadata

from .names import canonical

log = logging.getLogger(__name__)
ENTRY_POINT_GROUP = "apache_airflow_provider"


@functools.lru_cache(maxsize=1)
def provider_infos() -> dict[str, dict]:
    """distribution name -> its provider info (with `version`), for every installed provider."""
    found: dict[str, dict] = {}
    for entry in metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = entry.dist
        name = canonical(dist.metadata["Name"]) if dist is not None else entry.value
        if name in found:
            continue  # the first on sys.path wins, as an import would
        try:
            info = dict(entry.load()())
        except Exception as exc:  # a broken provider is reported, never breaks the others
            log.warning("provider %s: get_provider_info failed: %s", name, exc)
            continue
        info["version"] = dist.version if dist is not None else info.get("versions", ["?"])[0]
        info.setdefault("package-name", name)
        found[name] = info
    return found


def refresh() -> None:
    """Forget what was found (after an install in this process)."""
    provider_infos.cache_clear()
    connection_types.cache_clear()


@functools.lru_cache(maxsize=1)
def connection_types() -> dict[str, tuple[str, str]]:
    """conn_type -> (hook class path, provider distribution)."""
    types: dict[str, tuple[str, str]] = {}
    for name, info in provider_infos().items():
        for item in info.get("connection-types", []):
            conn_type, hook = item.get("connection-type"), item.get("hook-class-name")
            if conn_type and hook:
                types.setdefault(conn_type, (hook, name))
    return types


def hook_class(conn_type: str):
    """The hook class that serves `conn_type` (imported now), or None when no provider names it."""
    from leoflow.sdk.compat.module_loading import import_string

    found = connection_types().get(conn_type)
    if found is None:
        return None
    return import_string(found[0])


def dialects() -> dict[str, tuple[str, str]]:
    """dialect name -> (dialect class path, provider distribution), as common-sql's hooks look them up."""
    result = {}
    for name, info in provider_infos().items():
        for item in info.get("dialects", []):
            if item.get("dialect-type") and item.get("dialect-class-name"):
                result.setdefault(item["dialect-type"], (item["dialect-class-name"], name))
    return result


def extra_link_classes() -> dict[str, str]:
    """extra link class path -> provider distribution, from each provider info's `extra-links` (the
    operators' BaseOperatorLink classes; a try resolves them itself, so nothing here imports them)."""
    from leoflow.sdk import importhook

    importhook.install()  # get_provider_info modules live under airflow.providers
    result: dict[str, str] = {}
    for name, info in provider_infos().items():
        for path in info.get("extra-links", []) or []:
            if isinstance(path, str):
                result.setdefault(path, name)
    return result


def rest_api_entry(distribution: str, info: dict) -> dict:
    """The provider as `/api/v2/providers` shows it (Airflow 3.2.1's body, its leading space included)."""
    version = info["version"]
    return {"package_name": distribution, "description": _plain(info.get("description", "")),
            "version": version, "documentation_url": f" https://airflow.apache.org/docs/{distribution}/{version}"}


def _plain(text: str) -> str:
    """A provider's reStructuredText description as Airflow 3.2.1 shows it:
    `` `Common SQL Provider <https://en.wikipedia.org/wiki/SQL>`__ `` -> `Common SQL Provider https://...`."""
    import re

    return re.sub(r"`([^`<]*?)\s*<([^>]*)>`__", r"\1 \2", text or "").replace("`", "").strip()


def installed_for_api() -> list[dict]:
    """Every installed provider for `/api/v2/providers`, sorted by package name."""
    from leoflow.sdk import importhook

    importhook.install()  # get_provider_info modules live under airflow.providers
    return [rest_api_entry(name, info) for name, info in sorted(provider_infos().items())]


_STANDARD_FIELDS = ("description", "url_schema", "host", "port", "login", "password")


def connection_form_entries() -> list[dict]:
    """The connection form's entry for each connection type the installed providers declare, in
    Airflow 3.2.1's `/ui/connections/hook_meta` shape, from their provider info alone (its
    `ui-field-behaviour` and `conn-fields`; no hook is imported)."""
    entries = []
    for _name, info in sorted(provider_infos().items()):
        for item in info.get("connection-types", []):
            if not item.get("connection-type"):
                continue
            behaviour = item.get("ui-field-behaviour")
            entries.append({
                "connection_type": item["connection-type"], "hook_class_name": item.get("hook-class-name"),
                "default_conn_name": None, "hook_name": item.get("hook-name") or item["connection-type"],
                "standard_fields": _standard_fields(behaviour) if behaviour else None,
                "extra_fields": _extra_fields(item["conn-fields"]) if item.get("conn-fields") else None,
            })
    return entries


def _standard_fields(behaviour: dict) -> dict:
    """hidden-fields / relabeling / placeholders -> each standard field's {hidden, title, placeholder}
    (null for one the provider leaves as it is; the provider's `schema` is the form's `url_schema`)."""
    hidden = set(behaviour.get("hidden-fields") or [])
    titles = behaviour.get("relabeling") or {}
    placeholders = behaviour.get("placeholders") or {}
    fields = {}
    for name in _STANDARD_FIELDS:
        key = "schema" if name == "url_schema" else name
        if name != "description" and (key in hidden or key in titles or key in placeholders):
            fields[name] = {"hidden": key in hidden, "title": titles.get(key), "placeholder": placeholders.get(key)}
        else:
            fields[name] = None
    return fields


def _extra_fields(conn_fields: dict) -> dict:
    result = {}
    for name, spec in conn_fields.items():
        schema = dict(spec.get("schema") or {})
        schema["title"] = spec.get("label", name)
        result[name] = {"value": schema.get("default"), "schema": schema, "description": spec.get("description"),
                        "source": None}
    return result
