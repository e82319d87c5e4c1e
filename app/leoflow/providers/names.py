"""A provider's three names: short (`common-sql`), distribution (`apache-airflow-providers-common-sql`)
and package (`airflow.providers.common.sql`)."""

from __future__ import annotations

import re

PREFIX = "apache-airflow-providers-"
# Airflow itself: a provider's requirement on these is met by Leoflow, never installed.
AIRFLOW_ITSELF = frozenset({"apache-airflow", "apache-airflow-core", "apache-airflow-task-sdk"})
# Provider package names with more than one dot-part below `airflow.providers` (`common.sql`).
NESTED = ("common", "apache", "microsoft", "cncf", "atlassian", "dbt", "jenkins", "alibaba")

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def canonical(name: str) -> str:
    """PEP 503's normal form of a distribution name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def is_airflow_itself(distribution: str) -> bool:
    return canonical(distribution) in AIRFLOW_ITSELF


def is_provider(distribution: str) -> bool:
    return canonical(distribution).startswith(PREFIX)


def short_name(distribution: str) -> str:
    """`apache-airflow-providers-common-sql` -> `common-sql`."""
    name = canonical(distribution)
    return name[len(PREFIX):] if name.startswith(PREFIX) else name


def distribution_name(short: str) -> str:
    """`postgres` / `common.sql` / `common-sql` -> `apache-airflow-providers-...` (a full name is kept)."""
    if not _NAME.match(short):
        raise ValueError(f"not a provider name: {short!r}")
    name = canonical(short)
    return name if name.startswith(PREFIX) or name in AIRFLOW_ITSELF else PREFIX + name


def distribution_of(module: str) -> str:
    """The short provider name that installs `airflow.providers.X[.Y]...` (`airflow.providers.common.sql`)."""
    parts = module.split(".")[2:]
    if not parts:
        return ""
    if parts[0] in NESTED and len(parts) > 1:
        return f"{parts[0]}-{parts[1]}"
    return parts[0]


def package_of(distribution: str) -> str:
    """`apache-airflow-providers-common-sql` -> `airflow.providers.common.sql` (Airflow's naming rule)."""
    short = short_name(distribution)
    head, _, rest = short.partition("-")
    if head in NESTED and rest:
        return f"airflow.providers.{head}.{rest.replace('-', '_')}"
    return f"airflow.providers.{short.replace('-', '_')}"
