"""/plugins and /providers: what extends this installation.

Leoflow loads no Airflow plugins (an empty list, no plugin import errors) and carries
one provider built in: its own implementation of `apache-airflow-providers-standard`.
"""

from __future__ import annotations

from .validate import Query

# The standard provider version whose operators and sensors Leoflow implements (Airflow 3.2.1 ships it).
STANDARD_PROVIDER = {
    "package_name": "apache-airflow-providers-standard",
    "description": "Airflow Standard Provider",
    "version": "1.12.3",
    "documentation_url": "https://airflow.apache.org/docs/apache-airflow-providers-standard/1.12.3",
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
    providers, total = _page(Query(request), [dict(STANDARD_PROVIDER)])
    return {"providers": providers, "total_entries": total}


ROUTES = [
    ("/plugins", ["GET"], get_plugins),
    ("/plugins/importErrors", ["GET"], import_errors),
    ("/providers", ["GET"], get_providers),
]
