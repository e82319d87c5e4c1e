"""`airflow.version`: the Airflow version Leoflow is compatible with."""

from leoflow import AIRFLOW_COMPAT_VERSION as version  # noqa: F401

__version__ = version
