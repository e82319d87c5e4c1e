"""/plugins and /providers: what extends this installation.

Leoflow loads no Airflow plugins (an empty list, no plugin import errors) and carries
one provider built in: its own implementation of `apache-airflow-providers-standard`; the provider
packages installed beside it are listed too (found by their entry points, leoflow.providers.discovery).
"""

from __future__ import annotations

from .validate import Query

# The standard provider version whose operators and sensors Leoflow implements (Airflow 3.2.1 ships it).
STANDARD_PROVIDER = {
    "package_name": "apache-airflow-providers-standard",
    "description": "Airflow Standard Provider",
    "version": "1.12.3",
    # Airflow 3.2.1 answers with this leading space (../shared/airflow-3.2.1/bodies/providers.json)
    "documentation_url": " https://airflow.apache.org/docs/apache-airflow-providers-standard/1.12.3",
}


def _page(q: Query, items: list) -> tuple[list, int]:
    limit, offset = q.paging()
    q.done()
    return items[offset:offset + limit], len(items)


def get_plugins(services, request):
    plugins, total = _page(Query(request), [])
    return {"plugins": plugins, "total_entries": total}


def import_errors(services, request):
    errors, total = _page(Query(request), [])
    return {"import_errors": errors, "total_entries": total}


def get_providers(services, request):
    from leoflow.providers.discovery import installed_for_api

    found = [p for p in installed_for_api() if p["package_name"] != STANDARD_PROVIDER["package_name"]]
    everything = sorted([dict(STANDARD_PROVIDER), *found], key=lambda p: p["package_name"])
    providers, total = _page(Query(request), everything)
    return {"providers": providers, "total_entries": total}


ROUTES = [
    ("/plugins", ["GET"], get_plugins),
    ("/plugins/importErrors", ["GET"], import_errors),
    ("/providers", ["GET"], get_providers),
]
